// Hot paths return result<T>: a value or a std::error_code, never an exception.
#pragma once

#include <boost/system/result.hpp>
#include <system_error>

namespace gatepass {

template <class T>
using result = boost::system::result<T, std::error_code>;

}  // namespace gatepass
