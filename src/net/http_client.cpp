#include "net/http_client.h"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <limits>
#include <optional>
#include <vector>

#include "net/errc.h"
#include "net/fetch_target.h"

namespace gatepass::net {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t header_limit = 16 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::error_code to_std(const beast::error_code& ec) {
  return ec;
}

using callback = std::function<void(result<fetch_response>)>;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// One GET, shaped as Beast's client examples: every step on one strand, a deadline on the
// stream before every operation, plus a timer over the whole fetch (the resolver has no
// deadline of its own). The callback runs exactly once.
template <class Stream>
class fetch_op : public std::enable_shared_from_this<fetch_op<Stream>> {
 public:
  fetch_op(asio::strand<asio::io_context::executor_type> ex, fetch_target t,
           const fetch_options& opt, std::shared_ptr<ssl::context> tls_ctx, callback done)
      : target_(std::move(t)),
        max_body_(opt.max_body),
        deadline_(std::chrono::steady_clock::now() + opt.timeout),
        tls_ctx_(std::move(tls_ctx)),
        resolver_(ex),
        timer_(ex),
        done_(std::move(done)) {
    if constexpr (std::is_same_v<Stream, tls_stream>)
      stream_.emplace(ex, *tls_ctx_);
    else
      stream_.emplace(ex);
  }

  void start() {
    asio::dispatch(resolver_.get_executor(), [self = this->shared_from_this()] { self->run(); });
  }

 private:
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(*stream_); }
  auto self() { return this->shared_from_this(); }

  void run() {
    timer_.expires_at(deadline_);
    timer_.async_wait([self = self()](beast::error_code ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      self->tcp().close();
    });
    resolver_.async_resolve(target_.host, target_.port,
                            beast::bind_front_handler(&fetch_op::on_resolve, self()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec);
    std::vector<tcp::endpoint> endpoints;
    for (const auto& r : results)
      if (!target_.loopback_only || r.endpoint().address().is_loopback())
        endpoints.push_back(r.endpoint());
    // "localhost" that resolves elsewhere is not loopback: plain http stays on this machine.
    if (endpoints.empty()) return finish(errc::fetch_insecure);
    tcp().expires_at(deadline_);
    tcp().async_connect(endpoints, beast::bind_front_handler(&fetch_op::on_connect, self()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail(ec);
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      stream_->set_verify_mode(ssl::verify_peer);
      stream_->set_verify_callback(ssl::host_name_verification(target_.host));
      // SNI carries names only (RFC 6066 §3).
      if (!target_.host_is_ip &&
          !SSL_set_tlsext_host_name(stream_->native_handle(), target_.host.c_str()))
        return finish(errc::fetch_failed);
      tcp().expires_at(deadline_);
      stream_->async_handshake(ssl::stream_base::client,
                               beast::bind_front_handler(&fetch_op::on_handshake, self()));
    } else {
      write();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec);
    write();
  }

  void write() {
    req_.version(11);
    req_.method(http::verb::get);
    req_.target(target_.path);
    req_.set(http::field::host, target_.host_header);
    req_.set(http::field::user_agent, "gatepass");
    req_.set(http::field::accept, "application/json");
    req_.set(http::field::connection, "close");
    tcp().expires_at(deadline_);
    http::async_write(*stream_, req_, beast::bind_front_handler(&fetch_op::on_write, self()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec);
    parser_.header_limit(header_limit);
    parser_.body_limit(max_body_);
    tcp().expires_at(deadline_);
    http::async_read_header(*stream_, buffer_, parser_,
                            beast::bind_front_handler(&fetch_op::on_header, self()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec);
    const unsigned status = parser_.get().result_int();
    if (status >= 300 && status < 400) return finish(errc::fetch_redirect);  // never followed
    if (status != 200) return finish(errc::fetch_not_ok);
    tcp().expires_at(deadline_);
    http::async_read(*stream_, buffer_, parser_,
                     beast::bind_front_handler(&fetch_op::on_read, self()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec);
    auto& msg = parser_.get();
    fetch_response r;
    r.status = msg.result_int();
    r.cache_control = std::string(msg[http::field::cache_control]);
    r.content_type = std::string(msg[http::field::content_type]);
    r.body = std::move(msg.body());
    finish(std::move(r));
  }

  void fail(beast::error_code ec) {
    if (ec == http::error::body_limit) return finish(errc::fetch_too_large);
    if (timed_out_ || ec == beast::error::timeout) return finish(to_std(beast::error::timeout));
    finish(to_std(ec));
  }

  void finish(result<fetch_response> r) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    beast::error_code ignore;
    tcp().socket().close(ignore);  // Connection: close; no TLS close_notify wait
    auto done = std::move(done_);
    done(std::move(r));
  }

  fetch_target target_;
  std::size_t max_body_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<ssl::context> tls_ctx_;  // outlives stream_ (declared before it)
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> req_;
  http::response_parser<http::string_body> parser_;
  callback done_;
  bool finished_ = false;
  bool timed_out_ = false;
};

}  // namespace

result<fetch_response> fetch_now(const std::string& url, const fetch_options& opt) {
  asio::io_context ioc;
  result<fetch_response> out = errc::fetch_failed;
  async_fetch(ioc, url, opt, [&out](result<fetch_response> r) { out = std::move(r); });
  ioc.run();
  return out;
}

void async_fetch(asio::io_context& ioc, const std::string& url, const fetch_options& opt,
                 std::function<void(result<fetch_response>)> done) {
  auto target = parse_target(url);
  if (!target) {
    // Refused before any connection attempt; still completes asynchronously.
    asio::post(ioc, [done = std::move(done), ec = target.error()] { done(ec); });
    return;
  }
  auto ex = asio::make_strand(ioc);
  if (!target->tls) {
    std::make_shared<fetch_op<beast::tcp_stream>>(ex, std::move(*target), opt, nullptr,
                                                  std::move(done))
        ->start();
    return;
  }
  // A context per fetch: fetches are rare (minutes apart) and the CA file may change.
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  beast::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) {
    if (opt.ca_file.empty())
      ctx->set_default_verify_paths(ec);
    else
      ctx->load_verify_file(opt.ca_file, ec);
  }
  if (!ec) ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) {
    asio::post(ioc, [done = std::move(done), e = to_std(ec)] { done(e); });
    return;
  }
  std::make_shared<fetch_op<tls_stream>>(ex, std::move(*target), opt, std::move(ctx),
                                         std::move(done))
      ->start();
}

std::optional<std::chrono::seconds> cache_max_age(std::string_view cc) {
  constexpr std::int64_t cap = std::numeric_limits<std::int32_t>::max();  // ~68 years
  std::optional<std::int64_t> max_age, s_maxage;
  bool no_cache = false;
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  // delta-seconds (RFC 9111 §1.2.2): digits only, the quoted form tolerated (§5.2); overflow
  // saturates. Anything else makes the directive invalid and it is ignored.
  auto delta_seconds = [&](std::string_view v) -> std::optional<std::int64_t> {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty()) return std::nullopt;
    std::int64_t n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return std::nullopt;
      n = std::min(cap, n * 10 + (c - '0'));
    }
    return n;
  };
  while (!cc.empty()) {
    const auto comma = cc.find(',');
    std::string_view item = trim(cc.substr(0, comma));
    cc = comma == std::string_view::npos ? std::string_view{} : cc.substr(comma + 1);
    const auto eq = item.find('=');
    const std::string_view name = trim(item.substr(0, eq));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    if (iequals(name, "no-store") || iequals(name, "no-cache")) {
      no_cache = true;
    } else if (iequals(name, "max-age") && !max_age) {  // the first occurrence wins (§4.2.1)
      max_age = delta_seconds(value);
    } else if (iequals(name, "s-maxage") && !s_maxage) {
      s_maxage = delta_seconds(value);
    }
  }
  if (no_cache) return std::chrono::seconds(0);
  // The gateway is a shared cache: s-maxage overrides max-age (§5.2.2.10).
  if (s_maxage) return std::chrono::seconds(*s_maxage);
  if (max_age) return std::chrono::seconds(*max_age);
  return std::nullopt;
}

}  // namespace gatepass::net
