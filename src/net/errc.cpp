#include "net/errc.h"

#include <string>

namespace gatepass::net {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "net"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::fetch_failed:
        return "fetch failed";
      case errc::fetch_too_large:
        return "fetched document too large";
      case errc::fetch_redirect:
        return "redirect refused";
      case errc::fetch_insecure:
        return "plain http is allowed only for loopback hosts";
    }
    return "unknown net error";
  }
};

}  // namespace

const std::error_category& net_category() noexcept {
  static const category c;
  return c;
}

}  // namespace gatepass::net
