// Indented JSON for people (Boost.JSON 1.81 serializes compactly only).
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace gatepass {

std::string json_pretty(const boost::json::value& v, int indent = 2);

}  // namespace gatepass
