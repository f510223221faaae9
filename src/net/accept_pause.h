// What a listener does when accept fails for want of descriptors or memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM): the next accept would fail at once too, as long as nothing is closed, and a
// loop of them takes the whole core from the connections being served. Accepting resumes after
// a pause instead, as nginx's does; the connections waiting meanwhile stay in the listen queue.
#pragma once

#include <unistd.h>

#include <atomic>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace gatepass::net {

inline constexpr std::chrono::milliseconds accept_pause{100};

/// True for the accept errors that call for a pause; says so on stderr, once per 10 s at most.
inline bool accept_must_pause(const boost::system::error_code& ec, std::string_view listener) {
  namespace e = boost::asio::error;
  if (ec != e::no_descriptors && ec != boost::system::errc::too_many_files_open_in_system &&
      ec != e::no_buffer_space && ec != e::no_memory)
    return false;
  static std::atomic<std::int64_t> last_said{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  auto said = last_said.load();
  if (now - said >= 10 && last_said.compare_exchange_strong(said, now)) {
    // one write(2), no stream: this runs with no descriptor to spare (a sanitizer's checks of
    // the stream objects need a pipe, and fail without one)
    const std::string line = "gatepass: " + std::string(listener) + ": accept: " + ec.message() +
                             "; accepting again every " + std::to_string(accept_pause.count()) +
                             " ms until descriptors are free (raise the open-files limit, "
                             "ulimit -n, or lower max_connections)\n";
    [[maybe_unused]] const auto n = ::write(2, line.data(), line.size());
  }
  return true;
}

/// `retry` (the next accept) on `loop` after accept_pause; the timer lives as long as its wait.
template <class F>
void accept_after_pause(boost::asio::io_context& loop, F retry) {
  auto pause = std::make_shared<boost::asio::steady_timer>(loop, accept_pause);
  pause->async_wait([pause, retry = std::move(retry)](const boost::system::error_code& ec) mutable {
    if (!ec) retry();
  });
}

}  // namespace gatepass::net
