// Strict JSON for JOSE (RFC 7515 §5.2, RFC 8725 §3.7): Boost.JSON with a depth limit, valid
// UTF-8 only, duplicate member names rejected, a top-level object required.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"

namespace gatepass::jose {

struct json_limits {
  std::size_t max_depth = 16;
};

/// Parses `text` as one JSON object, allocated from `sp`; errc::json_* on failure.
result<boost::json::object> parse_json_object(std::string_view text, const json_limits& limits = {},
                                              boost::json::storage_ptr sp = {});

/// Parses again a text that already passed these checks (parse_json_object or json_scanner),
/// possibly under a larger depth limit than the default: the depth cannot exceed the length.
result<boost::json::object> reparse_json_object(std::string_view text);

/// One top-level member as json_scanner reports it.
struct scanned_member {
  enum class kind : std::uint8_t { absent, string, number, array, other };
  kind type = kind::absent;
  std::string_view text;                // string: the decoded value
  double number = 0;                    // number: converted to double (int64, uint64 or double)
  bool strings_only = true;             // array: every element is a string
  std::vector<std::string_view> items;  // array: its string elements, in order
};

/// Checks JSON text exactly as parse_json_object does (the same checks, the same errc for the
/// same text) without building a tree, and reports the top-level members named in `names`: the
/// verifier reads the registered claims this way and leaves the tree to whoever wants it.
/// Views point into `text` or into the scanner, valid until its next scan.
class json_scanner {
 public:
  std::error_code scan(std::string_view text, const json_limits& limits,
                       std::span<const std::string_view> names, std::span<scanned_member> out);

 private:
  struct handler;
  std::vector<std::string_view> keys_;  // names of the open objects' members, innermost last
  std::deque<std::string> owned_;       // decoded text of escaped strings the views point at
  std::string part_;                    // a string the parser delivers in pieces
};

}  // namespace gatepass::jose
