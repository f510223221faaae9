// Test support: public test vectors read in place (never copied into the project).
//
// The vectors directory is $GATEPASS_VECTORS when set, else the compile definition
// GATEPASS_VECTORS_DIR (tests/CMakeLists.txt passes the CMake cache value). A missing file
// skips the test with a plain "conformance NOT run" message: skipped, never passed.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#ifndef GATEPASS_VECTORS_DIR
#define GATEPASS_VECTORS_DIR ""
#endif

namespace gatepass::test {

/// The vectors root: $GATEPASS_VECTORS, else GATEPASS_VECTORS_DIR.
inline std::filesystem::path vectors_dir() {
  if (const char* env = std::getenv("GATEPASS_VECTORS"); env != nullptr && *env != '\0')
    return std::filesystem::path(env);
  return std::filesystem::path(GATEPASS_VECTORS_DIR);
}

/// `relative` (e.g. "wycheproof/ed25519_test.json") under vectors_dir().
inline std::filesystem::path vector_path(std::string_view relative) {
  return vectors_dir() / std::filesystem::path(relative);
}

/// The message a skipped conformance test prints.
inline std::string vectors_missing_message(const std::filesystem::path& p) {
  return "vectors not found at " + p.string() + ": conformance NOT run";
}

/// A vector file: `found` is false when the file is absent (the test must skip);
/// `error` is set when the file exists but is unreadable or not JSON (the test must fail).
struct vector_file {
  std::filesystem::path path;
  bool found = false;
  std::string error;
  boost::json::value json;
};

/// Reads and parses one JSON vector file. Boost.JSON's permissive defaults are fine here:
/// the harness reads trusted public files; the library under test parses the tokens.
inline vector_file load_vector_file(std::string_view relative) {
  vector_file f;
  f.path = vector_path(relative);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(f.path, ec)) return f;
  f.found = true;
  std::ifstream in(f.path, std::ios::binary);
  if (!in) {
    f.error = "cannot open " + f.path.string();
    return f;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code jec;
  f.json = boost::json::parse(text, jec);
  if (jec) f.error = f.path.string() + ": not JSON: " + jec.message();
  return f;
}

/// Decodes lowercase or uppercase hex; nullopt on odd length or a non-hex digit.
inline std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

/// Per-file result counts, printed and recorded as test properties.
struct vector_counts {
  std::string file;
  int cases = 0;             // every test case in the file
  int matched = 0;           // result equals the expectation (incl. "acceptable")
  int accepted_valid = 0;    // expected valid, verified
  int rejected_invalid = 0;  // expected invalid, rejected
  int acceptable = 0;        // Wycheproof "acceptable": either result is fine
  int not_applicable = 0;    // outside JOSE (e.g. truncated HMAC tags, other PSS salt lengths)
  int mismatched = 0;

  void print() const {
    std::ostringstream line;
    line << "[vectors] " << file << ": cases=" << cases << " matched=" << matched
         << " accepted-valid=" << accepted_valid << " rejected-invalid=" << rejected_invalid
         << " acceptable=" << acceptable << " not-applicable=" << not_applicable
         << " mismatched=" << mismatched;
    std::cout << line.str() << std::endl;
    const std::string key = std::filesystem::path(file).stem().string();
    testing::Test::RecordProperty(key + ".cases", cases);
    testing::Test::RecordProperty(key + ".matched", matched);
    testing::Test::RecordProperty(key + ".not_applicable", not_applicable);
    testing::Test::RecordProperty(key + ".mismatched", mismatched);
  }
};

}  // namespace gatepass::test

/// Loads `relative` into `var` (a gatepass::test::vector_file); skips the test when the file
/// is absent and fails it when the file is unreadable. Use at the top of a TEST body.
#define GATEPASS_LOAD_VECTORS_OR_SKIP(var, relative)                                      \
  const ::gatepass::test::vector_file var = ::gatepass::test::load_vector_file(relative); \
  if (!var.found) GTEST_SKIP() << ::gatepass::test::vectors_missing_message(var.path);    \
  ASSERT_TRUE(var.error.empty()) << var.error;                                            \
  ASSERT_TRUE(var.json.is_object()) << var.path << ": top level is not an object"
