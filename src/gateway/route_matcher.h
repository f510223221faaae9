// Route matching as AWS HTTP APIs: an exact segment beats {param}, which beats a trailing
// greedy {proxy+}; a method beats ANY; $default catches the rest. Paths are normalized first
// (normalize_path) so a token good for one route can never reach another route's path.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace gatepass::gateway {

struct route_spec {
  std::string method;  // "GET", "POST", … or "ANY"
  std::string path;    // "/a/{id}/b/{proxy+}" or "$default"
};

struct route_match {
  std::size_t index;                                        // into the specs given to the matcher
  std::vector<std::pair<std::string, std::string>> params;  // {id} → value, proxy → rest
};

/// RFC 3986 §6.2.2 normalization of an origin-form path (no query): percent-decodes
/// unreserved characters, uppercases remaining escapes, removes dot-segments (also "%2e"
/// spelled ones), merges duplicate slashes. Errors: gateway::errc::path_encoded_slash for
/// %2F/%5C (and a raw backslash), path_nul for %00, path_invalid for a bad escape, a raw '#'
/// or control character, or a path not starting with '/'. Other characters RFC 3986 does not
/// allow raw in a path ('"', '{', '|', bytes over 0x7F, ...) come out percent-encoded.
result<std::string> normalize_path(std::string_view path);

/// A route template the matcher refuses: which route (its index), why, and whether its method
/// (rather than its path) is the field at fault.
class route_error : public std::invalid_argument {
 public:
  route_error(const std::string& what, std::size_t index, std::string why, bool in_method)
      : std::invalid_argument(what), index_(index), why_(std::move(why)), in_method_(in_method) {}
  std::size_t index() const noexcept { return index_; }
  const std::string& why() const noexcept { return why_; }
  bool in_method() const noexcept { return in_method_; }

 private:
  std::size_t index_;
  std::string why_;
  bool in_method_;
};

class route_matcher {
 public:
  /// Validates and compiles the templates; throws std::invalid_argument naming the bad route.
  explicit route_matcher(std::vector<route_spec> routes);
  /// The best route for a normalized path, or nullopt (→ 404).
  std::optional<route_match> match(std::string_view method, std::string_view path) const;
  /// Whether a path's parameters (";jsessionid=...") leave its route as it is: Tomcat and Spring
  /// drop them before routing ("/admin;x" is "/admin" there), Express, Go and nginx keep them
  /// ("/admin/;x" is under "/admin/" there). A path that names one route with them and another
  /// without could reach either upstream reading: refused (400).
  bool parameters_agree(std::string_view method, std::string_view path) const;

 private:
  enum class seg_kind : unsigned char { literal, param, greedy };  // priority order
  struct segment {
    seg_kind kind;
    std::string text;  // canonical literal, or the variable's name (without '+')
  };
  struct compiled_route {
    std::size_t index;              // into routes_
    std::string method;             // uppercase; empty for ANY
    bool is_default = false;        // "$default"
    std::vector<segment> segments;  // "/" has none
  };
  static bool matches(const compiled_route& r, std::string_view method,
                      std::string_view path) noexcept;

  std::vector<route_spec> routes_;
  std::vector<compiled_route> by_priority_;  // best first: the first match wins
};

}  // namespace gatepass::gateway
