// Strict JSON for JOSE (RFC 7515 §5.2, RFC 8725 §3.7): Boost.JSON with a depth limit, valid
// UTF-8 only, duplicate member names rejected, a top-level object required.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <string_view>

#include "common/result.h"

namespace gatepass::jose {

struct json_limits {
  std::size_t max_depth = 16;
};

/// Parses `text` as one JSON object, allocated from `sp`; errc::json_* on failure.
result<boost::json::object> parse_json_object(std::string_view text, const json_limits& limits = {},
                                              boost::json::storage_ptr sp = {});

/// Storage for the JSON trees of one token (header and claims): a shared monotonic arena that
/// starts inside the one block it is allocated in, so building both trees costs one heap
/// allocation instead of one per member, key and string, and dropping them one free.
boost::json::storage_ptr make_token_storage();

}  // namespace gatepass::jose
