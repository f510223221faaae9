#include "common/duration.h"

#include <ctime>

namespace gatepass {

std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t mult = 1;
  switch (text.back()) {
    case 's':
      mult = 1;
      text.remove_suffix(1);
      break;
    case 'm':
      mult = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      mult = 3600;
      text.remove_suffix(1);
      break;
    case 'd':
      mult = 86400;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v * mult;
}

std::string duration_in_words(std::int64_t s) {
  if (s < 0) s = -s;
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min";
  if (s < 86400) {
    std::string out = std::to_string(s / 3600) + " h";
    if (s % 3600 >= 60) out += " " + std::to_string((s % 3600) / 60) + " min";
    return out;
  }
  std::string out = std::to_string(s / 86400) + " d";
  if (s % 86400 >= 3600) out += " " + std::to_string((s % 86400) / 3600) + " h";
  return out;
}

std::string format_utc(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace gatepass
