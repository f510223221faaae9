#include "gateway/gateway_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <chrono>
#include <iostream>
#include <unistd.h>
#include <unordered_map>

#include "common/duration.h"
#include "common/form_decode.h"
#include "gateway/errc.h"
#include "gateway/jwks_cache.h"
#include "issuer/config.h"
#include "jose/errc.h"

namespace gatepass::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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
  return t;
}

}  // namespace

std::shared_ptr<const gateway_state> build_state(const gateway_config& cfg, asio::io_context& ioc,
                                                 jwks_caches& caches) {
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
    auto& cache = caches[ac.issuer_url];
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
    auto a = std::make_shared<authenticator>(ac, cache, cfg.limits.token_cache_entries,
                                             cfg.limits.max_token_bytes);
    by_name[name] = a;
    s->authenticators.push_back(a);
  }
  for (const auto& r : cfg.routes) {
    s->route_auth.push_back(r.authorizer.empty() ? nullptr : by_name.at(r.authorizer));
    s->upstreams.push_back(r.upstream.empty() ? upstream_target{} : parse_upstream(r.upstream));
    s->route_labels.push_back(r.path == "$default" ? "$default" : r.method + " " + r.path);
  }
  s->counters = std::make_shared<stats>(cfg.routes.size());
  return s;
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
    r.body = s.counters->render(s.route_labels, s.authenticators);
    return r;
  }
  return std::nullopt;
}

// ---- upstream pool -------------------------------------------------------------------------

namespace {

// Pooled keep-alive connections, one pool per event-loop thread: a connection is only ever
// used on the loop that opened it, so the pool needs no lock.
struct upstream_pool {
  std::unordered_map<std::string, std::vector<std::unique_ptr<beast::tcp_stream>>> idle;
};
thread_local upstream_pool* this_thread_pool = nullptr;
// Body bytes in flight: one buffer per loop thread (a session only touches it between awaits).
thread_local char relay_buf[16 * 1024];

upstream_pool& pool() {
  if (this_thread_pool == nullptr) this_thread_pool = new upstream_pool();  // freed by clear_upstream_pool
  return *this_thread_pool;
}

}  // namespace

void clear_upstream_pool() {
  delete this_thread_pool;
  this_thread_pool = nullptr;
}

// ---- server --------------------------------------------------------------------------------

struct gateway_server::impl : std::enable_shared_from_this<gateway_server::impl> {
  std::vector<asio::io_context*> loops;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  mutable std::mutex m;
  std::shared_ptr<const gateway_state> state;
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> connections{0};
  std::mutex sessions_m;
  std::vector<std::weak_ptr<beast::tcp_stream>> idle_streams;  // for drain

  std::shared_ptr<const gateway_state> current() const {
    std::lock_guard lock(m);
    return state;
  }
  void accept(std::size_t i);
  awaitable<void> session(std::shared_ptr<beast::tcp_stream> client);
};

namespace {

const char* reason_phrase_json(unsigned status) {
  switch (status) {
    case 400: return "{\"message\":\"Bad Request\"}";
    case 401: return "{\"message\":\"Unauthorized\"}";
    case 403: return "{\"message\":\"Forbidden\"}";
    case 404: return "{\"message\":\"Not Found\"}";
    case 405: return "{\"message\":\"Method Not Allowed\"}";
    case 413: return "{\"message\":\"Payload Too Large\"}";
    case 414: return "{\"message\":\"URI Too Long\"}";
    case 431: return "{\"message\":\"Request Header Fields Too Large\"}";
    case 502: return "{\"message\":\"Bad Gateway\"}";
    case 504: return "{\"message\":\"Gateway Timeout\"}";
    default: return "{\"message\":\"Internal Server Error\"}";
  }
}

// RFC 6750 §3 challenge; the reason text never holds quotes or control characters.
std::string bearer_challenge(const route_config* route, unsigned status, const std::error_code& reason) {
  std::string desc = reason.message();
  for (auto& c : desc)
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '\'';
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

bool is_hop_by_hop(std::string_view name) {
  static constexpr std::string_view hop[] = {"connection", "keep-alive", "proxy-connection", "te",
                                             "trailer", "upgrade", "proxy-authorization",
                                             "proxy-authenticate"};
  for (auto h : hop)
    if (beast::iequals(name, h)) return true;
  return false;
}


std::vector<std::string> query_values(std::string_view query, std::string_view name) {
  std::vector<std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = part.find('=');
    if (part.substr(0, eq) == name)
      out.push_back(eq == std::string_view::npos ? std::string() : form_decode(part.substr(eq + 1)));
  }
  return out;
}

std::int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

struct auth_result {
  unsigned status = 200;
  std::error_code reason;
  std::shared_ptr<const verified_entry> token;
  bool refetching = false;
};

// Token sources of a request for one authorizer, then the decision.
template <class Fields>
auth_result authorize_request(const authenticator& a, const http::header<true, Fields>& req,
                              std::string_view query, const route_config& route) {
  token_sources src;
  std::vector<std::string> qvals;
  if (a.from_header()) {
    for (auto it = req.find(a.source_name()); it != req.end() && beast::iequals(it->name_string(), a.source_name()); ++it)
      src.header_values.push_back(it->value());
    src.other_location = !query_values(query, "access_token").empty();
  } else {
    qvals = query_values(query, a.source_name());
    for (const auto& v : qvals) src.query_values.emplace_back(v);
    src.other_location = req.find(http::field::authorization) != req.end();
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
  return r;
}

}  // namespace

void gateway_server::impl::accept(std::size_t i) {
  auto& acc = *acceptors[i];
  acc.async_accept(*loops[i], [self = shared_from_this(), i](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->stopping) return;
    if (!ec) {
      const auto st = self->current();
      if (static_cast<std::size_t>(self->connections.load()) >= st->cfg.limits.max_connections) {
        beast::error_code ignore;
        socket.close(ignore);
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        asio::co_spawn(*self->loops[i], self->session(stream), asio::detached);
      }
    }
    self->accept(i);
  });
}

awaitable<void> gateway_server::impl::session(std::shared_ptr<beast::tcp_stream> client) {
  ++connections;
  struct guard {
    impl* s;
    ~guard() { --s->connections; }
  } g{this};
  (void)g;
  {
    std::lock_guard lock(sessions_m);
    idle_streams.push_back(client);
    if (idle_streams.size() > 4096)
      std::erase_if(idle_streams, [](const auto& w) { return w.expired(); });
  }
  beast::error_code ignore;
  const auto remote = client->socket().remote_endpoint(ignore).address().to_string();
  beast::flat_buffer buffer;
  bool first = true;

  for (;;) {
    const auto st = current();
    const auto& lim = st->cfg.limits;
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
    parser.body_limit(lim.max_body_bytes);
    client->expires_after(std::chrono::seconds(first ? lim.read_timeout : lim.idle_timeout));
    auto [ec, n] = co_await http::async_read_header(*client, buffer, parser, use_tuple);
    first = false;
    (void)n;

    auto reply = [&](unsigned status, std::vector<std::pair<std::string, std::string>> extra,
                     bool keep_alive, std::string body = {}) -> awaitable<bool> {
      http::response<http::string_body> res{static_cast<http::status>(status), 11};
      res.set(http::field::server, "gatepass");
      res.set(http::field::content_type, "application/json");
      for (auto& [k, v] : extra) res.set(k, v);
      res.body() = body.empty() ? std::string(reason_phrase_json(status)) : std::move(body);
      res.keep_alive(keep_alive);
      res.prepare_payload();
      client->expires_after(std::chrono::seconds(lim.read_timeout));
      auto [wec, wn] = co_await http::async_write(*client, res, use_tuple);
      (void)wn;
      co_return !wec && keep_alive;
    };

    if (ec) {
      if (ec == http::error::header_limit) co_await reply(431, {}, false);
      else if (ec == http::error::body_limit) co_await reply(413, {}, false);
      else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
               ec != asio::error::eof && ec != asio::error::connection_reset &&
               ec != asio::error::operation_aborted && ec.category() == beast::error_code(http::error::bad_target).category())
        co_await reply(400, {}, false);
      break;
    }
    if (stopping) {
      // draining: answer this request, then close
    }
    auto& req = parser.get();
    const auto started = std::chrono::steady_clock::now();
    const bool has_body = req.has_content_length() ? parser.content_length().value_or(0) > 0 : req.chunked();
    const bool client_keep_alive = req.keep_alive() && !stopping;
    const std::string target(req.target());
    std::size_t route_index = st->cfg.routes.size();  // unmatched
    unsigned status = 0;
    std::error_code reason;

    auto log = [&](unsigned code, std::string_view path) {
      st->counters->count_request(route_index, code);
      if (reason) st->counters->count_denied(reason);
      if (!st->cfg.access_log) return;
      json::object o;
      o["time"] = format_utc(wall_now());
      o["remote"] = remote;
      o["method"] = std::string(req.method_string());
      o["path"] = std::string(path);  // normalized, never the query: it may hold a token
      o["route"] = route_index < st->route_labels.size() ? st->route_labels[route_index] : "";
      o["status"] = code;
      if (reason) o["reason"] = reason.message();
      o["ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      std::string line = json::serialize(o) + "\n";
      [[maybe_unused]] auto w = ::write(1, line.data(), line.size());
    };

    if (target.size() > lim.max_url_bytes) {
      log(414, "");
      co_await reply(414, {}, false);
      break;
    }
    const auto qpos = target.find('?');
    const std::string_view raw_path = std::string_view(target).substr(0, qpos);
    const std::string_view query = qpos == std::string::npos ? std::string_view() : std::string_view(target).substr(qpos + 1);
    auto norm = normalize_path(raw_path);
    if (!norm) {
      reason = norm.error();
      log(400, "");
      co_await reply(400, {}, false);
      break;
    }
    const std::string& path = *norm;

    // operations endpoints on the main listener unless admin_listen is set
    if (st->cfg.admin_listen.empty() && (req.method() == http::verb::get || req.method() == http::verb::head)) {
      if (auto r = admin_response(*st, path)) {
        log(r->status, path);
        std::vector<std::pair<std::string, std::string>> ct;
        ct.emplace_back("Content-Type", std::string(r->header("Content-Type")));
        if (!co_await reply(r->status, std::move(ct),
                            client_keep_alive && !has_body, std::move(r->body)))
          break;
        continue;
      }
    }

    // forward-auth for nginx auth_request, Traefik ForwardAuth, Envoy ext_authz
    if (path == st->cfg.forward_auth_path) {
      auto h = [&](http::field f1, const char* f2) {
        auto v = req[f2];
        return v.empty() ? std::string(req[f1]) : std::string(v);
      };
      std::string method(req["X-Original-Method"]);
      if (method.empty()) method = std::string(req["X-Forwarded-Method"]);
      if (method.empty()) method = "GET";
      std::string uri(req["X-Original-URI"]);
      if (uri.empty()) uri = std::string(req["X-Forwarded-Uri"]);
      (void)h;
      const auto fq = uri.find('?');
      auto fnorm = normalize_path(std::string_view(uri).substr(0, fq));
      const std::string_view fquery = fq == std::string::npos ? std::string_view() : std::string_view(uri).substr(fq + 1);
      unsigned code = 200;
      std::vector<std::pair<std::string, std::string>> headers;
      if (uri.empty() || !fnorm) {
        code = 400;
        reason = fnorm ? std::error_code(errc::path_invalid) : fnorm.error();
      } else if (auto fm = st->matcher.match(method, *fnorm); !fm) {
        code = 404;
        reason = errc::route_not_found;
      } else {
        route_index = fm->index;
        const auto& route = st->cfg.routes[fm->index];
        if (const auto& a = st->route_auth[fm->index]) {
          auto ar = authorize_request(*a, req, fquery, route);
          code = ar.status;
          reason = ar.reason;
          if (ar.token) headers = ar.token->headers;
          if (code != 200) {
            headers.clear();
            headers.emplace_back("WWW-Authenticate", bearer_challenge(&route, code, reason));
          }
        }
      }
      log(code, path);
      if (!co_await reply(code, std::move(headers), client_keep_alive && !has_body,
                          code == 200 ? "{\"message\":\"OK\"}" : ""))
        break;
      continue;
    }

    auto match = st->matcher.match(std::string(req.method_string()), path);
    if (!match) {
      reason = errc::route_not_found;
      log(404, path);
      if (!co_await reply(404, {}, client_keep_alive && !has_body)) break;
      continue;
    }
    route_index = match->index;
    const auto& route = st->cfg.routes[match->index];
    std::shared_ptr<const verified_entry> token;
    if (const auto& a = st->route_auth[match->index]) {
      auto ar = authorize_request(*a, req, query, route);
      if (ar.refetching) {
        // A kid the cached set lacks, and the issuer's JWKS is being refetched (a rotation):
        // wait for that one shared fetch (bounded by its timeout), then decide again.
        const auto before = a->jwks()->keys();
        asio::steady_timer wait(co_await asio::this_coro::executor);
        for (int i = 0; i < 40 && a->jwks()->keys() == before; ++i) {
          wait.expires_after(std::chrono::milliseconds(50));
          co_await wait.async_wait(use_tuple);
        }
        if (a->jwks()->keys() != before) ar = authorize_request(*a, req, query, route);
      }
      if (ar.status != 200) {
        reason = ar.reason;
        log(ar.status, path);
        std::vector<std::pair<std::string, std::string>> challenge;
        challenge.emplace_back("WWW-Authenticate", bearer_challenge(&route, ar.status, ar.reason));
        if (!co_await reply(ar.status, std::move(challenge),
                            client_keep_alive && !has_body))
          break;
        continue;
      }
      token = std::move(ar.token);
    }
    const auto& up = st->upstreams[match->index];
    if (up.host.empty()) {
      reason = errc::route_not_found;
      log(404, path);
      if (!co_await reply(404, {}, client_keep_alive && !has_body)) break;
      continue;
    }

    // ---- rewrite the request for the upstream ----
    {
      // hop-by-hop headers, and any named in Connection, never travel
      std::vector<std::string> drop;
      for (const auto& f : req) {
        const auto name = f.name_string();
        if (is_hop_by_hop(name) || (name.size() >= 11 && beast::iequals(name.substr(0, 11), "x-gatepass-")))
          drop.emplace_back(name);
      }
      for (std::string_view conn = req[http::field::connection]; !conn.empty();) {
        const auto comma = conn.find(',');
        auto tok = conn.substr(0, comma);
        while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
        while (!tok.empty() && tok.back() == ' ') tok.remove_suffix(1);
        if (!tok.empty()) drop.emplace_back(tok);
        conn = comma == std::string_view::npos ? std::string_view() : conn.substr(comma + 1);
      }
      if (const auto& a = st->route_auth[match->index]) {
        for (const auto& [header, claim] : a->config().claims_to_headers) drop.push_back(header);
        if (!a->config().forward_authorization) drop.emplace_back("Authorization");
      }
      for (const auto& d : drop) req.erase(d);
      const std::string original_host(req[http::field::host]);
      std::string xff(req["X-Forwarded-For"]);
      req.set("X-Forwarded-For", xff.empty() ? remote : xff + ", " + remote);
      req.set("X-Forwarded-Proto", "http");
      if (!original_host.empty()) req.set("X-Forwarded-Host", original_host);
      req.set(http::field::host, up.host_header);
      if (token)
        for (const auto& [k, v] : token->headers) req.set(k, v);
      std::string new_target = up.base_path + path;
      if (!query.empty()) new_target += "?" + std::string(query);
      req.target(new_target);
      req.version(11);
      req.keep_alive(true);
    }

    // ---- connect (pooled) ----
    const std::string key = up.host + ":" + up.port;
    std::unique_ptr<beast::tcp_stream> upstream;
    bool reused = false;
    auto& idle = pool().idle[key];
    while (!idle.empty() && !upstream) {
      upstream = std::move(idle.back());
      idle.pop_back();
      reused = upstream->socket().is_open();
      if (!reused) upstream.reset();
    }
    auto connect = [&]() -> awaitable<beast::error_code> {
      upstream = std::make_unique<beast::tcp_stream>(co_await asio::this_coro::executor);
      tcp::resolver resolver(co_await asio::this_coro::executor);
      auto [rec, results] = co_await resolver.async_resolve(up.host, up.port, use_tuple);
      if (rec) co_return rec;
      upstream->expires_after(std::chrono::seconds(lim.upstream_connect_timeout));
      auto [cec, ep] = co_await upstream->async_connect(results, use_tuple);
      (void)ep;
      if (!cec) upstream->socket().set_option(tcp::no_delay(true));
      co_return cec;
    };
    if (!upstream) {
      if (auto cec = co_await connect()) {
        reason = cec == beast::error::timeout ? std::error_code(errc::upstream_timeout) : std::error_code(errc::upstream_refused);
        const unsigned code = cec == beast::error::timeout ? 504 : 502;
        log(code, path);
        if (!co_await reply(code, {}, client_keep_alive && !has_body)) break;
        continue;
      }
    }

    // ---- request: header + streamed body ----
    const auto up_started = std::chrono::steady_clock::now();
    http::request_serializer<http::buffer_body> req_sr{req};
    beast::error_code rec;
    do {
      if (!parser.is_done()) {
        req.body().data = relay_buf;
        req.body().size = sizeof relay_buf;
        client->expires_after(std::chrono::seconds(lim.read_timeout));
        auto [bec, bn] = co_await http::async_read(*client, buffer, parser, use_tuple);
        (void)bn;
        if (bec == http::error::need_buffer) bec = {};
        if (bec) {
          rec = bec;
          break;
        }
        req.body().size = sizeof relay_buf - req.body().size;
        req.body().data = relay_buf;
        req.body().more = !parser.is_done();
      } else {
        req.body().data = nullptr;
        req.body().size = 0;
        req.body().more = false;
      }
      upstream->expires_after(std::chrono::seconds(lim.upstream_timeout));
      auto [wec, wn] = co_await http::async_write(*upstream, req_sr, use_tuple);
      (void)wn;
      if (wec == http::error::need_buffer) wec = {};
      if (wec) {
        rec = wec;
        break;
      }
    } while (!parser.is_done() || !req_sr.is_done());

    // ---- response: header, then streamed body ----
    std::optional<http::response_parser<http::buffer_body>> rpo;
    auto fresh_parser = [&] {
      rpo.emplace();
      rpo->body_limit(boost::none);
      if (req.method() == http::verb::head) rpo->skip(true);
    };
    fresh_parser();
    beast::flat_buffer up_buffer;
    beast::error_code hec = rec;
    if (!hec) {
      upstream->expires_after(std::chrono::seconds(lim.upstream_timeout));
      auto [e, hn] = co_await http::async_read_header(*upstream, up_buffer, *rpo, use_tuple);
      (void)hn;
      hec = e;
    }
    {
      // a pooled connection the upstream had closed meanwhile: one fresh attempt (no body)
      const bool stale = hec == http::error::end_of_stream || hec == asio::error::connection_reset ||
                         hec == asio::error::broken_pipe || hec == asio::error::eof;
      if (hec && stale && reused && !has_body) {
        // stale pooled connection: one fresh attempt
        if (!(hec = co_await connect())) {
          http::request_serializer<http::buffer_body> sr2{req};
          req.body().data = nullptr;
          req.body().size = 0;
          req.body().more = false;
          upstream->expires_after(std::chrono::seconds(lim.upstream_timeout));
          auto [w2, wn2] = co_await http::async_write(*upstream, sr2, use_tuple);
          (void)wn2;
          if (w2 == http::error::need_buffer) w2 = {};
          hec = w2;
          if (!hec) {
            fresh_parser();
            up_buffer.clear();
            auto [e2, hn2] = co_await http::async_read_header(*upstream, up_buffer, *rpo, use_tuple);
            (void)hn2;
            hec = e2;
          }
        }
      }
    }
    if (hec) {
      const bool timeout = hec == beast::error::timeout;
      reason = timeout ? std::error_code(errc::upstream_timeout) : std::error_code(errc::upstream_refused);
      const unsigned code = timeout ? 504 : 502;
      log(code, path);
      if (!co_await reply(code, {}, false)) break;
      break;
    }
    st->counters->observe_upstream(std::chrono::duration<double>(std::chrono::steady_clock::now() - up_started).count());
    auto& rp = *rpo;
    auto& res = rp.get();
    status = res.result_int();
    const bool upstream_keep_alive = res.keep_alive();
    {
      std::vector<std::string> drop;
      for (const auto& f : res)
        if (is_hop_by_hop(f.name_string())) drop.emplace_back(f.name_string());
      for (const auto& d : drop) res.erase(d);
    }
    const bool keep = client_keep_alive;
    res.keep_alive(keep);
    http::response_serializer<http::buffer_body> res_sr{res};
    beast::error_code xec;
    do {
      if (!rp.is_done()) {
        res.body().data = relay_buf;
        res.body().size = sizeof relay_buf;
        upstream->expires_after(std::chrono::seconds(lim.upstream_timeout));
        auto [bec, bn] = co_await http::async_read(*upstream, up_buffer, rp, use_tuple);
        (void)bn;
        if (bec == http::error::need_buffer) bec = {};
        if (bec) {
          xec = bec;
          break;
        }
        res.body().size = sizeof relay_buf - res.body().size;
        res.body().data = relay_buf;
        res.body().more = !rp.is_done();
      } else {
        res.body().data = nullptr;
        res.body().size = 0;
        res.body().more = false;
      }
      client->expires_after(std::chrono::seconds(lim.read_timeout));
      auto [wec, wn] = co_await http::async_write(*client, res_sr, use_tuple);
      (void)wn;
      if (wec == http::error::need_buffer) wec = {};
      if (wec) {
        xec = wec;
        break;
      }
    } while (!rp.is_done() || !res_sr.is_done());
    log(status, path);
    if (!xec && upstream_keep_alive && rp.is_done() && up_buffer.size() == 0) {
      upstream->expires_never();
      auto& slot = pool().idle[key];
      if (slot.size() < 256) slot.push_back(std::move(upstream));
    }
    if (xec || !keep) break;
  }
  beast::error_code sec;
  client->socket().shutdown(tcp::socket::shutdown_send, sec);
  co_return;
}

gateway_server::gateway_server(std::vector<asio::io_context*> loops,
                               std::shared_ptr<const gateway_state> state)
    : impl_(std::make_shared<impl>()) {
  impl_->loops = std::move(loops);
  impl_->state = std::move(state);
  const auto [host, port_num] = [&] {
    const auto& l = impl_->state->cfg.listen;
    const auto colon = l.rfind(':');
    std::string h = l.substr(0, colon);
    if (h.size() >= 2 && h.front() == '[') h = h.substr(1, h.size() - 2);
    return std::pair{h.empty() ? std::string("0.0.0.0") : h,
                     static_cast<unsigned short>(std::stoi(l.substr(colon + 1)))};
  }();
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("gateway.listen " + impl_->state->cfg.listen + ": " + ec.message());
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
    if (ec) throw std::runtime_error("cannot listen on " + impl_->state->cfg.listen + ": " + ec.message());
    port = acc->local_endpoint().port();  // port 0: the others share the one picked
    impl_->acceptors.push_back(std::move(acc));
  }
  for (std::size_t i = 0; i < impl_->acceptors.size(); ++i) impl_->accept(i);
}

gateway_server::~gateway_server() { stop(); }

unsigned short gateway_server::port() const noexcept {
  beast::error_code ec;
  return impl_->acceptors.front()->local_endpoint(ec).port();
}

void gateway_server::set_state(std::shared_ptr<const gateway_state> state) {
  std::lock_guard lock(impl_->m);
  impl_->state = std::move(state);
}

std::int64_t gateway_server::connections() const noexcept { return impl_->connections.load(); }

void gateway_server::stop() {
  if (impl_->stopping.exchange(true)) return;
  for (std::size_t i = 0; i < impl_->acceptors.size(); ++i)
    asio::post(*impl_->loops[i], [self = impl_, i] {
      beast::error_code ec;
      self->acceptors[i]->close(ec);
    });
  // idle keep-alive connections wait in a read: cancel it; busy ones finish their response
  std::vector<std::shared_ptr<beast::tcp_stream>> streams;
  {
    std::lock_guard lock(impl_->sessions_m);
    for (auto& w : impl_->idle_streams)
      if (auto s = w.lock()) streams.push_back(std::move(s));
  }
  for (auto& s : streams)
    asio::post(s->get_executor(), [s] { s->expires_after(std::chrono::milliseconds(200)); });
}

}  // namespace gatepass::gateway
