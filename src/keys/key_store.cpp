#include "keys/key_store.h"

#include <algorithm>
#include <iostream>

#include "keys/errc.h"

namespace gatepass::keys {

result<std::unique_ptr<key_store>> open_store(const std::string& uri, const store_options& opt) {
  if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0)
    return open_postgres_store(uri, opt);
  if (uri.rfind("file:", 0) == 0) return open_file_store(uri.substr(5), opt);
  if (uri.find("://") != std::string::npos) return errc::store_uri_invalid;
  return open_file_store(uri, opt);
}

result<migration_report> migrate_store(key_store& from, key_store& to) {
  auto keys = from.load();
  if (!keys) return keys.error();
  auto clients = from.load_clients();
  if (!clients) return clients.error();
  // the destination's private keys are needed to compare key material: load them first
  auto held = to.load();
  if (!held) return held.error();

  migration_report report;
  auto ec = to.transact([&](const std::vector<key_record>& records) -> result<store_change> {
    report = {};
    for (const auto& r : records) {
      const auto src = std::find_if(keys->begin(), keys->end(),
                                    [&](const stored_key& k) { return k.meta.kid == r.kid; });
      if (src == keys->end()) {
        std::cerr << "gatepass: " << to.describe() << " holds key " << r.kid << " that "
                  << from.describe() << " lacks: refusing to merge two key rings\n";
        return errc::key_exists;
      }
      const auto dst = std::find_if(held->begin(), held->end(),
                                    [&](const stored_key& k) { return k.meta.kid == r.kid; });
      if (dst != held->end() && dst->key && src->key &&
          dst->key->thumbprint() != src->key->thumbprint()) {
        std::cerr << "gatepass: key " << r.kid << " differs between " << from.describe() << " and "
                  << to.describe() << ": refusing to overwrite it\n";
        return errc::key_exists;
      }
    }
    store_change change;
    for (const auto& k : *keys) {
      change.records.push_back(k.meta);
      const auto it = std::find_if(records.begin(), records.end(),
                                   [&](const key_record& r) { return r.kid == k.meta.kid; });
      if (it == records.end()) {
        if (!k.key && k.meta.state != key_state::retired) return errc::store_corrupt;
        if (k.key) change.added.push_back(k);
        ++report.keys_copied;
      } else if (*it == k.meta) {
        ++report.keys_unchanged;
      } else {
        ++report.keys_updated;
      }
    }
    return change;  // a retired key is loaded without material: its record travels alone
  });
  if (ec) return ec;

  ec = to.transact_clients([&](std::vector<client_record>& all) -> std::error_code {
    report.clients_copied = 0;
    for (const auto& c : *clients) {
      auto it = std::find_if(all.begin(), all.end(),
                             [&](const client_record& x) { return x.id == c.id; });
      if (it == all.end()) {
        all.push_back(c);
        ++report.clients_copied;
      } else if (it->secret_hash != c.secret_hash || it->scopes != c.scopes ||
                 it->audience != c.audience) {
        *it = c;
        ++report.clients_copied;
      }
    }
    return {};
  });
  if (ec) return ec;
  return report;
}

}  // namespace gatepass::keys
