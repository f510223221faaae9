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
