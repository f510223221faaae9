// Walks a YAML tree collecting every problem with file:line and the field, so
// `config check` reports all of them at once.
#pragma once

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/duration.h"

namespace gatepass::config {

// A whole number written as digits only: no sign (stoull took "-1" as 2^64-1, no limit), no
// unit or other trailing text ("10MB" read as 10).
inline std::optional<std::uint64_t> whole_number(const std::string& text) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// Collects problems with their location while walking the YAML tree.
class reader {
 public:
  explicit reader(std::string path) : path_(std::move(path)) {}

  void problem(const YAML::Node& at, const std::string& field, const std::string& msg) {
    // a node the file lacks (a missing key) has no line, and yaml-cpp throws when asked for it
    if (!at.IsDefined()) {
      problems_.push_back(path_ + ": " + field + ": " + msg);
      return;
    }
    problems_.push_back(path_ + ":" + std::to_string(at.Mark().line + 1) + ": " + field + ": " +
                        msg);
  }
  void problem_plain(const std::string& msg) { problems_.push_back(path_ + ": " + msg); }

  // Every key of `map` must be one of `allowed` (catches typos such as "rotate_evrey").
  // A field given twice is a problem too: yaml-cpp keeps the first and drops the second
  // silently (`scopes: [ADMIN]` then `scopes: []` in one route).
  void known_keys(const YAML::Node& map, const std::string& prefix,
                  std::initializer_list<const char*> allowed) {
    if (!map.IsMap()) return;
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        problem(kv.first, prefix, "a key must be a name, not a list or a mapping");
        continue;
      }
      const auto key = kv.first.as<std::string>();
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) problem(kv.first, prefix + key, "unknown field");
      if (!seen.insert(key).second) problem(kv.first, prefix + key, "given twice");
    }
  }

  // Every key of a mapping of names (authorizers, claim headers) at most once.
  void unique_keys(const YAML::Node& map, const std::string& field) {
    if (!map.IsMap()) return;
    std::set<std::string> seen;
    for (const auto& kv : map)
      if (kv.first.IsScalar() && !seen.insert(kv.first.as<std::string>()).second)
        problem(kv.first, field, kv.first.as<std::string>() + " given twice");
  }

  std::string str(const YAML::Node& n, const std::string& field, std::string def = {}) {
    if (!n) return def;
    if (!n.IsScalar()) {
      problem(n, field, "expected a string");
      return def;
    }
    return n.as<std::string>();
  }

  // A listen address IP:PORT ([v6]:PORT; an empty IP is every address), the port digits only
  // and at most 65535 (0: any free port). "127.0.0.1:70000" listened on 4464 and
  // "127.0.0.1:80x" on 80 before; a host name failed only when serve started, without a line.
  std::string listen(const YAML::Node& n, const std::string& field, std::string def = {}) {
    auto v = str(n, field, def);
    if (!n || !n.IsScalar() || (v.empty() && def.empty())) return v;
    const auto colon = v.rfind(':');
    const auto port = colon == std::string::npos ? std::nullopt : whole_number(v.substr(colon + 1));
    const auto host = colon == std::string::npos ? std::string() : v.substr(0, colon);
    unsigned char addr[16];
    const bool host_ok =
        host.empty() || ::inet_pton(AF_INET, host.c_str(), addr) == 1 ||
        (host.size() > 2 && host.front() == '[' && host.back() == ']' &&
         ::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), addr) == 1);
    if (!port || *port > 65535 || !host_ok) {
      problem(n, field,
              "expected IP:PORT with a port 0-65535, e.g. 127.0.0.1:8080, [::1]:8080, :8080");
      return def;
    }
    return v;
  }

  // A section or entry that must be a mapping (indexing a scalar throws in yaml-cpp): false,
  // and a problem, when it is not.
  bool mapping(const YAML::Node& n, const std::string& field) {
    if (n.IsMap()) return true;
    problem(n, field, "expected a mapping");
    return false;
  }

  // A mapping's key as a name; a key that is a list or a mapping is a problem (empty result).
  std::string key(const YAML::Node& k, const std::string& field) {
    if (!k.IsScalar()) {
      problem(k, field, "a key must be a name, not a list or a mapping");
      return {};
    }
    auto name = k.as<std::string>();
    if (name.empty()) problem(k, field, "a key must be a name, not empty");
    return name;
  }

  // true or false (YAML 1.1's yes/no/on/off too, as yaml-cpp reads them); anything else is a
  // problem, never a silent default: `forward_authorization: flase` must not forward tokens.
  bool boolean(const YAML::Node& n, const std::string& field, bool def) {
    if (!n) return def;
    bool v = def;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      problem(n, field, "expected true or false");
      return def;
    }
    return v;
  }

  std::vector<std::string> list(const YAML::Node& n, const std::string& field) {
    std::vector<std::string> out;
    if (!n) return out;
    if (n.IsScalar()) {  // "USER ADMIN" or a single value
      std::istringstream ss(n.as<std::string>());
      for (std::string w; ss >> w;) out.push_back(w);
      return out;
    }
    if (!n.IsSequence()) {
      problem(n, field, "expected a list");
      return out;
    }
    for (const auto& e : n) {
      if (!e.IsScalar())
        problem(e, field, "expected a string");
      else
        out.push_back(e.as<std::string>());
    }
    return out;
  }

  std::int64_t duration(const YAML::Node& n, const std::string& field, std::int64_t def) {
    if (!n) return def;
    auto d = n.IsScalar() ? parse_duration(n.as<std::string>()) : std::nullopt;
    if (!d) {
      problem(n, field, "expected a duration such as 3600, 15m, 2h, 30d");
      return def;
    }
    return *d;
  }

  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::string path_;
  std::vector<std::string> problems_;
};

}  // namespace gatepass::config
