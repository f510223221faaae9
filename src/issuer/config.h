// gatepass.yaml, field for field (DESIGN.md). Parsed and validated once; every error names
// file:line and the field. Lookup: --config FILE, else $GATEPASS_CONFIG, else ./gatepass.yaml.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/config.h"
#include "keys/key_manager.h"

namespace gatepass::config {

struct issuer_section {
  std::string url;                    // iss, byte-identical everywhere
  std::vector<std::string> audience;  // default aud of issued tokens
  std::int64_t token_ttl = 3600;
  std::string listen;  // host:port; empty = issuer endpoints not served
  std::vector<std::string> scopes_supported;
};

struct keys_section {
  std::string store = "file:keys";  // relative paths are relative to the config file
  std::string algorithm = "RS256";
  int rsa_bits = 2048;
  std::string passphrase_env;
  std::string passphrase_file;
  std::int64_t rotate_every = 30 * 86400;
  std::int64_t publish_ahead = 2 * 3600;
  std::int64_t retire_after = 0;  // 0 = token_ttl + publish_ahead + leeway
};

struct client_entry {
  std::string id;
  std::string secret_hash;  // argon2id encoded
  std::vector<std::string> scopes;
  std::vector<std::string> audience;
};

struct file {
  std::string path;  // the config file itself
  std::optional<issuer_section> issuer;
  keys_section keys;
  std::vector<client_entry> clients;
  std::optional<gateway::gateway_config> gateway;
};

/// All problems found, one per line, "file:line: field: message".
class error : public std::runtime_error {
 public:
  explicit error(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

/// Resolves the config path from the flag, $GATEPASS_CONFIG, or ./gatepass.yaml.
std::string resolve_path(const std::string& flag);

/// Loads and validates; throws config::error listing every problem.
file load(const std::string& path);

/// The store URI with a relative file: path made relative to the config's folder.
std::string store_uri(const file& f);
/// The passphrase from passphrase_env or passphrase_file; empty when neither is set.
/// Throws config::error when the configured source is missing.
std::string passphrase(const file& f);
/// Key settings for key_manager.
keys::key_settings key_settings(const file& f);

}  // namespace gatepass::config
