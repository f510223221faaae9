#include "keys/key_manager.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <algorithm>

#include "common/duration.h"
#include "common/ossl.h"
#include "jose/errc.h"
#include "keys/certificate.h"
#include "keys/errc.h"
#include "keys/key_generator.h"

namespace gatepass::keys {

namespace {

bool has_current(const std::vector<key_record>& keys) {
  return std::any_of(keys.begin(), keys.end(),
                     [](const key_record& k) { return k.state == key_state::current; });
}

}  // namespace

result<stored_key> key_manager::make_key(std::int64_t now, std::string kid) {
  auto key = generate_key(settings_.algorithm, settings_.rsa_bits, std::move(kid));
  if (!key) return key.error();
  auto cert = self_signed_certificate(*key, "gatepass " + key->kid(), now);
  if (!cert) return cert.error();
  stored_key sk;
  sk.meta.kid = key->kid();
  sk.meta.alg = std::string(jose::to_string(key->algorithm()));
  sk.key = std::move(*key);
  sk.cert_der = std::move(*cert);
  return sk;
}

result<std::string> key_manager::ensure_initialized(std::int64_t now) {
  std::string kid;
  auto ec = store_->transact([&](const std::vector<key_record>& records) -> result<store_change> {
    if (!records.empty()) return store_change{records, {}, {}};
    auto sk = make_key(now);
    if (!sk) return sk.error();
    kid = sk->meta.kid;
    store_change change;
    change.records = add_key(records, sk->meta, now, settings_.rotation, true);
    sk->meta = change.records.back();
    change.added.push_back(std::move(*sk));
    return change;
  });
  if (ec) return ec;
  return kid;
}

result<bool> key_manager::tick(std::int64_t now) {
  bool changed = false;
  auto ec = store_->transact([&](const std::vector<key_record>& records) -> result<store_change> {
    if (records.empty()) return store_change{records, {}, {}};
    auto plan = rotation_policy(records, now, settings_.rotation);
    store_change change;
    change.records = std::move(plan.keys);
    if (plan.generate_next) {
      auto sk = make_key(now);
      if (!sk) return sk.error();
      const bool as_current = !has_current(change.records);
      change.records =
          add_key(std::move(change.records), sk->meta, now, settings_.rotation, as_current);
      sk->meta = change.records.back();
      change.added.push_back(std::move(*sk));
      plan.changed = true;
    }
    changed = plan.changed;
    return change;
  });
  if (ec) return result<bool>(boost::system::in_place_error, ec);
  return changed;
}

result<std::string> key_manager::rotate(std::int64_t now, bool force) {
  std::string message;
  const auto ready = [now](std::int64_t at) {
    return format_utc(at) + " (in " + duration_in_words(at - now) + ")";
  };
  auto ec = store_->transact([&](const std::vector<key_record>& records) -> result<store_change> {
    if (records.empty()) return errc::store_not_initialized;
    auto plan = rotate_now(records, now, settings_.rotation, force);
    store_change change;
    change.records = std::move(plan.keys);
    if (plan.generate) {
      auto sk = make_key(now);
      if (!sk) return sk.error();
      const bool as_current = plan.action == manual_rotation::forced;
      change.records =
          add_key(std::move(change.records), sk->meta, now, settings_.rotation, as_current);
      sk->meta = change.records.back();
      message = as_current
                    ? "key " + sk->meta.kid +
                          " is now current (forced); the old key stays published as previous "
                          "(a running serve publishes the new one at once and signs with it 2 s "
                          "later)"
                    : "new key " + sk->meta.kid +
                          " published as next; no key was promoted: it can become current at " +
                          ready(now + settings_.rotation.publish_ahead) +
                          ", once published for publish_ahead (run `keys rotate` again then; "
                          "`serve` promotes it on its rotate_every schedule)";
      change.added.push_back(std::move(*sk));
    } else if (plan.action == manual_rotation::promoted) {
      for (const auto& r : change.records)
        if (r.state == key_state::current) message = "key " + r.kid + " is now current";
    } else {
      std::string next_kid;
      for (const auto& r : change.records)
        if (r.state == key_state::next) next_kid = r.kid;
      message = "no key was promoted: the next key " + next_kid +
                " is not published long enough yet; it can become current at " +
                ready(plan.ready_at) +
                " (run `keys rotate` again then; `serve` promotes it on its rotate_every "
                "schedule; --now for a compromised key)";
    }
    return change;
  });
  if (ec) return ec;
  return message;
}

result<std::string> key_manager::generate(std::int64_t now, bool as_current, std::string kid) {
  std::string out;
  auto ec = store_->transact([&](const std::vector<key_record>& records) -> result<store_change> {
    auto sk = make_key(now, kid);
    if (!sk) return sk.error();
    for (const auto& r : records)
      if (r.kid == sk->meta.kid) return errc::key_exists;
    store_change change;
    change.records =
        add_key(records, sk->meta, now, settings_.rotation, as_current || !has_current(records));
    sk->meta = change.records.back();
    out = sk->meta.kid;
    change.added.push_back(std::move(*sk));
    return change;
  });
  if (ec) return ec;
  return out;
}

result<std::string> key_manager::import_pem(std::string_view pem, const std::string& passphrase,
                                            std::string kid, bool as_next, std::int64_t now) {
  auto key = read_private_pem(pem, passphrase, std::nullopt, std::move(kid));
  if (!key) return key.error();
  // jose refuses e = 1, an even e and e above 64 bits for every key; a key gatepass signs with
  // must also meet NIST SP 800-56B §6.2 (e >= 65537), which e = 3 keys from old tools do not
  if (key->kty() == jose::key_type::rsa) {
    BIGNUM* raw_e = nullptr;
    if (EVP_PKEY_get_bn_param(key->pkey(), OSSL_PKEY_PARAM_RSA_E, &raw_e) != 1) {
      ERR_clear_error();
      return jose::errc::key_bad_pem;
    }
    const ossl::bn_ptr e(raw_e);
    // BN_get_word gives ULONG_MAX for an e too large for a word: not small
    if (BN_get_word(e.get()) < 65537) return errc::rsa_exponent_small;
  }
  // an imported RSA key signs with the configured RSA algorithm (RS256 by default)
  if (key->kty() == jose::key_type::rsa &&
      (jose::family(settings_.algorithm) == jose::alg_family::rsa_pkcs1 ||
       jose::family(settings_.algorithm) == jose::alg_family::rsa_pss)) {
    auto pinned = jose::jwk::from_pkey(key->shared_pkey(), settings_.algorithm, key->kid());
    if (!pinned) return pinned.error();
    key = std::move(*pinned);
  }
  auto cert = self_signed_certificate(*key, "gatepass " + key->kid(), now);
  if (!cert) return cert.error();
  std::string out = key->kid();
  auto ec = store_->transact([&](const std::vector<key_record>& records) -> result<store_change> {
    for (const auto& r : records)
      if (r.kid == out) return errc::key_exists;
    stored_key sk;
    sk.meta.kid = out;
    sk.meta.alg = std::string(jose::to_string(key->algorithm()));
    sk.key = *key;
    sk.cert_der = *cert;
    store_change change;
    change.records =
        add_key(records, sk.meta, now, settings_.rotation, !as_next || !has_current(records));
    sk.meta = change.records.back();
    change.added.push_back(std::move(sk));
    return change;
  });
  if (ec) return ec;
  return out;
}

std::error_code key_manager::retire(const std::string& kid, std::int64_t now, bool force) {
  return store_->transact([&](const std::vector<key_record>& records) -> result<store_change> {
    store_change change{records, {}, {}};
    for (auto& r : change.records) {
      if (r.kid != kid) continue;
      if (r.state == key_state::current) return errc::key_state_invalid;
      if (!force && now < tokens_valid_until(r, settings_.rotation))
        return errc::key_still_verifies;
      r.state = key_state::retired;
      r.retire_at = now;
      return change;
    }
    return errc::key_not_found;
  });
}

result<std::size_t> key_manager::prune(std::size_t keep) {
  std::size_t removed = 0;
  auto ec = store_->transact([&](const std::vector<key_record>& records) -> result<store_change> {
    std::vector<const key_record*> retired;
    for (const auto& r : records)
      if (r.state == key_state::retired) retired.push_back(&r);
    std::sort(retired.begin(), retired.end(),
              [](const key_record* a, const key_record* b) { return a->created > b->created; });
    store_change change;
    for (std::size_t i = keep; i < retired.size(); ++i) change.deleted.push_back(retired[i]->kid);
    for (const auto& r : records)
      if (std::find(change.deleted.begin(), change.deleted.end(), r.kid) == change.deleted.end())
        change.records.push_back(r);
    removed = change.deleted.size();
    return change;
  });
  if (ec) return ec;
  return removed;
}

result<std::shared_ptr<const key_ring>> key_manager::snapshot() {
  auto version = store_->version();
  if (!version) return version.error();
  auto loaded = store_->load();
  if (!loaded) return loaded.error();
  auto ring = std::make_shared<key_ring>();
  ring->version = *version;
  std::vector<jose::jwk> published;
  for (auto& sk : *loaded) {
    ring->records.push_back(sk.meta);
    if (!sk.key || !is_published(sk.meta.state)) continue;
    if (!sk.encrypted) ring->unencrypted.push_back(sk.meta.kid);
    if (sk.meta.state == key_state::current) ring->current = *sk.key;
    published.push_back(*sk.key);
    if (!sk.cert_der.empty()) ring->certs.emplace_back(sk.meta.kid, sk.cert_der);
  }
  ring->published = jose::key_set::from_keys(std::move(published));
  return std::shared_ptr<const key_ring>(std::move(ring));
}

}  // namespace gatepass::keys
