// gatepass init · keys generate|import|rotate|list|retire|prune|migrate · client add|list|remove ·
// token issue · publish · config check
#include <sys/stat.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/context.h"
#include "common/duration.h"
#include "issuer/clients.h"
#include "issuer/documents.h"
#include "issuer/issuer_service.h"
#include "issuer/signing_hold.h"
#include "issuer/token_service.h"
#include "jose/json.h"
#include "keys/errc.h"

namespace gatepass::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Runs a command body: config problems → exit 2 with every file:line message.
template <class F>
int guarded(F&& f) {
  try {
    return f();
  } catch (const config::error& e) {
    for (const auto& p : e.problems()) std::cerr << p << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gatepass: " << e.what() << "\n";
    return 2;
  }
}

// What RFC 6749 lets a client id (App. A.1: visible characters; gatepass leaves out the space, so
// an id reads back the same from Basic credentials, a form body and `client list`) and a scope
// token (§3.3: %x21 / %x23-5B / %x5D-7E) hold; empty neither.
bool client_id_ok(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x21 && c <= 0x7e;
  });
}
bool scope_token_ok(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
  });
}

// A key made current at once while another one signed skips publish_ahead: said, so the choice is
// an informed one (rotate respects the window; --as-next publishes first).
bool signs_already(cli::context& ctx) {
  auto ring = ctx.keys->snapshot();
  return ring && (*ring)->current.has_value();
}
void warn_unpublished(const std::string& kid) {
  std::cerr
      << "warning: " << kid
      << " signs from now on without having been published first: verifiers that cached "
         "the JWKS (Cache-Control max-age) reject its tokens until they refetch; publish a "
         "new key ahead with `keys generate` or `keys import --as-next`, then `keys rotate`\n";
}

// A new next key retires the next key already published (add_key keeps one next): verifiers
// cached it, and an operator may have announced it. Said, as a current key that skips
// publish_ahead is; returns the kid replaced, or empty.
std::string next_key_replaced(cli::context& ctx) {
  auto ring = ctx.keys->snapshot();
  if (!ring || !(*ring)->current) return {};  // with no current key the new one signs at once
  for (const auto& r : (*ring)->records)
    if (r.state == keys::key_state::next) return r.kid;
  return {};
}
void warn_next_replaced(const std::string& old_kid, const std::string& kid) {
  std::cerr << "warning: " << kid << " replaces the next key " << old_kid
            << ", which is retired now: it was published (verifiers may have cached it) but "
               "never signed; "
            << kid << " becomes current after publish_ahead\n";
}

int fail(const std::string& what, const std::error_code& ec) {
  std::cerr << "gatepass: " << what << ": " << ec.message() << "\n";
  return 2;
}

const char* starter_config = R"(# gatepass configuration — see README.md and DESIGN.md.
issuer:
  # The issuer URL: every token's iss, byte for byte. Verifiers fetch
  # <url>/.well-known/openid-configuration and <url>/.well-known/jwks.json.
  url: @ISSUER@
  # Default aud of issued tokens.
  audience: [@AUDIENCE@]
  token_ttl: 1h
  # Where `gatepass serve` answers discovery, JWKS and /oauth2/token.
  listen: 127.0.0.1:8081
  scopes_supported: [USER, ADMIN]

keys:
  # file:DIR (relative to this file) or postgresql://…
  store: file:keys
  algorithm: RS256        # RS256 (default) RS384 RS512 PS256 ES256 ES384 EdDSA
  rsa_bits: 2048          # 2048, 3072 or 4096
  # Private keys are encrypted (PKCS#8) with this passphrase:
  passphrase_env: GATEPASS_PASSPHRASE
  # passphrase_file: /run/secrets/gatepass
  rotate_every: 30d
  publish_ahead: 2h       # a new key is published this long before it signs
)";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

struct common_opts {
  std::string config;
};

// Whether anything is at `p`, a symbolic link whose target is missing included (fs::exists
// follows links: a dangling one would count as made by init, and be removed).
bool present(const fs::path& p, std::error_code& ec) {
  const auto type = fs::symlink_status(p, ec).type();
  if (type == fs::file_type::not_found) {
    ec.clear();  // an answer, not an error
    return false;
  }
  return true;  // there, or unknown (ec set): when in doubt, not init's
}

// The outermost folder of `p` that does not exist yet (what create_directories(p) would make),
// or empty when p exists.
fs::path first_missing(const fs::path& p) {
  std::error_code ec;
  fs::path missing;
  for (auto at = fs::absolute(p, ec); !ec && !at.empty() && !present(at, ec);
       at = at.parent_path()) {
    missing = at;
    if (at == at.parent_path()) break;
  }
  return ec ? fs::path() : missing;  // when in doubt, nothing counts as made by init
}

// What a failed `gatepass init` undoes: only what it created (folders that did not exist, the
// config file, or the config it overwrote with --force, restored), so a second init can run.
class init_rollback {
 public:
  init_rollback(const fs::path& dir, fs::path cfg, const fs::path& store_dir)
      : dir_(first_missing(dir)),
        store_(store_dir.empty() ? fs::path() : first_missing(store_dir)),
        cfg_(std::move(cfg)) {
    std::error_code ec;
    if (fs::exists(cfg_, ec)) {
      std::ifstream in(cfg_, std::ios::binary);
      old_cfg_ = std::string(std::istreambuf_iterator<char>(in), {});
    }
    cfg_was_there_ = present(cfg_, ec) || ec;  // a dangling link is not init's to remove
  }
  init_rollback(const init_rollback&) = delete;
  init_rollback& operator=(const init_rollback&) = delete;
  ~init_rollback() {
    if (done_) return;
    std::error_code ec;
    if (old_cfg_) {
      std::ofstream out(cfg_, std::ios::binary | std::ios::trunc);
      out << *old_cfg_;
    } else if (!cfg_was_there_) {
      fs::remove(cfg_, ec);
    }
    if (!store_.empty()) fs::remove_all(store_, ec);
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  void commit() noexcept { done_ = true; }

 private:
  fs::path dir_, store_, cfg_;
  bool cfg_was_there_ = false;
  std::optional<std::string> old_cfg_;
  bool done_ = false;
};

}  // namespace

void add_issuer_commands(CLI::App& app, exit_status& status, std::string& config_flag) {
  // ---- init ----
  struct init_args {
    std::string issuer = "http://127.0.0.1:8081", dir = ".", store = "file:keys";
    std::vector<std::string> audience{"my-audience"};
    bool force = false;
  };
  auto ia = std::make_shared<init_args>();
  auto* init = app.add_subcommand("init", "Write a starter gatepass.yaml and the first key");
  init->add_option("--issuer", ia->issuer, "Issuer URL (default http://127.0.0.1:8081)");
  init->add_option("--audience", ia->audience, "Default audience (repeatable)");
  init->add_option("--dir", ia->dir, "Folder for gatepass.yaml and keys/ (default .)");
  init->add_option("--store", ia->store,
                   "Key store: file:DIR (default file:keys) or postgresql://… (password via "
                   "PGPASSWORD or ~/.pgpass)");
  init->add_flag("--force", ia->force, "Overwrite an existing gatepass.yaml");
  init->callback([&status, ia] {
    status.code = guarded([&] {
      const fs::path dir(ia->dir);
      const fs::path cfg = dir / "gatepass.yaml";
      if (std::error_code ec; present(cfg, ec) && !ia->force) {
        std::cerr << "gatepass: " << cfg.string() << " exists; use --force to overwrite\n";
        return 2;
      }
      // the key store's folder, when it is one: created by this init unless it exists
      fs::path store_dir;
      {
        config::file where;
        where.path = cfg.string();
        where.keys.store = ia->store;
        const auto uri = config::store_uri(where);
        if (uri.rfind("file:", 0) == 0) store_dir = uri.substr(5);
      }
      init_rollback rollback(dir, cfg, store_dir);
      fs::create_directories(dir);
      std::string aud;
      for (const auto& a : ia->audience) aud += (aud.empty() ? "" : ", ") + a;
      std::string text =
          replace_all(replace_all(starter_config, "@ISSUER@", ia->issuer), "@AUDIENCE@", aud);
      // an issuer on this machine with its own port (http://127.0.0.1:PORT): serve listens
      // there, or its discovery and JWKS URLs would point where nothing answers
      for (const std::string_view prefix : {"http://127.0.0.1:", "http://localhost:"}) {
        if (ia->issuer.rfind(prefix, 0) != 0) continue;
        const std::string_view rest = std::string_view(ia->issuer).substr(prefix.size());
        const auto port = rest.substr(0, rest.find('/'));
        if (!port.empty() && port.size() <= 5 &&
            std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
          text = replace_all(text, "  listen: 127.0.0.1:8081\n",
                             "  listen: 127.0.0.1:" + std::string(port) + "\n");
      }
      if (ia->store != "file:keys") {
        if (ia->store.find_first_of("\"\\\n") != std::string::npos)
          throw std::runtime_error("--store must not contain quotes, backslashes or newlines");
        text = replace_all(text, "  store: file:keys\n", "  store: \"" + ia->store + "\"\n");
      }
      if (std::getenv("GATEPASS_PASSPHRASE") == nullptr)
        text = replace_all(text, "  passphrase_env: GATEPASS_PASSPHRASE\n",
                           "  # passphrase_env: GATEPASS_PASSPHRASE   (set it, then uncomment)\n");
      {
        std::ofstream out(cfg, std::ios::trunc);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + cfg.string());
      }
      auto ctx = open_context(cfg.string());
      auto kid = ctx.keys->ensure_initialized(wall_clock());
      if (!kid) {
        std::cerr << "gatepass: init: " << cfg.string() << " not written: the first key could "
                  << "not be stored\n";
        return fail("first key", kid.error());
      }
      rollback.commit();
      std::cout << "wrote " << cfg.string() << "\n";
      if (!kid->empty())
        std::cout << "created key " << *kid << " (" << ctx.cfg.keys.algorithm << ", current) in "
                  << ctx.store->describe() << "\n";
      else
        std::cout << "the key store already holds keys; kept them\n";
      std::cout << "next steps:\n"
                << "  gatepass --config " << cfg.string()
                << " token issue --sub alice --scope \"USER ADMIN\"\n"
                << "  gatepass --config " << cfg.string()
                << " client add --id my-client --scopes \"USER ADMIN\"\n"
                << "  gatepass --config " << cfg.string() << " serve\n";
      return 0;
    });
  });

  // ---- keys ----
  auto* keys_cmd = app.add_subcommand("keys", "Manage signing keys");
  keys_cmd->require_subcommand(1);
  struct keys_args {
    std::string kid, file, passphrase_env, from, to;
    bool as_next = false, now = false, current = false, force = false;
    std::size_t keep = 0;
  };
  auto ka = std::make_shared<keys_args>();
  auto* gen = keys_cmd->add_subcommand(
      "generate", "Create a key (next; current when the store is empty or --current)");
  gen->add_option("--kid", ka->kid, "Key id (default: RFC 7638 thumbprint)")->check(kid_text());
  gen->add_flag("--current", ka->current, "Make it the signing key at once");
  gen->callback([&status, &config_flag, ka] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      const bool replaces = ka->current && signs_already(ctx);
      const auto old_next = ka->current ? std::string() : next_key_replaced(ctx);
      auto kid = ctx.keys->generate(wall_clock(), ka->current, ka->kid);
      if (!kid) return fail("keys generate", kid.error());
      if (replaces) warn_unpublished(*kid);
      if (!old_next.empty()) warn_next_replaced(old_next, *kid);
      std::cout << *kid << "\n";
      return 0;
    });
  });
  auto* imp = keys_cmd->add_subcommand(
      "import", "Import a PEM private key (openssl genrsa / genpkey output)");
  imp->add_option("file", ka->file, "PEM file (PKCS#1, SEC1 or PKCS#8)")->required();
  imp->add_option("--kid", ka->kid, "Key id to keep (default: RFC 7638 thumbprint)")
      ->check(kid_text());
  imp->add_flag("--as-next", ka->as_next,
                "Publish it as the next key instead of signing with it now");
  imp->add_option("--passphrase-env", ka->passphrase_env,
                  "Environment variable holding the PEM's passphrase");
  imp->callback([&status, &config_flag, ka] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      std::string pass;
      if (!ka->passphrase_env.empty()) {
        const char* v = std::getenv(ka->passphrase_env.c_str());
        if (v == nullptr || *v == '\0') {
          std::cerr << "gatepass: keys import " << ka->file << ": --passphrase-env "
                    << ka->passphrase_env << ": environment variable is not set\n";
          return 2;
        }
        pass = v;
      }
      // the store opens first: its own wrong passphrase is not taken for the PEM's below
      if (auto ring = ctx.keys->snapshot(); !ring) return fail("key store", ring.error());
      const bool replaces = !ka->as_next && signs_already(ctx);
      const auto old_next = ka->as_next ? next_key_replaced(ctx) : std::string();
      auto kid =
          ctx.keys->import_pem(read_input(ka->file), pass, ka->kid, ka->as_next, wall_clock());
      if (kid.has_error() && kid.error() == keys::errc::passphrase_needed) {
        std::cerr << "gatepass: keys import " << ka->file
                  << ": encrypted: a passphrase is needed (--passphrase-env VAR, the name of an "
                     "environment variable holding it)\n";
        return 2;
      }
      if (kid.has_error() && kid.error() == keys::errc::wrong_passphrase) {
        std::cerr << "gatepass: keys import " << ka->file << ": wrong passphrase or damaged key\n";
        return 2;
      }
      if (!kid) return fail("keys import " + ka->file, kid.error());
      if (replaces) warn_unpublished(*kid);
      if (!old_next.empty()) warn_next_replaced(old_next, *kid);
      std::cout << "imported " << *kid << (ka->as_next ? " as next" : " as current") << "\n";
      return 0;
    });
  });
  auto* rot = keys_cmd->add_subcommand("rotate", "Rotate keys, respecting publish_ahead");
  rot->add_flag("--now", ka->now, "Sign with a fresh key immediately (compromised key)");
  rot->callback([&status, &config_flag, ka] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      auto msg = ctx.keys->rotate(wall_clock(), ka->now);
      if (!msg) return fail("keys rotate", msg.error());
      std::cout << *msg << "\n";
      return 0;
    });
  });
  auto* list = keys_cmd->add_subcommand(
      "list", "List keys: kid, alg, state, created, activated, retire time");
  list->callback([&status, &config_flag] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      auto ring = ctx.keys->snapshot();
      if (!ring) return fail("keys list", ring.error());
      warn_unencrypted_keys(ctx.cfg, **ring);
      auto t = [](std::int64_t v) { return v == 0 ? std::string("-") : format_utc(v); };
      std::cout << std::left << std::setw(45) << "KID" << std::setw(7) << "ALG" << std::setw(10)
                << "STATE" << std::setw(22) << "CREATED" << std::setw(22) << "ACTIVATED"
                << "RETIRE AT\n";
      for (const auto& r : (*ring)->records)
        std::cout << std::left << std::setw(45) << r.kid << std::setw(7) << r.alg << std::setw(10)
                  << keys::to_string(r.state) << std::setw(22) << t(r.created) << std::setw(22)
                  << t(r.activated) << t(r.retire_at) << "\n";
      return 0;
    });
  });
  auto* ret = keys_cmd->add_subcommand("retire", "Stop publishing a key (not the current one)");
  ret->add_option("kid", ka->kid, "Key id")->required();
  ret->add_flag("--force", ka->force,
                "Retire a previous key although tokens it signed may still be valid");
  ret->callback([&status, &config_flag, ka] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      const auto now = wall_clock();
      const auto ec = ctx.keys->retire(ka->kid, now, ka->force);
      if (ec == keys::errc::key_state_invalid) {
        std::cerr << "gatepass: keys retire " << ka->kid
                  << ": it is the current signing key; make another key current first (`keys "
                     "rotate`, or `keys rotate --now` for a compromised key)\n";
        return 2;
      }
      if (ec == keys::errc::key_still_verifies) {
        // refused in the store's transaction; the record says until when, for the message
        std::string until = "token lifetime + leeway after it stopped signing";
        if (auto ring = ctx.keys->snapshot())
          for (const auto& r : (*ring)->records)
            if (r.kid == ka->kid) {
              const auto t = keys::tokens_valid_until(r, ctx.keys->settings().rotation);
              until = format_utc(t) + " (in " + duration_in_words(t - now) + ")";
            }
        std::cerr << "gatepass: keys retire " << ka->kid
                  << ": refused: tokens it signed may still be valid until " << until
                  << "; retiring it now makes every verifier reject them. Retry then, or use "
                     "--force (e.g. for a compromised key)\n";
        return 2;
      }
      if (ec) return fail("keys retire " + ka->kid, ec);
      std::cout << "retired " << ka->kid << "\n";
      return 0;
    });
  });
  auto* prune = keys_cmd->add_subcommand("prune", "Delete retired keys");
  prune->add_option("--keep", ka->keep, "Keep the newest N retired keys (default 0)");
  prune->callback([&status, &config_flag, ka] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      auto n = ctx.keys->prune(ka->keep);
      if (!n) return fail("keys prune", n.error());
      std::cout << "deleted " << *n << " retired key(s)\n";
      return 0;
    });
  });

  auto* mig = keys_cmd->add_subcommand(
      "migrate",
      "Copy every key and client from one store to another (file:DIR, postgresql://…); idempotent");
  mig->add_option("--from", ka->from, "Source store URI")->required();
  mig->add_option("--to", ka->to, "Destination store URI")->required();
  mig->callback([&status, &config_flag, ka] {
    status.code = guarded([&] {
      // both stores use the passphrase the config names (keys.passphrase_env / _file)
      const auto cfg = config::load(config::resolve_path(config_flag));
      warn_if_no_passphrase(cfg);
      const keys::store_options opt{config::passphrase(cfg)};
      auto from = keys::open_store(ka->from, opt);
      if (!from) return fail("keys migrate --from " + ka->from, from.error());
      auto to = keys::open_store(ka->to, opt);
      if (!to) return fail("keys migrate --to " + ka->to, to.error());
      auto report = keys::migrate_store(**from, **to);
      if (!report) return fail("keys migrate", report.error());
      std::cout << "migrated " << (*from)->describe() << " -> " << (*to)->describe() << ": "
                << report->keys_copied << " key(s) copied, " << report->keys_updated << " updated, "
                << report->keys_unchanged << " already there; " << report->clients_copied
                << " client(s) copied\n";
      return 0;
    });
  });

  // ---- client ----
  auto* client = app.add_subcommand("client", "Manage OAuth clients of /oauth2/token");
  client->require_subcommand(1);
  struct client_args {
    std::string id, scopes;
    std::vector<std::string> audience;
  };
  auto ca = std::make_shared<client_args>();
  auto* cadd = client->add_subcommand("add", "Add a client; prints its secret once");
  cadd->add_option("--id", ca->id, "Client id")->required();
  cadd->add_option("--scopes", ca->scopes, "Scopes it may request, e.g. \"USER ADMIN\"");
  cadd->add_option("--audience", ca->audience, "aud of its tokens (default: the issuer's)");
  cadd->callback([&status, &config_flag, ca] {
    status.code = guarded([&] {
      if (!client_id_ok(ca->id)) {
        std::cerr << "gatepass: client add: --id must be visible ASCII characters, no spaces "
                     "(RFC 6749 appendix A.1)\n";
        return 2;
      }
      {
        std::istringstream words(ca->scopes);
        for (std::string w; words >> w;)
          if (!scope_token_ok(w)) {
            std::cerr << "gatepass: client add: scope " << w
                      << ": not a scope token (RFC 6749 section 3.3)\n";
            return 2;
          }
      }
      for (const auto& aud : ca->audience)
        if (aud.empty()) {
          std::cerr << "gatepass: client add: --audience must not be empty\n";
          return 2;
        }
      auto ctx = open_context(config_flag);
      const auto secret = issuer::generate_client_secret();
      keys::client_record rec;
      rec.id = ca->id;
      rec.secret_hash = issuer::hash_client_secret(secret);
      std::istringstream ss(ca->scopes);
      for (std::string w; ss >> w;) rec.scopes.push_back(w);
      rec.audience = ca->audience;
      rec.created = wall_clock();
      auto ec = ctx.store->transact_clients(
          [&](std::vector<keys::client_record>& all) -> std::error_code {
            for (const auto& c : all)
              if (c.id == rec.id) return keys::errc::client_exists;
            all.push_back(rec);
            return {};
          });
      if (ec) return fail("client add " + ca->id, ec);
      std::cout << "client_id:     " << rec.id << "\nclient_secret: " << secret
                << "\n(the secret is shown only now; gatepass stores its argon2id hash)\n";
      return 0;
    });
  });
  auto* clist = client->add_subcommand("list", "List clients");
  clist->callback([&status, &config_flag] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      auto all = ctx.store->load_clients();
      if (!all) return fail("client list", all.error());
      for (const auto& c : *all) {
        std::string scopes;
        for (const auto& s : c.scopes) scopes += (scopes.empty() ? "" : " ") + s;
        std::cout << c.id << "\tscopes: " << scopes << "\tcreated: " << format_utc(c.created)
                  << "\n";
      }
      for (const auto& c : ctx.cfg.clients)
        std::cout << c.id << "\t(from " << ctx.cfg.path << ")\n";
      return 0;
    });
  });
  auto* crm = client->add_subcommand("remove", "Remove a client");
  crm->add_option("--id", ca->id, "Client id")->required();
  crm->callback([&status, &config_flag, ca] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      auto ec = ctx.store->transact_clients(
          [&](std::vector<keys::client_record>& all) -> std::error_code {
            const auto before = all.size();
            std::erase_if(all, [&](const keys::client_record& c) { return c.id == ca->id; });
            return all.size() == before ? std::error_code(keys::errc::client_not_found)
                                        : std::error_code();
          });
      if (ec) return fail("client remove " + ca->id, ec);
      std::cout << "removed " << ca->id << "\n";
      return 0;
    });
  });

  // ---- token issue ----
  struct issue_args {
    std::string sub, scope, ttl, claims_json;
    std::vector<std::string> aud, claims;
    unsigned count = 1;
  };
  auto ta = std::make_shared<issue_args>();
  auto* token = app.get_subcommand("token");
  auto* issue = token->add_subcommand("issue", "Issue an access token with the current key");
  issue->add_option("--sub", ta->sub, "Subject");
  issue->add_option("--scope", ta->scope, "Space-separated scopes, e.g. \"USER ADMIN\"");
  issue->add_option("--aud", ta->aud, "Audience (repeatable; default: issuer.audience)");
  issue->add_option("--ttl", ta->ttl, "Lifetime, e.g. 15m, at most issuer.token_ttl (the default)");
  issue->add_option("--claim", ta->claims, "Custom claim NAME=VALUE (repeatable)");
  issue->add_option("--claims-json", ta->claims_json, "JSON object of custom claims (FILE or -)");
  issue->add_option("--count", ta->count, "Issue N tokens, one per line (load tests)")
      ->check(CLI::Range(1u, 1000000u));
  issue->callback([&status, &config_flag, ta] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      if (!ctx.cfg.issuer)
        throw config::error({ctx.cfg.path + ": issuer: section required to issue tokens"});
      issuer::token_request req;
      // RFC 9068 §2.2 requires sub and client_id: a CLI-issued token names the CLI as its client
      req.client_id = "gatepass-cli";
      req.sub = ta->sub.empty() ? req.client_id : ta->sub;
      std::istringstream ss(ta->scope);
      for (std::string w; ss >> w;) req.scopes.push_back(w);
      req.audience = ta->aud;
      if (!ta->ttl.empty()) {
        auto d = parse_duration(ta->ttl);
        if (!d || *d <= 0) {
          std::cerr << "gatepass: --ttl " << ta->ttl << ": expected a duration like 900, 15m, 1h\n";
          return 2;
        }
        // A key stays published for token_ttl + publish_ahead + leeway after it stops signing,
        // and `keys retire` guards the same window: a longer-lived token would be refused by
        // every verifier once its key rotates out.
        if (*d > ctx.cfg.issuer->token_ttl) {
          std::cerr << "gatepass: --ttl " << ta->ttl << ": longer than issuer.token_ttl ("
                    << ctx.cfg.issuer->token_ttl
                    << " s); keys are published for that long after they stop signing, so the "
                       "token would fail after a rotation: raise issuer.token_ttl instead\n";
          return 2;
        }
        req.ttl = *d;
      }
      auto custom = custom_claims(ta->claims_json, ta->claims);
      if (!custom) return 2;
      req.extra = std::move(*custom);
      for (const auto& kv : req.extra)
        if (issuer::is_reserved_claim(kv.key())) {
          std::cerr
              << "gatepass: custom claim " << std::string(kv.key())
              << " is registered; set it with its own option (--sub, --aud, --scope, --ttl)\n";
          return 2;
        }
      auto ring = ctx.keys->snapshot();
      if (!ring) return fail("key store", ring.error());
      warn_unencrypted_keys(ctx.cfg, **ring);
      if (!(*ring)->current) return fail("key store", keys::errc::store_not_initialized);
      issuer::token_service svc(ctx.cfg.issuer->url, ctx.cfg.issuer->audience,
                                ctx.cfg.issuer->token_ttl);
      auto now = wall_clock();
      // A key made current moments ago (`keys rotate --now`, `keys import`) signs once every
      // issuer on the store has had time to publish it, as in `serve`: a gateway meeting its
      // kid earlier could fetch a JWKS that lacks it and refuse it for a whole cooldown.
      if (const auto wait = issuer::seconds_until_signing(**ring, now, issuer::sign_after_publish);
          wait > 0) {
        std::cerr << "gatepass: key " << (*ring)->current->kid()
                  << " became current moments ago; signing in " << wait
                  << " s, once every issuer publishes it\n";
        std::this_thread::sleep_for(std::chrono::seconds(wait));
        now = wall_clock();
      }
      for (unsigned i = 0; i < ta->count; ++i) {
        auto t = svc.issue(**ring, req, now);  // each token gets its own jti
        if (!t) return fail("token issue", t.error());
        std::cout << *t << "\n";
      }
      return 0;
    });
  });

  // ---- publish ----
  auto out_dir = std::make_shared<std::string>();
  auto* publish = app.add_subcommand(
      "publish", "Write .well-known/openid-configuration and jwks.json for a CDN");
  publish->add_option("--out", *out_dir, "Output folder")->required();
  publish->callback([&status, &config_flag, out_dir] {
    status.code = guarded([&] {
      auto ctx = open_context(config_flag);
      if (!ctx.cfg.issuer)
        throw config::error({ctx.cfg.path + ": issuer: section required to publish"});
      auto ring = ctx.keys->snapshot();
      if (!ring) return fail("key store", ring.error());
      issuer::issuer_service svc(*ctx.cfg.issuer, ctx.keys->settings());
      svc.set_ring(*ring);
      const fs::path wk = fs::path(*out_dir) / ".well-known";
      fs::create_directories(wk);
      for (const auto& [name, body] : {std::pair{"openid-configuration", svc.discovery()},
                                       std::pair{"oauth-authorization-server", svc.discovery()},
                                       std::pair{"jwks.json", svc.jwks()}}) {
        const auto tmp = wk / (std::string(".") + name + ".tmp");
        {
          std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
          o << body;
          if (!o) throw std::runtime_error("cannot write " + tmp.string());
        }
        fs::rename(tmp, wk / name);
        std::cout << "wrote " << (wk / name).string() << "\n";
      }
      std::cout << "serve jwks.json with Cache-Control: public, max-age="
                << keys::jwks_max_age((*ring)->records, wall_clock(), ctx.keys->settings().rotation)
                << "\n";
      return 0;
    });
  });

  // ---- config check ----
  auto* cfgcmd = app.add_subcommand("config", "Configuration tools");
  cfgcmd->require_subcommand(1);
  auto* check = cfgcmd->add_subcommand(
      "check", "Validate gatepass.yaml; every error with file:line and field");
  check->callback([&status, &config_flag] {
    status.code = guarded([&] {
      const auto path = config::resolve_path(config_flag);
      auto f = config::load(path);
      (void)config::passphrase(f);
      std::cout << path << ": OK\n";
      return 0;
    });
  });
}

}  // namespace gatepass::cli
