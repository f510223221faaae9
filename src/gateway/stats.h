// Gateway metrics in one place, exposed as Prometheus text (/metrics). Every metric name is
// listed here; counters are lock-free atomics updated on the request path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace gatepass::gateway {

class authenticator;

// Metric names (the one list):
inline constexpr const char* metric_requests = "gatepass_requests_total";  // {route,status}
inline constexpr const char* metric_denied = "gatepass_denied_total";      // {reason}
inline constexpr const char* metric_jwks_fetch =
    "gatepass_jwks_fetch_total";  // {authorizer,result}
inline constexpr const char* metric_token_cache =
    "gatepass_token_cache_total";  // {authorizer,result}
inline constexpr const char* metric_upstream_latency =
    "gatepass_upstream_latency_seconds";                                   // histogram
inline constexpr const char* metric_connections = "gatepass_connections";  // gauge
inline constexpr const char* metric_connections_refused =
    "gatepass_connections_refused_total";  // counter: closed at accept, max_connections reached

class stats {
 public:
  /// Counters for routes labelled `route_labels` (the unmatched slot follows them). Built by a
  /// reload with the running set as `carried`: everything counted so far carries on (a
  /// Prometheus counter must not fall back to zero), a route's requests by its label.
  explicit stats(const std::vector<std::string>& route_labels, const stats* carried = nullptr);
  void count_request(std::size_t route, unsigned status) noexcept;  // route == routes: unmatched
  void count_denied(const std::error_code& reason) noexcept;
  void observe_upstream(double seconds) noexcept;
  void connection_opened() noexcept { totals_->connections.fetch_add(1); }
  void connection_closed() noexcept { totals_->connections.fetch_sub(1); }
  std::int64_t connections() const noexcept { return totals_->connections.load(); }
  void connection_refused() noexcept {
    totals_->connections_refused.fetch_add(1, std::memory_order_relaxed);
  }

  /// Prometheus text exposition; authorizers come from the caller.
  std::string render(const std::vector<std::shared_ptr<authenticator>>& authorizers) const;

 private:
  static constexpr std::size_t status_slots = 600;
  using by_status = std::array<std::atomic<std::uint64_t>, status_slots>;
  static constexpr std::array<double, 13> buckets_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  10};
  // what is not per route, shared with the sets built by later reloads
  struct totals {
    std::array<std::atomic<std::uint64_t>, 128> denied_jose{};
    std::array<std::atomic<std::uint64_t>, 64> denied_gateway{};
    std::array<std::atomic<std::uint64_t>, 14> latency{};
    std::atomic<std::uint64_t> latency_micros{0};
    std::atomic<std::int64_t> connections{0};
    std::atomic<std::uint64_t> connections_refused{0};
  };
  std::vector<std::string> labels_;                   // with "unmatched" last
  std::vector<std::shared_ptr<by_status>> requests_;  // one per label
  std::shared_ptr<totals> totals_;
};

}  // namespace gatepass::gateway
