// Shared setup for the integration tests: a gatepass folder made by the real `gatepass init`,
// commands run against it, and `gatepass serve` started on an ephemeral port.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/base64url.h"
#include "integration/process.h"

namespace gatepass::itest {

namespace json = boost::json;

inline const std::string kPassphrase = "integration passphrase: correct horse battery staple";

/// A folder initialised with `gatepass init` (encrypted keys: GATEPASS_PASSPHRASE set),
/// issuer.listen switched to 127.0.0.1:0.
struct gatepass_home {
  temp_dir dir;
  std::string issuer;
  std::string audience;
  std::vector<std::string> env;

  explicit gatepass_home(std::string issuer_url = "https://auth.example.test/tenant-a/",
                         std::string aud = "orders-api", std::string passphrase = kPassphrase)
      : issuer(std::move(issuer_url)),
        audience(std::move(aud)),
        env{"GATEPASS_PASSPHRASE=" + passphrase, "GATEPASS_CONFIG"} {
    auto r =
        gp({"init", "--dir", dir.path().string(), "--issuer", issuer, "--audience", audience}, env);
    if (r.exit_code != 0) throw std::runtime_error("gatepass init failed: " + describe(r));
    auto text = read_file(config());
    write_file(config(), replace_once(text, "listen: 127.0.0.1:8081", "listen: 127.0.0.1:0"));
  }

  fs::path config() const { return dir.path() / "gatepass.yaml"; }
  fs::path keys() const { return dir.path() / "keys"; }

  /// gatepass --config <config> args... with this home's environment (plus `extra_env`).
  run_result cmd(std::vector<std::string> args, std::vector<std::string> extra_env = {},
                 std::chrono::milliseconds timeout = 60s) const {
    args.insert(args.begin(), {"--config", config().string()});
    auto e = env;
    e.insert(e.end(), extra_env.begin(), extra_env.end());
    return gp(std::move(args), e, timeout);
  }

  /// `client add`; returns the printed secret.
  std::string add_client(const std::string& id, const std::string& scopes) const {
    auto r = cmd({"client", "add", "--id", id, "--scopes", scopes});
    if (r.exit_code != 0) throw std::runtime_error("client add failed: " + describe(r));
    auto secret = line_value(r.out, "client_secret:");
    if (secret.empty()) throw std::runtime_error("no client_secret in: " + r.out);
    return secret;
  }

  /// Starts `gatepass serve`; returns the process and the port it printed.
  std::pair<std::unique_ptr<process>, unsigned short> serve(
      std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{gatepass_bin(), "--config", config().string(), "serve"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<process>(argv, env);
    auto line = p->wait_for_line(" listening on ", 20s);
    if (!line)
      throw std::runtime_error("serve did not report its address; stdout:\n" + p->out() +
                               "\nstderr:\n" + p->err());
    const auto colon = line->rfind(':');
    const auto port = static_cast<unsigned short>(std::stoi(line->substr(colon + 1)));
    return {std::move(p), port};
  }
};

/// The JSON object in a token's segment `index` (0 header, 1 payload).
inline json::object jwt_part(const std::string& token, int index) {
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  if (d1 == std::string::npos || d2 == std::string::npos)
    throw std::runtime_error("not a JWS: " + token);
  const auto seg = index == 0 ? token.substr(0, d1) : token.substr(d1 + 1, d2 - d1 - 1);
  auto decoded = base64url_decode(seg);
  if (!decoded) throw std::runtime_error("bad base64url in token segment");
  return json::parse(*decoded).as_object();
}

inline std::string kid_of(const std::string& token) {
  return std::string(jwt_part(token, 0).at("kid").as_string());
}

inline std::vector<std::string> kids_in_jwks(const std::string& jwks) {
  std::vector<std::string> out;
  const auto doc = json::parse(jwks);  // named: a temporary in the range-init would dangle
  for (const auto& k : doc.as_object().at("keys").as_array())
    out.emplace_back(k.as_object().at("kid").as_string());
  return out;
}

inline bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// One row of `keys list`: kid, alg, state.
struct key_row {
  std::string kid, alg, state;
};

inline std::vector<key_row> parse_key_list(const std::string& out) {
  std::vector<key_row> rows;
  std::istringstream ss(out);
  std::string line;
  std::getline(ss, line);  // header
  while (std::getline(ss, line)) {
    std::istringstream ls(line);
    key_row r;
    if (ls >> r.kid >> r.alg >> r.state) rows.push_back(r);
  }
  return rows;
}

}  // namespace gatepass::itest
