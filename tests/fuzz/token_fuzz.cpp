// libFuzzer target: the token path. Every input is a compact JWS; it goes through
// parse_compact and then the full verify_jwt against fixed key sets built once:
//  - public keys: the published test keys of the attack vectors (RFC 7520 §3.4 RSA, RFC 7515 A.3
//    EC P-256) and RFC 8037's Ed25519 key, plus any *.pub.pem in $GATEPASS_FUZZ_KEYS (kid = RFC
//    7638 thumbprint, as `gatepass token sign` writes it), so seed tokens reach the signature and
//    claims;
//  - a shared secret (RFC 7520 §3.5, kid hs-1) for the HMAC path.
// Nothing may crash, leak or trip a sanitizer; every outcome (accept or any errc) is fine.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64url.h"
#include "jose/claims.h"
#include "jose/json.h"
#include "jose/jws.h"
#include "jose/key_set.h"
#include "jose/verifier.h"

namespace {

using namespace gatepass;

constexpr std::string_view public_jwks = R"({"keys":[
{"kty":"RSA","kid":"rsa-1","use":"sig","alg":"RS256","n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw","e":"AQAB"},
{"kty":"EC","crv":"P-256","kid":"ec-1","use":"sig","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
{"kty":"OKP","crv":"Ed25519","kid":"ed-1","use":"sig","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
]})";

struct fixture {
  jose::key_set public_keys;
  jose::key_set secret_keys;
  jose::verify_options strict;  // iss + aud + typ-less, the CLI's defaults
  jose::verify_options pinned;  // with an alg allow-list and typ at+jwt
  std::int64_t vectors_now = 1700000000;
  std::int64_t wall_now = static_cast<std::int64_t>(std::time(nullptr));
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

fixture* make_fixture() {
  auto* f = new fixture;
  std::vector<jose::jwk> keys;
  auto parsed = jose::key_set::parse(public_jwks);
  if (!parsed || parsed->keys().size() != 3 || !parsed->dropped().empty()) std::abort();
  keys = parsed->keys();
  if (const char* dir = std::getenv("GATEPASS_FUZZ_KEYS")) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().string().ends_with(".pub.pem")) {
        if (auto k = jose::jwk::from_pem(slurp(e.path())))
          keys.push_back(k->with_kid(k->thumbprint()));
      }
    }
  }
  f->public_keys = jose::key_set::from_keys(std::move(keys));

  auto secret = base64url_decode("hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg");
  auto hs = jose::jwk::from_secret(secret.value(), jose::alg::hs256, "hs-1");
  if (!hs) std::abort();
  f->secret_keys = jose::key_set::from_keys({std::move(*hs)});

  f->strict.claims.issuer = "https://issuer.example.com";
  f->strict.claims.audiences = {"api://default"};
  f->pinned = f->strict;
  f->pinned.algorithms = {jose::alg::rs256, jose::alg::es256, jose::alg::eddsa, jose::alg::hs256};
  f->pinned.claims.typ = "at+jwt";
  f->pinned.limits.max_token_size = 4096;
  return f;
}

// The verifier reads claims with json_scanner; the tree parser and the tree-based checks are the
// reference: the same text must get the same error, and the same claims the same outcome.
void scan_agrees_with_tree(std::string_view text, const jose::verify_options& opt) {
  thread_local jose::json_scanner scanner;
  std::array<jose::scanned_member, jose::registered_claim_names.size()> members;
  const auto scanned = scanner.scan(text, {}, jose::registered_claim_names, members);
  const auto tree = jose::parse_json_object(text);
  if (scanned != (tree ? std::error_code() : tree.error())) std::abort();
  if (!tree) return;
  for (const std::int64_t now : {std::int64_t{0}, std::int64_t{1700000000}}) {
    const auto a = jose::validate_claims_and_scopes(members, opt.claims, now);
    const auto b = jose::validate_claims_and_scopes(*tree, opt.claims, now);
    if (a.has_value() != b.has_value()) std::abort();
    if (a ? *a != *b : a.error() != b.error()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fixture* f = make_fixture();
  const std::string_view token(reinterpret_cast<const char*>(data), size);

  if (auto jws = jose::parse_compact(token)) {
    // Read every byte the parser's views point at (into `token` and into `header`), so ASan
    // catches a dangling view.
    unsigned sum = 0;
    for (const std::string_view v :
         {jws->signing_input, jws->payload_b64, jws->kid.value_or(std::string_view{}),
          jws->typ.value_or(std::string_view{})})
      for (const char c : v) sum += static_cast<unsigned char>(c);
    volatile unsigned sink = sum;
    (void)sink;
    (void)jose::verify_signature(*jws, f->public_keys);
    scan_agrees_with_tree(jws->payload, f->strict);
  }
  // The raw input as a claims text too, so the fuzzer explores JSON directly.
  scan_agrees_with_tree(token, f->strict);
  for (const auto now : {f->vectors_now, f->wall_now}) {
    (void)jose::verify_jwt(token, f->public_keys, f->strict, now);
  }
  (void)jose::verify_jwt(token, f->public_keys, f->pinned, f->wall_now);
  (void)jose::verify_jwt(token, f->secret_keys, f->strict, f->vectors_now);
  return 0;
}
