#include "common/json_pretty.h"

#include <boost/json/serialize.hpp>

namespace gatepass {
namespace {

void emit(const boost::json::value& v, int indent, int depth, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent * (depth + 1)), ' ');
  const std::string close(static_cast<std::size_t>(indent * depth), ' ');
  if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : *o) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      out += boost::json::serialize(boost::json::string(kv.key()));
      out += ": ";
      emit(kv.value(), indent, depth + 1, out);
    }
    out += "\n" + close + "}";
  } else if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& e : *a) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      emit(e, indent, depth + 1, out);
    }
    out += "\n" + close + "]";
  } else {
    out += boost::json::serialize(v);
  }
}

}  // namespace

std::string json_pretty(const boost::json::value& v, int indent) {
  std::string out;
  emit(v, indent, 0, out);
  return out;
}

}  // namespace gatepass
