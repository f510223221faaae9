// The view-based message parser against Beast's own http::parser: the same heads give the same
// fields, a folded value is refused instead of assembled, bodies follow buffer_body's rules,
// trailers are not kept, and a head split over several reads is parsed once it is whole.
#include "gateway/head_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <vector>

namespace gatepass::gateway {
namespace {

namespace http = boost::beast::http;
using boost::beast::error_code;

// Parses `text` whole with put_head; returns the error (need_more cleared when the head is done).
template <bool isRequest>
error_code parse(head_parser<isRequest>& p, const std::string& text, std::size_t* used = nullptr) {
  error_code ec;
  const auto n = p.put_head(text.data(), text.size(), ec);
  if (used != nullptr) *used = n;
  return ec;
}

TEST(HeadParser, RequestHeadAsViewsLikeBeastsParser) {
  const std::string text =
      "POST /a/b?x=1 HTTP/1.1\r\nHost: api.test\r\nAuthorization: Bearer abc.def.ghi\r\n"
      "X-Custom:  spaced value \t\r\nAccept: a\r\nAccept: b\r\nContent-Length: 3\r\n\r\nxyz";
  head_parser<true> p;
  std::size_t used = 0;
  ASSERT_FALSE(parse(p, text, &used));
  ASSERT_TRUE(p.is_header_done());
  http::request_parser<http::string_body> beast;
  error_code bec;
  beast.put(boost::asio::buffer(text), bec);
  ASSERT_FALSE(bec);
  const auto& m = beast.get();
  EXPECT_EQ(p.method(), m.method());
  EXPECT_EQ(p.method_string(), m.method_string());
  EXPECT_EQ(p.target(), m.target());
  EXPECT_EQ(p.version(), m.version());
  EXPECT_EQ(p.keep_alive(), m.keep_alive());
  ASSERT_EQ(p.fields().size(), static_cast<std::size_t>(std::distance(m.begin(), m.end())));
  // Beast's container orders by name; the views keep the order of the head
  std::vector<std::string> got, want;
  for (const auto& f : p.fields())
    got.push_back(std::string(f.name_string()) + "=" + std::string(f.value()));
  for (const auto& f : m)
    want.push_back(std::string(f.name_string()) + "=" + std::string(f.value()));
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(p[http::field::authorization], "Bearer abc.def.ghi");
  EXPECT_EQ(p["x-custom"], "spaced value");
  EXPECT_EQ(p[http::field::accept], "a");  // the first of several
  EXPECT_EQ(p["X-Absent"], "");
  EXPECT_EQ(p.content_length().value_or(0), 3u);
  // the views point into the text itself
  const auto v = p[http::field::host];
  EXPECT_GE(v.data(), text.data());
  EXPECT_LE(v.data() + v.size(), text.data() + text.size());
}

TEST(HeadParser, ResponseHead) {
  const std::string text =
      "HTTP/1.1 404 Not Here\r\nServer: up\r\nContent-Type: text/plain\r\nConnection: close\r\n"
      "Content-Length: 0\r\n\r\n";
  head_parser<false> p;
  ASSERT_FALSE(parse(p, text));
  EXPECT_EQ(p.status(), 404u);
  EXPECT_EQ(p.reason(), "Not Here");
  EXPECT_EQ(p.version(), 11u);
  EXPECT_FALSE(p.keep_alive());
  EXPECT_EQ(p[http::field::server], "up");
  EXPECT_TRUE(p.is_done());
}

// Every head that is not a plain one: folded values are refused (RFC 9112 §5.2 allows a
// 400 / 502 instead of unfolding), bad heads keep Beast's errors.
TEST(HeadParser, RejectTable) {
  struct bad {
    const char* name;
    std::string text;
    http::error expected;
  };
  const std::vector<bad> table = {
      {"folded value", "GET / HTTP/1.1\r\nX-A: one\r\n two\r\nHost: h\r\n\r\n",
       http::error::bad_value},
      {"folded authorization",
       "GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\tabc\r\nHost: h\r\n\r\n",
       http::error::bad_value},
      {"control character", std::string("GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n"),
       http::error::bad_value},
      {"space before colon", "GET / HTTP/1.1\r\nX-A : a\r\n\r\n", http::error::bad_field},
      {"bad version", "GET / HTTP/2.5\r\n\r\n", http::error::bad_version},
      {"bad method", "G(T / HTTP/1.1\r\n\r\n", http::error::bad_method},
      // refused as soon as seen, though the head never ends in CRLF CRLF
      {"bare LF lines", "GET / HTTP/1.1\nHost: h\n\n", http::error::bad_line_ending},
      {"one bare LF", "GET / HTTP/1.1\r\nHost: h\nX-A: a\r\n\r\n", http::error::bad_line_ending},
      {"bare LF, head unfinished", "GET / HTTP/1.1\r\nHost: h\n", http::error::bad_line_ending},
      {"bare LF first", "\nGET / HTTP/1.1\r\n\r\n", http::error::bad_line_ending},
  };
  for (const auto& c : table) {
    SCOPED_TRACE(c.name);
    head_parser<true> p;
    EXPECT_EQ(parse(p, c.text), c.expected);
  }
  head_parser<false> r;
  EXPECT_EQ(parse(r, "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n"), http::error::bad_value);
  head_parser<false> lf;
  EXPECT_EQ(parse(lf, "HTTP/1.1 200 OK\nContent-Length: 0\n\n"), http::error::bad_line_ending);
  // a head that never ends is cut at the limit
  head_parser<true> big;
  big.header_limit(64);
  EXPECT_EQ(parse(big, "GET / HTTP/1.1\r\nX-A: " + std::string(100, 'a')),
            http::error::header_limit);
  head_parser<true> small;
  small.header_limit(64);
  EXPECT_EQ(parse(small, "GET / HTTP/1.1\r\nX-A: a"), http::error::need_more);
}

// An empty value followed by a continuation line is the continuation itself: Beast takes it
// from the input, so it is a view like any other.
TEST(HeadParser, EmptyLineThenContinuationIsAPlainValue) {
  const std::string text = "GET / HTTP/1.1\r\nX-A:\r\n two\r\n\r\n";
  head_parser<true> p;
  ASSERT_FALSE(parse(p, text));
  EXPECT_EQ(p["x-a"], "two");
}

// A head parsed without put_head (views of unknown bytes) is refused rather than kept.
TEST(HeadParser, HeadParsedWithoutPutHeadIsRefused) {
  const std::string text = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  head_parser<true> p;
  error_code ec;
  p.put(boost::asio::buffer(text), ec);
  EXPECT_TRUE(ec);
}

TEST(HeadParser, HeadSplitOverReadsIsParsedWhole) {
  const std::string text = "GET /x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n";
  for (std::size_t cut = 1; cut < text.size(); ++cut) {
    SCOPED_TRACE(cut);
    head_parser<true> p;
    std::string buffer = text.substr(0, cut);
    std::size_t used = 0;
    EXPECT_EQ(parse(p, buffer, &used), http::error::need_more);
    EXPECT_EQ(used, 0u);
    EXPECT_TRUE(p.fields().empty());
    buffer = text;  // the caller's buffer now holds all of it
    ASSERT_FALSE(parse(p, buffer, &used));
    EXPECT_EQ(used, text.size());
    EXPECT_EQ(p[http::field::authorization], "Bearer t");
    EXPECT_EQ(p.target(), "/x");
  }
}

// A slow client growing a head one byte per read: each search for the head's end resumes just
// before the new byte (so the whole head is searched once, however its bytes look: '\r' would
// stop a naive rescan at every byte), an end that spans two reads is still found, and a head
// that never ends stops at the limit.
TEST(HeadParser, HeadGrownByteByByteIsSearchedOnce) {
  for (char filler : {'\r', 'a'}) {
    head_parser<true> p;
    p.header_limit(16384);
    std::string buffer = "GET ";
    error_code ec;
    while (buffer.size() < 16384) {
      buffer += filler;
      ASSERT_EQ(p.put_head(buffer.data(), buffer.size(), ec), 0u);
      ASSERT_EQ(p.search_resumes_at(), buffer.size() - 3) << int(filler);
      if (ec != http::error::need_more) break;
    }
    EXPECT_EQ(ec, http::error::header_limit) << int(filler);
  }
  const std::string text = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
  head_parser<true> p;
  error_code ec;
  for (std::size_t n = 1; n < text.size(); ++n) {
    ASSERT_EQ(p.put_head(text.data(), n, ec), 0u) << n;
    ASSERT_EQ(ec, http::error::need_more) << n;
  }
  EXPECT_EQ(p.put_head(text.data(), text.size(), ec), text.size());
  EXPECT_FALSE(ec);
  EXPECT_EQ(p[http::field::host], "h");
}

TEST(HeadParser, BodyFollowsBufferBodyRules) {
  const std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
  head_parser<false> p;
  std::size_t used = 0;
  ASSERT_FALSE(parse(p, text, &used));
  std::string rest = text.substr(used);
  error_code ec;
  // no buffer yet: need_buffer, nothing taken
  EXPECT_EQ(p.put(boost::asio::buffer(rest), ec), 0u);
  EXPECT_EQ(ec, http::error::need_buffer);
  char buf[4];
  std::string body;
  while (!p.is_done()) {
    p.body_buffer(buf, sizeof buf);
    const auto n = p.put(boost::asio::buffer(rest), ec);
    rest.erase(0, n);
    body.append(buf, sizeof buf - p.body_room());
    if (!p.is_done()) {
      EXPECT_EQ(ec, http::error::need_buffer);
    }
  }
  EXPECT_EQ(body, "0123456789");
}

TEST(HeadParser, ChunkedBodyAndTrailersNotKept) {
  const std::string text =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n";
  head_parser<false> p;
  std::size_t used = 0;
  ASSERT_FALSE(parse(p, text, &used));
  EXPECT_TRUE(p.chunked());
  char buf[64];
  p.body_buffer(buf, sizeof buf);
  std::string rest = text.substr(used);
  error_code ec;
  while (!rest.empty() && !p.is_done()) {
    const auto n = p.put(boost::asio::buffer(rest), ec);
    ASSERT_TRUE(!ec || ec == http::error::need_more) << ec.message();
    rest.erase(0, n);
    if (n == 0) break;
  }
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(std::string(buf, sizeof buf - p.body_room()), "abcdefg");
  EXPECT_EQ(p.fields().size(), 1u);  // Transfer-Encoding only; the trailer is not kept
}

TEST(HeadParser, ManyFieldsBeyondTheInlineCapacity) {
  std::string text = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i)
    text += "X-F" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
  text += "\r\n";
  head_parser<true> p;
  ASSERT_FALSE(parse(p, text));
  ASSERT_EQ(p.fields().size(), 100u);
  EXPECT_EQ(p["x-f99"], "v99");
}

}  // namespace
}  // namespace gatepass::gateway
