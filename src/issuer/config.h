// The issuer:, keys: and clients: sections of gatepass.yaml, field for field (DESIGN.md), each
// parsed and validated once with every error naming file:line and the field. The whole file is
// read by cli/config_file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config_error.h"

namespace YAML {
class Node;
}

namespace gatepass::config {

class reader;

struct issuer_section {
  std::string url;                    // iss, byte-identical everywhere
  std::vector<std::string> audience;  // default aud of issued tokens
  std::int64_t token_ttl = 3600;
  std::string listen;  // host:port; empty = issuer endpoints not served
  std::vector<std::string> scopes_supported;
  bool operator==(const issuer_section&) const = default;
};

struct keys_section {
  std::string store = "file:keys";  // relative paths are relative to the config file
  std::string algorithm = "RS256";
  int rsa_bits = 2048;
  std::string passphrase_env;
  std::string passphrase_file;
  int passphrase_line = 0;  // line of passphrase_env or passphrase_file: errors found when the
                            // passphrase is read (variable unset, file unreadable) name it
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

/// Each parses its section, adding every problem to `r`.
issuer_section parse_issuer(const YAML::Node& node, reader& r);
keys_section parse_keys(const YAML::Node& node, reader& r);
std::vector<client_entry> parse_clients(const YAML::Node& node, reader& r);

}  // namespace gatepass::config
