#include "cli/context.h"

#include <iostream>
#include <stdexcept>

namespace gatepass::cli {

void warn_if_no_passphrase(const config::file& cfg) {
  static bool warned = false;
  // a gateway-only config holds no keys
  if (warned || !cfg.issuer || !cfg.keys.passphrase_env.empty() ||
      !cfg.keys.passphrase_file.empty())
    return;
  warned = true;
  std::cerr << "WARNING: no keys.passphrase_env or keys.passphrase_file in " << cfg.path
            << ": private keys are stored UNENCRYPTED.\n";
}

void warn_unencrypted_keys(const config::file& cfg, const keys::key_ring& ring) {
  static bool warned = false;
  const bool configured = !cfg.keys.passphrase_env.empty() || !cfg.keys.passphrase_file.empty();
  if (warned || !configured || ring.unencrypted.empty()) return;
  warned = true;
  const char* field =
      cfg.keys.passphrase_env.empty() ? "keys.passphrase_file" : "keys.passphrase_env";
  for (const auto& kid : ring.unencrypted)
    std::cerr << "WARNING: key " << kid << " is stored UNENCRYPTED although " << cfg.path
              << " sets " << field
              << " (it was written before the passphrase was configured); keys written from now "
                 "on are encrypted: replace it with `gatepass keys rotate`, or encrypt its file "
                 "with `openssl pkcs8 -topk8 -v2 aes-256-cbc`\n";
}

context open_context(const std::string& config_flag) {
  context c;
  c.cfg = config::load(config::resolve_path(config_flag));
  const auto pass = config::passphrase(c.cfg);
  warn_if_no_passphrase(c.cfg);
  auto store = keys::open_store(config::store_uri(c.cfg), keys::store_options{pass});
  if (!store)
    throw std::runtime_error("key store " + config::store_uri(c.cfg) + ": " +
                             store.error().message());
  c.store = std::shared_ptr<keys::key_store>(std::move(*store));
  c.keys = std::make_unique<keys::key_manager>(c.store, config::key_settings(c.cfg));
  return c;
}

}  // namespace gatepass::cli
