#include "issuer/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.h"
#include "common/yaml_reader.h"
#include "jose/algorithm.h"

namespace gatepass::config {

namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}

}  // namespace

error::error(std::vector<std::string> problems)
    : std::runtime_error(join(problems)), problems_(std::move(problems)) {}

std::string resolve_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("GATEPASS_CONFIG"); env != nullptr && *env != '\0') return env;
  return "gatepass.yaml";
}

file load(const std::string& path) {
  file f;
  f.path = path;
  reader r(path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw error({path + ": cannot read the config file (run `gatepass init` to create one)"});
  } catch (const YAML::ParserException& e) {
    throw error({path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg});
  }
  if (!root.IsMap()) throw error({path + ":1: the config must be a YAML mapping"});
  r.known_keys(root, "", {"issuer", "keys", "clients", "gateway"});

  if (const auto is = root["issuer"]) {
    issuer_section s;
    r.known_keys(is, "issuer.", {"url", "audience", "token_ttl", "listen", "scopes_supported"});
    s.url = r.str(is["url"], "issuer.url");
    if (s.url.empty()) {
      r.problem(is, "issuer.url", "required (e.g. https://auth.example.com)");
    } else if (s.url.rfind("https://", 0) != 0 && s.url.rfind("http://", 0) != 0) {
      r.problem(is["url"], "issuer.url", "must be an http(s) URL");
    }
    s.audience = r.list(is["audience"], "issuer.audience");
    s.token_ttl = r.duration(is["token_ttl"], "issuer.token_ttl", 3600);
    if (s.token_ttl < 60 || s.token_ttl > 86400)
      r.problem(is["token_ttl"] ? is["token_ttl"] : is, "issuer.token_ttl",
                "must be between 60 s and 24 h");
    s.listen = r.str(is["listen"], "issuer.listen");
    if (!s.listen.empty() && s.listen.rfind(':') == std::string::npos)
      r.problem(is["listen"], "issuer.listen", "expected HOST:PORT");
    s.scopes_supported = r.list(is["scopes_supported"], "issuer.scopes_supported");
    f.issuer = std::move(s);
  }

  if (const auto ks = root["keys"]) {
    auto& k = f.keys;
    r.known_keys(ks, "keys.",
                 {"store", "algorithm", "rsa_bits", "passphrase_env", "passphrase_file",
                  "rotate_every", "publish_ahead", "retire_after"});
    k.store = r.str(ks["store"], "keys.store", k.store);
    k.algorithm = r.str(ks["algorithm"], "keys.algorithm", k.algorithm);
    auto a = jose::alg_from_string(k.algorithm);
    if (!a || jose::family(*a) == jose::alg_family::hmac || *a == jose::alg::es512)
      r.problem(ks["algorithm"], "keys.algorithm",
                "expected one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA");
    if (ks["rsa_bits"]) {
      const auto bits = r.str(ks["rsa_bits"], "keys.rsa_bits");
      if (bits != "2048" && bits != "3072" && bits != "4096")
        r.problem(ks["rsa_bits"], "keys.rsa_bits",
                  "expected 2048, 3072 or 4096 (below 2048 is refused)");
      else
        k.rsa_bits = std::stoi(bits);
    }
    k.passphrase_env = r.str(ks["passphrase_env"], "keys.passphrase_env");
    k.passphrase_file = r.str(ks["passphrase_file"], "keys.passphrase_file");
    if (!k.passphrase_env.empty() && !k.passphrase_file.empty())
      r.problem(ks["passphrase_file"], "keys.passphrase_file",
                "give passphrase_env or passphrase_file, not both");
    k.rotate_every = r.duration(ks["rotate_every"], "keys.rotate_every", k.rotate_every);
    k.publish_ahead = r.duration(ks["publish_ahead"], "keys.publish_ahead", k.publish_ahead);
    k.retire_after = r.duration(ks["retire_after"], "keys.retire_after", 0);
    if (k.publish_ahead < 60)
      r.problem(ks["publish_ahead"], "keys.publish_ahead", "must be at least 60 s");
    if (k.rotate_every <= k.publish_ahead)
      r.problem(ks["rotate_every"] ? ks["rotate_every"] : ks, "keys.rotate_every",
                "must be longer than publish_ahead");
  }

  if (const auto cs = root["clients"]) {
    if (!cs.IsSequence()) {
      r.problem(cs, "clients", "expected a list");
    } else {
      std::set<std::string> ids;
      for (const auto& c : cs) {
        r.known_keys(c, "clients[].", {"id", "secret_hash", "scopes", "audience"});
        client_entry e;
        e.id = r.str(c["id"], "clients[].id");
        e.secret_hash = r.str(c["secret_hash"], "clients[].secret_hash");
        e.scopes = r.list(c["scopes"], "clients[].scopes");
        e.audience = r.list(c["audience"], "clients[].audience");
        if (e.id.empty()) r.problem(c, "clients[].id", "required");
        if (e.secret_hash.rfind("$argon2id$", 0) != 0)
          r.problem(c["secret_hash"] ? c["secret_hash"] : c, "clients[].secret_hash",
                    "must be an argon2id hash (use `gatepass client add`)");
        if (!ids.insert(e.id).second) r.problem(c["id"], "clients[].id", "duplicate id " + e.id);
        f.clients.push_back(std::move(e));
      }
    }
  }
  if (const auto g = root["gateway"]) f.gateway = gateway::parse_gateway(g, r);
  if (!f.issuer && !f.gateway)
    r.problem_plain("nothing to do: neither an issuer: nor a gateway: section");
  if (!r.problems().empty()) throw error(r.problems());
  return f;
}

std::string store_uri(const file& f) {
  std::string s = f.keys.store;
  if (s.find("://") != std::string::npos) return s;
  std::string path = s.rfind("file:", 0) == 0 ? s.substr(5) : s;
  fs::path p(path);
  if (p.is_relative()) p = fs::path(f.path).parent_path() / p;
  return "file:" + p.lexically_normal().string();
}

std::string passphrase(const file& f) {
  if (!f.keys.passphrase_env.empty()) {
    const char* v = std::getenv(f.keys.passphrase_env.c_str());
    if (v == nullptr || *v == '\0')
      throw error({f.path + ": keys.passphrase_env: environment variable " + f.keys.passphrase_env +
                   " is not set"});
    return v;
  }
  if (!f.keys.passphrase_file.empty()) {
    fs::path p(f.keys.passphrase_file);
    if (p.is_relative()) p = fs::path(f.path).parent_path() / p;
    std::ifstream in(p, std::ios::binary);
    if (!in) throw error({f.path + ": keys.passphrase_file: cannot read " + p.string()});
    std::string s((std::istreambuf_iterator<char>(in)), {});
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.empty()) throw error({f.path + ": keys.passphrase_file: " + p.string() + " is empty"});
    return s;
  }
  return {};
}

keys::key_settings key_settings(const file& f) {
  keys::key_settings s;
  s.algorithm = jose::alg_from_string(f.keys.algorithm).value_or(jose::alg::rs256);
  s.rsa_bits = f.keys.rsa_bits;
  s.rotation.rotate_every = f.keys.rotate_every;
  s.rotation.publish_ahead = f.keys.publish_ahead;
  s.rotation.retire_after = f.keys.retire_after;
  if (f.issuer) s.rotation.token_ttl = f.issuer->token_ttl;
  return s;
}

}  // namespace gatepass::config
