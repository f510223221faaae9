#include "cli/config_file.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "common/yaml_reader.h"
#include "jose/algorithm.h"

namespace gatepass::config {

namespace fs = std::filesystem;

std::string resolve_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("GATEPASS_CONFIG"); env != nullptr && *env != '\0') return env;
  return "gatepass.yaml";
}

file load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path))
    throw error({path + ": cannot read the config file (run `gatepass init` to create one)"});
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return parse(path, text);
  } catch (const YAML::Exception& e) {
    // a shape no check foresaw: still named by file and line, never a bare yaml-cpp message
    throw error({path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg});
  }
}

file parse(const std::string& path, const std::string& text) {
  file f;
  f.path = path;
  reader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw error({path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg});
  }
  if (!root.IsMap()) throw error({path + ":1: the config must be a YAML mapping"});
  r.known_keys(root, "", {"issuer", "keys", "clients", "gateway"});

  if (const auto is = root["issuer"]) f.issuer = parse_issuer(is, r);
  if (const auto ks = root["keys"]) f.keys = parse_keys(ks, r);
  if (const auto cs = root["clients"]) f.clients = parse_clients(cs, r);
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
  // file:line: field: — as every other config error
  const auto at = [&](const char* field) {
    return f.path + ":" + std::to_string(f.keys.passphrase_line) + ": " + field + ": ";
  };
  if (!f.keys.passphrase_env.empty()) {
    const char* v = std::getenv(f.keys.passphrase_env.c_str());
    if (v == nullptr || *v == '\0')
      throw error({at("keys.passphrase_env") + "environment variable " + f.keys.passphrase_env +
                   " is not set"});
    return v;
  }
  if (!f.keys.passphrase_file.empty()) {
    fs::path p(f.keys.passphrase_file);
    if (p.is_relative()) p = fs::path(f.path).parent_path() / p;
    std::error_code ec;
    if (fs::is_directory(p, ec))
      throw error({at("keys.passphrase_file") + p.string() + " is a folder, not a file"});
    std::ifstream in(p, std::ios::binary);
    if (!in)
      throw error({at("keys.passphrase_file") + "cannot read " + p.string() + ": " +
                   std::generic_category().message(errno)});
    std::string s((std::istreambuf_iterator<char>(in)), {});
    if (in.bad()) throw error({at("keys.passphrase_file") + "cannot read " + p.string()});
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.empty()) throw error({at("keys.passphrase_file") + p.string() + " is empty"});
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
