// libFuzzer target: key_set::parse on arbitrary bytes, under the public (default) and the
// local-configuration (private members and oct keys allowed) options. A set of asymmetric keys that
// parses must serialize, and its public serialization must parse back, under the strict public
// options, to the same keys (same kids and thumbprints).
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "jose/key_set.h"

namespace {

using namespace gatepass;

void exercise(std::string_view text, const jose::jwk_parse_options& opt) {
  auto set = jose::key_set::parse(text, opt);
  if (!set) return;
  bool has_secret = false;
  for (const auto& k : set->keys()) {
    (void)k.thumbprint();
    if (k.kty() == jose::key_type::oct) {
      has_secret = true;
    } else {
      (void)k.public_pem();
      (void)k.to_public_json();
    }
  }
  if (has_secret) return;  // secrets are never serialized
  const std::string out = boost::json::serialize(set->to_json());
  auto again = jose::key_set::parse(out);
  if (!again || again->keys().size() != set->keys().size()) std::abort();
  for (std::size_t i = 0; i < set->keys().size(); ++i) {
    if (again->keys()[i].kid() != set->keys()[i].kid() ||
        again->keys()[i].thumbprint() != set->keys()[i].thumbprint())
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  exercise(text, {});
  exercise(text, {.allow_private = true, .allow_oct = true});
  return 0;
}
