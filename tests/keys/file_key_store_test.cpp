// The file store: atomic writes, wrong passphrase changes nothing, corrupted and foreign files,
// concurrent rotations under the lock.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ossl.h"
#include "keys/errc.h"
#include "keys/key_manager.h"
#include "keys/key_store.h"

namespace gatepass::keys {
namespace {

namespace fs = std::filesystem;

class FileKeyStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gp-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<key_manager> manager(const std::string& pass = "correct horse") {
    auto store = open_store("file:" + dir_.string(), store_options{pass});
    EXPECT_TRUE(store.has_value());
    key_settings ks;
    ks.algorithm = jose::alg::es256;  // fast keys; RSA is covered by the jose tests
    return std::make_unique<key_manager>(std::shared_ptr<key_store>(std::move(*store)), ks);
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  std::map<std::string, std::string> all_files() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename() != ".lock") out[e.path().filename().string()] = slurp(e.path());
    return out;
  }

  fs::path dir_;
};

TEST_F(FileKeyStore, FirstKeyIsCurrentEncryptedAndPrivate) {
  auto m = manager();
  auto kid = m->ensure_initialized(1000);
  ASSERT_TRUE(kid.has_value());
  ASSERT_FALSE(kid->empty());
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const auto pem_path = dir_ / (*kid + ".key.pem");
  ASSERT_EQ(::stat(pem_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(slurp(pem_path).find("BEGIN ENCRYPTED PRIVATE KEY"), std::string::npos);
  auto ring = m->snapshot();
  ASSERT_TRUE(ring.has_value());
  ASSERT_TRUE((*ring)->current.has_value());
  EXPECT_EQ((*ring)->current->kid(), *kid);
  EXPECT_EQ((*ring)->published.keys().size(), 1u);
  // a second call keeps what exists
  auto again = m->ensure_initialized(2000);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
}

TEST_F(FileKeyStore, WrongPassphraseIsAClearErrorAndChangesNothing) {
  ASSERT_TRUE(manager()->ensure_initialized(1000).has_value());
  const auto before = all_files();
  auto wrong = manager("wrong");
  auto ring = wrong->snapshot();
  ASSERT_FALSE(ring.has_value());
  EXPECT_EQ(ring.error(), errc::wrong_passphrase);
  // a rotation with the wrong passphrase must not add a key the others cannot read
  auto rotated = wrong->rotate(2000, true);
  ASSERT_FALSE(rotated.has_value());
  EXPECT_EQ(rotated.error(), errc::wrong_passphrase);
  EXPECT_EQ(all_files(), before);
  EXPECT_TRUE(manager()->snapshot().has_value());
}

TEST_F(FileKeyStore, CorruptedKeyringIsReportedNotIgnored) {
  ASSERT_TRUE(manager()->ensure_initialized(1000).has_value());
  std::ofstream(dir_ / "keyring.json", std::ios::trunc) << "{\"version\":1,\"keys\":[{\"kid\":";
  auto ring = manager()->snapshot();
  ASSERT_FALSE(ring.has_value());
  EXPECT_EQ(ring.error(), errc::store_corrupt);
  auto rot = manager()->rotate(2000, false);
  ASSERT_FALSE(rot.has_value());
  EXPECT_EQ(rot.error(), errc::store_corrupt);
}

TEST_F(FileKeyStore, ForeignFilesAreIgnored) {
  auto m = manager();
  ASSERT_TRUE(m->ensure_initialized(1000).has_value());
  std::ofstream(dir_ / "README.txt") << "not a key";
  std::ofstream(dir_ / "stray.key.pem") << "-----BEGIN PRIVATE KEY-----\ngarbage\n";
  fs::create_directory(dir_ / "subdir");
  auto ring = m->snapshot();
  ASSERT_TRUE(ring.has_value());
  EXPECT_EQ((*ring)->published.keys().size(), 1u);
}

TEST_F(FileKeyStore, MissingKeyFileIsCorruption) {
  auto m = manager();
  auto kid = m->ensure_initialized(1000);
  ASSERT_TRUE(kid.has_value());
  fs::remove(dir_ / (*kid + ".key.pem"));
  auto ring = m->snapshot();
  ASSERT_FALSE(ring.has_value());
  EXPECT_EQ(ring.error(), errc::store_corrupt);
}

TEST_F(FileKeyStore, RotationLifecycleAndPrune) {
  auto m = manager();
  auto first = m->ensure_initialized(1000);
  ASSERT_TRUE(first.has_value());
  const auto ahead = m->settings().rotation.publish_ahead;
  auto r1 = m->rotate(2000, false);  // creates next
  ASSERT_TRUE(r1.has_value());
  auto ring = m->snapshot();
  ASSERT_TRUE(ring.has_value());
  EXPECT_EQ((*ring)->published.keys().size(), 2u);
  EXPECT_EQ((*ring)->current->kid(), *first);  // next does not sign yet
  auto r2 = m->rotate(2000 + ahead, false);    // promotes
  ASSERT_TRUE(r2.has_value());
  ring = m->snapshot();
  EXPECT_NE((*ring)->current->kid(), *first);
  EXPECT_EQ((*ring)->published.keys().size(), 2u);  // old one still published as previous
  EXPECT_EQ(m->retire((*ring)->current->kid(), 3000 + ahead),
            std::error_code(errc::key_state_invalid));
  // the previous key's last tokens expire token_ttl + leeway after it stopped signing
  const auto safe = 2000 + ahead + m->settings().rotation.token_ttl + m->settings().rotation.leeway;
  ASSERT_FALSE(m->retire(*first, safe));
  auto pruned = m->prune(0);
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(*pruned, 1u);
  EXPECT_FALSE(fs::exists(dir_ / (*first + ".key.pem")));
  EXPECT_EQ(m->retire("no-such-kid", 4000), std::error_code(errc::key_not_found));
}

// retire refuses a key whose tokens may still be valid unless forced; the current key never
TEST_F(FileKeyStore, RetireRefusesKeysWhoseTokensMayStillBeValid) {
  const auto rot = manager()->settings().rotation;  // a copy: the manager is a temporary
  const std::int64_t demoted = 5000;                // the first key becomes previous here
  const std::int64_t valid_until = demoted + rot.token_ttl + rot.leeway;
  struct row {
    const char* name;
    const char* which;  // "current", "previous" or "next"
    std::int64_t at;
    bool force;
    errc expected;  // {} = retired
  };
  const std::vector<row> rows{
      {"current", "current", valid_until + 86400, false, errc::key_state_invalid},
      {"current_forced", "current", valid_until + 86400, true, errc::key_state_invalid},
      {"previous_just_demoted", "previous", demoted, false, errc::key_still_verifies},
      {"previous_last_second", "previous", valid_until - 1, false, errc::key_still_verifies},
      {"previous_forced", "previous", demoted + 1, true, errc{}},
      {"previous_after_tokens_expired", "previous", valid_until, false, errc{}},
      {"next", "next", demoted + 1, false, errc{}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    fs::remove_all(dir_);
    auto m = manager();
    auto first = m->ensure_initialized(1000);
    ASSERT_TRUE(first.has_value());
    auto second = m->generate(demoted, true);  // first → previous at `demoted`
    ASSERT_TRUE(second.has_value());
    auto third = m->generate(demoted, false);  // a next key
    ASSERT_TRUE(third.has_value());
    const std::string kid = std::string(r.which) == "previous"  ? *first
                            : std::string(r.which) == "current" ? *second
                                                                : *third;
    const auto ec = m->retire(kid, r.at, r.force);
    EXPECT_EQ(ec, r.expected == errc{} ? std::error_code() : std::error_code(r.expected))
        << ec.message();
    auto ring = m->snapshot();
    ASSERT_TRUE(ring.has_value());
    for (const auto& rec : (*ring)->records) {
      if (rec.kid == kid) {
        EXPECT_EQ(rec.state == key_state::retired, !ec) << rec.kid;
      }
    }
  }
}

// A 2048-bit RSA private key with public exponent `e`, as PKCS#8 PEM.
std::string rsa_pem_with_exponent(unsigned long e) {
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  ossl::bn_ptr bn(BN_new());
  EVP_PKEY* raw = nullptr;
  if (!ctx || !bn || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1 || BN_set_word(bn.get(), e) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), bn.get()) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1)
    return {};
  const ossl::pkey_ptr key(raw);
  ossl::bio_ptr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// keys import refuses RSA keys with e < 65537 (NIST SP 800-56B); jose already refuses e = 1 and
// an even e; 65537 and larger odd exponents are imported
TEST_F(FileKeyStore, ImportRefusesRsaPublicExponentsBelow65537) {
  struct row {
    unsigned long e;
    std::error_code expected;
  };
  for (const auto& r : std::vector<row>{{3, errc::rsa_exponent_small},
                                        {17, errc::rsa_exponent_small},
                                        {65535, errc::rsa_exponent_small},
                                        {65537, {}},
                                        {65539, {}}}) {
    SCOPED_TRACE("e=" + std::to_string(r.e));
    const auto pem = rsa_pem_with_exponent(r.e);
    ASSERT_FALSE(pem.empty());
    fs::remove_all(dir_);
    auto m = manager();
    ASSERT_TRUE(m->ensure_initialized(1000).has_value());
    auto kid = m->import_pem(pem, "", {}, true, 2000);
    EXPECT_EQ(kid ? std::error_code() : kid.error(), r.expected);
    auto ring = m->snapshot();
    ASSERT_TRUE(ring.has_value());
    EXPECT_EQ((*ring)->records.size(), r.expected ? 1u : 2u) << "a refused key was stored";
  }
}

TEST_F(FileKeyStore, ConcurrentForcedRotationsLeaveExactlyOneCurrent) {
  ASSERT_TRUE(manager()->ensure_initialized(1000).has_value());
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([this, i] {
      auto m = manager();  // a separate store object: the flock serializes
      for (int j = 0; j < 5; ++j) (void)m->rotate(2000 + i * 10 + j, true);
    });
  for (auto& t : threads) t.join();
  auto ring = manager()->snapshot();
  ASSERT_TRUE(ring.has_value());
  int currents = 0;
  for (const auto& r : (*ring)->records) currents += r.state == key_state::current;
  EXPECT_EQ(currents, 1);
  EXPECT_EQ((*ring)->records.size(), 21u);
}

TEST_F(FileKeyStore, UnencryptedWithoutPassphraseStillWorks) {
  auto m = manager("");
  auto kid = m->ensure_initialized(1000);
  ASSERT_TRUE(kid.has_value());
  EXPECT_NE(slurp(dir_ / (*kid + ".key.pem")).find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(manager("")->snapshot().has_value());
}

TEST_F(FileKeyStore, ClientsRoundTrip) {
  auto store = open_store(dir_.string(), {});
  ASSERT_TRUE(store.has_value());
  auto& s = **store;
  ASSERT_FALSE(s.transact_clients([](std::vector<client_record>& all) {
    all.push_back(client_record{"c1", "$argon2id$x", {"USER"}, {}, 5});
    return std::error_code();
  }));
  auto loaded = s.load_clients();
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, "c1");
  EXPECT_EQ((*loaded)[0].scopes, std::vector<std::string>{"USER"});
  // a failing mutation writes nothing
  EXPECT_TRUE(s.transact_clients([](std::vector<client_record>& all) {
    all.clear();
    return std::error_code(errc::client_not_found);
  }));
  EXPECT_EQ(s.load_clients()->size(), 1u);
}

TEST_F(FileKeyStore, RejectsNonFileUris) {
  auto store = open_store("redis://x", {});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error(), errc::store_uri_invalid);
}

}  // namespace
}  // namespace gatepass::keys
