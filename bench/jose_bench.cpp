// gatepass sign/verify against the raw OpenSSL crypto floor (issue #2, item 6).
//
// For RS256 (2048-bit), PS256, ES256 and EdDSA: one key each, one realistic access token
// (typ at+jwt, kid = RFC 7638 thumbprint, iss/sub/aud/exp/iat/nbf/jti/client_id/scope and a
// few custom claims), and four benchmarks:
//   gatepass_sign    jose::sign_compact(key, payload, header)
//   gatepass_verify  jose::verify_jwt(token, key_set, options with iss + aud checked, now)
//   floor_sign       EVP_PKEY_sign of a 32-byte digest on a context prepared once
//                    (EdDSA: EVP_DigestSignInit_ex + EVP_DigestSign of 32 bytes per iteration)
//   floor_verify     EVP_PKEY_verify, same key and context rules
// After the runs a table gives gatepass ÷ floor per algorithm against the targets
// (verify ≥ 0.90 for RS256, ES256, EdDSA; sign ≥ 0.95).
#include <benchmark/benchmark.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ossl.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/key_set.h"
#include "jose/verifier.h"
#include "keys/key_generator.h"

namespace {

namespace json = boost::json;
using namespace gatepass;

constexpr std::int64_t kNow = 1'760'000'000;  // 2025-10-09
// 16 benchmarks × kRepetitions × kMinTime CPU seconds ≈ 10 s, well under a minute even on a
// loaded machine. Repetitions are interleaved at random across all benchmarks and the table
// takes each benchmark's best repetition, so a burst of outside load hits one repetition of
// one side instead of a whole side of a ratio.
constexpr double kMinTime = 0.12;
constexpr int kRepetitions = 5;
constexpr const char* kIssuer = "https://auth.example.com/realms/gatepass";
constexpr const char* kAudience = "https://api.example.com/orders";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "jose_bench: %s\n", what.c_str());
  std::exit(2);
}

std::string make_payload() {
  json::object c;
  c["iss"] = kIssuer;
  c["sub"] = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
  c["aud"] = kAudience;
  c["exp"] = 4'102'444'800;  // 2100-01-01
  c["iat"] = kNow - 30;
  c["nbf"] = kNow - 30;
  c["jti"] = "0b7c6a2e-3f1d-4c8e-9a51-2d6e8f4b1c37";
  c["client_id"] = "orders-service";
  c["scope"] = "USER ADMIN";
  c["auth_time"] = kNow - 120;
  c["tenant"] = "acme-corp";
  c["roles"] = json::array{"reader", "writer"};
  return json::serialize(c);
}

// One algorithm's fixture: the private key, a public-only key set, the token, and the raw
// OpenSSL contexts for the floor, all built once.
struct fixture {
  std::string name;
  jose::alg a{};
  std::optional<jose::jwk> key;
  jose::key_set public_set;
  jose::verify_options options;
  std::string payload;
  json::object header;
  std::string token;

  // floor
  ossl::pkey_ctx_ptr sign_ctx;
  ossl::pkey_ctx_ptr verify_ctx;
  ossl::md_ctx_ptr md_ctx;  // EdDSA: re-initialised every iteration
  std::array<unsigned char, 32> digest{};
  std::vector<unsigned char> floor_sig;
};

ossl::pkey_ctx_ptr prepared_ctx(EVP_PKEY* k, jose::alg a, bool sign) {
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr));
  if (!ctx) die("EVP_PKEY_CTX_new_from_pkey");
  if ((sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get())) != 1)
    die("EVP_PKEY_{sign,verify}_init");
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) die("set_signature_md");
  if (a == jose::alg::rs256 && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
    die("set_rsa_padding");
  if (a == jose::alg::ps256 &&
      (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1))
    die("PSS parameters");
  return ctx;
}

std::unique_ptr<fixture> make_fixture(const char* name, jose::alg a) {
  auto f = std::make_unique<fixture>();
  f->name = name;
  f->a = a;
  auto key = keys::generate_key(a, 2048);
  if (!key) die(std::string("generate_key ") + name + ": " + key.error().message());
  f->key = *key;
  auto pub = jose::jwk::from_pem(f->key->public_pem(), a, f->key->kid());
  if (!pub) die(std::string("public key ") + name + ": " + pub.error().message());
  f->public_set = jose::key_set::from_keys({*pub});
  f->options.claims.issuer = kIssuer;
  f->options.claims.audiences = {kAudience};
  f->payload = make_payload();
  f->header["typ"] = "at+jwt";
  auto token = jose::sign_compact(*f->key, f->payload, f->header);
  if (!token) die(std::string("sign_compact ") + name + ": " + token.error().message());
  f->token = std::move(*token);
  auto check = jose::verify_jwt(f->token, f->public_set, f->options, kNow);
  if (!check) die(std::string("verify_jwt ") + name + ": " + check.error().message());
  if (check->scopes != std::vector<std::string>{"ADMIN", "USER"}) die("scopes");

  for (std::size_t i = 0; i < f->digest.size(); ++i)
    f->digest[i] = static_cast<unsigned char>(i * 7 + 1);
  EVP_PKEY* k = f->key->pkey();
  if (a == jose::alg::eddsa) {
    f->md_ctx.reset(EVP_MD_CTX_new());
    std::size_t len = 64;
    f->floor_sig.resize(len);
    if (EVP_DigestSignInit_ex(f->md_ctx.get(), nullptr, nullptr, nullptr, nullptr, k, nullptr) !=
            1 ||
        EVP_DigestSign(f->md_ctx.get(), f->floor_sig.data(), &len, f->digest.data(),
                       f->digest.size()) != 1)
      die("floor EdDSA sign");
  } else {
    f->sign_ctx = prepared_ctx(k, a, true);
    f->verify_ctx = prepared_ctx(k, a, false);
    std::size_t len = 0;
    if (EVP_PKEY_sign(f->sign_ctx.get(), nullptr, &len, f->digest.data(), f->digest.size()) != 1)
      die("floor sign size");
    f->floor_sig.resize(len);
    if (EVP_PKEY_sign(f->sign_ctx.get(), f->floor_sig.data(), &len, f->digest.data(),
                      f->digest.size()) != 1)
      die("floor sign");
    f->floor_sig.resize(len);  // ES256: DER, variable length
  }
  return f;
}

// ---- benchmarks ----------------------------------------------------------------------------

void gatepass_sign(benchmark::State& state, const fixture* f) {
  for (auto _ : state) {
    auto t = jose::sign_compact(*f->key, f->payload, f->header);
    if (!t) state.SkipWithError("sign_compact failed");
    benchmark::DoNotOptimize(t);
  }
}

void gatepass_verify(benchmark::State& state, const fixture* f) {
  for (auto _ : state) {
    auto v = jose::verify_jwt(f->token, f->public_set, f->options, kNow);
    if (!v) state.SkipWithError("verify_jwt failed");
    benchmark::DoNotOptimize(v);
  }
}

void floor_sign(benchmark::State& state, const fixture* f) {
  std::array<unsigned char, 512> sig{};
  if (f->a == jose::alg::eddsa) {
    for (auto _ : state) {
      std::size_t len = sig.size();
      if (EVP_DigestSignInit_ex(f->md_ctx.get(), nullptr, nullptr, nullptr, nullptr, f->key->pkey(),
                                nullptr) != 1 ||
          EVP_DigestSign(f->md_ctx.get(), sig.data(), &len, f->digest.data(), f->digest.size()) !=
              1)
        state.SkipWithError("EVP_DigestSign failed");
      benchmark::DoNotOptimize(sig.data());
    }
    return;
  }
  for (auto _ : state) {
    std::size_t len = sig.size();
    if (EVP_PKEY_sign(f->sign_ctx.get(), sig.data(), &len, f->digest.data(), f->digest.size()) != 1)
      state.SkipWithError("EVP_PKEY_sign failed");
    benchmark::DoNotOptimize(sig.data());
  }
}

void floor_verify(benchmark::State& state, const fixture* f) {
  if (f->a == jose::alg::eddsa) {
    for (auto _ : state) {
      if (EVP_DigestVerifyInit_ex(f->md_ctx.get(), nullptr, nullptr, nullptr, nullptr,
                                  f->key->pkey(), nullptr) != 1 ||
          EVP_DigestVerify(f->md_ctx.get(), f->floor_sig.data(), f->floor_sig.size(),
                           f->digest.data(), f->digest.size()) != 1)
        state.SkipWithError("EVP_DigestVerify failed");
    }
    return;
  }
  for (auto _ : state) {
    if (EVP_PKEY_verify(f->verify_ctx.get(), f->floor_sig.data(), f->floor_sig.size(),
                        f->digest.data(), f->digest.size()) != 1)
      state.SkipWithError("EVP_PKEY_verify failed");
  }
}

// ---- reporting -----------------------------------------------------------------------------

// Console output as usual, plus the best ops/s per benchmark name for the ratio table.
class capturing_reporter : public benchmark::ConsoleReporter {
 public:
  explicit capturing_reporter(OutputOptions o) : ConsoleReporter(o) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred || r.iterations == 0 || r.cpu_accumulated_time <= 0) continue;
      if (r.run_type != Run::RT_Iteration) continue;
      // CPU time: the bench often shares the machine, and both sides are single-threaded.
      const double ops = static_cast<double>(r.iterations) / r.cpu_accumulated_time;
      double& best = ops_[r.run_name.function_name];
      if (ops > best) best = ops;
    }
  }
  double ops(const std::string& name) const {
    auto it = ops_.find(name);
    return it == ops_.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, double> ops_;
};

void print_table(const std::vector<std::unique_ptr<fixture>>& fixtures,
                 const capturing_reporter& rep) {
  std::printf(
      "\ngatepass / OpenSSL floor (ops per CPU second, best of %d interleaved repetitions;"
      " ratio = gatepass / floor)\n",
      kRepetitions);
  std::printf("%-6s %5s | %-4s %10s %10s %6s %6s %-4s | %-6s %10s %10s %6s %6s %-4s\n", "alg",
              "token", "", "gp sign", "floor", "ratio", "target", "", "", "gp verify", "floor",
              "ratio", "target", "");
  bool all_ok = true;
  for (const auto& f : fixtures) {
    const double gs = rep.ops(f->name + "/gatepass_sign");
    const double fs = rep.ops(f->name + "/floor_sign");
    const double gv = rep.ops(f->name + "/gatepass_verify");
    const double fv = rep.ops(f->name + "/floor_verify");
    const double rs = fs > 0 ? gs / fs : 0;
    const double rv = fv > 0 ? gv / fv : 0;
    constexpr double sign_target = 0.95;
    const bool verify_targeted = f->a != jose::alg::ps256;
    constexpr double verify_target = 0.90;
    const bool sign_ok = rs >= sign_target;
    const bool verify_ok = !verify_targeted || rv >= verify_target;
    all_ok = all_ok && sign_ok && verify_ok;
    char vt[8];
    if (verify_targeted)
      std::snprintf(vt, sizeof vt, "%.2f", verify_target);
    else
      std::snprintf(vt, sizeof vt, "-");
    std::printf(
        "%-6s %5zu | %-4s %10.0f %10.0f %6.3f %6.2f %-4s | %-6s %10.0f %10.0f %6.3f %6s %-4s\n",
        f->name.c_str(), f->token.size(), "sign", gs, fs, rs, sign_target, sign_ok ? "ok" : "MISS",
        "verify", gv, fv, rv, vt, verify_targeted ? (verify_ok ? "ok" : "MISS") : "n/a");
  }
  std::printf("%s\n", all_ok ? "all targets met" : "some targets missed");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::unique_ptr<fixture>> fixtures;
  fixtures.push_back(make_fixture("RS256", jose::alg::rs256));
  fixtures.push_back(make_fixture("PS256", jose::alg::ps256));
  fixtures.push_back(make_fixture("ES256", jose::alg::es256));
  fixtures.push_back(make_fixture("EdDSA", jose::alg::eddsa));

  for (const auto& f : fixtures) {
    const fixture* p = f.get();
    benchmark::RegisterBenchmark((f->name + "/gatepass_sign").c_str(), gatepass_sign, p)
        ->MinTime(kMinTime)
        ->Repetitions(kRepetitions);
    benchmark::RegisterBenchmark((f->name + "/floor_sign").c_str(), floor_sign, p)
        ->MinTime(kMinTime)
        ->Repetitions(kRepetitions);
    benchmark::RegisterBenchmark((f->name + "/gatepass_verify").c_str(), gatepass_verify, p)
        ->MinTime(kMinTime)
        ->Repetitions(kRepetitions);
    benchmark::RegisterBenchmark((f->name + "/floor_verify").c_str(), floor_verify, p)
        ->MinTime(kMinTime)
        ->Repetitions(kRepetitions);
  }

  // Interleave repetitions unless the command line says otherwise.
  std::vector<char*> args(argv, argv + argc);
  std::string interleave = "--benchmark_enable_random_interleaving=true";
  args.insert(args.begin() + 1, interleave.data());
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  capturing_reporter reporter(isatty(STDOUT_FILENO) != 0 ? benchmark::ConsoleReporter::OO_Defaults
                                                         : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  print_table(fixtures, reporter);
  return 0;
}
