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
        return "the URL cannot be fetched";
      case errc::fetch_too_large:
        return "fetched document too large";
      case errc::fetch_redirect:
        return "redirect refused";
      case errc::fetch_insecure:
        return "plain http is allowed only for loopback hosts";
      case errc::fetch_not_ok:
        return "the server answered with a status other than 200";
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
