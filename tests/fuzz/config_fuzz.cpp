// libFuzzer target: gatepass.yaml text through config::parse, as `gatepass config check` and
// serve read it. A config is either accepted or refused with config::error (every problem named
// by file and line); any other exception escaping, a crash or a hang is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto f = gatepass::config::parse("fuzz.yaml", text);
    (void)gatepass::config::store_uri(f);
  } catch (const gatepass::config::error&) {
  }
  return 0;
}
