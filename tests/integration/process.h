// Test helpers for the integration tests: run the real gatepass binary as a child process
// (posix_spawn, stdout and stderr captured through pipes by a reader thread), wait with a
// timeout, signal or kill it; a scratch folder removed at the end; a tiny HTTP/1.1 client over a
// plain socket so the bytes on the wire are exactly what the server sent.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace gatepass::itest {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline std::string gatepass_bin() {
  return GATEPASS_BIN;
}

// ---------------------------------------------------------------------------------------------
// Files

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

/// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/gatepass-it.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

/// Every regular file below `dir` (relative name → bytes): to prove a command changed nothing.
inline std::map<std::string, std::string> snapshot_tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_file(e.path());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Processes

struct run_result {
  int exit_code = -1;   // exit status, or -1 when killed by a signal / timed out
  int term_signal = 0;  // the signal that ended it, if any
  bool timed_out = false;
  std::string out, err;
};

/// A spawned child with its stdout and stderr collected by a reader thread.
class process {
 public:
  /// argv[0] is the program path. `env` entries NAME=VALUE override the inherited environment;
  /// an entry "NAME" (no '=') removes NAME.
  process(std::vector<std::string> argv, const std::vector<std::string>& env = {},
          const std::string& stdin_data = {}) {
    int out_pipe[2], err_pipe[2], in_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(in_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    // a fresh process group, so a signal sent to the test runner's group does not reach it,
    // and default signal dispositions / an empty mask whatever the test runner uses
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
    for (const auto& kv : env) {
      const auto name = kv.substr(0, kv.find('='));
      std::erase_if(envs, [&](const std::string& s) { return s.substr(0, s.find('=')) == name; });
      if (kv.find('=') != std::string::npos) envs.push_back(kv);
    }
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, cargv[0], &fa, &attr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::close(in_pipe[0]);
    if (rc != 0) {
      ::close(out_pipe[0]);
      ::close(err_pipe[0]);
      ::close(in_pipe[1]);
      throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
    }
    // stdin: small inputs fit the pipe buffer; then EOF
    if (!stdin_data.empty()) {
      ::signal(SIGPIPE, SIG_IGN);
      std::size_t off = 0;
      while (off < stdin_data.size()) {
        const ssize_t n = ::write(in_pipe[1], stdin_data.data() + off, stdin_data.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
    }
    ::close(in_pipe[1]);
    reader_ = std::thread([this, o = out_pipe[0], e = err_pipe[0]] { pump(o, e); });
  }

  ~process() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      wait_for(10s);
    }
    if (reader_.joinable()) reader_.join();
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }

  void signal(int sig) const {
    if (!reaped_) ::kill(pid_, sig);
  }

  /// Waits until the child exits or `timeout` passes (then it keeps running: see kill()).
  /// Returns true when it exited.
  bool wait_for(std::chrono::milliseconds timeout) {
    if (reaped_) return true;
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
        if (reader_.joinable()) reader_.join();  // the pipes reach EOF once the child is gone
        return true;
      }
      if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(2ms);
    }
  }

  void kill_now() {
    signal(SIGKILL);
    wait_for(10s);
  }

  bool exited() const { return reaped_; }
  int exit_code() const { return exit_code_; }
  int term_signal() const { return term_signal_; }

  std::string out() const {
    std::lock_guard lock(m_);
    return out_;
  }
  std::string err() const {
    std::lock_guard lock(m_);
    return err_;
  }

  /// Waits until stdout holds a line containing `needle`; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      {
        std::lock_guard lock(m_);
        std::istringstream ss(out_);
        for (std::string line; std::getline(ss, line);)
          if (line.find(needle) != std::string::npos && !ss.eof()) return line;
      }
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      if (reaped_) return std::nullopt;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
        if (reader_.joinable()) reader_.join();
        continue;  // one last look at the output
      }
      std::this_thread::sleep_for(5ms);
    }
  }

 private:
  void pump(int o, int e) {
    pollfd fds[2] = {{o, POLLIN, 0}, {e, POLLIN, 0}};
    int open = 2;
    char buf[4096];
    while (open > 0) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
          std::lock_guard lock(m_);
          (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open;
        }
      }
    }
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  mutable std::mutex m_;
  std::string out_, err_;
  std::thread reader_;
};

/// Runs a command to completion (killed after `timeout`).
inline run_result run(std::vector<std::string> argv, const std::vector<std::string>& env = {},
                      std::chrono::milliseconds timeout = 60s, const std::string& stdin_data = {}) {
  process p(std::move(argv), env, stdin_data);
  run_result r;
  if (!p.wait_for(timeout)) {
    r.timed_out = true;
    p.kill_now();
  }
  r.exit_code = p.exit_code();
  r.term_signal = p.term_signal();
  r.out = p.out();
  r.err = p.err();
  return r;
}

/// Runs gatepass with `args`.
inline run_result gp(std::vector<std::string> args, const std::vector<std::string>& env = {},
                     std::chrono::milliseconds timeout = 60s, const std::string& stdin_data = {}) {
  args.insert(args.begin(), gatepass_bin());
  return run(std::move(args), env, timeout, stdin_data);
}

inline std::string describe(const run_result& r) {
  std::ostringstream ss;
  ss << "exit " << r.exit_code;
  if (r.term_signal != 0) ss << " (signal " << r.term_signal << ")";
  if (r.timed_out) ss << " (timed out)";
  ss << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 over a plain socket (Connection: close, Content-Length bodies only)

struct http_reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string raw;
  std::string error;  // non-empty when the exchange failed

  /// First header named `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return {};
  }
  bool has_header(std::string_view name) const {
    for (const auto& h : headers)
      if (h.first.size() == name.size() &&
          std::equal(h.first.begin(), h.first.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          }))
        return true;
    return false;
  }
};

inline http_reply parse_reply(std::string raw) {
  http_reply r;
  r.raw = std::move(raw);
  const auto end = r.raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    r.error = "no complete response head in " + std::to_string(r.raw.size()) + " bytes";
    return r;
  }
  std::istringstream head(r.raw.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (line.rfind("HTTP/1.1 ", 0) != 0 || line.size() < 12) {
    r.error = "bad status line: " + line;
    return r;
  }
  r.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    r.headers.emplace_back(line.substr(0, colon), v);
  }
  r.body = r.raw.substr(end + 4);
  if (const auto cl = r.header("Content-Length"); !cl.empty() && r.body.size() != std::stoul(cl))
    r.error = "body has " + std::to_string(r.body.size()) + " bytes, Content-Length says " + cl;
  return r;
}

/// A TCP connection to 127.0.0.1:port, closed when it goes out of scope; fd < 0 when the
/// connect failed (errno says why).
struct loopback_connection {
  int fd = -1;
  explicit loopback_connection(unsigned short port)
      : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int e = errno;
      ::close(fd);
      fd = -1;
      errno = e;
    }
  }
  ~loopback_connection() {
    if (fd >= 0) ::close(fd);
  }
  loopback_connection(const loopback_connection&) = delete;
  loopback_connection& operator=(const loopback_connection&) = delete;
};

/// One request on a fresh connection to 127.0.0.1:port. When `body_first_wait` is set, the head
/// is sent alone and the body only if no answer came within that time (a server refusing the
/// request from its Content-Length may answer, and close, before reading any body).
inline http_reply http_request(
    unsigned short port, const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    const std::string& body = {}, std::chrono::milliseconds timeout = 10s,
    std::optional<std::chrono::milliseconds> body_first_wait = std::nullopt) {
  http_reply fail;
  const loopback_connection conn(port);
  const int fd = conn.fd;
  if (fd < 0) {
    fail.error = std::string("connect: ") + std::strerror(errno);
    return fail;
  }
  std::string head = method + " " + target +
                     " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                     "\r\nConnection: close\r\n";
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    head += k + ": " + v + "\r\n";
    has_length = has_length || k == "Content-Length";
  }
  if (!body.empty() && !has_length)
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  head += "\r\n";
  auto send_all = [&](std::string_view data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  const auto until = std::chrono::steady_clock::now() + timeout;
  if (body_first_wait) {
    if (!send_all(head)) {
      fail.error = "send failed";
      return fail;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(body_first_wait->count())) == 0) (void)send_all(body);
  } else if (!send_all(head + body)) {
    fail.error = "send failed";
    return fail;
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      fail.error = "timed out after " + std::to_string(raw.size()) + " bytes";
      return fail;
    }
    pollfd p{fd, POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      if (raw.empty()) {
        fail.error = std::string("recv: ") + std::strerror(errno);
        return fail;
      }
      break;
    }
  }
  return parse_reply(std::move(raw));
}

inline http_reply http_get(unsigned short port, const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return http_request(port, "GET", target, headers);
}

// ---------------------------------------------------------------------------------------------
// Small text helpers

/// Standard base64 (RFC 4648 §4, padded) for Basic credentials.
inline std::string base64_std(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return out;
}

/// application/x-www-form-urlencoded value encoding.
inline std::string form_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

inline std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  return s;
}

/// The value after "prefix" on the first line starting with it (trimmed), or empty.
inline std::string line_value(const std::string& text, const std::string& prefix) {
  std::istringstream ss(text);
  for (std::string line; std::getline(ss, line);)
    if (line.rfind(prefix, 0) == 0) return trim(line.substr(prefix.size()));
  return {};
}

inline std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  if (pos == std::string::npos) throw std::runtime_error("'" + from + "' not found");
  return s.replace(pos, from.size(), to);
}

}  // namespace gatepass::itest
