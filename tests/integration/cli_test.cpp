// The CLI as a real process: kill -9 in the middle of key rotations, a wrong passphrase,
// `config check` messages, `init` refusing to overwrite.
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <set>

#include "integration/setup.h"

namespace gatepass::itest {
namespace {

// ---------------------------------------------------------------------------------------------
// Crash test

struct ring_check {
  std::vector<key_row> rows;
  std::string problem;  // empty when the invariants hold
};

// `keys list` works and names exactly one current key.
ring_check check_ring(const gatepass_home& home) {
  ring_check c;
  auto r = home.cmd({"keys", "list"});
  if (r.exit_code != 0) {
    c.problem = "keys list: " + describe(r);
    return c;
  }
  c.rows = parse_key_list(r.out);
  int current = 0;
  for (const auto& row : c.rows) current += row.state == "current";
  if (current != 1)
    c.problem = "expected exactly one current key, got " + std::to_string(current) + ":\n" + r.out;
  return c;
}

TEST(KeyStoreCrash, KillNineAtRandomPointsOfARotationLoopLeavesAConsistentStore) {
  gatepass_home home;
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("GATEPASS_CRASH_SEED")) seed = std::stoull(s);
  SCOPED_TRACE("GATEPASS_CRASH_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);

  // RSA key generation takes tens of ms, EC a fraction of one: alternate the configured algorithm
  // so the kills land in key generation as well as in the writes, fsyncs and renames after it.
  const auto rsa_cfg = read_file(home.config());
  const auto ec_cfg = replace_once(rsa_cfg, "algorithm: RS256", "algorithm: ES256");

  // The kill comes after a random delay in [0, window]: at least 30 ms, and longer than one whole
  // rotation on this machine (timed here), so kills land anywhere from process start to after
  // the commit, and some rotations complete.
  auto timed_rotation = [&](const std::string& cfg) {
    write_file(home.config(), cfg);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = home.cmd({"keys", "rotate", "--now"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 t0);
  };
  const std::chrono::microseconds windows[2] = {std::max(30000us, timed_rotation(rsa_cfg) * 5 / 4),
                                                std::max(30000us, timed_rotation(ec_cfg) * 5 / 4)};

  const int iterations = 60;
  int killed = 0, completed = 0;
  for (int i = 0; i < iterations; ++i) {
    write_file(home.config(), i % 2 == 0 ? rsa_cfg : ec_cfg);
    std::uniform_int_distribution<std::int64_t> delay_us(0, windows[i % 2].count());
    process p({gatepass_bin(), "--config", home.config().string(), "keys", "rotate", "--now"},
              home.env);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    p.signal(SIGKILL);
    ASSERT_TRUE(p.wait_for(10s));
    if (p.term_signal() == SIGKILL) {
      ++killed;
    } else {
      ++completed;
      ASSERT_EQ(p.exit_code(), 0) << "iteration " << i << ": " << p.err();
    }
    // after every crash the store opens with exactly one current key
    auto c = check_ring(home);
    ASSERT_EQ(c.problem, "") << "after iteration " << i << " ("
                             << (p.term_signal() ? "killed" : "completed") << ")";
  }
  std::cout << "[ crash    ] " << killed << " of " << iterations << " rotations killed mid-way, "
            << completed << " completed; kill windows RS256 " << windows[0].count() / 1000
            << " ms, ES256 " << windows[1].count() / 1000 << " ms (seed " << seed << ")\n";
  EXPECT_GE(killed, iterations / 4) << "the kills hardly ever landed: the test proves little";
  EXPECT_GE(completed, 1) << "no rotation ever completed: the kills never reached the commit";

  // A clean rotation afterwards still works (no lock or temp file left in the way).
  write_file(home.config(), rsa_cfg);
  auto rot = home.cmd({"keys", "rotate", "--now"});
  ASSERT_EQ(rot.exit_code, 0) << describe(rot);

  auto c = check_ring(home);
  ASSERT_EQ(c.problem, "");

  // Every key the ring names is a real, complete file: never a temp file, and it opens with the
  // passphrase in plain OpenSSL (an encrypted PKCS#8 PEM), 0600.
  std::set<std::string> named;
  for (const auto& row : c.rows) {
    EXPECT_EQ(row.kid.find(".tmp"), std::string::npos) << row.kid;
    if (row.state == "retired") continue;
    const auto file = home.keys() / (row.kid + ".key.pem");
    named.insert(file.filename().string());
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << file;
    EXPECT_NE(read_file(file).find("-----BEGIN ENCRYPTED PRIVATE KEY-----"), std::string::npos)
        << file;
    auto o = run({"/usr/bin/env", "openssl", "pkey", "-in", file.string(), "-passin",
                  "env:GATEPASS_PASSPHRASE", "-noout"},
                 home.env);
    EXPECT_EQ(o.exit_code, 0) << row.kid << ": " << describe(o);
  }
  int temp_left = 0, orphans = 0;
  for (const auto& e : fs::directory_iterator(home.keys())) {
    const auto name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos) {
      ++temp_left;
      EXPECT_EQ(named.count(name), 0u) << "a temp file is named in the ring: " << name;
    } else if (name.ends_with(".key.pem")) {
      bool in_ring = false;
      for (const auto& row : c.rows) in_ring = in_ring || name == row.kid + ".key.pem";
      orphans += !in_ring;
    }
  }
  // evidence of where the kills landed: temp files and key files written before the ring named them
  std::cout << "[ crash    ] left behind: " << temp_left << " temp file(s), " << orphans
            << " orphan key file(s) (ignored by the store)\n";
  // keyring.json itself is whole JSON (atomic rename, never a torn write)
  EXPECT_NO_THROW(json::parse(read_file(home.keys() / "keyring.json")));

  // Every published key loads: the JWKS holds next + current + previous, and a token signed by
  // the current key verifies against it.
  const auto pub = home.dir.path() / "public";
  auto p = home.cmd({"publish", "--out", pub.string()});
  ASSERT_EQ(p.exit_code, 0) << describe(p);
  const auto jwks_file = pub / ".well-known" / "jwks.json";
  const auto published = kids_in_jwks(read_file(jwks_file));
  for (const auto& row : c.rows) {
    if (row.state != "retired") {
      EXPECT_TRUE(contains(published, row.kid)) << row.kid << " (" << row.state << ")";
    }
  }
  auto t = home.cmd({"token", "issue", "--sub", "alice", "--scope", "USER ADMIN"});
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  const auto token = trim(t.out);
  auto v = gp({"token", "verify", token, "--jwks", jwks_file.string(), "--issuer", home.issuer,
               "--audience", home.audience});
  EXPECT_EQ(v.exit_code, 0) << describe(v);
}

// ---------------------------------------------------------------------------------------------
// Wrong passphrase

TEST(WrongPassphrase, ListIssueAndRotateExit2WithAClearMessageAndChangeNothing) {
  gatepass_home home;
  auto gen = home.cmd({"keys", "generate"});  // a next key too, so more than one file is at stake
  ASSERT_EQ(gen.exit_code, 0) << describe(gen);
  const auto before = snapshot_tree(home.dir.path());

  const std::vector<std::string> wrong{"GATEPASS_PASSPHRASE=not the passphrase"};
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"keys", "list"},
           {"token", "issue", "--sub", "alice", "--scope", "USER"},
           {"keys", "rotate", "--now"},
           {"keys", "generate"},
           {"publish", "--out", (home.dir.path() / "out").string()}}) {
    auto r = home.cmd(args, wrong);
    SCOPED_TRACE(args[0] + " " + args[1]);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("wrong passphrase"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("eyJ"), std::string::npos) << "a token was printed: " << r.out;
  }
  // passphrase variable missing altogether: exit 2 naming it
  auto unset = home.cmd({"keys", "list"}, {"GATEPASS_PASSPHRASE"});
  EXPECT_EQ(unset.exit_code, 2) << describe(unset);
  EXPECT_NE(unset.err.find("GATEPASS_PASSPHRASE"), std::string::npos) << unset.err;

  const auto after = snapshot_tree(home.dir.path());
  EXPECT_EQ(after.size(), before.size());
  for (const auto& [name, bytes] : before) {
    auto it = after.find(name);
    ASSERT_NE(it, after.end()) << name << " disappeared";
    EXPECT_TRUE(it->second == bytes) << name << " changed";
  }
  for (const auto& [name, bytes] : after) EXPECT_TRUE(before.count(name)) << name << " appeared";

  // and the right passphrase still opens everything
  auto ok = home.cmd({"keys", "list"});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_EQ(parse_key_list(ok.out).size(), 2u) << ok.out;
}

// ---------------------------------------------------------------------------------------------
// config check

TEST(ConfigCheck, ReportsEveryMistakeWithFileLineAndField) {
  temp_dir dir;
  const auto cfg = dir / "gatepass.yaml";
  write_file(cfg,
             "issuer:\n"                           // 1
             "  url: https://auth.example.test\n"  // 2
             "  audience: [orders-api]\n"          // 3
             "  token_ttl: 1h\n"                   // 4
             "  listen: 127.0.0.1:0\n"             // 5
             "  colour: blue\n"                    // 6  unknown field
             "keys:\n"                             // 7
             "  store: file:keys\n"                // 8
             "  algorithm: HS256\n"                // 9  not an asymmetric algorithm
             "  rotate_every: thirty days\n");     // 10 bad duration
  auto r = gp({"--config", cfg.string(), "config", "check"}, {"GATEPASS_CONFIG"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.out.find("OK"), std::string::npos) << r.out;
  const auto path = cfg.string();
  for (const auto& [line, field] : std::vector<std::pair<int, std::string>>{
           {6, "issuer.colour"}, {9, "keys.algorithm"}, {10, "keys.rotate_every"}}) {
    const auto prefix = path + ":" + std::to_string(line) + ": " + field + ":";
    EXPECT_NE(r.err.find(prefix), std::string::npos) << "no line starting " << prefix << " in:\n"
                                                     << r.err;
  }
  // every line of the report names the file and a line
  std::istringstream ss(r.err);
  int lines = 0;
  for (std::string l; std::getline(ss, l);) {
    if (l.empty()) continue;
    ++lines;
    EXPECT_EQ(l.rfind(path + ":", 0), 0u) << l;
  }
  EXPECT_GE(lines, 3);

  // the same file fixed passes
  write_file(cfg,
             "issuer:\n"
             "  url: https://auth.example.test\n"
             "  audience: [orders-api]\n"
             "  token_ttl: 1h\n"
             "  listen: 127.0.0.1:0\n"
             "keys:\n"
             "  store: file:keys\n"
             "  algorithm: ES256\n"
             "  rotate_every: 30d\n");
  auto ok = gp({"--config", cfg.string(), "config", "check"}, {"GATEPASS_CONFIG"});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
}

// keys.store names file:DIR or postgresql://… (postgres:// too); another scheme is a config error
// naming file:line and the field, found by config check, not at first use
TEST(ConfigCheck, AnUnknownStoreSchemeIsAnErrorWithFileLineAndField) {
  temp_dir dir;
  const auto cfg = dir / "gatepass.yaml";
  const auto text = [](const std::string& store) {
    return "issuer:\n"                           // 1
           "  url: https://auth.example.test\n"  // 2
           "  audience: [orders-api]\n"          // 3
           "keys:\n"                             // 4
           "  store: \"" +
           store + "\"\n";  // 5
  };
  for (const std::string bad : {"ftp://x", "s3://bucket/keys", "https://example.test/keys",
                                "sqlite:keys.db", "", "file:"}) {
    write_file(cfg, text(bad));
    auto r = gp({"--config", cfg.string(), "config", "check"}, {"GATEPASS_CONFIG"});
    SCOPED_TRACE(bad);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find(cfg.string() + ":5: keys.store:"), std::string::npos) << r.err;
  }
  for (const std::string good :
       {"file:keys", "keys", "/var/lib/gatepass/keys", "postgresql://gp@db.example.test/gatepass",
        "postgres://gp@db.example.test/gatepass"}) {
    write_file(cfg, text(good));
    auto r = gp({"--config", cfg.string(), "config", "check"}, {"GATEPASS_CONFIG"});
    SCOPED_TRACE(good);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
  }
}

// a passphrase that cannot be read is a config error naming the line of the field that names it
TEST(ConfigCheck, AnUnreadablePassphraseNamesFileLineAndField) {
  temp_dir dir;
  const auto cfg = dir / "gatepass.yaml";
  fs::create_directories(dir / "a-folder");
  struct row {
    std::string field_line;  // line 6 of the config
    std::string expected;    // "<field>:" after file:6:
  };
  for (const auto& r : std::vector<row>{
           {"  passphrase_file: no-such-file\n", "keys.passphrase_file:"},
           {"  passphrase_file: a-folder\n", "keys.passphrase_file:"},
           {"  passphrase_env: GATEPASS_TEST_UNSET_PASSPHRASE\n", "keys.passphrase_env:"}}) {
    write_file(cfg,
               "issuer:\n"                           // 1
               "  url: https://auth.example.test\n"  // 2
               "  audience: [orders-api]\n"          // 3
               "keys:\n"                             // 4
               "  store: file:keys\n" +              // 5
                   r.field_line);                    // 6
    SCOPED_TRACE(r.field_line);
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"config", "check"}, {"keys", "list"}}) {
      std::vector<std::string> argv{"--config", cfg.string()};
      argv.insert(argv.end(), args.begin(), args.end());
      auto p = gp(argv, {"GATEPASS_CONFIG", "GATEPASS_TEST_UNSET_PASSPHRASE"});
      EXPECT_EQ(p.exit_code, 2) << describe(p);
      EXPECT_NE(p.err.find(cfg.string() + ":6: " + r.expected), std::string::npos) << p.err;
    }
  }
}

// A route whose path the gateway answers itself (operations endpoints, forward-auth) would
// never reach its upstream: a config error naming the line, unless admin_listen moves them.
TEST(ConfigCheck, RoutesTheGatewayAnswersItselfAreErrors) {
  temp_dir dir;
  const auto cfg = dir / "gatepass.yaml";
  const std::string routes =
      "  routes:\n"                                                                         // 3
      "    - { method: GET, path: /metrics, upstream: \"http://127.0.0.1:9\" }\n"           // 4
      "    - { method: ANY, path: /healthz, upstream: \"http://127.0.0.1:9\" }\n"           // 5
      "    - { method: GET, path: /_gatepass/auth/x, upstream: \"http://127.0.0.1:9\" }\n"  // 6
      "    - { method: GET, path: \"/{proxy+}\", upstream: \"http://127.0.0.1:9\" }\n"      // 7
      "    - { method: POST, path: /metrics, upstream: \"http://127.0.0.1:9\" }\n";         // 8
  write_file(cfg, "gateway:\n  listen: 127.0.0.1:0\n" + routes);
  auto r = gp({"--config", cfg.string(), "config", "check"}, {"GATEPASS_CONFIG"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  for (const int line : {4, 5, 6})
    EXPECT_NE(r.err.find(cfg.string() + ":" + std::to_string(line) + ": gateway.routes[].path:"),
              std::string::npos)
        << line << " in:\n"
        << r.err;
  EXPECT_EQ(r.err.find(cfg.string() + ":7:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(cfg.string() + ":8:"), std::string::npos) << r.err;  // POST: not answered

  // with admin_listen the operations endpoints move away; forward-auth stays
  write_file(cfg, "gateway:\n  admin_listen: 127.0.0.1:0\n" + routes);
  auto moved = gp({"--config", cfg.string(), "config", "check"}, {"GATEPASS_CONFIG"});
  EXPECT_EQ(moved.exit_code, 2) << describe(moved);
  EXPECT_EQ(moved.err.find(":4:"), std::string::npos) << moved.err;
  EXPECT_NE(moved.err.find(cfg.string() + ":6: gateway.routes[].path:"), std::string::npos)
      << moved.err;
}

// ---------------------------------------------------------------------------------------------
// init

// The issuer URL is what discovery URLs are built from (RFC 8414 §2: no query, no fragment), and
// every RFC 9068 access token has an aud.
TEST(ConfigCheck, IssuerUrlWithQueryOrFragmentAndNoAudienceAreErrors) {
  temp_dir dir;
  const auto cfg = dir / "gatepass.yaml";
  for (const std::string url :
       {"https://auth.example.test#frag", "https://auth.example.test?x=1"}) {
    write_file(cfg, "issuer:\n  url: \"" + url + "\"\n  audience: []\nkeys:\n  store: file:keys\n");
    auto r = gp({"--config", cfg.string(), "config", "check"}, {"GATEPASS_CONFIG"});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find(cfg.string() + ":2: issuer.url:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(cfg.string() + ":3: issuer.audience:"), std::string::npos) << r.err;
  }
}

// `gatepass init` in `dir` (issuer https://a.example.test); the config's path, empty on failure.
std::string init_home(const temp_dir& dir, const std::vector<std::string>& env) {
  auto r = gp({"init", "--dir", dir.path().string(), "--issuer", "https://a.example.test"}, env);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  return r.exit_code == 0 ? (dir / "gatepass.yaml").string() : std::string();
}

// init with a loopback issuer URL and its own port: serve listens where the URL says
TEST(Init, ALoopbackIssuerPortIsWhereServeListens) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  auto r = gp({"init", "--dir", dir.path().string(), "--issuer", "http://127.0.0.1:18555"}, env);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto text = read_file(dir / "gatepass.yaml");
  EXPECT_NE(text.find("  listen: 127.0.0.1:18555\n"), std::string::npos) << text;
  temp_dir other;
  auto pub =
      gp({"init", "--dir", other.path().string(), "--issuer", "https://auth.example.test"}, env);
  ASSERT_EQ(pub.exit_code, 0) << describe(pub);
  EXPECT_NE(read_file(other / "gatepass.yaml").find("  listen: 127.0.0.1:8081\n"),
            std::string::npos);
}

// client add refuses what RFC 6749 does not allow, and changes nothing: an empty id once made the
// client store unreadable for every later client command
TEST(ClientAdd, RefusesIdsScopesAndAudiencesRfc6749DoesNotAllow) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  const std::vector<std::vector<std::string>> bad{
      {"--id", ""},
      {"--id", "a b"},
      {"--id", "tab\tid"},
      {"--id", "caf\xc3\xa9"},
      {"--id", "ok", "--scopes", "US\"ER"},
      {"--id", "ok", "--audience", ""},
  };
  for (const auto& args : bad) {
    std::vector<std::string> cmd{"--config", cfg, "client", "add"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = gp(cmd, env);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
  }
  auto list = gp({"--config", cfg, "client", "list"}, env);
  EXPECT_EQ(list.exit_code, 0) << describe(list);
  EXPECT_EQ(list.out.find("ok"), std::string::npos) << list.out;
  auto good =
      gp({"--config", cfg, "client", "add", "--id", "svc-1", "--scopes", "USER ADMIN"}, env);
  EXPECT_EQ(good.exit_code, 0) << describe(good);
}

// A key made current while another signs skips publish_ahead: allowed (the import flow moves an
// existing setup over), and said; a next key is not warned about.
TEST(KeysGenerate, ACurrentKeyThatSkipsPublishAheadIsWarnedAbout) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  auto next = gp({"--config", cfg, "keys", "generate"}, env);
  EXPECT_EQ(next.exit_code, 0) << describe(next);
  EXPECT_EQ(next.err.find("published first"), std::string::npos) << next.err;
  auto now = gp({"--config", cfg, "keys", "generate", "--current"}, env);
  EXPECT_EQ(now.exit_code, 0) << describe(now);
  EXPECT_NE(now.err.find("without having been published first"), std::string::npos) << now.err;
}

// A kid with a control character would forge lines in `keys list` and the logs: refused (exit 2,
// saying why) by generate and import, and the store is left as it was; a plain kid is kept.
TEST(KeysGenerate, AKidWithAControlCharacterIsRefused) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  const auto before = gp({"--config", cfg, "keys", "list"}, env);
  for (const std::string& kid : {std::string("a\nb"), std::string("tab\there"), std::string()}) {
    SCOPED_TRACE(kid);
    auto gen = gp({"--config", cfg, "keys", "generate", "--kid", kid}, env);
    EXPECT_EQ(gen.exit_code, 2) << describe(gen);
    EXPECT_NE(gen.err.find("--kid"), std::string::npos) << gen.err;
    auto imp = gp({"--config", cfg, "keys", "import", "--kid", kid, "/dev/null"}, env);
    EXPECT_EQ(imp.exit_code, 2) << describe(imp);
    EXPECT_NE(imp.err.find("--kid"), std::string::npos) << imp.err;
  }
  EXPECT_EQ(gp({"--config", cfg, "keys", "list"}, env).out, before.out);
  auto ok = gp({"--config", cfg, "keys", "generate", "--kid", "my-key-id"}, env);
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_NE(gp({"--config", cfg, "keys", "list"}, env).out.find("my-key-id"), std::string::npos);
}

// The kid of the first `keys list` row in `state`.
std::string kid_in_state(const std::string& cfg, const std::vector<std::string>& env,
                         const std::string& state) {
  auto list = gp({"--config", cfg, "keys", "list"}, env);
  EXPECT_EQ(list.exit_code, 0) << describe(list);
  for (const auto& row : parse_key_list(list.out))
    if (row.state == state) return row.kid;
  ADD_FAILURE() << "no " << state << " key in:\n" << list.out;
  return {};
}

// retire of a key whose tokens may still be valid is refused (exit 2, saying until when and
// --force); --force retires a previous key; the current key is refused even with --force
TEST(KeysRetire, RefusesAKeyWhoseTokensMayStillBeValidWithoutForce) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  const auto first = kid_in_state(cfg, env, "current");
  auto gen = gp({"--config", cfg, "keys", "generate", "--current"}, env);
  ASSERT_EQ(gen.exit_code, 0) << describe(gen);
  const auto second = kid_in_state(cfg, env, "current");
  ASSERT_EQ(kid_in_state(cfg, env, "previous"), first);

  struct row {
    std::string kid;
    bool force;
    int exit_code;
    std::string says;
  };
  for (const auto& r : std::vector<row>{{first, false, 2, "--force"},
                                        {second, false, 2, "current signing key"},
                                        {second, true, 2, "current signing key"},
                                        {first, true, 0, "retired " + first}}) {
    std::vector<std::string> args{"--config", cfg, "keys", "retire", r.kid};
    if (r.force) args.push_back("--force");
    auto ret = gp(args, env);
    SCOPED_TRACE(r.kid + (r.force ? " --force" : ""));
    EXPECT_EQ(ret.exit_code, r.exit_code) << describe(ret);
    EXPECT_NE((ret.out + ret.err).find(r.says), std::string::npos) << describe(ret);
  }
  EXPECT_EQ(kid_in_state(cfg, env, "retired"), first);
  EXPECT_EQ(kid_in_state(cfg, env, "current"), second);
}

// A new next key retires the next key already published: said, as a current key that skips
// publish_ahead is; a first next key is not warned about
TEST(KeysGenerate, ReplacingAPublishedNextKeyIsWarnedAbout) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  auto first = gp({"--config", cfg, "keys", "generate"}, env);
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_EQ(first.err.find("replaces"), std::string::npos) << first.err;
  const auto a = trim(first.out);
  auto second = gp({"--config", cfg, "keys", "generate"}, env);
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.err.find("replaces the next key " + a), std::string::npos) << second.err;
  const auto b = trim(second.out);
  // keys import --as-next the same way
  const auto pem = dir / "imported.pem";
  auto o = run({"/usr/bin/env", "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", pem.string()});
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  auto imp = gp({"--config", cfg, "keys", "import", pem.string(), "--as-next"}, env);
  ASSERT_EQ(imp.exit_code, 0) << describe(imp);
  EXPECT_NE(imp.err.find("replaces the next key " + b), std::string::npos) << imp.err;
  // --current leaves the next key alone: no such warning
  auto cur = gp({"--config", cfg, "keys", "generate", "--current"}, env);
  ASSERT_EQ(cur.exit_code, 0) << describe(cur);
  EXPECT_EQ(cur.err.find("replaces the next key"), std::string::npos) << cur.err;
}

// keys import says which is wrong with an encrypted PEM: no passphrase, or a wrong one; and
// refuses an RSA key with a public exponent below 65537
TEST(KeysImport, EncryptedPemsAndSmallRsaExponentsAreClearErrors) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG",
                                     "PEM_PASS=right one", "WRONG_PASS=wrong one"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  const auto encrypted = dir / "encrypted.pem";
  auto o = run(
      {"/usr/bin/env", "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-aes256", "-pass", "env:PEM_PASS", "-out", encrypted.string()},
      env);
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  const auto e3 = dir / "e3.pem";
  auto r3 = run({"/usr/bin/env", "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                 "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3", "-out", e3.string()});
  ASSERT_EQ(r3.exit_code, 0) << describe(r3);
  struct row {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  for (const auto& r : std::vector<row>{
           {{encrypted.string()}, 2, "encrypted: a passphrase is needed"},
           {{encrypted.string(), "--passphrase-env", "WRONG_PASS"},
            2,
            "wrong passphrase or damaged key"},
           {{encrypted.string(), "--passphrase-env", "NO_SUCH_VARIABLE"}, 2, "NO_SUCH_VARIABLE"},
           {{e3.string()}, 2, "65537"},
           {{encrypted.string(), "--passphrase-env", "PEM_PASS", "--as-next"}, 0, "imported"}}) {
    std::vector<std::string> args{"--config", cfg, "keys", "import"};
    args.insert(args.end(), r.args.begin(), r.args.end());
    auto imp = gp(args, env);
    SCOPED_TRACE(r.says);
    EXPECT_EQ(imp.exit_code, r.exit_code) << describe(imp);
    EXPECT_NE((imp.out + imp.err).find(r.says), std::string::npos) << describe(imp);
  }
  // the messages differ
  auto none = gp({"--config", cfg, "keys", "import", encrypted.string()}, env);
  auto wrong =
      gp({"--config", cfg, "keys", "import", encrypted.string(), "--passphrase-env", "WRONG_PASS"},
         env);
  EXPECT_NE(none.err, wrong.err);
  auto list = gp({"--config", cfg, "keys", "list"}, env);
  EXPECT_EQ(parse_key_list(list.out).size(), 2u) << list.out;  // the init key and the good import
}

// keys rotate without --now that promotes nothing exits 0 (a cron job calls it) and says so:
// no key was promoted, and when one can be
TEST(KeysRotate, DecliningToPromoteSaysNothingWasPromotedAndWhen) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  const auto current = kid_in_state(cfg, env, "current");
  for (const char* says : {"published as next; no key was promoted: it can become current at ",
                           "no key was promoted: the next key "}) {
    auto r = gp({"--config", cfg, "keys", "rotate"}, env);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find(says), std::string::npos) << r.out;
    // publish_ahead (2 h) from the first rotate, in words: "(in 2 h)", "(in 1 h 59 min)"
    EXPECT_TRUE(r.out.find("(in 2 h)") != std::string::npos ||
                r.out.find("(in 1 h 59 min)") != std::string::npos)
        << r.out;
    EXPECT_EQ(kid_in_state(cfg, env, "current"), current);
  }
}

// A passphrase configured later leaves the keys written before it unencrypted: every command
// that loads the keys warns once, naming each such kid; new keys are encrypted
TEST(KeysList, KeysWrittenBeforeThePassphraseAreWarnedAbout) {
  temp_dir dir;
  const std::vector<std::string> no_pass{"GATEPASS_PASSPHRASE", "GATEPASS_CONFIG"};
  auto init =
      gp({"init", "--dir", dir.path().string(), "--issuer", "https://a.example.test"}, no_pass);
  ASSERT_EQ(init.exit_code, 0) << describe(init);
  const auto cfg = (dir / "gatepass.yaml").string();
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto old_kid = kid_in_state(cfg, no_pass, "current");
  // without a passphrase configured: the existing UNENCRYPTED warning only
  auto before = gp({"--config", cfg, "keys", "list"}, no_pass);
  EXPECT_EQ(before.err.find("WARNING: key "), std::string::npos) << before.err;
  const auto text = read_file(cfg);
  const std::string commented = "  # passphrase_env: GATEPASS_PASSPHRASE";
  ASSERT_NE(text.find(commented), std::string::npos) << text;
  write_file(cfg, replace_once(text, commented, "  passphrase_env: GATEPASS_PASSPHRASE #"));
  auto gen = gp({"--config", cfg, "keys", "generate"}, env);
  ASSERT_EQ(gen.exit_code, 0) << describe(gen);
  const auto new_kid = trim(gen.out);
  EXPECT_NE(read_file(dir / "keys" / (new_kid + ".key.pem")).find("BEGIN ENCRYPTED PRIVATE KEY"),
            std::string::npos);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"keys", "list"}, {"token", "issue", "--sub", "alice"}}) {
    std::vector<std::string> argv{"--config", cfg};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = gp(argv, env);
    SCOPED_TRACE(args[0] + " " + args[1]);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const auto warning = "WARNING: key " + old_kid + " is stored UNENCRYPTED";
    const auto at = r.err.find(warning);
    EXPECT_NE(at, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(warning, at + 1), std::string::npos) << "warned twice:\n" << r.err;
    EXPECT_EQ(r.err.find("WARNING: key " + new_kid), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("keys.passphrase_env"), std::string::npos) << r.err;
  }
  // nothing was rewritten behind the user's back
  EXPECT_NE(read_file(dir / "keys" / (old_kid + ".key.pem")).find("BEGIN PRIVATE KEY"),
            std::string::npos);
}

// A failed init removes what it created (the config, folders it made), or puts back the config
// it overwrote with --force: a second init runs
TEST(Init, AFailedInitLeavesNothingBehind) {
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  for (const std::string store : {"ftp://x", "postgresql://gatepass@127.0.0.1:1/gatepass"}) {
    SCOPED_TRACE(store);
    temp_dir dir;
    const auto home = dir / "new" / "home";
    auto bad =
        gp({"init", "--dir", home.string(), "--issuer", "https://a.example.test", "--store", store},
           env);
    EXPECT_EQ(bad.exit_code, 2) << describe(bad);
    EXPECT_FALSE(fs::exists(dir / "new")) << "init left " << (dir / "new");
    auto good = gp({"init", "--dir", home.string(), "--issuer", "https://a.example.test"}, env);
    EXPECT_EQ(good.exit_code, 0) << describe(good);
    // --force over a working home with a failing store: the old config comes back
    const auto before = snapshot_tree(home);
    auto forced = gp({"init", "--dir", home.string(), "--issuer", "https://b.example.test",
                      "--store", store, "--force"},
                     env);
    EXPECT_EQ(forced.exit_code, 2) << describe(forced);
    EXPECT_TRUE(snapshot_tree(home) == before) << "a failed init --force changed files";
  }
}

// A dangling symbolic link where init would make the key folder or write the config is the
// user's (a mount not up yet): a failed init leaves it, and init does not write through it.
TEST(Init, ADanglingSymlinkIsNotInitsToRemove) {
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  temp_dir dir;
  fs::create_symlink(dir / "not-mounted", dir / "keys");
  auto bad = gp({"init", "--dir", dir.path().string(), "--issuer", "https://a.example.test",
                 "--store", "file:keys"},
                env);
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_TRUE(fs::is_symlink(dir / "keys")) << "a failed init removed the user's link";
  EXPECT_FALSE(fs::exists(dir / "gatepass.yaml")) << "the config init wrote was left";
  fs::remove(dir / "keys");
  fs::create_symlink(dir / "elsewhere.yaml", dir / "gatepass.yaml");
  auto over = gp({"init", "--dir", dir.path().string(), "--issuer", "https://a.example.test"}, env);
  EXPECT_EQ(over.exit_code, 2) << describe(over);
  EXPECT_TRUE(fs::is_symlink(dir / "gatepass.yaml"));
  EXPECT_FALSE(fs::exists(dir / "elsewhere.yaml")) << "init wrote through a dangling link";
}

// A token outliving issuer.token_ttl would outlive its key's publication after a rotation (and
// the keys retire guard): refused, exit 2; up to token_ttl it is issued.
TEST(TokenIssue, TtlIsAtMostTheIssuersTokenTtl) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  struct row {
    const char* ttl;
    int exit_code;
  };
  for (const auto& r : std::vector<row>{{"15m", 0}, {"1h", 0}, {"3601", 2}, {"30d", 2}}) {
    auto t = gp({"--config", cfg, "token", "issue", "--sub", "a", "--ttl", r.ttl}, env);
    EXPECT_EQ(t.exit_code, r.exit_code) << r.ttl << ": " << describe(t);
    if (r.exit_code == 2) {
      EXPECT_NE(t.err.find("issuer.token_ttl"), std::string::npos) << t.err;
    }
  }
}

// Right after `keys rotate --now`, `token issue` signs with the new key once every issuer on the
// store has had time to publish it (as `serve` does), never before: a gateway meeting the kid
// earlier could fetch a JWKS without it and refuse it for a whole cooldown.
TEST(TokenIssue, RightAfterAForcedRotationSignsOnceIssuersPublishTheKey) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  auto unix_now = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const auto before = unix_now();
  auto rot = gp({"--config", cfg, "keys", "rotate", "--now"}, env);
  ASSERT_EQ(rot.exit_code, 0) << describe(rot);
  auto t = gp({"--config", cfg, "token", "issue", "--sub", "a"}, env);  // at once after it
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  auto list = gp({"--config", cfg, "keys", "list"}, env);
  std::string current;
  for (const auto& row : parse_key_list(list.out))
    if (row.state == "current") current = row.kid;
  ASSERT_FALSE(current.empty()) << list.out;
  const auto token = trim(t.out);
  EXPECT_EQ(kid_of(token), current);
  // activated at `before` or later, signed 2 s (sign_after_publish) after that at the earliest
  EXPECT_GE(jwt_part(token, 1).at("iat").as_int64(), before + 2) << t.err;
  EXPECT_NE(t.err.find("key " + current + " became current moments ago; signing in"),
            std::string::npos)
      << t.err;
  // once the key has signed for a while, no wait and no message
  auto later = gp({"--config", cfg, "token", "issue", "--sub", "a"}, env);
  ASSERT_EQ(later.exit_code, 0) << describe(later);
  EXPECT_EQ(later.err.find("moments ago"), std::string::npos) << later.err;
}

// decode is the jwt.io view: it shows an unsigned (alg none) token with a warning, exit 0, and
// verify still rejects it; times read in words ("issued now", never "issued in 0 s")
TEST(TokenDecode, ShowsAnUnsignedTokenWithAWarningAndTimesInWords) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  const auto cfg = init_home(dir, env);
  ASSERT_FALSE(cfg.empty());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto pub = gp({"--config", cfg, "publish", "--out", (dir / "pub").string()}, env);
  ASSERT_EQ(pub.exit_code, 0) << describe(pub);
  const auto claims = R"({"sub":"mallory","scope":"ADMIN","iat":)" + std::to_string(now) +
                      R"(,"exp":)" + std::to_string(now + 3630) + "}";  // "1 h" for 30 s
  for (const std::string alg : {"none", "None", "nOnE"}) {
    for (const std::string sig : {"", "c2lnbmF0dXJl"}) {
      SCOPED_TRACE(alg + " signature '" + sig + "'");
      const auto token = base64url_encode(R"({"alg":")" + alg + R"(","typ":"JWT"})") + "." +
                         base64url_encode(claims) + "." + sig;
      auto d = gp({"token", "decode", token});
      EXPECT_EQ(d.exit_code, 0) << describe(d);
      EXPECT_NE(d.out.find("UNSIGNED"), std::string::npos) << d.out;
      EXPECT_NE(d.out.find("\"mallory\""), std::string::npos) << d.out;
      EXPECT_NE(d.out.find("expires in 1 h"), std::string::npos) << d.out;
      auto verified =
          gp({"token", "verify", token, "--jwks", (dir / "pub/.well-known/jwks.json").string()});
      EXPECT_EQ(verified.exit_code, 1) << describe(verified);
    }
  }
  // a token issued this second: "issued now" (or "issued N s ago" on a slow machine), never
  // "issued in 0 s"
  auto t = gp({"--config", cfg, "token", "issue", "--sub", "alice"}, env);
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  auto d = gp({"token", "decode", trim(t.out)});
  EXPECT_EQ(d.exit_code, 0) << describe(d);
  EXPECT_EQ(d.out.find(" in 0 s"), std::string::npos) << d.out;
  EXPECT_TRUE(std::regex_search(d.out, std::regex(R"(iat: \S+ \(issued (now|\d+ s ago)\))")))
      << d.out;
  EXPECT_EQ(d.out.find("UNSIGNED"), std::string::npos) << d.out;
}

TEST(Init, RefusesToOverwriteWithoutForce) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE=" + kPassphrase, "GATEPASS_CONFIG"};
  auto first =
      gp({"init", "--dir", dir.path().string(), "--issuer", "https://a.example.test"}, env);
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  write_file(dir / "gatepass.yaml", read_file(dir / "gatepass.yaml") + "# my edits\n");
  const auto before = snapshot_tree(dir.path());

  auto again =
      gp({"init", "--dir", dir.path().string(), "--issuer", "https://b.example.test"}, env);
  EXPECT_EQ(again.exit_code, 2) << describe(again);
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_TRUE(snapshot_tree(dir.path()) == before) << "init without --force changed files";

  auto forced = gp(
      {"init", "--dir", dir.path().string(), "--issuer", "https://b.example.test", "--force"}, env);
  EXPECT_EQ(forced.exit_code, 0) << describe(forced);
  const auto text = read_file(dir / "gatepass.yaml");
  EXPECT_NE(text.find("https://b.example.test"), std::string::npos);
  EXPECT_EQ(text.find("# my edits"), std::string::npos);
  // the keys already there are kept, not replaced
  EXPECT_TRUE(read_file(dir / "keys" / "keyring.json") == before.at("keys/keyring.json"));
}

}  // namespace
}  // namespace gatepass::itest

namespace gatepass::itest {
namespace {

TEST(Init, WithoutAPassphraseWorksAndWarns) {
  temp_dir dir;
  const std::vector<std::string> env{"GATEPASS_PASSPHRASE", "GATEPASS_CONFIG"};
  auto init = gp({"init", "--dir", dir.path().string(), "--issuer", "https://a.example.test",
                  "--audience", "api"},
                 env);
  ASSERT_EQ(init.exit_code, 0) << describe(init);
  EXPECT_NE(init.err.find("WARNING"), std::string::npos) << init.err;
  const auto cfg = (dir / "gatepass.yaml").string();
  auto issue = gp({"--config", cfg, "token", "issue", "--sub", "alice"}, env);
  ASSERT_EQ(issue.exit_code, 0) << describe(issue);
  EXPECT_NE(issue.err.find("UNENCRYPTED"), std::string::npos) << issue.err;
  auto list = gp({"--config", cfg, "keys", "list"}, env);
  ASSERT_EQ(list.exit_code, 0) << describe(list);
  const auto rows = parse_key_list(list.out);
  ASSERT_EQ(rows.size(), 1u) << list.out;
  EXPECT_NE(
      read_file(dir / "keys" / (rows[0].kid + ".key.pem")).find("-----BEGIN PRIVATE KEY-----"),
      std::string::npos);
  // the store folder is private even so
  EXPECT_EQ(fs::status(dir / "keys").permissions() & fs::perms::all, fs::perms::owner_all);
}

}  // namespace
}  // namespace gatepass::itest
