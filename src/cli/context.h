// What most commands need: the loaded config, its key store and key manager. Built on demand
// from --config; config errors become exit code 2 with file:line messages.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cli/config_file.h"
#include "keys/key_manager.h"

namespace gatepass::cli {

struct context {
  config::file cfg;
  std::shared_ptr<keys::key_store> store;
  std::unique_ptr<keys::key_manager> keys;
};

/// Loads the config and opens its store. Throws config::error or std::runtime_error.
context open_context(const std::string& config_flag);

inline std::int64_t wall_clock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Prints the loud warning about unencrypted keys (once per process).
void warn_if_no_passphrase(const config::file& cfg);

/// With a passphrase configured, warns (once per process, naming each kid) about private keys
/// the store still holds unencrypted: written before the passphrase was set. Never rewrites them.
void warn_unencrypted_keys(const config::file& cfg, const keys::key_ring& ring);

}  // namespace gatepass::cli
