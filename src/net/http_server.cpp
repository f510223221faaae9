#include "net/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "net/accept_pause.h"

namespace gatepass::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::pair<std::string, unsigned short> split_host_port(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size())
    throw std::runtime_error("listen address " + listen + ": expected HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) throw std::runtime_error("listen address " + listen + ": bad port");
  return {host, static_cast<unsigned short>(port)};
}

class session;

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(asio::io_context& io, handler h, server_limits l, offload_options o)
      : ioc(io),
        acceptor(asio::make_strand(io)),
        on_request(std::move(h)),
        limits(l),
        offload(std::move(o)) {}

  http_response answer(const http_request& req) const {
    try {
      return on_request(req);
    } catch (const std::exception&) {
      return json_response(500, "{\"message\":\"Internal Server Error\"}");
    }
  }

  void accept();
  void add(const std::shared_ptr<session>& s);
  void remove(session* s);

  asio::io_context& ioc;
  tcp::acceptor acceptor;
  handler on_request;
  server_limits limits;
  offload_options offload;
  // Where offloaded requests run: the argon2 lane (offload.when) and the light one. A pool is
  // set when its predicate is; owned by the http_server, cleared before it goes (a session left
  // in a loop that runs again then answers on the loop).
  struct lane {
    std::atomic<asio::thread_pool*> pool{nullptr};
    std::atomic<std::size_t> waiting{0};
    std::size_t max_waiting = 0;
  };
  lane heavy, light;
  std::atomic<bool> stopping{false};
  std::mutex m;
  std::unordered_set<session*> live;
  std::vector<std::weak_ptr<session>> weak_live;
  std::atomic<std::size_t> connections{0};
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, std::shared_ptr<http_server::impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}
  ~session() { server_->remove(this); }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&session::read, shared_from_this()));
  }

  // Called from stop(): idle connections close now, busy ones after their response.
  void drain() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void read() {
    // A response that finished after stop() ran: the connection would go idle after drain()
    // looked at it (it was busy then), and the drain would wait out idle_timeout for it.
    if (server_->stopping.load()) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->limits.header_limit));
    parser_->body_limit(server_->limits.body_limit);
    idle_ = true;
    if (first_ || buffer_.size() != 0) return read_head();
    // Between requests the wait is idle_timeout, until the next request's first bytes arrive;
    // from then on the head has read_timeout, as a first request's has (a head sent a byte a
    // second held a keep-alive connection for idle_timeout)
    stream_.expires_after(server_->limits.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->fail(ec);
                              self->buffer_.commit(n);
                              self->read_head();
                            });
  }

  void read_head() {
    stream_.expires_after(server_->limits.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    idle_ = false;
    first_ = false;
    if (ec) return fail(ec);
    // What a proxy in front could read otherwise (RFC 9112 §3.2, §6.1): an HTTP/1.1 request
    // names exactly one Host, and a body is framed by Content-Length or by chunked alone
    const auto& h = parser_->get();
    const auto hosts = h.count(http::field::host);
    bool framing_ok = true;
    if (h.count(http::field::transfer_encoding) != 0) {
      auto te = std::string_view(h[http::field::transfer_encoding]);
      while (!te.empty() && (te.front() == ' ' || te.front() == '\t')) te.remove_prefix(1);
      while (!te.empty() && (te.back() == ' ' || te.back() == '\t')) te.remove_suffix(1);
      framing_ok = h.count(http::field::transfer_encoding) == 1 && h.version() == 11 &&
                   beast::iequals(te, "chunked");
    }
    if ((h.version() == 11 ? hosts != 1 : hosts > 1) || !framing_ok)
      return reply_error(400, "Bad Request");
    stream_.expires_after(server_->limits.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void fail(beast::error_code ec) {
    if (ec == http::error::header_limit) return reply_error(431, "Request Header Fields Too Large");
    if (ec == http::error::body_limit) return reply_error(413, "Payload Too Large");
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset)
      return close();
    if (ec.category() == beast::error_code(http::error::bad_target).category())
      return reply_error(400, "Bad Request");  // any other parse error
    close();
  }

  void reply_error(unsigned status, const char* message) {
    http_response r = json_response(status, std::string("{\"message\":\"") + message + "\"}");
    send(std::move(r), false, 11);
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec);
    auto& msg = parser_->get();
    http_request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg)
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    beast::error_code ignore;
    auto ep = stream_.socket().remote_endpoint(ignore);
    req.remote_address = ignore ? std::string() : ep.address().to_string();
    const bool head = msg.method() == http::verb::head;
    if (auto* pool = server_->heavy.pool.load(); pool != nullptr && server_->offload.when(req))
      return offload(server_->heavy, *pool, std::move(req), msg.keep_alive(), msg.version(), head);
    if (auto* pool = server_->light.pool.load(); pool != nullptr && server_->offload.light(req))
      return offload(server_->light, *pool, std::move(req), msg.keep_alive(), msg.version(), head);
    auto r = server_->answer(req);
    send(std::move(r), msg.keep_alive() && !server_->stopping.load(), msg.version(), head);
  }

  // The handler runs on a worker thread; the answer is sent from the session's strand.
  void offload(http_server::impl::lane& lane, asio::thread_pool& pool, http_request req,
               bool keep_alive, unsigned version, bool head) {
    if (lane.waiting.fetch_add(1) >= lane.max_waiting) {
      --lane.waiting;
      auto busy = json_response(503, "{\"message\":\"Service Unavailable\"}");
      busy.headers.emplace_back("Retry-After", "1");
      return send(std::move(busy), keep_alive && !server_->stopping.load(), version, head);
    }
    asio::post(pool, [self = shared_from_this(), &lane, req = std::move(req), keep_alive, version,
                      head]() mutable {
      auto r = self->server_->answer(req);
      --lane.waiting;
      auto ex = self->stream_.get_executor();
      asio::post(
          ex, [self = std::move(self), r = std::move(r), keep_alive, version, head]() mutable {
            self->send(std::move(r), keep_alive && !self->server_->stopping.load(), version, head);
          });
    });
  }

  void send(http_response r, bool keep_alive, unsigned version, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(r.status);
    for (auto& [n, v] : r.headers) res->insert(n, v);
    if (res->find(http::field::server) == res->end()) res->set(http::field::server, "gatepass");
    // HEAD: the head the GET would have, Content-Length included (RFC 9110 §9.3.2), no body
    const auto body_size = r.body.size();
    if (!head) res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    if (r.status == 304 || r.status == 204) {
      // no content, and a 304's Content-Length would have to be the 200's (RFC 9110 §8.6)
      res->erase(http::field::content_length);
    } else if (head) {
      res->content_length(body_size);
    }
    stream_.expires_after(server_->limits.read_timeout);
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->close();
          self->read();
        });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_server::impl> server_;
  bool idle_ = true;
  bool first_ = true;
};

void http_server::impl::add(const std::shared_ptr<session>& s) {
  std::lock_guard lock(m);
  live.insert(s.get());
  weak_live.push_back(s);
  if (weak_live.size() > 2 * live.size() + 64)
    std::erase_if(weak_live, [](const auto& w) { return w.expired(); });
}

void http_server::impl::remove(session* s) {
  std::lock_guard lock(m);
  live.erase(s);
  --connections;
}

void http_server::impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          if (ec == asio::error::operation_aborted || self->stopping) return;
                          if (ec && accept_must_pause(ec, "issuer listener")) {
                            return accept_after_pause(self->ioc, [self] {
                              if (!self->stopping) self->accept();
                            });
                          }
                          if (!ec) {
                            if (self->connections.load() >= self->limits.max_connections) {
                              beast::error_code ignore;
                              socket.close(ignore);  // over the cap: refuse rather than queue
                            } else {
                              ++self->connections;
                              auto s = std::make_shared<session>(std::move(socket), self);
                              self->add(s);
                              s->start();
                            }
                          }
                          self->accept();
                        });
}

http_server::http_server(asio::io_context& ioc, const std::string& listen, handler h,
                         server_limits limits, offload_options offload)
    : impl_(std::make_shared<impl>(ioc, std::move(h), limits, std::move(offload))) {
  if (impl_->offload.when) {
    workers_ = std::make_unique<asio::thread_pool>(std::max(1u, impl_->offload.threads));
    impl_->heavy.max_waiting = impl_->offload.max_waiting;
    impl_->heavy.pool = workers_.get();
  }
  if (impl_->offload.light) {
    light_workers_ =
        std::make_unique<asio::thread_pool>(std::max(1u, impl_->offload.light_threads));
    impl_->light.max_waiting = impl_->offload.light_max_waiting;
    impl_->light.pool = light_workers_.get();
  }
  const auto [host, port] = split_host_port(listen);
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("listen address " + listen + ": " + ec.message());
  tcp::endpoint ep(addr, port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + listen + ": " + ec.message());
  impl_->accept();
}

http_server::~http_server() {
  stop();
  // requests still waiting are dropped (their connections close), running ones finish; no
  // task can outlive its pool
  impl_->heavy.pool = nullptr;
  impl_->light.pool = nullptr;
  for (auto* workers : {workers_.get(), light_workers_.get()}) {
    if (workers == nullptr) continue;
    workers->stop();
    workers->join();
  }
}

unsigned short http_server::port() const noexcept {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::string http_server::address() const {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::size_t http_server::connections() const noexcept {
  return impl_->connections.load();
}

void http_server::stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->acceptor.get_executor(), [self = impl_] {
    beast::error_code ec;
    self->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<session>> sessions;
  {
    std::lock_guard lock(impl_->m);
    for (auto& w : impl_->weak_live)
      if (auto s = w.lock()) sessions.push_back(std::move(s));
  }
  for (auto& s : sessions) s->drain();
}

}  // namespace gatepass::net
