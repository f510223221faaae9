// The issuer's HTTP surface as a pure handler: discovery (OIDC Discovery + RFC 8414), JWKS
// with Cache-Control/ETag/304, the RFC 6749 client_credentials token endpoint, /healthz.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "issuer/clients.h"
#include "issuer/config.h"
#include "issuer/token_service.h"
#include "keys/key_manager.h"
#include "net/http_types.h"

namespace gatepass::issuer {

class issuer_service {
 public:
  issuer_service(config::issuer_section cfg, keys::key_settings settings);

  /// Swaps in a new key ring (after a rotation or a change by another process).
  void set_ring(std::shared_ptr<const keys::key_ring> ring);
  void set_clients(std::shared_ptr<const client_registry> clients);
  std::shared_ptr<const client_registry> clients() const;
  std::shared_ptr<const keys::key_ring> ring() const;

  net::http_response handle(const net::http_request& req, std::int64_t now) const;
  /// A token request whose client secret must be checked against its argon2id hash (an id not
  /// verified yet, or an unknown one: milliseconds and 19 MiB): `serve` runs those on worker
  /// threads. A request refused before any check, or from a verified client, is cheap.
  bool needs_secret_hashing(const net::http_request& req) const;

  /// The documents exactly as served (for `publish`).
  std::string discovery() const;
  std::string jwks() const;

 private:
  struct published {
    std::shared_ptr<const keys::key_ring> ring;
    std::string jwks;
    std::string etag;
    std::string discovery;
  };
  std::shared_ptr<const published> current() const;
  net::http_response token_endpoint(const net::http_request& req, std::int64_t now) const;

  config::issuer_section cfg_;
  keys::key_settings settings_;
  token_service tokens_;
  std::string discovery_;
  mutable std::mutex m_;
  std::shared_ptr<const published> published_;
  std::shared_ptr<const client_registry> clients_;
};

}  // namespace gatepass::issuer
