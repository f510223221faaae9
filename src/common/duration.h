// Durations as people write them in configs and flags: "90", "90s", "15m", "1h", "30d".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatepass {

/// Seconds, or nullopt when `text` is not a non-negative whole number with an optional
/// s/m/h/d suffix.
std::optional<std::int64_t> parse_duration(std::string_view text);

/// "59 min", "2 h 5 min", "3 d", "12 s" — for people, not for parsing back.
std::string duration_in_words(std::int64_t seconds);

/// RFC 3339 UTC, e.g. "2026-11-29T02:45:00Z".
std::string format_utc(std::int64_t epoch_seconds);

}  // namespace gatepass
