// HTTP/1.1 server on Boost.Beast: async sessions with keep-alive, a timeout before every read
// and write, header and body limits on every parser, a connection cap and graceful drain.
// Requests are handed to a pure handler(http_request) -> http_response.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "net/http_types.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace gatepass::net {

struct server_limits {
  std::size_t header_limit = 16 * 1024;   // larger → 431
  std::size_t body_limit = 64 * 1024;     // larger → 413
  std::chrono::seconds read_timeout{10};  // a request must arrive whole within this
  std::chrono::seconds idle_timeout{60};  // keep-alive connections idle longer are closed
  std::size_t max_connections = 10000;
};

using handler = std::function<http_response(const http_request&)>;

/// Requests `when` picks (a token endpoint: an argon2id check of the client secret and an RSA
/// signature, milliseconds each) run on the server's own worker threads, never on the event
/// loop, so the server's other requests (JWKS, discovery) and whatever else shares the loop (the
/// gateway, in one process) go on meanwhile. At most `max_waiting` such requests wait or run;
/// more are answered 503 with Retry-After at once (a flood of wrong secrets queues nothing).
/// Requests `light` picks that `when` does not (a token request from a client verified already:
/// an RSA signature, about a millisecond) run on worker threads of their own too, so they hold up
/// neither the loop nor wait behind the argon2 checks; at most `light_max_waiting` of them.
struct offload_options {
  std::function<bool(const http_request&)> when;  // empty: every request on the loop
  unsigned threads = 2;
  std::size_t max_waiting = 64;
  std::function<bool(const http_request&)> light;  // empty: on the loop
  unsigned light_threads = 1;
  std::size_t light_max_waiting = 256;
};

class http_server {
 public:
  /// Binds `listen` ("host:port"; port 0 picks a free one). Throws std::runtime_error on failure.
  http_server(boost::asio::io_context& ioc, const std::string& listen, handler h,
              server_limits limits = {}, offload_options offload = {});
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  unsigned short port() const noexcept;
  std::string address() const;
  /// Stops accepting; idle keep-alive connections close, requests in flight finish.
  void stop();
  /// Open connections (for draining).
  std::size_t connections() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
  // The workers of offloaded requests. Owned here, not by impl: a task holds a session, which
  // holds impl, and the last holder of a pool must never be one of its own threads.
  std::unique_ptr<boost::asio::thread_pool> workers_;
  std::unique_ptr<boost::asio::thread_pool> light_workers_;
};

/// Splits "host:port" ("[::1]:8080" too). Throws std::runtime_error when malformed.
std::pair<std::string, unsigned short> split_host_port(const std::string& listen);

}  // namespace gatepass::net
