// gatepass.yaml as a whole (DESIGN.md): the issuer, keys, clients and gateway sections, each
// parsed by its module, validated once; every error names file:line and the field. Lookup:
// --config FILE, else $GATEPASS_CONFIG, else ./gatepass.yaml.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config_error.h"
#include "gateway/config.h"
#include "issuer/config.h"
#include "keys/key_manager.h"

namespace gatepass::config {

struct file {
  std::string path;  // the config file itself
  std::optional<issuer_section> issuer;
  keys_section keys;
  std::vector<client_entry> clients;
  std::optional<gateway::gateway_config> gateway;
};

/// Resolves the config path from the flag, $GATEPASS_CONFIG, or ./gatepass.yaml.
std::string resolve_path(const std::string& flag);

/// Loads and validates; throws config::error listing every problem.
file load(const std::string& path);
/// The same for a config's text (`path` names it in messages). Only config::error is meant to
/// leave it; load() also turns any other yaml-cpp exception into one (the fuzzer does not).
file parse(const std::string& path, const std::string& text);

/// The store URI with a relative file: path made relative to the config's folder.
std::string store_uri(const file& f);
/// The passphrase from passphrase_env or passphrase_file; empty when neither is set.
/// Throws config::error when the configured source is missing.
std::string passphrase(const file& f);
/// Key settings for key_manager.
keys::key_settings key_settings(const file& f);

}  // namespace gatepass::config
