// Strict JSON for JOSE (RFC 7515 §5.2, RFC 8725 §3.7): Boost.JSON with a depth limit, valid
// UTF-8 only, duplicate member names rejected, a top-level object required.
#pragma once

#include <boost/json/object.hpp>

#include <string_view>

#include "common/result.h"

namespace gatepass::jose {

struct json_limits {
  std::size_t max_depth = 16;
};

/// Parses `text` as one JSON object; errc::json_* on failure.
result<boost::json::object> parse_json_object(std::string_view text, const json_limits& limits = {});

}  // namespace gatepass::jose
