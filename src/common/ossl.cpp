#include "common/ossl.h"

#include <openssl/err.h>

namespace gatepass::ossl {

std::string last_error() {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

}  // namespace gatepass::ossl
