// The one error type of config parsing: every problem found, one per line, each naming
// file:line and the field ("gatepass.yaml:12: gateway.routes[0].path: ...").
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gatepass::config {

class error : public std::runtime_error {
 public:
  explicit error(std::vector<std::string> problems)
      : std::runtime_error(join(problems)), problems_(std::move(problems)) {}
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
    return out;
  }
  std::vector<std::string> problems_;
};

}  // namespace gatepass::config
