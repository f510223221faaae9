#include "gateway/gateway_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <unordered_map>

#include "common/config_error.h"
#include "common/duration.h"
#include "common/form_decode.h"
#include "gateway/errc.h"
#include "gateway/field_names.h"
#include "gateway/head_parser.h"
#include "gateway/header_transform.h"
#include "gateway/jwks_cache.h"
#include "gateway/query_params.h"
#include "jose/errc.h"
#include "net/accept_pause.h"
#include "net/http_server.h"

namespace gatepass::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
// Everything runs on io_context executors, named by their concrete type: the type-erased
// any_io_executor costs a construction, a copy and a destruction at every step of every
// operation.
using executor = asio::io_context::executor_type;
template <class T>
using awaitable = asio::awaitable<T, executor>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor>{});
using tcp_stream = beast::basic_stream<tcp, executor>;
using tcp_socket = asio::basic_stream_socket<tcp, executor>;

// ---- state -------------------------------------------------------------------------------

bool gateway_state::ready() const {
  for (const auto& a : authenticators)
    if (!a->jwks()->ready()) return false;
  return true;
}

namespace {

upstream_target parse_upstream(const std::string& url) {
  upstream_target t;
  auto u = boost::urls::parse_uri(url);
  if (!u) throw std::runtime_error("upstream " + url + ": not a URL");
  t.tls = u->scheme() == "https";
  t.host = std::string(u->host_address());
  t.port = u->has_port() ? std::string(u->port()) : (t.tls ? "443" : "80");
  t.host_header = u->has_port() ? t.host + ":" + t.port : t.host;
  t.base_path = std::string(u->encoded_path());
  if (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
  t.pool_key = (t.tls ? "https://" : "http://") + t.host + ":" + t.port;
  return t;
}

// TLS 1.2 and later only, for both directions.
void restrict_protocols(ssl::context& ctx) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  // an idle keep-alive connection gives its TLS record buffers back
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

// Client side for https upstreams: the peer's chain must verify against the system trust
// store, or against `ca_file` (a private CA) when one is given; the host name is checked per
// connection. Throws config::error naming the field.
std::shared_ptr<ssl::context> upstream_tls_context(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  restrict_protocols(*ctx);
  beast::error_code ec;
  if (ca_file.empty())
    ctx->set_default_verify_paths(ec);
  else
    ctx->load_verify_file(ca_file, ec);
  if (!ec) ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec)
    throw config::error({"gateway.upstream_ca_file: " +
                         (ca_file.empty() ? "system trust store" : ca_file) + ": " + ec.message()});
  return ctx;
}

// Server side for the listener: the certificate chain and key files (PEM).
std::shared_ptr<ssl::context> listener_tls_context(const tls_config& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  restrict_protocols(*ctx);
  beast::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) throw std::runtime_error("gateway.tls.cert_file " + tls.cert_file + ": " + ec.message());
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("gateway.tls.key_file " + tls.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("gateway.tls.key_file " + tls.key_file +
                             ": does not match the certificate");
  return ctx;
}

}  // namespace

std::shared_ptr<const gateway_state> build_state(const gateway_config& cfg, asio::io_context& ioc,
                                                 jwks_caches& caches,
                                                 const gateway_state* running) {
  auto s = std::make_shared<gateway_state>();
  s->cfg = cfg;
  std::vector<route_spec> specs;
  for (const auto& r : cfg.routes) specs.push_back({r.method, r.path});
  try {
    s->matcher = route_matcher(specs);
  } catch (const std::invalid_argument& e) {
    throw config::error({"gateway.routes: " + std::string(e.what())});
  }
  std::map<std::string, std::shared_ptr<authenticator>> by_name;
  for (const auto& [name, ac] : cfg.authorizers) {
    // shared by the authorizers of one issuer with the same fetch settings: one whose
    // cooldown, TTL bounds or CA differ gets its own (the first one's must not silently apply)
    auto& cache =
        caches[ac.issuer_url + '\n' + ac.ca_file + '\n' + std::to_string(ac.jwks_min_ttl) + ' ' +
               std::to_string(ac.jwks_max_ttl) + ' ' + std::to_string(ac.refetch_cooldown)];
    if (!cache) {
      jwks_cache_options o;
      o.issuer_url = ac.issuer_url;
      o.fetch.ca_file = ac.ca_file;
      o.min_ttl = std::chrono::seconds(ac.jwks_min_ttl);
      o.max_ttl = std::chrono::seconds(ac.jwks_max_ttl);
      o.refetch_cooldown = std::chrono::seconds(ac.refetch_cooldown);
      cache = jwks_cache::create(ioc, o);
      cache->start();
    }
    // An authorizer a reload leaves as it was (same settings, keys and limits) is kept with its
    // verified tokens and its counters: a reload under load is not a burst of RSA verifies
    std::shared_ptr<authenticator> a;
    if (running != nullptr &&
        running->cfg.limits.token_cache_entries == cfg.limits.token_cache_entries &&
        running->cfg.limits.token_cache_bytes == cfg.limits.token_cache_bytes &&
        running->cfg.limits.max_token_bytes == cfg.limits.max_token_bytes)
      for (const auto& old : running->authenticators)
        if (old->config() == ac && old->jwks() == cache) a = old;
    if (!a)
      a = std::make_shared<authenticator>(ac, cache, cfg.limits.token_cache_entries,
                                          cfg.limits.max_token_bytes, cfg.limits.token_cache_bytes);
    by_name[name] = a;
    s->authenticators.push_back(a);
    for (const auto& [header, claim] : ac.claims_to_headers)
      s->claim_header_names.push_back(field_canonical(header));
  }
  std::shared_ptr<ssl::context> upstream_tls;  // one per state: a reload re-reads the CA file
  for (const auto& r : cfg.routes) {
    s->route_auth.push_back(r.authorizer.empty() ? nullptr : by_name.at(r.authorizer));
    s->upstreams.push_back(r.upstream.empty() ? upstream_target{} : parse_upstream(r.upstream));
    if (auto& up = s->upstreams.back(); up.tls) {
      if (!upstream_tls) upstream_tls = upstream_tls_context(cfg.upstream_ca_file);
      up.tls_ctx = upstream_tls;
      // connections verified under another trust configuration are not shared
      up.pool_key += "#" + std::to_string(reinterpret_cast<std::uintptr_t>(upstream_tls.get()));
    }
    s->route_labels.push_back(r.path == "$default" ? "$default" : r.method + " " + r.path);
  }
  s->counters =
      std::make_shared<stats>(s->route_labels, running ? running->counters.get() : nullptr);
  return s;
}

void prune_jwks_caches(jwks_caches& caches, const gateway_state& running) {
  std::erase_if(caches, [&](const auto& entry) {
    const bool used = std::any_of(running.authenticators.begin(), running.authenticators.end(),
                                  [&](const auto& a) { return a->jwks() == entry.second; });
    if (!used) entry.second->stop();
    return !used;
  });
}

std::optional<net::http_response> admin_response(const gateway_state& s, std::string_view path) {
  if (path == "/healthz") return net::json_response(200, "{\"status\":\"ok\"}");
  if (path == "/readyz") {
    if (s.ready()) return net::json_response(200, "{\"status\":\"ready\"}");
    json::object o;
    o["status"] = "not ready";
    json::array missing;
    for (const auto& a : s.authenticators)
      if (!a->jwks()->ready()) missing.emplace_back(a->config().name);
    o["jwks_not_loaded"] = std::move(missing);
    return net::json_response(503, json::serialize(o));
  }
  if (path == "/metrics") {
    net::http_response r;
    r.set("Content-Type", "text/plain; version=0.0.4");
    r.body = s.counters->render(s.authenticators);
    return r;
  }
  return std::nullopt;
}

// ---- upstream pool -------------------------------------------------------------------------

namespace {

// Deadlines, the sweep and the hot/quick heuristics work in tens of milliseconds: the coarse
// monotonic clock (updated every kernel tick, read without a TSC read) is exact enough and
// costs a fraction of steady_clock on every read and write.
struct mono_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<mono_clock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

// A connection that is plain TCP or TLS over TCP, chosen at run time: one branch per read or
// write keeps the proxy code in one instantiation for both. Timeouts live on tcp().
class any_stream {
 public:
  using executor_type = tcp_stream::executor_type;
  using tls_stream = beast::ssl_stream<tcp_stream>;

  // `tls_ctx` null: plain TCP. The stream keeps its context alive.
  any_stream(tcp_stream&& s, std::shared_ptr<ssl::context> tls_ctx) : ctx_(std::move(tls_ctx)) {
    if (ctx_)
      tls_ = std::make_unique<tls_stream>(std::move(s), *ctx_);
    else
      plain_.emplace(std::move(s));
  }

  tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  tls_stream* tls() { return tls_.get(); }
  executor_type get_executor() { return tcp().get_executor(); }

  // An upstream connection's read buffer, kept (empty) with it in the pool, so a request
  // through a pooled connection allocates none.
  beast::flat_buffer spare;
  mono_clock::time_point pooled_at{};  // when it went idle in the pool

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& b, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& buffers) {
          if (tls_)
            tls_->async_read_some(buffers, std::move(handler));
          else  // straight to the socket: timeouts are the loop's sweep, not the stream's timer
            plain_->socket().async_read_some(buffers, std::move(handler));
        },
        token, b);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& buffers) {
          if (tls_)
            tls_->async_write_some(buffers, std::move(handler));
          else
            plain_->socket().async_write_some(buffers, std::move(handler));
        },
        token, b);
  }

 private:
  std::shared_ptr<ssl::context> ctx_;  // declared first: outlives tls_
  std::optional<tcp_stream> plain_;
  std::unique_ptr<tls_stream> tls_;
};

// A pooled connection about to be reused: nothing arrived and no close came while it idled
// (late bytes of the last answer would be read as this request's answer; a closed one would
// fail a request that may not be sent again). Looked at only when it idled for a clock tick
// or more: under load a connection goes straight back to work, and the peek costs a syscall.
bool still_clean(any_stream& s) {
  if (mono_clock::now() <= s.pooled_at) return true;
  char byte = 0;
  const auto n = ::recv(s.tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// What a plain upstream connection holds unread while a request body is still being sent,
// from one non-blocking peek: nothing, a refusal (a 3xx-5xx status: 413, 403…; the body then
// stops, RFC 9112 §9.6: a client seeing an error answer ceases sending), a close, or other bytes
// (a 2xx: an upstream may answer while it reads on, full duplex; or no final status line yet).
// Complete interim (1xx) heads before the status are skipped: a 103 does not hide a 413 after
// it. TLS records cannot be read this way (a TLS 1.3 server sends session tickets unasked): not
// looked at there.
enum class upstream_said { nothing, refusal, closed, other, failed };
upstream_said peek_answer(any_stream& s) {
  if (s.tls() != nullptr) return upstream_said::nothing;
  std::array<char, 1024> buf;
  const auto n =
      ::recv(s.tcp().socket().native_handle(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return upstream_said::closed;
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? upstream_said::nothing
                                                                     : upstream_said::failed;
  std::string_view v(buf.data(), static_cast<std::size_t>(n));
  while (v.size() >= 10 && v.substr(0, 7) == "HTTP/1." && v[9] == '1') {
    const auto end = v.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    v.remove_prefix(end + 4);
  }
  if (v.size() >= 10 && v.substr(0, 7) == "HTTP/1." && v[9] >= '3' && v[9] <= '5')
    return upstream_said::refusal;
  return upstream_said::other;
}

bool answered_early(any_stream& s) {
  const auto said = peek_answer(s);
  return said == upstream_said::refusal || said == upstream_said::closed;
}

// Pooled keep-alive connections, one pool per event-loop thread: a connection is only ever
// used on the loop that opened it, so the pool needs no lock.
struct upstream_pool {
  std::unordered_map<std::string, std::vector<std::unique_ptr<any_stream>>> idle;
};
// Emptied by clear_upstream_pool when the thread's loop has stopped, while its io_context (which
// the pooled sockets belong to) still exists.
thread_local std::unique_ptr<upstream_pool> this_thread_pool;

upstream_pool& pool() {
  if (!this_thread_pool) this_thread_pool = std::make_unique<upstream_pool>();
  return *this_thread_pool;
}

}  // namespace

void clear_upstream_pool() {
  this_thread_pool.reset();
}

// ---- server --------------------------------------------------------------------------------

namespace {

// What a client connection keeps between requests: the socket and an empty buffer. The
// parsers, serializers and upstream connection of a request live in serve_one's frame and are
// gone once it answers, and no coroutine waits for the next request (see wait_request).
struct client_conn {
  client_conn(tcp_socket&& s, std::shared_ptr<ssl::context> tls_ctx,
              std::shared_ptr<gateway_server::impl> srv, std::size_t loop_index);
  ~client_conn();
  client_conn(const client_conn&) = delete;
  client_conn& operator=(const client_conn&) = delete;

  any_stream stream;
  beast::flat_buffer buffer;  // bytes read past the last request; storage released when idle
  std::string head;           // the message head being sent on; its storage reused while busy
  std::string remote;         // peer address, for X-Forwarded-For and the access log
  std::shared_ptr<gateway_server::impl> server;  // outlives every connection
  std::size_t loop;                              // the event loop it lives on
  // its open-connections gauge, which max_connections is checked against (shared by every
  // set of counters a reload builds)
  std::shared_ptr<stats> counters;
  // Timeouts without a timer per operation: before each read or write the deadline is set,
  // after it cleared; the loop's sweep cancels what is past its deadline and marks it timed out.
  // Idle, `deadline` bounds the wait for the next request.
  mono_clock::time_point deadline = mono_clock::time_point::max();
  bool timed_out = false;
  // Right after a response a busy connection (its last request came quickly) waits for the next
  // one with a plain read (hot): no new coroutine and no epoll_ctl, which a readiness wait
  // costs on every request. Quiet for a sweep tick or two, it is demoted to a bufferless wait
  // (wait_request); a connection that waited long before is not kept hot, so many idle clients
  // never hold buffers.
  mono_clock::time_point waiting_since{};
  bool quick = false;  // the request being served came soon after the wait began
  bool hot = false;
  bool demoted = false;
  mono_clock::time_point hot_until{};
  any_stream* upstream = nullptr;  // the upstream connection of the request in progress
  mono_clock::time_point upstream_deadline = mono_clock::time_point::max();
  bool upstream_timed_out = false;
  // The connection closes with the client maybe still sending a body nobody reads: close
  // lingers, reading and dropping it for a moment (nginx's lingering_close), so the client can
  // read the answer before a reset (closing with unread bytes sends one) discards it.
  bool linger = false;
  // a link in its loop's idle or busy list
  struct conn_list* list = nullptr;
  client_conn* prev = nullptr;
  client_conn* next = nullptr;
};

// Connections of one event loop, waiting for their next request (idle) or serving one (busy).
// Only that loop's thread touches them: no lock. The sweep checks their deadlines; drain
// closes the idle ones.
struct conn_list {
  client_conn* head = nullptr;

  void insert(client_conn& c) {
    if (c.list != nullptr) c.list->erase(c);
    c.prev = nullptr;
    c.next = head;
    if (head != nullptr) head->prev = &c;
    head = &c;
    c.list = this;
  }
  void erase(client_conn& c) {
    if (c.list != this) return;
    (c.prev != nullptr ? c.prev->next : head) = c.next;
    if (c.next != nullptr) c.next->prev = c.prev;
    c.prev = c.next = nullptr;
    c.list = nullptr;
  }
  template <class F>
  void for_each(F f) {
    for (auto* c = head; c != nullptr; c = c->next) f(*c);
  }
};

}  // namespace

struct gateway_server::impl : std::enable_shared_from_this<gateway_server::impl> {
  struct loop_slot {
    conn_list idle;
    conn_list busy;
    std::unique_ptr<asio::steady_timer> sweep;
    // the state as this loop last saw it (only its thread touches these)
    std::shared_ptr<const gateway_state> state;
    std::uint64_t state_version = ~std::uint64_t{0};
  };
  std::vector<asio::io_context*> loops;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<loop_slot> slots;                // per loop
  std::shared_ptr<ssl::context> listener_tls;  // certificate and key; null: plain HTTP (under m)
  mutable std::mutex m;
  std::shared_ptr<const gateway_state> state;
  std::atomic<std::uint64_t> state_version{0};  // bumped after every set_state
  std::atomic<bool> stopping{false};

  std::shared_ptr<const gateway_state> current() const {
    std::lock_guard lock(m);
    return state;
  }
  // The same from a loop's thread without the lock: the loop's copy, renewed when a reload
  // bumped the version.
  std::shared_ptr<const gateway_state> current(std::size_t loop) {
    auto& s = slots[loop];
    const auto v = state_version.load(std::memory_order_acquire);
    if (s.state_version != v) {
      s.state = current();
      s.state_version = v;
    }
    return s.state;
  }
  void accept(std::size_t i);
  void sweep(std::size_t i);
  void wait_request(std::shared_ptr<client_conn> c, bool first);
  awaitable<void> serve(std::shared_ptr<client_conn> c, bool first);
  awaitable<bool> serve_one(client_conn& c, bool first);
  static void close(client_conn& c);
};

namespace {

client_conn::client_conn(tcp_socket&& s, std::shared_ptr<ssl::context> tls_ctx,
                         std::shared_ptr<gateway_server::impl> srv, std::size_t loop_index)
    : stream(tcp_stream(std::move(s)), std::move(tls_ctx)),
      server(std::move(srv)),
      loop(loop_index),
      counters(server->current(loop_index)->counters) {
  counters->connection_opened();  // counted in every later set too (stats carries it)
}

client_conn::~client_conn() {
  if (list != nullptr) list->erase(*this);
  counters->connection_closed();
}

}  // namespace

namespace {

const char* reason_phrase_json(unsigned status) {
  switch (status) {
    case 400:
      return "{\"message\":\"Bad Request\"}";
    case 401:
      return "{\"message\":\"Unauthorized\"}";
    case 403:
      return "{\"message\":\"Forbidden\"}";
    case 404:
      return "{\"message\":\"Not Found\"}";
    case 405:
      return "{\"message\":\"Method Not Allowed\"}";
    case 413:
      return "{\"message\":\"Payload Too Large\"}";
    case 414:
      return "{\"message\":\"URI Too Long\"}";
    case 417:
      return "{\"message\":\"Expectation Failed\"}";
    case 501:
      return "{\"message\":\"Not Implemented\"}";
    case 431:
      return "{\"message\":\"Request Header Fields Too Large\"}";
    case 502:
      return "{\"message\":\"Bad Gateway\"}";
    case 504:
      return "{\"message\":\"Gateway Timeout\"}";
    default:
      return "{\"message\":\"Internal Server Error\"}";
  }
}

// RFC 6750 §3 challenge; the reason text never holds quotes or control characters.
std::string bearer_challenge(const route_config* route, unsigned status,
                             const std::error_code& reason) {
  // RFC 6750 §3: error_description holds %x20-21 / %x23-5B / %x5D-7E only: a quote or a
  // backslash becomes ', "§" becomes "section ", any other byte outside is left out
  const std::string msg = reason.message();
  std::string desc;
  desc.reserve(msg.size() + 8);
  for (std::size_t i = 0; i < msg.size(); ++i) {
    const auto c = static_cast<unsigned char>(msg[i]);
    if (msg.compare(i, 2, "\xc2\xa7") == 0) {
      desc += "section ";
      ++i;
    } else if (c == '"' || c == '\\') {
      desc += '\'';
    } else if (c >= 0x20 && c <= 0x7e) {
      desc += static_cast<char>(c);
    }
  }
  std::string v = "Bearer realm=\"gatepass\"";
  if (route != nullptr && !route->scopes.empty()) {
    std::string sc;
    for (const auto& s : route->scopes) sc += (sc.empty() ? "" : " ") + s;
    v += ", scope=\"" + sc + "\"";
  }
  v += status == 403 ? ", error=\"insufficient_scope\"" : ", error=\"invalid_token\"";
  v += ", error_description=\"" + desc + "\"";
  return v;
}

// The buffers of one write: the message head (with the first piece only), then a body piece,
// framed as a chunk when the body is chunked; `last` ends a chunked body. Not copyable: the
// buffers point into it.
struct piece_buffers {
  piece_buffers(std::string_view head, const char* data, std::size_t n, bool chunked, bool last) {
    std::size_t k = 0;
    if (!head.empty()) b[k++] = asio::buffer(head.data(), head.size());
    if (chunked && n > 0) {
      const auto len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
      b[k++] = asio::buffer(size_line, static_cast<std::size_t>(len));
    }
    if (n > 0) b[k++] = asio::buffer(data, n);
    if (chunked && n > 0) b[k++] = asio::buffer("\r\n", 2);
    if (chunked && last) b[k++] = asio::buffer("0\r\n\r\n", 5);
    size = asio::buffer_size(b);
  }
  piece_buffers(const piece_buffers&) = delete;
  piece_buffers& operator=(const piece_buffers&) = delete;

  char size_line[24] = {};
  std::array<asio::const_buffer, 5> b{};
  std::size_t size = 0;
};

// The rest of a write whose first write_some sent only `done` bytes (rare: a full socket
// buffer). The whole write usually goes in one write_some, without a composed operation.
awaitable<beast::error_code> write_rest(any_stream& s, const piece_buffers& pb, std::size_t done) {
  beast::buffers_suffix<std::array<asio::const_buffer, 5>> rest(pb.b);
  rest.consume(done);
  auto [ec, n] = co_await asio::async_write(s, rest, use_tuple);
  (void)n;
  co_return ec;
}

// Sends what it can of a piece (from byte `done` on) to a plain upstream without waiting:
// the bytes sent and the error (would_block when the socket buffer is full).
std::pair<std::size_t, beast::error_code> send_now(any_stream& s, const piece_buffers& pb,
                                                   std::size_t done) {
  beast::buffers_suffix<std::array<asio::const_buffer, 5>> rest(pb.b);
  rest.consume(done);
  std::size_t sent = 0;
  for (std::size_t left = pb.size - done; left > 0;) {
    std::array<iovec, 5> iov{};
    std::size_t k = 0;
    for (const auto b : rest) iov[k++] = iovec{const_cast<void*>(b.data()), b.size()};
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = k;
    const auto n = ::sendmsg(s.tcp().socket().native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {sent, beast::error_code(errno, boost::system::system_category())};
    }
    rest.consume(static_cast<std::size_t>(n));
    sent += static_cast<std::size_t>(n);
    left -= static_cast<std::size_t>(n);
  }
  return {sent, {}};
}

// The rest of a piece for a plain upstream whose socket buffer is full, not waiting blind for
// room: an upstream refusing an upload (413, 403…) often answers and stops reading, and a write
// waiting for room would wait out upstream_timeout (504) with the answer unread. Before each
// wait it looks at what the upstream sent (peek_answer), then waits for room or for its bytes,
// whichever first: a refusal or a close ends the write with `refused`; other bytes end the
// watching (a readiness wait would fire at once on bytes left unread) and the write goes on.
// Readiness waits carry no bytes, so no write's count is lost.
struct watched_write {
  beast::error_code ec;
  std::size_t sent = 0;
  bool refused = false;
};
awaitable<watched_write> write_watching(any_stream& s, const piece_buffers& pb, std::size_t done) {
  auto& sock = s.tcp().socket();
  watched_write out;
  bool watch = true;
  for (;;) {
    auto [n, ec] = send_now(s, pb, done + out.sent);
    out.sent += n;
    if (!ec) co_return out;
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      out.ec = ec;
      co_return out;
    }
    if (watch) {
      switch (peek_answer(s)) {
        case upstream_said::refusal:
        case upstream_said::closed:
          out.refused = true;
          co_return out;
        case upstream_said::failed:
          out.ec = beast::error_code(errno, boost::system::system_category());
          co_return out;
        case upstream_said::other:
          watch = false;
          break;
        case upstream_said::nothing:
          break;
      }
    }
    if (!watch) {
      auto [wec] = co_await sock.async_wait(tcp::socket::wait_write, use_tuple);
      if (wec) {
        out.ec = wec;
        co_return out;
      }
      continue;
    }
    auto [order, wec, rec] =
        co_await asio::experimental::make_parallel_group(
            sock.async_wait(tcp::socket::wait_write, asio::deferred),
            sock.async_wait(tcp::socket::wait_read, asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable_t<executor>{});
    const auto& first = order[0] == 0 ? wec : rec;
    if (first) {
      out.ec = first;
      co_return out;
    }
  }
}

// Parses the head `buffer` holds (or what of it came so far) in place: its outcome, or nullopt
// while more bytes are needed.
template <bool isRequest>
std::optional<beast::error_code> head_from_buffer(head_parser<isRequest>& parser,
                                                  beast::flat_buffer& buffer) {
  const auto b = buffer.data();
  beast::error_code ec;
  buffer.consume(parser.put_head(static_cast<const char*>(b.data()), b.size(), ec));
  if (ec && ec != http::error::need_more) return ec;
  if (parser.is_header_done()) return beast::error_code();
  return std::nullopt;
}

// What to read into `buffer` next (Beast's read_size rule).
std::size_t read_room(const beast::flat_buffer& buffer) {
  return std::clamp<std::size_t>(buffer.capacity() - buffer.size(), 512, 65536);
}

// After a read into buffer.prepare() completed with `rec` and `n` bytes: the head's outcome,
// or nullopt when more bytes are needed. The errors are http::async_read_header's:
// end_of_stream when nothing came, partial_message when a head was cut.
template <bool isRequest>
std::optional<beast::error_code> head_after_read(head_parser<isRequest>& parser,
                                                 beast::flat_buffer& buffer, beast::error_code rec,
                                                 std::size_t n) {
  if (rec == asio::error::eof) {
    if (!parser.got_some() && buffer.size() == 0)
      return beast::error_code(http::error::end_of_stream);
    return beast::error_code(http::error::partial_message);
  }
  if (rec) return rec;
  buffer.commit(n);
  return head_from_buffer(parser, buffer);
}

// Reads until the parser has a complete message head, as http::async_read_header does,
// without its composed operations. What `buffer` already held has been given to the parser
// (head_from_buffer, head_after_read).
template <bool isRequest>
awaitable<beast::error_code> read_head(any_stream& s, beast::flat_buffer& buffer,
                                       head_parser<isRequest>& parser) {
  for (;;) {
    auto [rec, n] = co_await s.async_read_some(buffer.prepare(read_room(buffer)), use_tuple);
    if (auto outcome = head_after_read(parser, buffer, rec, n)) co_return *outcome;
  }
}

constexpr std::size_t relay_size = 16 * 1024;  // body bytes in flight per request, at most

// Body bytes in flight for one request: a small body (the usual upstream answer) fits in the
// inline bytes, a larger one gets a buffer of up to relay_size; not zero-filled.
struct relay_buffer {
  std::array<char, 512> small;
  std::unique_ptr<char[]> heap;
  char* data = nullptr;
  std::size_t cap = 0;

  // For a body of `length` bytes (unknown: the maximum).
  void ensure(boost::optional<std::uint64_t> length) {
    if (data != nullptr) return;
    cap = length && *length > 0 && *length < relay_size ? static_cast<std::size_t>(*length)
                                                        : relay_size;
    if (cap <= small.size()) {
      data = small.data();
    } else {
      heap = std::make_unique_for_overwrite<char[]>(cap);
      data = heap.get();
    }
  }
  void reset() {
    heap.reset();
    data = nullptr;
    cap = 0;
  }
};

// Not the coarse clock: it lags up to a tick, and a token issued in that tick after a second
// began would have an iat in the gateway's future.
std::int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One access-log line: the fields every entry has, then the caller's; a JSON line on stdout.
json::object access_entry(const std::string& remote, unsigned status) {
  json::object o;
  o["time"] = format_utc(wall_now());
  o["remote"] = remote;
  o["status"] = status;
  return o;
}
void write_access_line(const json::object& o) {
  const std::string line = json::serialize(o) + "\n";
  [[maybe_unused]] auto w = ::write(1, line.data(), line.size());
}

struct auth_result {
  unsigned status = 200;
  std::error_code reason;
  std::shared_ptr<const verified_entry> token;
  bool refetching = false;
  std::shared_ptr<const jose::key_set> seen;  // when refetching: the set the decision saw
};

// Token sources of a request for one authorizer, then the decision.
auth_result authorize_request(const authenticator& a, const head_parser<true>& req,
                              std::string_view query, const route_config& route) {
  token_sources src;
  std::vector<std::string> qvals;
  if (a.from_header()) {
    const auto known = a.source_field();
    const bool from_authorization = known == http::field::authorization;
    for (const auto& f : req.fields()) {
      if (known != http::field::unknown ? f.name() == known
                                        : beast::iequals(f.name_string(), a.source_name())) {
        src.header_values.push_back(f.value());
      } else if (!from_authorization && a.config().forward_authorization) {
        // Another copy the upstream may take for the token: the source spelled with '_'
        // (X_Api_Token reaches CGI and WSGI servers as X-Api-Token does), or a bearer token
        // in Authorization beside a token in another header (with forward_authorization off,
        // neither reaches the upstream)
        if (field_name_is(f.name_string(), a.source_canonical()) ||
            (f.name() == http::field::authorization && f.value().size() >= 7 &&
             beast::iequals(f.value().substr(0, 7), "bearer ")))
          src.other_location = true;
      }
    }
    if (!query_values(query, "access_token").empty()) src.other_location = true;
  } else {
    qvals = query_values(query, a.source_name());
    for (const auto& v : qvals) src.query_values.emplace_back(v);
    src.other_location = std::any_of(req.fields().begin(), req.fields().end(), [](const auto& f) {
      return f.name() == http::field::authorization;
    });
  }
  auth_result r;
  auto token = a.extract(src);
  if (!token) {
    r.status = 401;
    r.reason = token.error();
    return r;
  }
  auto d = a.authorize(*token, route, wall_now());
  r.status = d.status;
  r.reason = d.reason;
  r.token = std::move(d.token);
  r.refetching = d.refetching;
  r.seen = std::move(d.seen);
  return r;
}

// An upstream's name looked up by `deadline` (beast::error::timeout after it). The lookup runs
// on Asio's resolver thread (getaddrinfo, which has no deadline of its own and cannot be
// cancelled): a resolver that does not answer costs the request its connect timeout, a 504,
// never more; the lookup left behind finishes on that thread and is dropped.
awaitable<std::pair<beast::error_code, tcp::resolver::results_type>> resolve_by(
    const std::string& host, const std::string& port,
    std::chrono::steady_clock::time_point deadline) {
  struct lookup {
    explicit lookup(const executor& ex) : resolver(ex), done(ex) {}
    tcp::resolver resolver;
    asio::steady_timer done;  // cancelled when the lookup completes
    bool finished = false;
    beast::error_code ec;
    tcp::resolver::results_type results;
  };
  auto l = std::make_shared<lookup>(co_await asio::this_coro::executor);
  l->done.expires_at(deadline);
  l->resolver.async_resolve(host, port, [l](beast::error_code ec, tcp::resolver::results_type r) {
    l->finished = true;
    l->ec = ec;
    l->results = std::move(r);
    l->done.cancel();
  });
  co_await l->done.async_wait(use_tuple);
  if (!l->finished) {
    l->resolver.cancel();
    co_return std::pair{beast::error_code(beast::error::timeout), tcp::resolver::results_type()};
  }
  co_return std::pair{l->ec, std::move(l->results)};
}

// A token whose kid the cached set lacks while the issuer's JWKS is being refetched (a rotation):
// a wait for that one shared fetch (bounded by its timeout); true when the set changed, and the
// decision is to be taken again. `before` is the set the first decision saw (its `seen`): a
// refetch that completed before the wait began is still noticed. The proxy and forward-auth both
// decide this way; a decision that needs no wait costs no coroutine.
awaitable<bool> refetched(const authenticator& a,
                          const std::shared_ptr<const jose::key_set>& before) {
  asio::steady_timer wait(co_await asio::this_coro::executor);
  for (int i = 0; i < 40 && a.jwks()->keys() == before; ++i) {
    wait.expires_after(std::chrono::milliseconds(50));
    co_await wait.async_wait(use_tuple);
  }
  co_return a.jwks()->keys() != before;
}

}  // namespace

void gateway_server::impl::accept(std::size_t i) {
  auto& acc = *acceptors[i];
  acc.async_accept(*loops[i], [self = shared_from_this(), i](beast::error_code ec,
                                                             tcp_socket socket) {
    if (ec == asio::error::operation_aborted || self->stopping) return;
    if (ec && net::accept_must_pause(ec, "gateway listener")) {
      return net::accept_after_pause(*self->loops[i], [self, i] {
        if (!self->stopping) self->accept(i);
      });
    }
    if (!ec) {
      const auto st = self->current();
      if (static_cast<std::size_t>(st->counters->connections()) >= st->cfg.limits.max_connections) {
        beast::error_code ignore;
        socket.close(ignore);  // as nginx at worker_connections: no answer, counted
        st->counters->connection_refused();
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        std::shared_ptr<ssl::context> tls;
        {
          std::lock_guard lock(self->m);
          tls = self->listener_tls;
        }
        auto c = std::make_shared<client_conn>(std::move(socket), std::move(tls), self, i);
        const auto peer = c->stream.tcp().socket().remote_endpoint(ec);
        if (!ec) c->remote = peer.address().to_string();
        if (c->stream.tls())
          asio::co_spawn(*self->loops[i], self->serve(std::move(c), true), asio::detached);
        else
          self->wait_request(std::move(c), true);
      }
    }
    self->accept(i);
  });
}

// Four times a second: connections waiting past their deadline (the first request's
// read_timeout, then idle_timeout) are cancelled, and their wait completes and drops them;
// a read or write past its deadline, to the client or the upstream, is cancelled and reported
// as a timeout (settle). One timer per loop instead of one per operation.
void gateway_server::impl::sweep(std::size_t i) {
  auto& timer = *slots[i].sweep;
  timer.expires_after(std::chrono::milliseconds(250));
  timer.async_wait([self = shared_from_this(), i](beast::error_code ec) {
    // on during a drain too: a slow client or upstream of a request still in flight is cut at
    // its timeout, not kept until the drain's end
    if (ec) return;
    const auto now = mono_clock::now();
    beast::error_code ignore;
    self->slots[i].idle.for_each([&](client_conn& c) {
      if (c.deadline <= now) c.stream.tcp().socket().cancel(ignore);
    });
    self->slots[i].busy.for_each([&](client_conn& c) {
      if (c.hot && c.hot_until <= now && !c.demoted) {
        c.demoted = true;
        c.stream.tcp().socket().cancel(ignore);
      }
      if (c.deadline <= now && !c.timed_out) {
        c.timed_out = true;
        c.stream.tcp().socket().cancel(ignore);
      }
      if (c.upstream != nullptr && c.upstream_deadline <= now && !c.upstream_timed_out) {
        c.upstream_timed_out = true;
        c.upstream->tcp().socket().cancel(ignore);
      }
    });
    self->sweep(i);
  });
}

namespace {

// Sets the deadline of the client read or write about to start.
void arm(client_conn& c, std::size_t seconds) {
  c.deadline = mono_clock::now() + std::chrono::seconds(seconds);
}
// Clears it once the operation completed; a cancellation by the sweep becomes a timeout.
beast::error_code settle(client_conn& c, beast::error_code ec) {
  c.deadline = mono_clock::time_point::max();
  return c.timed_out ? beast::error_code(beast::error::timeout) : ec;
}
void arm_upstream(client_conn& c, any_stream& up, std::size_t seconds) {
  c.upstream = &up;
  c.upstream_deadline = mono_clock::now() + std::chrono::seconds(seconds);
}
beast::error_code settle_upstream(client_conn& c, beast::error_code ec) {
  c.upstream_deadline = mono_clock::time_point::max();
  return c.upstream_timed_out ? beast::error_code(beast::error::timeout) : ec;
}

// Forgets the request's upstream connection when serve_one leaves, however it leaves.
struct upstream_watch {
  client_conn& c;
  ~upstream_watch() {
    c.upstream = nullptr;
    c.upstream_deadline = mono_clock::time_point::max();
    c.upstream_timed_out = false;
  }
};

}  // namespace

// A plain TCP connection between requests: no coroutine, only a readiness wait whose handler
// holds the connection, so 10,000 idle keep-alive connections cost a few MB. (TLS waits in
// serve_one: decrypted bytes may already sit in the TLS layer, invisible to the socket.)
void gateway_server::impl::wait_request(std::shared_ptr<client_conn> c, bool first) {
  if (stopping) return close(*c);
  c->buffer.shrink_to_fit();
  std::string().swap(c->head);  // idle connections hold no request storage
  const auto st = current(c->loop);
  c->waiting_since = mono_clock::now();
  c->deadline = c->waiting_since + std::chrono::seconds(first ? st->cfg.limits.read_timeout
                                                              : st->cfg.limits.idle_timeout);
  slots[c->loop].idle.insert(*c);
  auto& socket = c->stream.tcp().socket();
  socket.async_wait(
      tcp::socket::wait_read, [c = std::move(c), first](beast::error_code ec) mutable {
        auto* self = c->server.get();
        self->slots[c->loop].idle.erase(*c);
        c->deadline = mono_clock::time_point::max();
        // idle too long, drained, or the socket failed: closed with the connection
        if (ec) return;
        c->quick = mono_clock::now() - c->waiting_since < std::chrono::milliseconds(250);
        auto& loop = *self->loops[c->loop];
        asio::co_spawn(loop, self->serve(std::move(c), first), asio::detached);
      });
}

// Requests on one connection until it must wait for more bytes (plain TCP: back to
// wait_request) or closes.
awaitable<void> gateway_server::impl::serve(std::shared_ptr<client_conn> c, bool first) {
  if (auto* tls = c->stream.tls(); tls && first) {
    c->stream.tcp().expires_after(std::chrono::seconds(current()->cfg.limits.read_timeout));
    auto [hec] = co_await tls->async_handshake(ssl::stream_base::server, use_tuple);
    if (hec) co_return;
    c->stream.tcp().expires_never();  // from here on the loop's sweep keeps the time
  }
  slots[c->loop].busy.insert(*c);
  for (;; first = false) {
    if (!co_await serve_one(*c, first)) break;
    if (stopping) break;
    if (!c->stream.tls() && c->buffer.size() == 0) {
      if (!c->quick) {
        wait_request(std::move(c), false);
        co_return;
      }
      // hot wait (see client_conn::hot); the idle deadline then counts from the demotion
      c->hot = true;
      c->demoted = false;  // a demotion that came after the last read completed is void
      c->hot_until = mono_clock::now() + std::chrono::milliseconds(250);
      constexpr std::size_t hot_read = 4096;  // a typical request with a JWT in one recv
      auto [ec, n] = co_await c->stream.async_read_some(c->buffer.prepare(hot_read), use_tuple);
      c->hot = false;
      if (!ec) {
        c->buffer.commit(n);
        continue;
      }
      if (c->demoted && ec == asio::error::operation_aborted && !stopping) {
        c->demoted = false;
        c->buffer.clear();
        wait_request(std::move(c), false);
        co_return;
      }
      break;  // closed by the client, failed, or drained
    }
  }
  if (auto* tls = c->stream.tls(); tls && c->stream.tcp().socket().is_open()) {
    c->stream.tcp().expires_after(std::chrono::seconds(1));
    auto [shec] = co_await tls->async_shutdown(use_tuple);  // close_notify, briefly
    (void)shec;
  }
  close(*c);
  if (c->linger && !stopping) {
    // what the client still sends is read and dropped, for 2 s at most (1 s per read); an
    // earlier timeout must not keep the sweep from cancelling these reads
    c->timed_out = false;
    const auto until = mono_clock::now() + std::chrono::seconds(2);
    while (!stopping && mono_clock::now() < until && c->stream.tcp().socket().is_open()) {
      c->buffer.clear();
      arm(*c, 1);
      auto [lec, ln] =
          co_await c->stream.tcp().socket().async_read_some(c->buffer.prepare(16384), use_tuple);
      (void)ln;
      if (lec) break;
    }
  }
}

void gateway_server::impl::close(client_conn& c) {
  beast::error_code ignore;
  c.stream.tcp().socket().shutdown(tcp::socket::shutdown_send, ignore);
}

// One request: read it, answer it (locally or through the upstream); true when the connection
// stays open for the next one.
awaitable<bool> gateway_server::impl::serve_one(client_conn& c, bool first) {
  const auto st = current(c.loop);
  const auto& lim = st->cfg.limits;
  head_parser<true> parser;
  parser.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
  parser.body_limit(lim.max_body_bytes);
  // Plain TCP comes here once the request's first bytes arrived; TLS waits here for them
  // (listed as idle meanwhile, so drain can close it).
  const bool waiting = c.stream.tls() != nullptr && c.buffer.size() == 0;
  // one recv for a typical request with a JWT (an empty buffer would read 512 bytes first)
  if (c.buffer.capacity() < 4096) c.buffer.reserve(4096);
  beast::error_code ec;
  if (c.buffer.size() > 0) {
    // Usually the whole head arrived with the first read: parsed in place, no read operation.
    if (auto outcome = head_from_buffer(parser, c.buffer)) ec = *outcome;
  }
  if (!ec && !parser.is_header_done()) {
    arm(c, waiting && !first ? lim.idle_timeout : lim.read_timeout);
    if (waiting) slots[c.loop].idle.insert(c);
    const auto read_ec = co_await read_head(c.stream, c.buffer, parser);
    if (waiting) slots[c.loop].busy.insert(c);
    ec = settle(c, read_ec);
  }

  auto reply = [&](unsigned status, std::vector<std::pair<std::string, std::string>> extra,
                   bool keep_alive, std::string body = {}) -> awaitable<bool> {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::server, "gatepass");
    res.set(http::field::content_type, "application/json");
    for (auto& [k, v] : extra) res.set(k, v);
    res.body() = body.empty() ? std::string(reason_phrase_json(status)) : std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (parser.is_header_done() && parser.method() == http::verb::head) {
      // the length the GET would have, no body (RFC 9110 §9.3.2)
      const auto n = res.body().size();
      res.body().clear();
      res.content_length(n);
    }
    // closed before the client's body was read (a refusal, 413): it may still be sending
    if (!keep_alive && parser.is_header_done() && !parser.is_done()) c.linger = true;
    arm(c, lim.read_timeout);
    auto [wec, wn] = co_await http::async_write(c.stream, res, use_tuple);
    (void)wn;
    co_return !settle(c, wec) && keep_alive;
  };

  if (ec) {
    unsigned code = 0;
    if (ec == http::error::header_limit) {
      // no line end in all that was read: the request line alone is over the limit, a URL too
      // long (414, as nginx answers it), not a head of too many or too large fields (431)
      const auto b = c.buffer.data();
      code = std::string_view(static_cast<const char*>(b.data()), b.size()).find('\n') ==
                     std::string_view::npos
                 ? 414
                 : 431;
    } else if (ec == http::error::body_limit)
      code = 413;
    else if (ec != http::error::end_of_stream && ec != http::error::partial_message &&
             ec != beast::error::timeout && ec != asio::error::eof &&
             ec != asio::error::connection_reset && ec != asio::error::operation_aborted &&
             ec.category() == beast::error_code(http::error::bad_target).category())
      code = 400;
    if (code != 0) {
      // refused before its body was read (a Content-Length over max_body_bytes is refused
      // before the head counts as done): the client may still be sending it
      c.linger = true;
      // a head that could not be read is counted and logged too (no method, no path: it had
      // none that could be trusted), with the parser's reason
      st->counters->count_request(st->cfg.routes.size(), code);
      if (st->cfg.access_log) {
        auto o = access_entry(c.remote, code);
        o["reason"] = ec.message();
        write_access_line(o);
      }
      co_await reply(code, {}, false);
    }
    co_return false;
  }
  if (stopping) {
    // draining: answer this request, then close
  }
  // The head's views point into c.buffer: used up before the body is read into it, except the
  // method (copied: the access log needs it last) and scalars.
  const auto& req = parser;
  const auto started = st->cfg.access_log ? std::chrono::steady_clock::now()
                                          : std::chrono::steady_clock::time_point();
  const bool has_body = parser.content_length() ? *parser.content_length() > 0 : parser.chunked();
  const bool client_keep_alive = req.keep_alive() && !stopping;
  std::string_view target = req.target();
  const std::string method_name(req.method_string());
  std::size_t route_index = st->cfg.routes.size();  // unmatched
  unsigned status = 0;
  std::error_code reason;

  auto log = [&](unsigned code, std::string_view path) {
    st->counters->count_request(route_index, code);
    // denials: the token's or the scope's (a 404 or an upstream's 502 is counted by status)
    if (reason && (code == 401 || code == 403)) st->counters->count_denied(reason);
    if (!st->cfg.access_log) return;
    auto o = access_entry(c.remote, code);
    o["method"] = method_name;
    o["path"] = std::string(path);  // normalized, never the query: it may hold a token
    o["route"] = route_index < st->route_labels.size() ? st->route_labels[route_index] : "";
    if (reason) o["reason"] = reason.message();
    o["ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                  .count();
    write_access_line(o);
  };

  // A request refused before anything reached the upstream: logged, answered, connection closed.
  auto refuse = [&](unsigned code, std::string_view logged_path) -> awaitable<bool> {
    log(code, logged_path);
    co_await reply(code, {}, false);
    co_return false;
  };

  if (target.size() > lim.max_url_bytes) {
    co_return co_await refuse(414, "");
  }
  // Host (RFC 9112 §3.2): required from an HTTP/1.1 client, at most one, and a valid
  // host[:port] (empty allowed); otherwise 400, as the RFC requires of every server.
  {
    std::size_t hosts = 0;
    std::string_view host;
    for (const auto& f : req.fields())
      if (f.name() == http::field::host) {
        ++hosts;
        host = f.value();
      }
    bool valid = hosts == 1 || (hosts == 0 && req.version() < 11);
    if (valid) valid = host_value_ok(host);
    if (!valid) {
      co_return co_await refuse(400, "");
    }
  }
  // Framing (RFC 9112 §6.1, §6.3): a Transfer-Encoding whose last coding is not chunked, or any
  // Transfer-Encoding from an HTTP/1.0 client, leaves the end of the body unknown, and the
  // upstream could find a different end than the gateway (request smuggling): 400, closed.
  // Beast itself refuses chunked together with Content-Length.
  if (!req[http::field::transfer_encoding].empty() && (!req.chunked() || req.version() < 11)) {
    co_return co_await refuse(400, "");
  }
  // a coding besides chunked ("gzip, chunked"): not implemented (501, as nginx answers); the
  // body goes upstream re-chunked under "Transfer-Encoding: chunked" alone
  if (!req[http::field::transfer_encoding].empty() && !only_chunked(req)) {
    co_return co_await refuse(501, "");
  }
  // absolute-form (RFC 9112 §3.2.2, which a server must accept): an http(s) URI whose path and
  // query are routed like an origin-form target, and whose authority replaces Host upstream
  std::string_view absolute_host;
  std::string absolute_target;  // "/" plus the query, for a URI with an empty path
  if (!target.empty() && target.front() != '/') {
    const auto u = boost::urls::parse_absolute_uri(target);
    const bool usable =
        u && (beast::iequals(u->scheme(), "http") || beast::iequals(u->scheme(), "https")) &&
        u->has_authority() && !u->has_userinfo() && !u->has_fragment() &&
        !u->encoded_host().empty();
    if (!usable) {
      co_return co_await refuse(400, "");
    }
    absolute_host = u->encoded_host_and_port();
    const std::string_view path_query(u->encoded_path().data(),
                                      target.data() + target.size() - u->encoded_path().data());
    if (!u->encoded_path().empty()) {
      target = path_query;
    } else {
      absolute_target = "/" + std::string(path_query);
      target = absolute_target;
    }
  }
  const auto qpos = target.find('?');
  const std::string_view raw_path = std::string_view(target).substr(0, qpos);
  const std::string_view query =
      qpos == std::string::npos ? std::string_view() : std::string_view(target).substr(qpos + 1);
  // CONNECT asks for a tunnel (its target is an authority, RFC 9112 §3.2.3; a 2xx would open
  // one); TRACE echoes the request, credentials included, to whoever can read the answer
  if (req.method() == http::verb::connect || req.method() == http::verb::trace) {
    reason = errc::method_refused;
    co_return co_await refuse(req.method() == http::verb::connect ? 400 : 405, "");
  }
  auto norm = normalize_path(raw_path);
  if (!norm) {
    reason = norm.error();
    co_return co_await refuse(400, "");
  }
  const std::string& path = *norm;

  // operations endpoints on the main listener unless admin_listen is set
  if (st->cfg.admin_listen.empty() &&
      (req.method() == http::verb::get || req.method() == http::verb::head)) {
    if (auto r = admin_response(*st, path)) {
      log(r->status, path);
      std::vector<std::pair<std::string, std::string>> ct;
      ct.emplace_back("Content-Type", std::string(r->header("Content-Type")));
      co_return co_await reply(r->status, std::move(ct), client_keep_alive && !has_body,
                               std::move(r->body));
    }
  }

  // forward-auth for nginx auth_request (X-Original-URI / -Method, as its configs set them),
  // Traefik ForwardAuth (X-Forwarded-Uri / -Method) and Envoy ext_authz (the original method,
  // and the original path after the endpoint's: path_prefix). A proxy may pass its client's
  // own fields along (Traefik does by default), so every field that names the original request
  // must agree: a client-sent X-Original-URI beside the proxy's X-Forwarded-Uri, or a field
  // twice, is a 400, never a choice.
  const auto& fa_path = st->cfg.forward_auth_path;
  auto under_fa = [&](std::string_view p) {
    return p.size() > fa_path.size() && p.compare(0, fa_path.size(), fa_path) == 0 &&
           p[fa_path.size()] == '/';
  };
  // Envoy passes the original path after the endpoint's as it came, dots included: the raw
  // target decides, and one whose normalized form says otherwise ("/_gatepass/auth/x/../../admin"
  // is "/_gatepass/admin", "/_gatepass//auth/x" is under it) is refused, never proxied
  const bool raw_fa = raw_path == fa_path || under_fa(raw_path);
  if (raw_fa != (path == fa_path || under_fa(path))) {
    reason = errc::path_invalid;
    co_return co_await refuse(400, "");
  }
  const bool fa_exact = raw_fa && path == fa_path;
  const bool fa_prefixed = raw_fa && !fa_exact;
  if (fa_exact || fa_prefixed) {
    bool conflict = false;
    auto agreed = [&](std::initializer_list<std::string_view> names,
                      std::optional<std::string_view> given) {
      std::optional<std::string_view> v = given;
      for (const auto& f : req.fields())
        for (const auto n : names)
          if (beast::iequals(f.name_string(), n)) {
            if (v && *v != f.value()) conflict = true;
            v = f.value();
          }
      return v;
    };
    // Envoy's form: the original target follows the endpoint's path, the method is the request's
    const std::optional<std::string_view> own_target =
        fa_prefixed ? std::optional<std::string_view>(target.substr(fa_path.size())) : std::nullopt;
    const std::optional<std::string_view> own_method =
        fa_prefixed ? std::optional<std::string_view>(method_name) : std::nullopt;
    const auto given_uri = agreed({"X-Original-URI", "X-Forwarded-Uri"}, own_target);
    const auto given_method = agreed({"X-Original-Method", "X-Forwarded-Method"}, own_method);
    // no default method: an unnamed one read as GET let a POST-only rule through unchecked
    const std::string method(given_method.value_or(""));
    const std::string uri(given_uri.value_or(""));
    const auto fq = uri.find('?');
    auto fnorm = normalize_path(std::string_view(uri).substr(0, fq));
    const std::string_view fquery =
        fq == std::string::npos ? std::string_view() : std::string_view(uri).substr(fq + 1);
    unsigned code = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    if (conflict || !given_uri || !given_method || uri.empty() || !fnorm) {
      code = 400;
      reason = conflict                      ? std::error_code(errc::forward_auth_ambiguous)
               : !given_uri || !given_method ? std::error_code(errc::forward_auth_incomplete)
               : fnorm                       ? std::error_code(errc::path_invalid)
                                             : fnorm.error();
    } else if (!st->matcher.parameters_agree(method, *fnorm)) {
      code = 400;
      reason = errc::path_ambiguous;
    } else if (auto fm = st->matcher.match(method, *fnorm); !fm) {
      code = 404;
      reason = errc::route_not_found;
    } else {
      route_index = fm->index;
      const auto& route = st->cfg.routes[fm->index];
      if (const auto& a = st->route_auth[fm->index]) {
        auto ar = authorize_request(*a, req, fquery, route);
        if (ar.refetching && co_await refetched(*a, ar.seen))
          ar = authorize_request(*a, req, fquery, route);
        code = ar.status;
        reason = ar.reason;
        if (ar.token) headers = header_pairs(*ar.token);
        if (code != 200) {
          headers.clear();
          headers.emplace_back("WWW-Authenticate", bearer_challenge(&route, code, reason));
        }
      }
    }
    log(code, path);
    co_return co_await reply(code, std::move(headers), client_keep_alive && !has_body,
                             code == 200 ? "{\"message\":\"OK\"}" : "");
  }

  if (!st->matcher.parameters_agree(method_name, path)) {
    reason = errc::path_ambiguous;
    co_return co_await refuse(400, path);
  }
  auto match = st->matcher.match(method_name, path);
  if (!match) {
    reason = errc::route_not_found;
    log(404, path);
    co_return co_await reply(404, {}, client_keep_alive && !has_body);
  }
  route_index = match->index;
  const auto& route = st->cfg.routes[match->index];
  std::shared_ptr<const verified_entry> token;
  if (const auto& a = st->route_auth[match->index]) {
    auto ar = authorize_request(*a, req, query, route);
    if (ar.refetching && co_await refetched(*a, ar.seen))
      ar = authorize_request(*a, req, query, route);
    if (ar.status != 200) {
      reason = ar.reason;
      log(ar.status, path);
      std::vector<std::pair<std::string, std::string>> challenge;
      challenge.emplace_back("WWW-Authenticate", bearer_challenge(&route, ar.status, ar.reason));
      co_return co_await reply(ar.status, std::move(challenge), client_keep_alive && !has_body);
    }
    token = std::move(ar.token);
  }
  const auto& up = st->upstreams[match->index];
  if (up.host.empty()) {
    reason = errc::route_not_found;
    log(404, path);
    co_return co_await reply(404, {}, client_keep_alive && !has_body);
  }
  // Expect (RFC 9110 §10.1.1): the gateway answers 100-continue itself once the request may go
  // on (routed, authorized, upstream connected), as nginx and Envoy do, so a client never sends
  // a body that would be refused; the field is not forwarded. Any other expectation: 417.
  const std::string_view expect = req[http::field::expect];
  const bool expect_continue = beast::iequals(expect, "100-continue");
  if (!expect.empty() && !expect_continue) {
    co_return co_await refuse(417, path);
  }

  // ---- the request head for the upstream (append_upstream_request_head) ----
  std::string& head = c.head;
  head.clear();
  {
    const authenticator* auth = st->route_auth[match->index].get();
    head.reserve(c.buffer.size() + 512 + (token ? 1024 : 0));
    upstream_request u;
    u.base_path = up.base_path;
    u.path = path;
    u.query = query;
    u.host_header = up.host_header;
    u.original_host = absolute_host.empty() ? req[http::field::host] : absolute_host;
    u.remote = c.remote;
    u.tls = c.stream.tls() != nullptr;
    u.forward_authorization = auth == nullptr || auth->config().forward_authorization;
    // not forwarded: the token stays here wherever the identity source has it
    std::string token_field, kept_query;
    if (!u.forward_authorization) {
      if (!auth->from_header()) {
        kept_query = query_without(query, auth->source_name());
        u.query = kept_query;
      } else if (auth->source_field() != http::field::authorization) {
        token_field = field_canonical(auth->source_name());
        u.token_field = token_field;
      }
    }
    u.claim_header_names = st->claim_header_names;
    if (token) u.claim_lines = token->header_lines;
    append_upstream_request_head(head, req, u);
  }

  // ---- connect (pooled) ----
  const std::string& key = up.pool_key;
  std::unique_ptr<any_stream> upstream;
  const upstream_watch watch{c};  // declared after `upstream`: forgets it first
  bool reused = false;
  auto& idle = pool().idle[key];
  while (!idle.empty() && !upstream) {
    upstream = std::move(idle.back());
    idle.pop_back();
    reused = upstream->tcp().socket().is_open() && still_clean(*upstream);
    if (!reused) upstream.reset();
  }
  auto connect = [&]() -> awaitable<beast::error_code> {
    upstream =
        std::make_unique<any_stream>(tcp_stream(co_await asio::this_coro::executor), up.tls_ctx);
    // one budget for the name lookup and the connection
    const auto connect_by =
        std::chrono::steady_clock::now() + std::chrono::seconds(lim.upstream_connect_timeout);
    beast::error_code not_ip;
    const auto address = asio::ip::make_address(up.host, not_ip);
    unsigned short port = 0;
    const auto [port_end, port_ec] =
        std::from_chars(up.port.data(), up.port.data() + up.port.size(), port);
    const bool literal =
        !not_ip && port_ec == std::errc() && port_end == up.port.data() + up.port.size();
    beast::error_code cec;
    if (literal) {  // an address and a port number: nothing to look up
      upstream->tcp().expires_at(connect_by);
      std::tie(cec) =
          co_await upstream->tcp().async_connect(tcp::endpoint(address, port), use_tuple);
    } else {
      auto [rec, results] = co_await resolve_by(up.host, up.port, connect_by);
      if (rec) co_return rec;
      upstream->tcp().expires_at(connect_by);
      auto [rcec, ep] = co_await upstream->tcp().async_connect(results, use_tuple);
      (void)ep;
      cec = rcec;
    }
    if (cec) co_return cec;
    beast::error_code ignore;
    upstream->tcp().socket().set_option(tcp::no_delay(true), ignore);
    if (auto* tls = upstream->tls()) {
      // the certificate must chain to a trusted CA and name the host; SNI carries names only
      tls->set_verify_mode(ssl::verify_peer);
      tls->set_verify_callback(ssl::host_name_verification(up.host));
      if (not_ip && !SSL_set_tlsext_host_name(tls->native_handle(), up.host.c_str()))
        co_return beast::error_code(asio::error::invalid_argument);
      upstream->tcp().expires_after(std::chrono::seconds(lim.upstream_connect_timeout));
      auto [hec] = co_await tls->async_handshake(ssl::stream_base::client, use_tuple);
      cec = hec;
    }
    upstream->tcp().expires_never();  // from here on the loop's sweep keeps the time
    co_return cec;
  };
  if (!upstream) {
    if (auto cec = co_await connect()) {
      reason = cec == beast::error::timeout ? std::error_code(errc::upstream_timeout)
                                            : std::error_code(errc::upstream_refused);
      const unsigned code = cec == beast::error::timeout ? 504 : 502;
      log(code, path);
      co_return co_await reply(code, {}, client_keep_alive && !has_body);
    }
  }

  // ---- request: head + streamed body ----
  if (expect_continue && req.version() >= 11 && !parser.is_done() && c.buffer.size() == 0) {
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    arm(c, lim.read_timeout);
    auto [gec, gn] = co_await asio::async_write(c.stream, asio::buffer(go_on), use_tuple);
    (void)gn;
    if (settle(c, gec)) co_return false;  // the client is gone
  }
  const auto up_started = std::chrono::steady_clock::now();
  relay_buffer relay;  // set up for the first body piece
  const bool req_chunked = req.chunked();
  beast::error_code rec;
  beast::error_code body_fault;  // the client's body could not be read
  // The upstream answered before the whole body went (and maybe closed): that answer goes to
  // the client, as nginx and Envoy pass it on, then both connections close (neither peer is at
  // a message boundary).
  bool early = false;
  for (bool head_sent = false, more = true; more;) {
    std::size_t got = 0;
    if (!parser.is_done()) {
      relay.ensure(parser.content_length_remaining());
      parser.body_buffer(relay.data, relay.cap);
      // one read at a time (the timeout counts per read, and what came goes on at once)
      arm(c, lim.read_timeout);
      auto [body_ec, bn] = co_await http::async_read_some(c.stream, c.buffer, parser, use_tuple);
      (void)bn;
      auto bec = settle(c, body_ec);
      if (bec == http::error::need_buffer) bec = {};
      if (bec) {
        body_fault = bec;
        break;
      }
      got = relay.cap - parser.body_room();
    }
    more = !parser.is_done();
    if (head_sent && got == 0 && more) continue;
    if (head_sent && answered_early(*upstream)) {
      early = true;
      break;
    }
    piece_buffers pb(head_sent ? std::string_view() : std::string_view(head), relay.data, got,
                     req_chunked, !more);
    // Asynchronous on purpose: a send finished on the spot would make the response read that
    // follows try a recv before the upstream could answer (EAGAIN on most requests).
    arm_upstream(c, *upstream, lim.upstream_timeout);
    const bool plain = upstream->tls() == nullptr;
    beast::error_code wec;
    std::size_t wn = 0;
    bool refused = false;  // the upstream refused while a write waited for room (plain TCP)
    if (head_sent && plain) {
      // a body piece: sent at once when the socket takes it, watched when it is full
      std::tie(wn, wec) = send_now(*upstream, pb, 0);
      if (wec == asio::error::would_block || wec == asio::error::try_again) {
        auto w = co_await write_watching(*upstream, pb, wn);
        wn += w.sent;
        wec = w.ec;
        refused = w.refused;
      } else if (!wec && !more) {
        // the last piece went at once: let the loop run before the answer's read (as an
        // asynchronous write does), or that read would mostly find nothing yet (EAGAIN)
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable_t<executor>{});
      }
    } else {
      std::tie(wec, wn) = co_await upstream->async_write_some(pb.b, use_tuple);
      if (!wec && wn < pb.size) {
        if (plain) {
          auto w = co_await write_watching(*upstream, pb, wn);
          wn += w.sent;
          wec = w.ec;
          refused = w.refused;
        } else {
          wec = co_await write_rest(*upstream, pb, wn);
        }
      }
    }
    // the head had gone before this write failed (a body write, or the first write got past it)
    const bool had_head = head_sent || (wec && wn >= head.size());
    head_sent = true;
    auto e = settle_upstream(c, wec);
    if (refused && !e) {
      early = true;
      break;
    }
    if (e) {
      // refused after the head went: the upstream may have answered and closed (its answer
      // waits unread); read it, and only when none comes is it a 502
      if (had_head && (e == asio::error::broken_pipe || e == asio::error::connection_reset)) {
        early = true;
        break;
      }
      rec = e;
      break;
    }
  }
  if (early) c.linger = !parser.is_done();  // the rest of the client's body is discarded

  if (body_fault) {
    // the client's fault, not the upstream's (which got part of a request: not pooled)
    const bool too_large = body_fault == http::error::body_limit;
    const bool malformed =
        body_fault.category() == beast::error_code(http::error::bad_chunk).category() &&
        body_fault != http::error::partial_message && body_fault != http::error::end_of_stream;
    if (too_large || malformed) co_return co_await refuse(too_large ? 413 : 400, path);
    co_return false;
  }

  // ---- response: header, then streamed body ----
  std::optional<head_parser<false>> rpo;  // its views point into up_buffer
  auto fresh_parser = [&] {
    rpo.emplace();
    rpo->body_limit(boost::none);
    if (req.method() == http::verb::head) rpo->skip(true);
  };
  fresh_parser();
  beast::flat_buffer up_buffer = std::move(upstream->spare);  // empty, as pooled
  beast::error_code hec = rec;
  if (!hec) {
    // The whole head (and a small body) usually comes with one read: read here, and only a
    // head in parts goes on in read_head.
    arm_upstream(c, *upstream, lim.upstream_timeout);
    auto [first_ec, first_n] =
        co_await upstream->async_read_some(up_buffer.prepare(read_room(up_buffer)), use_tuple);
    if (auto outcome = head_after_read(*rpo, up_buffer, first_ec, first_n))
      hec = *outcome;
    else
      hec = co_await read_head(*upstream, up_buffer, *rpo);
    hec = settle_upstream(c, hec);
  }
  {
    // a pooled connection the upstream had closed meanwhile: one fresh attempt (no body)
    const bool stale = hec == http::error::end_of_stream || hec == asio::error::connection_reset ||
                       hec == asio::error::broken_pipe || hec == asio::error::eof ||
                       hec == ssl::error::stream_truncated;
    // RFC 9110 §9.2.2: only an idempotent request may be sent again
    const auto verb = req.method();
    const bool idempotent = verb == http::verb::get || verb == http::verb::head ||
                            verb == http::verb::options || verb == http::verb::trace ||
                            verb == http::verb::put || verb == http::verb::delete_;
    if (hec && stale && reused && !has_body && idempotent) {
      // stale pooled connection: one fresh attempt
      if (!(hec = co_await connect())) {
        arm_upstream(c, *upstream, lim.upstream_timeout);
        auto [w2, wn2] = co_await asio::async_write(*upstream, asio::buffer(head), use_tuple);
        (void)wn2;
        hec = settle_upstream(c, w2);
        if (!hec) {
          fresh_parser();
          up_buffer.clear();
          arm_upstream(c, *upstream, lim.upstream_timeout);
          hec = settle_upstream(c, co_await read_head(*upstream, up_buffer, *rpo));
        }
      }
    }
  }
  // Interim (1xx) answers go on to an HTTP/1.1 client (RFC 9110 §15.2; an HTTP/1.0 client
  // never gets one), then the final answer is read. 101 would switch protocols, which the
  // gateway never asks for (Upgrade is hop-by-hop): a bad response, as is a ninth interim one.
  for (int interim = 0; !hec && rpo->status() / 100 == 1; ++interim) {
    if (rpo->status() == 101 || interim == 8) {
      hec = http::error::bad_status;
      break;
    }
    if (req.version() >= 11) {
      head.clear();
      // no framing fields on an interim answer (RFC 9110 §8.6, RFC 9112 §6.1)
      append_response_head(head, *rpo, true, true);
      head.append("\r\n", 2);
      arm(c, lim.read_timeout);
      auto [iec, in] = co_await asio::async_write(c.stream, asio::buffer(head), use_tuple);
      (void)in;
      if (settle(c, iec)) co_return false;  // the client is gone
    }
    fresh_parser();  // the interim head's views are used up: up_buffer may move now
    if (auto outcome = head_from_buffer(*rpo, up_buffer)) {
      hec = *outcome;
    } else {
      arm_upstream(c, *upstream, lim.upstream_timeout);
      hec = settle_upstream(c, co_await read_head(*upstream, up_buffer, *rpo));
    }
  }
  // a response Transfer-Encoding without chunked last would end at close (RFC 9112 §6.3): a
  // downstream parser could find another end; refused like chunked with Content-Length
  // (a coding besides chunked too: the answer goes on under "chunked" alone)
  if (!hec && !(*rpo)[http::field::transfer_encoding].empty() && !only_chunked(*rpo))
    hec = http::error::bad_transfer_encoding;
  if (hec) {
    const bool timeout = hec == beast::error::timeout;
    // closed or refused before answering, or an answer that is not HTTP (cut, folded, 101…)
    const bool malformed = hec != http::error::end_of_stream &&
                           hec.category() == beast::error_code(http::error::bad_status).category();
    reason = timeout     ? std::error_code(errc::upstream_timeout)
             : malformed ? std::error_code(errc::upstream_bad_response)
                         : std::error_code(errc::upstream_refused);
    const unsigned code = timeout ? 504 : 502;
    log(code, path);
    co_await reply(code, {}, false);
    co_return false;
  }
  st->counters->observe_upstream(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - up_started).count());
  auto& rp = *rpo;
  status = rp.status();
  const bool upstream_keep_alive = rp.keep_alive();
  // a body that ends when the upstream closes cannot be delimited on a kept-alive connection
  const bool res_chunked = !rp.is_done() && rp.chunked();
  // an HTTP/1.0 client knows no chunks: the body goes as it is and the close ends it
  const bool dechunk = res_chunked && req.version() < 11;
  const bool keep = client_keep_alive && !rp.need_eof() && !dechunk && !early;
  head.clear();
  // A 204 or 304 has no body whatever its fields say; framing fields on it (RFC 9110 §8.6,
  // RFC 9112 §6.1 forbid them on a 204, and Transfer-Encoding on a 304) could make a client wait
  // for a body that never comes, so they are not passed on (a 304's Content-Length may stay).
  // An HTTP/1.0 client never gets Transfer-Encoding (RFC 9112 §6.1), not on a HEAD answer either.
  append_response_head(head, rp, req.version() < 11 || status == 204 || status == 304,
                       status == 204);
  if (!keep)
    head.append("Connection: close\r\n");
  else if (req.version() < 11)
    head.append("Connection: keep-alive\r\n");
  head.append("\r\n", 2);
  // the request body's buffer serves again when it is large enough
  if (relay.cap < rp.content_length_remaining().value_or(relay_size)) relay.reset();
  beast::error_code xec;
  for (bool head_sent = false, more = true; more;) {
    std::size_t got = 0;
    if (!rp.is_done()) {
      relay.ensure(rp.content_length_remaining());
      rp.body_buffer(relay.data, relay.cap);
      beast::error_code bec;
      if (up_buffer.size() > 0) {
        // A small body usually came with the head: taken from the buffer, no read operation.
        up_buffer.consume(rp.put(up_buffer.data(), bec));
        if (bec == http::error::need_more || bec == http::error::need_buffer) bec = {};
      }
      if (!bec && !rp.is_done() && rp.body_room() == relay.cap) {
        arm_upstream(c, *upstream, lim.upstream_timeout);  // per read, as proxy_read_timeout
        auto [body_ec, bn] = co_await http::async_read_some(*upstream, up_buffer, rp, use_tuple);
        (void)bn;
        bec = settle_upstream(c, body_ec);
      }
      if (bec == http::error::need_buffer) bec = {};
      if (bec) {
        xec = bec;
        break;
      }
      got = relay.cap - rp.body_room();
    }
    more = !rp.is_done();
    if (head_sent && got == 0 && more) continue;
    piece_buffers pb(head_sent ? std::string_view() : std::string_view(head), relay.data, got,
                     res_chunked && !dechunk, !more);
    // Asynchronous on purpose, as for the upstream: while the completion waits its turn the
    // client often sends its next request, which the read that follows then finds at once.
    arm(c, lim.read_timeout);
    auto [wec, wn] = co_await c.stream.async_write_some(pb.b, use_tuple);
    if (!wec && wn < pb.size) wec = co_await write_rest(c.stream, pb, wn);
    head_sent = true;
    if (auto e = settle(c, wec)) {
      xec = e;
      break;
    }
  }
  log(status, path);
  // An answer that has no body by definition (HEAD, 204, 304) is not pooled: an upstream that
  // sends one anyway would have its bytes arrive later and be read as the next request's
  // answer, maybe another client's (still_clean catches what arrives while it idles).
  const bool bodiless = req.method() == http::verb::head || status == 204 || status == 304;
  if (!xec && upstream_keep_alive && rp.is_done() && up_buffer.size() == 0 && !bodiless && !early) {
    auto& slot = idle;  // the pool's entries are never erased while the loop runs
    if (slot.size() < 256) {
      if (up_buffer.capacity() > 4096) up_buffer.shrink_to_fit();  // pooled: small buffers only
      upstream->spare = std::move(up_buffer);
      upstream->pooled_at = mono_clock::now();
      slot.push_back(std::move(upstream));
    }
  }
  co_return !xec && keep;
}

gateway_server::gateway_server(std::vector<asio::io_context*> loops,
                               std::shared_ptr<const gateway_state> state)
    : impl_(std::make_shared<impl>()) {
  impl_->loops = std::move(loops);
  impl_->state = std::move(state);
  if (!impl_->state->cfg.tls.cert_file.empty())
    impl_->listener_tls = listener_tls_context(impl_->state->cfg.tls);
  const auto [host, port_num] = net::split_host_port(impl_->state->cfg.listen);
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error("gateway.listen " + impl_->state->cfg.listen + ": " + ec.message());
  unsigned short port = port_num;
  for (auto* loop : impl_->loops) {
    auto acc = std::make_unique<tcp::acceptor>(*loop);
    tcp::endpoint ep(addr, port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      ::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + impl_->state->cfg.listen + ": " +
                               ec.message());
    port = acc->local_endpoint().port();  // port 0: the others share the one picked
    impl_->acceptors.push_back(std::move(acc));
  }
  impl_->slots.resize(impl_->loops.size());
  for (std::size_t i = 0; i < impl_->loops.size(); ++i) {
    impl_->slots[i].sweep = std::make_unique<asio::steady_timer>(*impl_->loops[i]);
    impl_->sweep(i);
  }
  for (std::size_t i = 0; i < impl_->acceptors.size(); ++i) impl_->accept(i);
}

gateway_server::~gateway_server() {
  stop();
  // Handlers still queued in the (stopped) loops hold impl, so it may only be freed while some
  // loop is being destroyed. Let go now, while every loop exists, of what is bound to them or
  // to another loop (acceptors, timers, the state's JWKS caches).
  for (auto& a : impl_->acceptors) a.reset();
  for (auto& slot : impl_->slots) {
    slot.sweep.reset();
    slot.state.reset();  // the loops' copies too
  }
  std::lock_guard lock(impl_->m);
  impl_->state.reset();
}

unsigned short gateway_server::port() const noexcept {
  beast::error_code ec;
  return impl_->acceptors.front()->local_endpoint(ec).port();
}

void gateway_server::reload_tls(const tls_config& tls) {
  bool tls_now = false;
  {
    std::lock_guard lock(impl_->m);
    tls_now = impl_->listener_tls != nullptr;
  }
  if (!tls.cert_file.empty() != tls_now) {
    std::cerr << "gatepass: gateway.tls switched between HTTP and HTTPS: restart to apply\n";
    return;
  }
  if (!tls_now) return;                    // plain HTTP before and after
  auto fresh = listener_tls_context(tls);  // throws: the running certificate stays
  std::lock_guard lock(impl_->m);
  impl_->listener_tls = std::move(fresh);  // connections already open keep theirs
}

void gateway_server::set_state(std::shared_ptr<const gateway_state> state) {
  {
    std::lock_guard lock(impl_->m);
    impl_->state = std::move(state);
  }
  impl_->state_version.fetch_add(1, std::memory_order_release);
}

std::int64_t gateway_server::connections() const noexcept {
  const auto st = impl_->current();
  return st ? st->counters->connections() : 0;
}

void gateway_server::stop() {
  if (impl_->stopping.exchange(true)) return;
  // On each loop: stop accepting and close the connections waiting for a request; busy ones
  // finish their response and then close (they see `stopping`).
  for (std::size_t i = 0; i < impl_->loops.size(); ++i)
    asio::post(*impl_->loops[i], [self = impl_, i] {
      beast::error_code ignore;
      if (self->acceptors[i]) self->acceptors[i]->close(ignore);
      self->slots[i].idle.for_each([](client_conn& c) {
        beast::error_code e;
        c.stream.tcp().socket().cancel(e);
      });
      self->slots[i].busy.for_each([](client_conn& c) {
        beast::error_code e;
        if (c.hot) c.stream.tcp().socket().cancel(e);
      });
    });
}

}  // namespace gatepass::gateway
