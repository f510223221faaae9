#include "gateway/jwks_cache.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <iostream>
#include <limits>

#include "gateway/errc.h"
#include "jose/errc.h"
#include "jose/json.h"
#include "net/errc.h"

namespace gatepass::gateway {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::chrono::seconds initial_backoff{1};
constexpr std::chrono::seconds max_backoff{30};
constexpr std::int64_t never = std::numeric_limits<std::int64_t>::min() / 2;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

std::string discovery_url_of(std::string_view issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return std::string(issuer) + "/.well-known/openid-configuration";
}

}  // namespace

std::chrono::seconds jwks_refresh_delay(std::optional<std::chrono::seconds> max_age,
                                        const jwks_cache_options& opt) {
  const auto lo = opt.min_ttl;
  const auto hi = std::max(opt.min_ttl, opt.max_ttl);
  return std::clamp(max_age.value_or(lo), lo, hi);
}

// Every fetch is discovery then JWKS: jwks_uri is re-discovered on each refresh, so a moved
// jwks_uri is followed and the issuer check is repeated, for one small extra GET per refresh.
// All state changes run on `strand`; readers touch only the atomics.
struct jwks_cache::impl {
  impl(jwks_cache& o, asio::io_context& io, jwks_cache_options op, fetch_function f)
      : owner(o),
        opt(std::move(op)),
        fetch(std::move(f)),
        discovery_url(discovery_url_of(opt.issuer_url)),
        strand(asio::make_strand(io)),
        timer(strand),
        kid_timer(strand) {
    if (!fetch)
      fetch = [&io, fo = opt.fetch](const std::string& url,
                                    std::function<void(result<net::fetch_response>)> cb) {
        net::async_fetch(io, url, fo, std::move(cb));
      };
  }

  enum class reason { start, refresh, unknown_kid };

  // On the strand. Starts discovery + JWKS unless one is already running (then it is shared).
  bool begin(const std::shared_ptr<jwks_cache>& self, reason why) {
    if (stopped || in_flight) return false;
    in_flight = true;
    last_start = now_ns();
    ++timer_gen;  // a pending refresh is superseded: the completion schedules the next
    timer.cancel();
    if (why == reason::unknown_kid) ++owner.stats_.unknown_kid_refetches;
    if (auto ec = net::check_fetch_url(discovery_url)) {
      post_result(self, [ec](impl& m, const std::shared_ptr<jwks_cache>& s) { m.fail(s, ec); });
      return true;
    }
    fetch(discovery_url, [self](result<net::fetch_response> r) {
      post_result(self, [r = std::move(r)](impl& m, const std::shared_ptr<jwks_cache>& s) mutable {
        m.on_discovery(s, std::move(r));
      });
    });
    return true;
  }

  // Fetch callbacks may run anywhere (or inline): continue on the strand, never re-entrantly.
  template <class F>
  static void post_result(const std::shared_ptr<jwks_cache>& self, F f) {
    asio::post(self->impl_->strand, [self, f = std::move(f)]() mutable { f(*self->impl_, self); });
  }

  void on_discovery(const std::shared_ptr<jwks_cache>& self, result<net::fetch_response> r) {
    if (!r) return fail(self, r.error());
    auto doc = jose::parse_json_object(r->body);
    if (!doc) return fail(self, errc::discovery_invalid);
    const auto* iss = doc->if_contains("issuer");
    if (iss == nullptr || !iss->is_string()) return fail(self, errc::discovery_invalid);
    // OIDC Discovery §4.3: exactly the configured issuer, byte for byte.
    if (std::string_view(iss->get_string()) != opt.issuer_url)
      return fail(self, errc::discovery_issuer_mismatch);
    const auto* uri = doc->if_contains("jwks_uri");
    if (uri == nullptr || !uri->is_string()) return fail(self, errc::discovery_invalid);
    std::string jwks_uri(uri->get_string());
    if (auto ec = net::check_fetch_url(jwks_uri))
      return fail(self,
                  ec == net::errc::fetch_insecure ? ec : make_error_code(errc::discovery_invalid));
    fetch(jwks_uri, [self](result<net::fetch_response> res) {
      post_result(self,
                  [res = std::move(res)](impl& m, const std::shared_ptr<jwks_cache>& s) mutable {
                    m.on_jwks(s, std::move(res));
                  });
    });
  }

  void on_jwks(const std::shared_ptr<jwks_cache>& self, result<net::fetch_response> r) {
    if (!r) return fail(self, r.error());
    auto set = jose::key_set::parse(r->body);  // default options: no oct, no private keys
    if (!set) return fail(self, set.error());
    if (set->empty()) return fail(self, jose::errc::jwks_no_valid_keys);
    if (!set->dropped().empty()) {
      const auto& d = set->dropped().front();
      std::cerr << "gatepass: jwks " << opt.issuer_url << ": " << set->dropped().size()
                << " key(s) dropped, first #" << d.index << ": " << d.reason.message() << "\n";
    }
    keys.store(std::make_shared<const jose::key_set>(std::move(*set)));
    ever_ok = true;
    failures = 0;
    {
      std::lock_guard lock(error_mutex);
      last_error.clear();
    }
    schedule(self, jwks_refresh_delay(net::cache_max_age(r->cache_control), opt));
    ++owner.stats_.fetch_ok;  // last: whoever sees the count sees the state it describes
  }

  void fail(const std::shared_ptr<jwks_cache>& self, std::error_code ec) {
    std::chrono::seconds delay = std::max(opt.retry_after, std::chrono::seconds(1));
    if (!ever_ok) {  // not ready yet: back off from 1 s, doubling, to 30 s
      delay = initial_backoff * (1LL << std::min(failures, 5u));
      delay = std::min(delay, max_backoff);
    }
    ++failures;
    const std::string msg = ec.message();
    {
      std::lock_guard lock(error_mutex);
      last_error = msg;
    }
    std::cerr << "gatepass: jwks " << opt.issuer_url << ": fetch failed: " << msg
              << (ever_ok ? " (keeping the last good keys)" : "") << "; retry in " << delay.count()
              << "s\n";
    schedule(self, delay);
    ++owner.stats_.fetch_failed;  // last: whoever sees the count sees the state it describes
  }

  void schedule(const std::shared_ptr<jwks_cache>& self, std::chrono::seconds delay) {
    in_flight = false;
    next_delay = delay.count();
    if (stopped) return;
    const auto gen = ++timer_gen;
    timer.expires_after(delay);
    timer.async_wait([weak = std::weak_ptr<jwks_cache>(self), gen](boost::system::error_code ec) {
      if (ec) return;
      auto s = weak.lock();
      if (!s || s->impl_->timer_gen != gen) return;
      s->impl_->begin(s, reason::refresh);
    });
  }

  jwks_cache& owner;
  const jwks_cache_options opt;
  fetch_function fetch;
  const std::string discovery_url;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;      // strand only
  asio::steady_timer kid_timer;  // strand only: the delayed unknown-kid refetch

  std::atomic<std::shared_ptr<const jose::key_set>> keys;
  std::atomic<bool> stopped{false};
  std::atomic<bool> in_flight{false};           // written on the strand, read anywhere
  std::atomic<bool> kid_pending{false};         // an unknown-kid refetch is about to start
  std::atomic<std::int64_t> last_start{never};  // steady-clock ns of the last fetch start
  std::atomic<std::int64_t> next_delay{0};

  // Strand only.
  std::uint64_t timer_gen = 0;
  unsigned failures = 0;  // consecutive
  bool ever_ok = false;

  mutable std::mutex error_mutex;
  std::string last_error;
};

std::shared_ptr<jwks_cache> jwks_cache::create(asio::io_context& ioc, jwks_cache_options opt,
                                               fetch_function fetch) {
  return std::make_shared<jwks_cache>(ioc, std::move(opt), std::move(fetch));
}

jwks_cache::jwks_cache(asio::io_context& ioc, jwks_cache_options opt, fetch_function fetch)
    : impl_(std::make_unique<impl>(*this, ioc, std::move(opt), std::move(fetch))) {}

jwks_cache::~jwks_cache() = default;

void jwks_cache::start() {
  if (!net::check_fetch_url(impl_->discovery_url) && impl_->discovery_url.starts_with("http:")) {
    std::cerr << "gatepass: warning: issuer " << impl_->opt.issuer_url
              << " is fetched over plain http (loopback only; for development)\n";
  }
  asio::post(impl_->strand,
             [self = shared_from_this()] { self->impl_->begin(self, impl::reason::start); });
}

void jwks_cache::stop() {
  impl_->stopped = true;
  if (auto self = weak_from_this().lock())
    asio::post(impl_->strand, [self] {
      ++self->impl_->timer_gen;
      self->impl_->timer.cancel();
      self->impl_->kid_timer.cancel();
    });
}

std::shared_ptr<const jose::key_set> jwks_cache::keys() const {
  return impl_->keys.load();
}

bool jwks_cache::on_unknown_kid() {
  auto& m = *impl_;
  if (m.stopped) return false;
  if (m.in_flight || m.kid_pending) return true;  // a fetch in flight or due is shared
  const auto now = now_ns();
  auto last = m.last_start.load();
  const auto cooldown =
      std::chrono::duration_cast<std::chrono::nanoseconds>(m.opt.refetch_cooldown).count();
  if (now - last <= cooldown) return false;
  // One caller per cooldown wins the right to start the refetch.
  if (!m.last_start.compare_exchange_strong(last, now)) return true;
  m.kid_pending = true;
  asio::post(m.strand, [self = shared_from_this()] {
    auto& state = *self->impl_;
    state.kid_timer.expires_after(state.opt.unknown_kid_delay);
    state.kid_timer.async_wait(
        [weak = std::weak_ptr<jwks_cache>(self)](boost::system::error_code ec) {
          auto s = weak.lock();
          if (!s) return;
          if (!ec) s->impl_->begin(s, impl::reason::unknown_kid);  // in_flight before pending ends
          s->impl_->kid_pending = false;
        });
  });
  return true;
}

std::string jwks_cache::last_error() const {
  std::lock_guard lock(impl_->error_mutex);
  return impl_->last_error;
}

std::chrono::seconds jwks_cache::next_refresh_delay() const {
  return std::chrono::seconds(impl_->next_delay.load());
}

}  // namespace gatepass::gateway
