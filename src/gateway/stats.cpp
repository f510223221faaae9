#include "gateway/stats.h"

#include <sstream>
#include <string_view>

#include "gateway/authenticator.h"
#include "gateway/errc.h"
#include "gateway/jwks_cache.h"
#include "jose/errc.h"

namespace gatepass::gateway {

namespace {

// A label value as the Prometheus text format writes it: '\\', '"' and a newline escaped
// (route templates and authorizer names come from the config as written)
std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

stats::stats(const std::vector<std::string>& route_labels, const stats* carried)
    : labels_(route_labels), totals_(carried ? carried->totals_ : std::make_shared<totals>()) {
  labels_.emplace_back("unmatched");
  for (const auto& label : labels_) {
    std::shared_ptr<by_status> slot;
    if (carried)
      for (std::size_t i = 0; i < carried->labels_.size() && !slot; ++i)
        if (carried->labels_[i] == label) slot = carried->requests_[i];
    requests_.push_back(slot ? std::move(slot) : std::make_shared<by_status>());
  }
}

void stats::count_request(std::size_t route, unsigned status) noexcept {
  if (route >= requests_.size()) route = requests_.size() - 1;
  if (status >= status_slots) status = 0;
  (*requests_[route])[status].fetch_add(1, std::memory_order_relaxed);
}

void stats::count_denied(const std::error_code& reason) noexcept {
  const auto v = static_cast<std::size_t>(reason.value());
  if (reason.category() == jose::jose_category() && v < totals_->denied_jose.size())
    totals_->denied_jose[v].fetch_add(1, std::memory_order_relaxed);
  else if (reason.category() == gateway_category() && v < totals_->denied_gateway.size())
    totals_->denied_gateway[v].fetch_add(1, std::memory_order_relaxed);
}

void stats::observe_upstream(double seconds) noexcept {
  std::size_t i = 0;
  while (i < buckets_.size() && seconds > buckets_[i]) ++i;
  totals_->latency[i].fetch_add(1, std::memory_order_relaxed);
  totals_->latency_micros.fetch_add(static_cast<std::uint64_t>(seconds * 1e6),
                                    std::memory_order_relaxed);
}

std::string stats::render(const std::vector<std::shared_ptr<authenticator>>& auths) const {
  std::ostringstream o;
  o << "# HELP " << metric_requests << " Requests by route and status.\n# TYPE " << metric_requests
    << " counter\n";
  for (std::size_t r = 0; r < requests_.size(); ++r) {
    const std::string label = label_value(labels_[r]);
    for (std::size_t s = 0; s < status_slots; ++s) {
      const auto n = (*requests_[r])[s].load(std::memory_order_relaxed);
      if (n != 0)
        o << metric_requests << "{route=\"" << label << "\",status=\"" << s << "\"} " << n << "\n";
    }
  }
  o << "# HELP " << metric_denied << " Requests denied (401, 403), by reason.\n# TYPE "
    << metric_denied << " counter\n";
  for (std::size_t i = 0; i < totals_->denied_jose.size(); ++i)
    if (auto n = totals_->denied_jose[i].load(); n != 0)
      o << metric_denied << "{reason=\"" << jose::errc_name(static_cast<jose::errc>(i)) << "\"} "
        << n << "\n";
  static const char* gateway_names[] = {"",
                                        "path_invalid",
                                        "path_encoded_slash",
                                        "path_nul",
                                        "route_not_found",
                                        "token_missing",
                                        "token_bad_scheme",
                                        "token_multiple",
                                        "jwks_unavailable",
                                        "scope_insufficient",
                                        "upstream_refused",
                                        "upstream_timeout",
                                        "upstream_bad_response",
                                        "discovery_issuer_mismatch",
                                        "discovery_invalid",
                                        "claim_not_header_safe",
                                        "forward_auth_ambiguous",
                                        "forward_auth_incomplete",
                                        "method_refused",
                                        "path_ambiguous",
                                        "path_encoded_twice"};
  for (std::size_t i = 1; i < std::size(gateway_names); ++i)
    if (auto n = totals_->denied_gateway[i].load(); n != 0)
      o << metric_denied << "{reason=\"" << gateway_names[i] << "\"} " << n << "\n";
  o << "# HELP " << metric_jwks_fetch << " JWKS fetches by result.\n# TYPE " << metric_jwks_fetch
    << " counter\n";
  o << "# HELP " << metric_token_cache << " Verified-token cache lookups.\n# TYPE "
    << metric_token_cache << " counter\n";
  for (const auto& a : auths) {
    const auto name = label_value(a->config().name);
    o << metric_jwks_fetch << "{authorizer=\"" << name << "\",result=\"ok\"} "
      << a->jwks()->stats().fetch_ok.load() << "\n";
    o << metric_jwks_fetch << "{authorizer=\"" << name << "\",result=\"failed\"} "
      << a->jwks()->stats().fetch_failed.load() << "\n";
    o << metric_token_cache << "{authorizer=\"" << name << "\",result=\"hit\"} " << a->cache_hits()
      << "\n";
    o << metric_token_cache << "{authorizer=\"" << name << "\",result=\"miss\"} "
      << a->cache_misses() << "\n";
  }
  o << "# HELP " << metric_upstream_latency << " Time to the upstream's response header.\n# TYPE "
    << metric_upstream_latency << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < totals_->latency.size(); ++i) {
    cumulative += totals_->latency[i].load();
    o << metric_upstream_latency << "_bucket{le=\"";
    if (i < buckets_.size())
      o << buckets_[i];
    else
      o << "+Inf";
    o << "\"} " << cumulative << "\n";
  }
  o << metric_upstream_latency << "_sum "
    << static_cast<double>(totals_->latency_micros.load()) / 1e6 << "\n";
  o << metric_upstream_latency << "_count " << cumulative << "\n";
  o << "# HELP " << metric_connections << " Open client connections.\n# TYPE " << metric_connections
    << " gauge\n";
  o << metric_connections << " " << totals_->connections.load() << "\n";
  o << "# HELP " << metric_connections_refused
    << " Connections closed at accept: limits.max_connections reached.\n# TYPE "
    << metric_connections_refused << " counter\n";
  o << metric_connections_refused << " " << totals_->connections_refused.load() << "\n";
  return o.str();
}

}  // namespace gatepass::gateway
