// Path normalization and AWS HTTP API style route matching.
//
// Behaviour decisions (AWS documents the priority only in outline; where it is silent we chose the
// reading that cannot widen a route's reach):
//  * Priority, as AWS's "routing API requests": every full match (no greedy variable) beats every
//    match through a greedy {proxy+}; $default only when nothing else matches. Within those tiers
//    the templates are compared segment by segment from the left: a literal beats {param}, which
//    beats {proxy+} (so /pets/dog/{id} beats /pets/{id}/{x}, and /a/b/{proxy+} beats /a/{proxy+}).
//    Only for the same template shape does a route with a method beat ANY. Two routes with the same
//    method and shape (literals equal, variables at the same places, names aside) are rejected as
//    ambiguous.
//  * {proxy+} matches ONE OR MORE segments, never zero: "/{proxy+}" does not match "/", and
//    "/user/{proxy+}" does not match "/user" or "/user/" (as AWS REST and HTTP APIs, which need a
//    separate "/" or "/user" route). Its value is the rest of the normalized path without the
//    leading slash, trailing slash included ("/user/a/b/" → "a/b/"), percent-decoded.
//  * Trailing slash: normalize_path keeps it (the upstream gets the path as sent), but the matcher
//    ignores one trailing slash, so "/admin/" is matched exactly like "/admin". A strict reading
//    would let "/admin/" slip past an "/admin" route to a wider, less protected one ({proxy+},
//    $default) while most upstream frameworks serve it as "/admin". Templates are treated the same
//    way: "/a/" ≡ "/a".
//  * $default matches every method whatever method its spec names.
//  * Request methods compare exactly (HTTP methods are case-sensitive): "get" matches only ANY
//  routes.
//    Spec methods are uppercased at construction.
#include "gateway/route_matcher.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "gateway/errc.h"

namespace gatepass::gateway {
namespace {

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// pchar besides unreserved and escapes: sub-delims, ':' and '@' (RFC 3986 §3.3)
constexpr bool is_path_char(unsigned char c) noexcept {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
         c == '+' || c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

constexpr char upper_hex(unsigned v) noexcept {
  return "0123456789ABCDEF"[v & 0xF];
}

// Appends one raw path segment (no '/') to out in normalized form: unreserved escapes decoded,
// other escapes with uppercase hex. Errors as normalize_path documents.
std::error_code append_segment(std::string_view raw, std::string& out) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      if (i + 2 >= raw.size()) return errc::path_invalid;
      const int hi = hex_value(raw[i + 1]);
      const int lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return errc::path_invalid;
      const auto v = static_cast<unsigned>(hi * 16 + lo);
      if (v == 0) return errc::path_nul;
      if (v == '/' || v == '\\') return errc::path_encoded_slash;
      if (is_unreserved(static_cast<unsigned char>(v))) {
        out.push_back(static_cast<char>(v));
      } else {
        out.push_back('%');
        out.push_back(upper_hex(v >> 4));
        out.push_back(upper_hex(v));
      }
      i += 2;
    } else if (c == '\\') {
      return errc::path_encoded_slash;
    } else if (c == 0) {
      return errc::path_nul;
    } else if (c < 0x20 || c == 0x7F || c == '#') {
      // '#' starts a fragment, never part of a request target (RFC 9112 §3.2.1): an upstream
      // would cut the path there and serve another route's path ("/admin#" → "/admin")
      return errc::path_invalid;
    } else if (is_unreserved(c) || is_path_char(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      // not allowed raw in a path (RFC 3986 §3.3: '"', '<', '>', '[', ']', '^', '`', '{', '|',
      // '}', bytes over 0x7F): sent on escaped, so the upstream reads the path that was matched
      out.push_back('%');
      out.push_back(upper_hex(c >> 4));
      out.push_back(upper_hex(c));
    }
  }
  return {};
}

// Full percent-decoding of a (normalized) path piece for parameter values; a malformed escape,
// impossible after normalize_path, is kept as it is.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Bytes no UTF-8 text holds that a lenient decoder reads as ASCII: C0 and C1 (two-byte overlong
// forms: C0 AE is '.', C0 AF '/', C1 9C '\\'), E0 before 80-9F and F0 before 80-8F (three- and
// four-byte overlong forms, RFC 3629 §3), F8-FF (the five- and six-byte forms of old decoders, and
// bytes never used).
bool overlong_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0xC0 || c == 0xC1 || c >= 0xF8) return true;
    if ((c == 0xE0 || c == 0xF0) && i + 1 < s.size()) {
      const auto n = static_cast<unsigned char>(s[i + 1]);
      if (n >= 0x80 && n < (c == 0xE0 ? 0xA0 : 0x90)) return true;
    }
  }
  return false;
}

// A normalized segment that a server reads as another path when it decodes it once more (or
// again and again), or decodes UTF-8 leniently: one that holds overlong UTF-8 once decoded, or a
// decoding after the first that yields '/', '\\', NUL, overlong UTF-8 or a dot segment. Old IIS
// and Tomcat decoders, a second proxy, or an application decoding its route parameters again
// serve "/public/%252e%252e/admin" or "/public/%C0%AE%C0%AE/admin" as "/admin". Escapes that decode
// to nothing of the kind ("%2541", "100%25", "a%252eb") pass.
bool decodes_to_another_path(std::string_view seg) {
  if (seg.find('%') == std::string_view::npos) return false;  // raw bytes over 7F come escaped
  std::string cur = percent_decode(seg);
  if (overlong_utf8(cur)) return true;
  for (int decodings = 2; decodings <= 4; ++decodings) {
    std::string next = percent_decode(cur);
    if (next == cur) return false;
    if (overlong_utf8(next) ||
        next.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos)
      return true;
    const std::string_view bare = std::string_view(next).substr(0, next.find(';'));
    if (bare == "." || bare == "..") return true;
    cur = std::move(next);
  }
  return true;  // still escaped after four decodings: no path is written so but an attack
}

// The part of a path the segments are matched against: one trailing slash ignored, "/" → "".
constexpr std::string_view match_view(std::string_view path) noexcept {
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
}

// A normalized path with every segment's parameters (from ';' on) left out, and segments that
// were nothing but parameters with them ("/a/;x/b" → "/a/b"); a trailing slash stays.
std::string without_path_params(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size();) {  // at a '/'
    std::size_t end = path.find('/', i + 1);
    if (end == std::string_view::npos) end = path.size();
    auto seg = path.substr(i + 1, end - i - 1);
    seg = seg.substr(0, seg.find(';'));
    if (!seg.empty()) {
      out += '/';
      out.append(seg);
    }
    i = end;
  }
  if (out.empty() || path.back() == '/') out += '/';
  return out;
}

bool is_token_char(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_name_char(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

}  // namespace

result<std::string> normalize_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::error_code(errc::path_invalid);
  std::string out;
  out.reserve(path.size());
  bool trailing_slash = false;
  std::size_t i = 0;  // at a '/'
  while (i < path.size()) {
    const std::size_t start = i + 1;
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const bool last = end == path.size();

    const std::size_t mark = out.size();
    out.push_back('/');
    if (auto ec = append_segment(path.substr(start, end - start), out)) return ec;
    const std::string_view seg = std::string_view(out).substr(mark + 1);
    if (decodes_to_another_path(seg)) return std::error_code(errc::path_encoded_twice);
    if (const auto semi = seg.find(';'); semi != std::string_view::npos) {
      // "..;x" is ".." to Tomcat and Spring, which drop path parameters before resolving dot
      // segments ("/user/..;/admin" serves "/admin"): a dot segment with parameters is refused
      const auto bare = seg.substr(0, semi);
      if (bare == "." || bare == "..") return std::error_code(errc::path_invalid);
    }
    if (seg.empty() || seg == ".") {  // "//" merged, "/./" dropped
      out.resize(mark);
      trailing_slash = last;
    } else if (seg == "..") {  // RFC 3986 §5.2.4: remove the segment and the one before it
      out.resize(mark);
      const auto prev = out.rfind('/');
      out.resize(prev == std::string::npos ? 0 : prev);
      trailing_slash = last;
    } else {
      trailing_slash = false;
    }
    i = end;
  }
  if (out.empty() || trailing_slash) out.push_back('/');
  return out;
}

route_matcher::route_matcher(std::vector<route_spec> routes) : routes_(std::move(routes)) {
  std::map<std::string, std::size_t> shapes;  // method + shape → first route with it
  by_priority_.reserve(routes_.size());
  for (std::size_t index = 0; index < routes_.size(); ++index) {
    const route_spec& spec = routes_[index];
    const std::string label =
        "route #" + std::to_string(index) + " \"" + spec.method + " " + spec.path + "\"";
    auto fail = [&](const std::string& why, bool in_method = false) {
      throw route_error(label + ": " + why, index, why, in_method);
    };

    compiled_route r{index, {}, false, {}};
    if (spec.path == "$default") {
      r.is_default = true;
    } else {
      if (spec.method.empty()) fail("empty method", true);
      for (char c : spec.method) {
        const auto u = static_cast<unsigned char>(c);
        if (!is_token_char(u)) fail("invalid method", true);
        r.method.push_back(static_cast<char>(u >= 'a' && u <= 'z' ? u - 'a' + 'A' : u));
      }
      if (r.method == "ANY") r.method.clear();

      if (spec.path.empty() || spec.path.front() != '/')
        fail("path must start with '/' or be $default");
      std::string_view body = match_view(spec.path);
      std::set<std::string, std::less<>> names;
      while (!body.empty()) {
        body.remove_prefix(1);  // the '/'
        const auto slash = body.find('/');
        const std::string_view seg = body.substr(0, slash);
        body = slash == std::string_view::npos ? std::string_view() : body.substr(slash);
        if (seg.empty()) fail("empty path segment (\"//\")");
        if (seg.front() == '{') {
          if (seg.size() < 2 || seg.back() != '}')
            fail("unterminated path variable \"" + std::string(seg) + "\"");
          std::string_view name = seg.substr(1, seg.size() - 2);
          const bool greedy = !name.empty() && name.back() == '+';
          if (greedy) name.remove_suffix(1);
          if (name.empty()) fail("empty path variable name");
          if (!std::all_of(name.begin(), name.end(),
                           [](char c) { return is_name_char(static_cast<unsigned char>(c)); }))
            fail("invalid path variable name \"" + std::string(name) + "\"");
          if (greedy && !body.empty())
            fail("greedy {" + std::string(name) + "+} must be the last segment");
          if (!names.emplace(name).second)
            fail("duplicate path variable \"" + std::string(name) + "\"");
          r.segments.push_back({greedy ? seg_kind::greedy : seg_kind::param, std::string(name)});
        } else {
          if (seg.find_first_of("{}") != std::string_view::npos)
            fail("a path variable must be a whole segment: \"" + std::string(seg) + "\"");
          std::string literal;
          if (auto ec = append_segment(seg, literal))
            fail("invalid path segment \"" + std::string(seg) + "\": " + ec.message());
          if (literal == "." || literal == "..") fail("dot segment in path");
          if (literal.find(';') != std::string::npos)
            fail("';' in a path segment: path parameters are left out of matching");
          r.segments.push_back({seg_kind::literal, std::move(literal)});
        }
      }
    }

    std::string key;
    if (r.is_default) {
      key = "$default";
    } else {
      key = (r.method.empty() ? "ANY" : r.method) + " ";
      for (const auto& s : r.segments)
        key += s.kind == seg_kind::literal ? "/" + s.text
               : s.kind == seg_kind::param ? "/{}"
                                           : "/{+}";
      if (r.segments.empty()) key += "/";
    }
    if (auto [it, fresh] = shapes.emplace(key, index); !fresh)
      fail("duplicate of (or ambiguous with) route #" + std::to_string(it->second) + " \"" +
           routes_[it->second].method + " " + routes_[it->second].path + "\"");
    by_priority_.push_back(std::move(r));
  }

  // A total order of templates, independent of the request: the first match in it is the best.
  const auto greedy = [](const compiled_route& r) {
    return !r.segments.empty() && r.segments.back().kind == seg_kind::greedy;
  };
  std::stable_sort(
      by_priority_.begin(), by_priority_.end(),
      [&](const compiled_route& a, const compiled_route& b) {
        if (a.is_default != b.is_default) return b.is_default;
        if (greedy(a) != greedy(b)) return greedy(b);
        const auto by_kind = [](const segment& x, const segment& y) { return x.kind < y.kind; };
        if (std::lexicographical_compare(a.segments.begin(), a.segments.end(), b.segments.begin(),
                                         b.segments.end(), by_kind))
          return true;
        if (std::lexicographical_compare(b.segments.begin(), b.segments.end(), a.segments.begin(),
                                         a.segments.end(), by_kind))
          return false;
        return !a.method.empty() && b.method.empty();  // a method beats ANY
      });
}

bool route_matcher::matches(const compiled_route& r, std::string_view method,
                            std::string_view path) noexcept {
  if (r.is_default) return true;
  if (!r.method.empty() && r.method != method) return false;
  std::string_view rest = match_view(path);  // "/a/b", or "" for "/"
  for (const segment& s : r.segments) {
    if (rest.empty()) return false;  // fewer path segments than the template
    rest.remove_prefix(1);
    if (s.kind == seg_kind::greedy)
      return !rest.empty() && rest.front() != '/';  // one or more segments
    const auto slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || (s.kind == seg_kind::literal && seg != s.text)) return false;
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  return rest.empty();
}

bool route_matcher::parameters_agree(std::string_view method, std::string_view path) const {
  if (path.find(';') == std::string_view::npos) return true;
  const auto with = match(method, path);
  const auto without = match(method, without_path_params(path));
  return with.has_value() == without.has_value() && (!with || with->index == without->index);
}

std::optional<route_match> route_matcher::match(std::string_view method,
                                                std::string_view path) const {
  if (path.empty() || path.front() != '/') return std::nullopt;
  for (const compiled_route& r : by_priority_) {
    if (!matches(r, method, path)) continue;
    route_match m{r.index, {}};
    std::string_view rest = match_view(path);
    for (const segment& s : r.segments) {
      rest.remove_prefix(1);
      if (s.kind == seg_kind::greedy) {  // the rest of the path as sent, trailing slash included
        m.params.emplace_back(
            s.text,
            percent_decode(path.substr(static_cast<std::size_t>(rest.data() - path.data()))));
        break;
      }
      const auto slash = rest.find('/');
      if (s.kind == seg_kind::param)
        m.params.emplace_back(s.text, percent_decode(rest.substr(0, slash)));
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    }
    return m;
  }
  return std::nullopt;
}

}  // namespace gatepass::gateway
