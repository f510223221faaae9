// An HTTP message parsed by Beast's basic_parser with its head kept as views of the bytes it
// was parsed from: no field container, no allocation per field (http::parser copies every
// field into a basic_fields, a tenth of the gateway's own work per request). The body goes to
// a caller-provided buffer, as with http::buffer_body.
//
// The views stay valid while those bytes do: the head must be parsed with put_head (or
// read_head), and the caller leaves its buffer untouched until it is done with the head. A
// folded field value (obs-fold) is the one value Beast assembles elsewhere; it is rejected
// (bad_value), as RFC 9112 §5.2 allows: a request gets a 400, a response a 502.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/container/small_vector.hpp>
#include <cstring>
#include <string_view>

namespace gatepass::gateway {

template <bool isRequest>
class head_parser final : public boost::beast::http::basic_parser<isRequest> {
 public:
  using error_code = boost::beast::error_code;
  using field = boost::beast::http::field;

  struct field_view {
    field name() const noexcept { return name_; }
    std::string_view name_string() const noexcept { return name_string_; }
    std::string_view value() const noexcept { return value_; }
    field name_;
    std::string_view name_string_;
    std::string_view value_;
  };
  using fields_type = boost::container::small_vector<field_view, 16>;

  /// Parses the head (or what follows it) from `data`, whose bytes the views will point into.
  /// Nothing is parsed (need_more, 0 bytes used) until the whole head is there: Beast parses
  /// a head that came in parts piecemeal (the start line and whole fields first) and the
  /// caller would consume, and then move, the bytes those views point into. Since nothing is
  /// used meanwhile, each call passes the same head from its first byte, grown by a read: the
  /// search for its end resumes where the last one stopped (linear in the head, whatever
  /// bytes a slow client sends).
  std::size_t put_head(const char* data, std::size_t size, error_code& ec) {
    if (!this->is_header_done()) {
      const std::string_view in(data, size);
      const auto end = in.find("\r\n\r\n", searched_);
      // A bare LF: Beast refuses it once the whole head is there, but a head whose lines end
      // in LF alone never ends in CRLF CRLF: refused now, not after a read timeout
      const auto stop = end == std::string_view::npos ? size : end;
      for (auto lf = in.find('\n', searched_); lf < stop; lf = in.find('\n', lf + 1))
        if (lf == 0 || in[lf - 1] != '\r') {
          ec = boost::beast::http::error::bad_line_ending;
          return 0;
        }
      if (end == std::string_view::npos) {
        searched_ = size > 3 ? size - 3 : 0;
        ec = size >= limit_ ? boost::beast::http::error::header_limit
                            : boost::beast::http::error::need_more;
        return 0;
      }
    }
    in_first_ = data;
    in_last_ = data + size;
    return this->put(boost::asio::const_buffer(data, size), ec);
  }

  /// Where the next search for the head's end starts (for tests).
  std::size_t search_resumes_at() const noexcept { return searched_; }

  /// Beast's header_limit, also applied while waiting for the whole head.
  void header_limit(std::uint32_t v) {
    limit_ = v;
    boost::beast::http::basic_parser<isRequest>::header_limit(v);
  }

  boost::beast::http::verb method() const noexcept { return method_; }
  std::string_view method_string() const noexcept { return method_string_; }
  std::string_view target() const noexcept { return target_; }
  unsigned version() const noexcept { return version_; }
  unsigned status() const noexcept { return status_; }
  std::string_view reason() const noexcept { return reason_; }
  const fields_type& fields() const noexcept { return fields_; }

  /// The first value of a field, or empty.
  std::string_view operator[](field f) const noexcept {
    for (const auto& v : fields_)
      if (v.name_ == f) return v.value_;
    return {};
  }
  std::string_view operator[](std::string_view name) const noexcept {
    for (const auto& v : fields_)
      if (boost::beast::iequals(v.name_string_, name)) return v.value_;
    return {};
  }

  /// Where the next body bytes go (as buffer_body's data and size); body_room() is what is
  /// left of it.
  void body_buffer(char* data, std::size_t size) noexcept {
    body_ = data;
    room_ = size;
  }
  std::size_t body_room() const noexcept { return room_; }

 private:
  bool in_input(std::string_view s) const noexcept {
    return s.empty() || (s.data() >= in_first_ && s.data() + s.size() <= in_last_);
  }

  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version, error_code& ec) override {
    method_ = method;
    method_string_ = method_str;
    target_ = target;
    version_ = static_cast<unsigned>(version);
    if (!in_input(method_string_) || !in_input(target_)) ec = boost::beast::http::error::bad_target;
  }
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        error_code& ec) override {
    status_ = static_cast<unsigned>(code);
    reason_ = reason;
    version_ = static_cast<unsigned>(version);
    if (!in_input(reason_)) ec = boost::beast::http::error::bad_reason;
  }
  void on_field_impl(field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code& ec) override {
    if (this->is_header_done()) return;  // chunked trailers: not relayed
    if (!in_input(name_string) || !in_input(value)) {
      ec = boost::beast::http::error::bad_value;  // folded, or parsed without put_head
      return;
    }
    fields_.push_back({name, name_string, value});
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, error_code& ec) override {
    return take(body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 error_code& ec) override {
    return take(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  // buffer_body's rule: no buffer, or a full one, is need_buffer
  std::size_t take(boost::beast::string_view body, error_code& ec) {
    if (body_ == nullptr) {
      ec = boost::beast::http::error::need_buffer;
      return 0;
    }
    const std::size_t n = body.size() < room_ ? body.size() : room_;
    if (n > 0) std::memcpy(body_, body.data(), n);
    body_ += n;
    room_ -= n;
    if (n < body.size()) ec = boost::beast::http::error::need_buffer;
    return n;
  }

  std::uint32_t limit_ = 8192;  // Beast's default
  std::size_t searched_ = 0;    // no head end before this offset (see put_head)
  const char* in_first_ = nullptr;
  const char* in_last_ = nullptr;
  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  std::string_view method_string_, target_, reason_;
  unsigned version_ = 0, status_ = 0;
  fields_type fields_;
  char* body_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace gatepass::gateway
