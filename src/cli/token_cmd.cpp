// gatepass token decode | verify | sign
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.h"
#include "common/base64url.h"
#include "common/duration.h"
#include "common/json_pretty.h"
#include "jose/errc.h"
#include "jose/json.h"
#include "jose/verifier.h"
#include "keys/key_generator.h"
#include "net/http_client.h"

namespace gatepass::cli {

namespace json = boost::json;

CLI::Validator kid_text() {
  return CLI::Validator(
      [](std::string& kid) -> std::string {
        if (kid.empty() || kid.size() > 100) return "a kid has 1 to 100 characters";
        for (const unsigned char c : kid)
          if (c < 0x20 || c == 0x7F) return "a kid holds no control characters";
        return {};
      },
      "KID");
}

std::string read_input(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::optional<json::object> custom_claims(const std::string& json_source,
                                          const std::vector<std::string>& pairs) {
  json::object claims;
  if (!json_source.empty()) {
    auto parsed = jose::parse_json_object(read_input(json_source));
    if (!parsed) {
      std::cerr << "gatepass: --claims-json " << json_source << ": " << parsed.error().message()
                << "\n";
      return std::nullopt;
    }
    claims = std::move(*parsed);
  }
  for (const auto& kv : pairs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "gatepass: --claim " << kv << ": expected NAME=VALUE\n";
      return std::nullopt;
    }
    claims[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return claims;
}

namespace {

std::int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Tokens come from the argument, or stdin when it is "-" or absent (tokens can exceed the
// argv limit). Surrounding whitespace and a "Bearer " prefix pasted from a header are trimmed.
std::string token_input(const std::string& arg) {
  std::string t = arg.empty() || arg == "-" ? read_input("-") : arg;
  const auto b = t.find_first_not_of(" \t\r\n");
  const auto e = t.find_last_not_of(" \t\r\n");
  t = b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
  if (t.rfind("Bearer ", 0) == 0) t.erase(0, 7);
  return t;
}

// "2026-01-01T10:00:00Z (expires in 1 h)", "(expired 5 min ago)", "(issued now)": the moment
// in words relative to now; `future` and `past` are the verb for either side.
std::string when(std::int64_t t, std::int64_t now, const char* future, const char* past) {
  const auto d = t - now;
  std::string words;
  if (d == 0)
    words = std::string(past) + " now";
  else if (d > 0)
    words = std::string(future) + " in " + duration_in_words(d);
  else
    words = std::string(past) + " " + duration_in_words(d) + " ago";
  return format_utc(t) + " (" + words + ")";
}

// The jwt.io view of an unsecured token (alg "none", RFC 7519 §6), which parse_compact refuses:
// its header and payload decoded leniently, for showing only. Empty when it is not one.
struct unsecured_token {
  json::object header;
  std::string payload;
  std::size_t signature_size = 0;
};
std::optional<unsecured_token> decode_unsecured(std::string_view token) {
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return std::nullopt;
  auto header_json = base64url_decode(token.substr(0, d1));
  auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = base64url_decode(token.substr(d2 + 1));
  if (!header_json || !payload || !signature) return std::nullopt;
  auto header = jose::parse_json_object(*header_json);
  if (!header) return std::nullopt;
  return unsecured_token{std::move(*header), std::move(*payload), signature->size()};
}

int run_decode(const std::string& arg) {
  const std::string token = token_input(arg);
  auto jws = jose::parse_compact(token);
  std::optional<unsecured_token> unsecured;
  if (!jws && jws.error() == jose::errc::alg_none) unsecured = decode_unsecured(token);
  if (!jws && !unsecured) {
    std::cerr << "malformed token: " << jws.error().message() << "\n";
    return 1;
  }
  if (unsecured) {
    const auto* alg = unsecured->header.if_contains("alg");
    std::cout << "WARNING: alg is " << (alg ? json::serialize(*alg) : std::string("\"none\""))
              << ": this token is UNSIGNED; every verifier rejects it (`gatepass token verify` "
                 "and the gateway do)\n\n";
  }
  std::cout << "Header:\n" << json_pretty(jws ? jws->header : unsecured->header) << "\n\n";
  auto claims = jose::parse_json_object(jws ? jws->payload : unsecured->payload);
  if (claims) {
    std::cout << "Claims:\n" << json_pretty(*claims) << "\n\n";
    const auto now = wall_now();
    struct row {
      const char* name;
      const char* future;
      const char* past;
    };
    for (const row r :
         {row{"iat", "issued in the future,", "issued"}, row{"nbf", "valid from", "valid since"},
          row{"exp", "expires", "expired"}}) {
      auto it = claims->find(r.name);
      if (it == claims->end()) continue;
      if (auto n = it->value().if_int64())
        std::cout << r.name << ": " << when(*n, now, r.future, r.past) << "\n";
      else if (auto d = it->value().if_double())
        std::cout << r.name << ": " << when(static_cast<std::int64_t>(*d), now, r.future, r.past)
                  << "\n";
    }
    if (!claims->contains("exp")) std::cout << "exp: none (the token never expires)\n";
  } else {
    std::cout << "Payload (not a JSON object: " << claims.error().message()
              << "): " << (jws ? jws->payload : unsecured->payload).size() << " bytes\n";
  }
  if (unsecured)
    std::cout << "Signature: none (unsecured JWT, RFC 7519 section 6)"
              << (unsecured->signature_size == 0
                      ? std::string()
                      : ", " + std::to_string(unsecured->signature_size) +
                            " bytes left in place and ignored")
              << "; REJECTED by any verifier\n";
  else
    std::cout << "Signature: " << jose::to_string(jws->algorithm) << ", " << jws->signature.size()
              << " bytes, NOT verified (use `gatepass token verify`)\n";
  return 0;
}

struct verify_args {
  std::string token, jwks, key, secret_file, typ;
  std::string issuer;
  std::vector<std::string> audiences, algs;
  std::int64_t leeway = 60;
  std::int64_t now = 0;
  bool now_set = false;
};

int run_verify(const verify_args& a) {
  std::vector<jose::alg> algs;
  for (const auto& n : a.algs) {
    auto parsed = jose::alg_from_string(n);
    if (!parsed) {
      std::cerr << "gatepass: --alg " << n << ": not a supported algorithm\n";
      return 2;
    }
    algs.push_back(*parsed);
  }
  if ((!a.jwks.empty()) + (!a.key.empty()) + (!a.secret_file.empty()) != 1) {
    std::cerr << "gatepass: give exactly one of --jwks FILE, --key PEM_FILE, --secret-file FILE\n";
    return 2;
  }
  jose::key_set keys;
  try {
    if (!a.jwks.empty()) {
      std::string text;
      if (a.jwks.rfind("http://", 0) == 0 || a.jwks.rfind("https://", 0) == 0) {
        // as the gateway fetches it: no redirects, 150 KB, https (plain http to loopback only)
        net::fetch_options fo;
        fo.timeout = std::chrono::seconds(5);
        auto r = net::fetch_now(a.jwks, fo);
        if (!r) {
          std::cerr << "gatepass: " << a.jwks << ": " << r.error().message() << "\n";
          return 2;
        }
        text = std::move(r->body);
      } else {
        text = read_input(a.jwks);
      }
      auto parsed = jose::key_set::parse(text);
      if (!parsed) {
        std::cerr << "gatepass: " << a.jwks << ": " << parsed.error().message() << "\n";
        return 2;
      }
      for (const auto& d : parsed->dropped())
        std::cerr << "warning: " << a.jwks << ": key #" << d.index
                  << (d.kid.empty() ? "" : " (kid " + d.kid + ")")
                  << " ignored: " << d.reason.message() << "\n";
      if (parsed->empty()) {
        std::cerr << "gatepass: " << a.jwks << ": no usable key\n";
        return 2;
      }
      keys = std::move(*parsed);
    } else if (!a.key.empty()) {
      std::optional<jose::alg> pin;
      if (algs.size() == 1) pin = algs.front();
      auto k = jose::jwk::from_pem(read_input(a.key), pin);
      if (!k) {
        std::cerr << "gatepass: " << a.key << ": " << k.error().message() << "\n";
        return 2;
      }
      keys = jose::key_set::from_keys({std::move(*k)});
    } else {
      const auto alg = algs.size() == 1 ? algs.front() : jose::alg::hs256;
      const auto secret = read_input(a.secret_file);
      // a PEM key or certificate as an HMAC secret is the algorithm-confusion attack's key
      // (RFC 8725 §2.1; PyJWT refuses it since CVE-2022-29217): never a shared secret
      if (secret.find("-----BEGIN ") != std::string::npos || secret.rfind("ssh-", 0) == 0) {
        std::cerr << "gatepass: " << a.secret_file
                  << ": holds a PEM or SSH key, not an HMAC secret (use --key)\n";
        return 2;
      }
      auto k = jose::jwk::from_secret(secret, alg, {});
      if (!k) {
        std::cerr << "gatepass: " << a.secret_file << ": " << k.error().message() << "\n";
        return 2;
      }
      keys = jose::key_set::from_keys({std::move(*k)});
    }
  } catch (const std::exception& e) {
    std::cerr << "gatepass: " << e.what() << "\n";
    return 2;
  }
  jose::verify_options opt;
  opt.algorithms = algs;
  if (!a.issuer.empty()) opt.claims.issuer = a.issuer;
  opt.claims.audiences = a.audiences;
  opt.claims.leeway = a.leeway;
  if (!a.typ.empty()) opt.claims.typ = a.typ;
  const std::string token = token_input(a.token);
  auto v = jose::verify_jwt(token, keys, opt, a.now_set ? a.now : wall_now());
  if (!v) {
    std::cerr << "invalid token: " << v.error().message() << "\n";
    return 1;
  }
  std::cout << json_pretty(v->claims()) << "\n";
  return 0;
}

struct sign_args {
  std::string key, alg, kid, issuer, subject, scope, ttl = "1h", claims_json, typ = "at+jwt";
  std::vector<std::string> audiences, claims;
};

int run_sign(const sign_args& a) {
  std::optional<jose::alg> pin;
  if (!a.alg.empty()) {
    pin = jose::alg_from_string(a.alg);
    if (!pin) {
      std::cerr << "gatepass: --alg " << a.alg << ": not a supported algorithm\n";
      return 2;
    }
  }
  auto ttl = parse_duration(a.ttl);
  if (!ttl) {
    std::cerr << "gatepass: --ttl " << a.ttl << ": expected a duration like 900, 15m, 1h\n";
    return 2;
  }
  json::object claims;
  try {
    auto custom = custom_claims(a.claims_json, a.claims);
    if (!custom) return 2;
    claims = std::move(*custom);
    const auto now = wall_now();
    if (!a.issuer.empty()) claims["iss"] = a.issuer;
    if (!a.subject.empty()) claims["sub"] = a.subject;
    if (a.audiences.size() == 1) claims["aud"] = a.audiences.front();
    if (a.audiences.size() > 1) claims["aud"] = json::value_from(a.audiences);
    if (!a.scope.empty()) claims["scope"] = a.scope;
    // times given as claims win (an expired or not-yet-valid token for a test), as NumericDate
    // numbers when --claim gave digits: never dropped silently
    for (const char* t : {"iat", "nbf", "exp"})
      if (auto* v = claims.if_contains(t); v != nullptr && v->is_string()) {
        const std::string_view text = v->as_string();
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) *v = n;
      }
    if (!claims.contains("iat")) claims["iat"] = now;
    if (!claims.contains("nbf")) claims["nbf"] = now;
    if (!claims.contains("exp")) claims["exp"] = now + *ttl;
    auto key = keys::read_private_pem(read_input(a.key), {}, pin, a.kid);
    if (!key) {
      std::cerr << "gatepass: " << a.key << ": " << key.error().message() << "\n";
      return 2;
    }
    json::object header;
    if (!a.typ.empty()) header["typ"] = a.typ;
    auto token = jose::sign_compact(*key, json::serialize(claims), header);
    if (!token) {
      std::cerr << "gatepass: signing failed: " << token.error().message() << "\n";
      return 2;
    }
    std::cout << *token << "\n";
  } catch (const std::exception& e) {
    std::cerr << "gatepass: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace

void add_token_commands(CLI::App& app, exit_status& status) {
  auto* token = app.add_subcommand("token", "Decode, verify and sign tokens");
  token->require_subcommand(1);

  auto decode_arg = std::make_shared<std::string>();
  auto* decode = token->add_subcommand(
      "decode", "Show a token's header and claims (jwt.io view); the signature is NOT verified");
  decode->add_option("token", *decode_arg, "The token, or - (default) to read stdin");
  decode->callback([&status, decode_arg] { status.code = run_decode(*decode_arg); });

  auto va = std::make_shared<verify_args>();
  auto* verify = token->add_subcommand("verify", "Verify a token's signature and claims");
  verify->add_option("token", va->token, "The token, or - (default) to read stdin");
  verify->add_option("--jwks", va->jwks,
                     "JWKS with the trusted public keys: a FILE, or an https:// URL (http:// for "
                     "loopback hosts)");
  verify->add_option("--key", va->key, "PEM public key or certificate");
  verify->add_option("--secret-file", va->secret_file, "File holding an HMAC shared secret");
  verify->add_option("--issuer", va->issuer, "Required iss (exact match)");
  verify->add_option("--audience", va->audiences, "Accepted aud value (repeatable)")
      ->allow_extra_args(false);
  verify->add_option("--leeway", va->leeway, "Clock leeway in seconds (default 60)")
      ->check(CLI::Range(0, 3600));
  verify->add_option("--now", va->now, "Verify as of this Unix time")
      ->each([va](const std::string&) { va->now_set = true; });
  verify->add_option("--alg", va->algs, "Allowed algorithm (repeatable)")->allow_extra_args(false);
  verify->add_option("--typ", va->typ, "Required typ, e.g. at+jwt");
  verify->callback([&status, va] { status.code = run_verify(*va); });

  auto sa = std::make_shared<sign_args>();
  auto* sign = token->add_subcommand("sign",
                                     "Sign a token with a PEM private key (for scripts and tests; "
                                     "`token issue` uses the key store)");
  sign->add_option("--key", sa->key, "PEM private key (PKCS#1, SEC1 or PKCS#8)")->required();
  sign->add_option("--alg", sa->alg, "Algorithm (default: RS256, or the key's curve)");
  sign->add_option("--kid", sa->kid, "Key id (default: RFC 7638 thumbprint)")->check(kid_text());
  sign->add_option("--iss", sa->issuer, "Issuer");
  sign->add_option("--sub", sa->subject, "Subject");
  sign->add_option("--aud", sa->audiences, "Audience (repeatable)");
  sign->add_option("--scope", sa->scope, "Space-separated scopes, e.g. \"USER ADMIN\"");
  sign->add_option("--ttl", sa->ttl, "Lifetime (default 1h)");
  sign->add_option("--claim", sa->claims,
                   "Extra claim NAME=VALUE (repeatable; exp, nbf, iat given here win over --ttl)");
  sign->add_option("--claims-json", sa->claims_json, "JSON object of extra claims (FILE or -)");
  sign->add_option("--typ", sa->typ, "Header typ (default at+jwt)");
  sign->callback([&status, sa] { status.code = run_sign(*sa); });
}

}  // namespace gatepass::cli
