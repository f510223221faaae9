#include "gateway/query_params.h"

#include "common/form_decode.h"

namespace gatepass::gateway {

bool query_name_is(std::string_view raw, std::string_view name) {
  std::string decoded;
  if (raw.find_first_of("%+") != std::string_view::npos) {
    decoded = form_decode(raw);
    raw = decoded;
  }
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  if (raw.size() != name.size()) return false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char a = raw[i], b = name[i];
    if (a == ' ' || a == '.' || a == '[') a = '_';
    if (b == ' ' || b == '.' || b == '[') b = '_';
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a + 32);
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b + 32);
    if (a != b) return false;
  }
  return true;
}

std::vector<std::string> query_values(std::string_view query, std::string_view name) {
  std::vector<std::string> out;
  while (!query.empty()) {
    const auto amp = query.find_first_of("&;");
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = part.find('=');
    if (query_name_is(part.substr(0, eq), name))
      out.push_back(eq == std::string_view::npos ? std::string()
                                                 : form_decode(part.substr(eq + 1)));
  }
  return out;
}

std::string query_without(std::string_view query, std::string_view name) {
  std::string out;
  char before = 0;  // the separator before the part at hand
  while (true) {
    const auto sep = query.find_first_of("&;");
    const auto part = query.substr(0, sep);
    if (!query_name_is(part.substr(0, part.find('=')), name)) {
      if (!out.empty() && before != 0) out += before;
      out.append(part);
    }
    if (sep == std::string_view::npos) break;
    before = query[sep];
    query.remove_prefix(sep + 1);
  }
  return out;
}

}  // namespace gatepass::gateway
