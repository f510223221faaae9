// The gateway's listener: one event loop per core (SO_REUSEPORT acceptors), sessions that
// match a route, authorize, and stream the request and response through a pooled keep-alive
// upstream connection; the forward-auth endpoint; /healthz /readyz /metrics. The routing and
// authorization state is an immutable snapshot swapped whole on SIGHUP.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/authenticator.h"
#include "gateway/config.h"
#include "gateway/route_matcher.h"
#include "gateway/stats.h"
#include "net/http_types.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace gatepass::gateway {

class jwks_cache;

struct upstream_target {
  std::string host;
  std::string port;
  std::string base_path;  // prefix added before the request path ("" or "/base")
  std::string host_header;
  bool tls = false;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx;  // https: verify peer + host name
  std::string pool_key;  // idle connections are shared by targets with the same key
};

/// Everything a request needs, built once from the config.
struct gateway_state {
  gateway_config cfg;
  route_matcher matcher{{}};
  std::vector<std::shared_ptr<authenticator>> route_auth;  // per route; nullptr = public
  std::vector<std::shared_ptr<authenticator>> authenticators;
  std::vector<upstream_target> upstreams;  // per route
  std::vector<std::string> route_labels;   // "GET /a/{proxy+}"
  // every authorizer's claims_to_headers names, lower case with '_' as '-': a client's copy
  // never reaches any upstream, on a public route either
  std::vector<std::string> claim_header_names;
  std::shared_ptr<stats> counters;
  bool ready() const;
};

/// JWKS caches by issuer_url and fetch settings, kept across reloads so a SIGHUP does not
/// refetch.
using jwks_caches = std::map<std::string, std::shared_ptr<jwks_cache>>;

/// Builds the state; starts a jwks_cache (on `ioc`) for each issuer not in `caches`. A reload
/// passes the `running` state: its counters carry on, and each authorizer whose settings did
/// not change is kept with its verified-token cache.
std::shared_ptr<const gateway_state> build_state(const gateway_config& cfg,
                                                 boost::asio::io_context& ioc, jwks_caches& caches,
                                                 const gateway_state* running = nullptr);

/// Stops and forgets the caches in `caches` that no authorizer of `running` uses.
void prune_jwks_caches(jwks_caches& caches, const gateway_state& running);

/// /healthz, /readyz, /metrics as a pure handler (nullopt for other paths).
std::optional<net::http_response> admin_response(const gateway_state& s, std::string_view path);

class gateway_server {
 public:
  /// Binds cfg.listen once per loop (SO_REUSEPORT); serves HTTPS when cfg.tls names a cert and
  /// key (reload_tls reads them again). Throws std::runtime_error on failure.
  gateway_server(std::vector<boost::asio::io_context*> loops,
                 std::shared_ptr<const gateway_state> state);
  /// Destroy after the loops stopped running (and before they are destroyed).
  ~gateway_server();
  gateway_server(const gateway_server&) = delete;
  gateway_server& operator=(const gateway_server&) = delete;

  unsigned short port() const noexcept;
  void set_state(std::shared_ptr<const gateway_state> state);
  /// Loads the listener's certificate and key again (a renewal): new connections get them,
  /// open ones keep theirs. Throws std::runtime_error, keeping the running pair, when they do
  /// not load. Switching between HTTP and HTTPS needs a restart (a warning, nothing changes).
  void reload_tls(const tls_config& tls);
  /// Stops accepting; idle connections close, requests in flight finish.
  void stop();
  std::int64_t connections() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

/// Drops this thread's pooled upstream connections (call on each loop thread before exit).
void clear_upstream_pool();

}  // namespace gatepass::gateway
