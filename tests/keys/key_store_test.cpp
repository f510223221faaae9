// open_store dispatch and migrate_store (`keys migrate`) between two file stores; the PostgreSQL
// side runs against a real server in tests/integration/scale_e2e.sh.
#include "keys/key_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "keys/errc.h"
#include "keys/key_manager.h"

namespace gatepass::keys {
namespace {

namespace fs = std::filesystem;

class MigrateStore : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("gp-migrate-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
  }
  void TearDown() override { fs::remove_all(base_); }

  std::shared_ptr<key_store> store(const std::string& name) {
    auto s = open_store("file:" + (base_ / name).string(), store_options{"pass"});
    EXPECT_TRUE(s.has_value());
    return std::shared_ptr<key_store>(std::move(*s));
  }
  static key_manager manager(std::shared_ptr<key_store> s) {
    key_settings ks;
    ks.algorithm = jose::alg::es256;
    return key_manager(std::move(s), ks);
  }
  static std::vector<key_record> records(key_store& s) {
    std::vector<key_record> out;
    for (auto& k : *s.load()) out.push_back(k.meta);
    return out;
  }
  static std::error_code add_client(key_store& s, const std::string& id) {
    return s.transact_clients([&](std::vector<client_record>& all) {
      all.push_back(client_record{id, "$argon2id$hash-of-" + id, {"USER"}, {}, 7});
      return std::error_code{};
    });
  }

  fs::path base_;
};

TEST_F(MigrateStore, CopiesEverythingThenChangesNothing) {
  auto src = store("src");
  auto m = manager(src);
  ASSERT_TRUE(m.ensure_initialized(1000).has_value());
  ASSERT_TRUE(m.rotate(2000, false).has_value());  // a next key
  ASSERT_TRUE(m.rotate(3000, true).has_value());   // forced: a third key current
  ASSERT_FALSE(add_client(*src, "svc"));
  auto dst = store("dst");

  auto first = migrate_store(*src, *dst);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_EQ(first->keys_copied, 3u);
  EXPECT_EQ(first->clients_copied, 1u);
  EXPECT_EQ(records(*src), records(*dst));
  const auto a = manager(src).snapshot();
  const auto b = manager(dst).snapshot();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->current && (*b)->current);
  EXPECT_EQ((*a)->current->thumbprint(), (*b)->current->thumbprint());
  EXPECT_EQ((*a)->certs, (*b)->certs);
  EXPECT_EQ(dst->load_clients()->at(0).secret_hash, "$argon2id$hash-of-svc");

  auto again = migrate_store(*src, *dst);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->keys_copied, 0u);
  EXPECT_EQ(again->keys_updated, 0u);
  EXPECT_EQ(again->keys_unchanged, 3u);
  EXPECT_EQ(again->clients_copied, 0u);
  EXPECT_EQ(records(*src), records(*dst));
}

TEST_F(MigrateStore, CompletesADestinationHoldingASubset) {
  auto src = store("src");
  ASSERT_TRUE(manager(src).ensure_initialized(1000).has_value());
  auto dst = store("dst");
  ASSERT_TRUE(migrate_store(*src, *dst).has_value());
  ASSERT_TRUE(manager(src).rotate(5000, true).has_value());  // the source moves on
  ASSERT_FALSE(add_client(*dst, "only-in-dst"));
  auto r = migrate_store(*src, *dst);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->keys_copied, 1u);
  EXPECT_EQ(r->keys_updated, 1u);  // the old current is previous now
  EXPECT_EQ(records(*src), records(*dst));
  EXPECT_EQ(dst->load_clients()->size(), 1u);  // the destination's own client is kept
}

TEST_F(MigrateStore, RefusesToMergeTwoRingsAndChangesNothing) {
  auto src = store("src");
  ASSERT_TRUE(manager(src).ensure_initialized(1000).has_value());
  auto dst = store("dst");
  ASSERT_TRUE(manager(dst).ensure_initialized(1000).has_value());  // another ring
  const auto before = records(*dst);
  auto r = migrate_store(*src, *dst);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::key_exists);
  EXPECT_EQ(records(*dst), before);
}

TEST_F(MigrateStore, RefusesASameKidWithOtherKeyMaterial) {
  auto src = store("src");
  ASSERT_TRUE(manager(src).generate(1000, true, "shared-kid").has_value());
  auto dst = store("dst");
  ASSERT_TRUE(manager(dst).generate(1000, true, "shared-kid").has_value());
  const auto before = records(*dst);
  auto r = migrate_store(*src, *dst);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::key_exists);
  EXPECT_EQ(records(*dst), before);
}

TEST_F(MigrateStore, WrongSourcePassphraseCopiesNothing) {
  auto src = store("src");
  ASSERT_TRUE(manager(src).ensure_initialized(1000).has_value());
  auto wrong = open_store("file:" + (base_ / "src").string(), store_options{"not the passphrase"});
  ASSERT_TRUE(wrong.has_value());
  auto dst = store("dst");
  auto r = migrate_store(**wrong, *dst);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::wrong_passphrase);
  EXPECT_TRUE(records(*dst).empty());
}

TEST(OpenStore, DispatchesOnTheScheme) {
  struct row {
    const char* uri;
    bool ok;
    const char* describe_prefix;
  };
  const row rows[] = {
      {"postgresql://gatepass@127.0.0.1:1/gatepass", true, "postgresql://"},
      {"postgres://u:secret@db/gp", true, "postgres://u:****@db/gp"},
      {"postgresql://h/db?password=hunter2&sslmode=require", true,
       "postgresql://h/db?password=****&sslmode"},
      {"postgresql://", false, ""},
      {"redis://x", false, ""},
      {"mysql://x/y", false, ""},
      {"file:", false, ""},
  };
  for (const auto& r : rows) {
    auto s = open_store(r.uri, {});
    EXPECT_EQ(s.has_value(), r.ok) << r.uri;
    if (s.has_value()) {
      EXPECT_EQ((*s)->describe().rfind(r.describe_prefix, 0), 0u) << (*s)->describe();
      EXPECT_EQ((*s)->describe().find("secret"), std::string::npos);
      EXPECT_EQ((*s)->describe().find("hunter2"), std::string::npos);
    } else {
      EXPECT_EQ(s.error(), errc::store_uri_invalid) << r.uri;
    }
  }
}

TEST(OpenStore, AnUnreachableDatabaseFailsTheOperationClearly) {
  // port 1 on loopback: nothing listens, the connection is refused at once
  auto s = open_store("postgresql://gatepass@127.0.0.1:1/gatepass", store_options{"p"});
  ASSERT_TRUE(s.has_value());
  auto v = (*s)->version();
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error(), errc::database);
  EXPECT_EQ((*s)->transact([](const std::vector<key_record>& r) -> result<store_change> {
    return store_change{r, {}, {}};
  }),
            errc::database);
  EXPECT_EQ((*s)->change_fd(), -1);
}

}  // namespace
}  // namespace gatepass::keys
