// postgresql://… — the key store several issuers share (libpq). Tables: gatepass_keyring (one row
// whose version every commit bumps), gatepass_keys (metadata, the PKCS#8 private key encrypted with
// the passphrase exactly as in the file store, the x5c certificate), gatepass_clients; created and
// upgraded by the versioned migrations recorded in gatepass_migrations. A mutation is one
// transaction holding the keyring row lock, so concurrent rotations serialize and exactly one key
// is current (a partial unique index enforces that too); each commit NOTIFYs gatepass_keyring.
#include <libpq-fe.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <charconv>
#include <cstring>
#include <iostream>
#include <mutex>
#include <set>
#include <utility>

#include "keys/certificate.h"
#include "keys/errc.h"
#include "keys/key_generator.h"
#include "keys/key_store.h"

namespace gatepass::keys {

namespace {

namespace json = boost::json;

struct conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
using pg_result = std::unique_ptr<PGresult, result_deleter>;

constexpr const char* notify_channel = "gatepass_keyring";
// pg_advisory_xact_lock keys: schema migrations, client changes ("gp" + 1, 2)
constexpr const char* migration_lock = "SELECT pg_advisory_xact_lock(7170001)";
constexpr const char* clients_lock = "SELECT pg_advisory_xact_lock(7170002)";

struct migration {
  int version;
  const char* description;
  const char* sql;
};

// Append only: a released migration never changes.
constexpr migration migrations[] = {
    {1, "keyring, keys and clients", R"sql(
CREATE TABLE gatepass_keyring (
  id smallint PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL
);
INSERT INTO gatepass_keyring (id, version) VALUES (1, 0);
CREATE TABLE gatepass_keys (
  kid text PRIMARY KEY,
  position integer NOT NULL,
  alg text NOT NULL,
  state text NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
  created bigint NOT NULL,
  activated bigint NOT NULL,
  deactivated bigint NOT NULL,
  retire_at bigint NOT NULL,
  private_key text,
  certificate text
);
CREATE UNIQUE INDEX gatepass_keys_one_current ON gatepass_keys (state) WHERE state = 'current';
CREATE TABLE gatepass_clients (
  id text PRIMARY KEY,
  secret_hash text NOT NULL,
  scopes jsonb NOT NULL,
  audience jsonb NOT NULL,
  created bigint NOT NULL
);
)sql"},
};

/// The URI with its password masked, for messages.
std::string mask_uri(const std::string& uri) {
  std::string out = uri;
  const auto scheme = out.find("://");
  const auto at = out.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme != std::string::npos && at != std::string::npos) {
    const auto colon = out.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "****");
  }
  if (auto p = out.find("password="); p != std::string::npos) {
    const auto end = out.find('&', p);
    out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "****");
  }
  return out;
}

std::int64_t to_int64(const char* s) {
  std::int64_t v = 0;
  std::from_chars(s, s + std::strlen(s), v);
  return v;
}

std::vector<std::string> string_list(const char* json_text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(json_text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.get_array())
    if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

class pg_key_store final : public key_store {
 public:
  pg_key_store(std::string uri, store_options opt)
      : uri_(std::move(uri)), conninfo_(uri_), opt_(std::move(opt)) {
    // a database that does not answer must not hang an issuer for minutes
    if (conninfo_.find("connect_timeout=") == std::string::npos)
      conninfo_ +=
          (conninfo_.find('?') == std::string::npos ? "?" : "&") + std::string("connect_timeout=3");
  }

  result<std::vector<stored_key>> load() override {
    std::lock_guard lock(m_);
    if (auto ec = begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) return ec;
    auto rows =
        query("load keys",
              "SELECT kid, alg, state, created, activated, deactivated, retire_at, private_key,"
              " certificate FROM gatepass_keys ORDER BY position",
              {});
    if (!rows) return rollback(rows.error());
    exec_simple("COMMIT");
    std::vector<stored_key> out;
    for (int i = 0; i < PQntuples(rows->get()); ++i) {
      auto sk = row_to_key(rows->get(), i, true);
      if (!sk) return sk.error();
      out.push_back(std::move(*sk));
    }
    return out;
  }

  result<std::string> version() override {
    std::lock_guard lock(m_);
    if (auto ec = connect()) return ec;
    auto r = query("read version", "SELECT version FROM gatepass_keyring WHERE id = 1", {});
    if (!r && lost_connection()) {  // a stale connection (database restarted): once more
      if (auto ec = connect()) return ec;
      r = query("read version", "SELECT version FROM gatepass_keyring WHERE id = 1", {});
    }
    if (!r) return r.error();
    if (PQntuples(r->get()) != 1) return errc::store_corrupt;
    return "pg:" + std::string(PQgetvalue(r->get(), 0, 0));
  }

  std::error_code transact(const mutation& fn) override {
    std::lock_guard lock(m_);
    if (auto ec = begin("BEGIN")) return ec;
    // the keyring row lock serializes every mutation across all processes
    if (auto r = query("lock keyring",
                       "SELECT version FROM gatepass_keyring WHERE id = 1 FOR UPDATE", {});
        !r)
      return rollback(r.error());
    auto rows =
        query("read keys",
              "SELECT kid, alg, state, created, activated, deactivated, retire_at, private_key,"
              " certificate FROM gatepass_keys ORDER BY position",
              {});
    if (!rows) return rollback(rows.error());
    std::vector<key_record> records;
    std::set<std::string> existing;
    bool passphrase_checked = false;
    for (int i = 0; i < PQntuples(rows->get()); ++i) {
      // keys written with another passphrase would lock every other issuer out: prove this
      // one opens an existing key before writing anything
      auto sk = row_to_key(rows->get(), i, !passphrase_checked);
      if (!sk) return rollback(sk.error());
      passphrase_checked = passphrase_checked || sk->key.has_value();
      existing.insert(sk->meta.kid);
      records.push_back(std::move(sk->meta));
    }
    auto change = fn(records);
    if (!change) return rollback(change.error());
    if (change->records == records && change->added.empty() && change->deleted.empty())
      return rollback({});  // nothing to write: no version bump, no reload anywhere

    std::set<std::string> keep;
    for (const auto& r : change->records) keep.insert(r.kid);
    for (const auto& kid : existing)
      if (!keep.count(kid))
        if (auto r = query("delete key", "DELETE FROM gatepass_keys WHERE kid = $1", {kid}); !r)
          return rollback(r.error());
    std::set<std::string> added;
    for (const auto& a : change->added) added.insert(a.meta.kid);
    // demotions first, the new current last: the one-current index holds at every statement
    auto update = [&](const key_record& r, int position) -> std::error_code {
      auto q = query("update key",
                     "UPDATE gatepass_keys SET position = $2, alg = $3, state = $4, created = $5,"
                     " activated = $6, deactivated = $7, retire_at = $8 WHERE kid = $1",
                     {r.kid, std::to_string(position), r.alg, std::string(to_string(r.state)),
                      std::to_string(r.created), std::to_string(r.activated),
                      std::to_string(r.deactivated), std::to_string(r.retire_at)});
      return q ? std::error_code{} : q.error();
    };
    for (std::size_t i = 0; i < change->records.size(); ++i) {
      const auto& r = change->records[i];
      if (added.count(r.kid) || r.state == key_state::current) continue;
      if (existing.count(r.kid)) {
        if (auto ec = update(r, static_cast<int>(i))) return rollback(ec);
        continue;
      }
      // a retired key's record may arrive without its material (keys migrate)
      if (r.state != key_state::retired) return rollback(errc::store_corrupt);
      auto q = query(
          "insert retired key",
          "INSERT INTO gatepass_keys (kid, position, alg, state, created, activated,"
          " deactivated, retire_at) VALUES ($1, $2, $3, 'retired', $4, $5, $6, $7)",
          {r.kid, std::to_string(i), r.alg, std::to_string(r.created), std::to_string(r.activated),
           std::to_string(r.deactivated), std::to_string(r.retire_at)});
      if (!q) return rollback(q.error());
    }
    for (const auto& a : change->added) {
      if (!a.key) return rollback(errc::store_corrupt);
      int position = -1;
      key_record meta = a.meta;
      for (std::size_t i = 0; i < change->records.size(); ++i)
        if (change->records[i].kid == a.meta.kid) {
          position = static_cast<int>(i);
          meta = change->records[i];
        }
      if (position < 0) return rollback(errc::store_corrupt);
      auto pem = private_pem(*a.key, opt_.passphrase);
      if (!pem) return rollback(pem.error());
      auto q =
          query("insert key",
                "INSERT INTO gatepass_keys (kid, position, alg, state, created, activated,"
                " deactivated, retire_at, private_key, certificate)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                {meta.kid, std::to_string(position), meta.alg, std::string(to_string(meta.state)),
                 std::to_string(meta.created), std::to_string(meta.activated),
                 std::to_string(meta.deactivated), std::to_string(meta.retire_at), *pem,
                 a.cert_der.empty() ? std::string() : der_to_pem_cert(a.cert_der)});
      if (!q) return rollback(q.error());
    }
    for (std::size_t i = 0; i < change->records.size(); ++i) {
      const auto& r = change->records[i];
      if (added.count(r.kid) || r.state != key_state::current) continue;
      if (!existing.count(r.kid)) return rollback(errc::store_corrupt);
      if (auto ec = update(r, static_cast<int>(i))) return rollback(ec);
    }
    auto bump = query(
        "bump version",
        "UPDATE gatepass_keyring SET version = version + 1 WHERE id = 1 RETURNING version", {});
    if (!bump) return rollback(bump.error());
    if (auto n = query("notify", "SELECT pg_notify($1, $2)",
                       {notify_channel, std::string(PQgetvalue(bump->get(), 0, 0))});
        !n)
      return rollback(n.error());
    if (auto c = query("commit", "COMMIT", {}); !c) return c.error();
    return {};
  }

  result<std::vector<client_record>> load_clients() override {
    std::lock_guard lock(m_);
    if (auto ec = connect()) return ec;
    const char* sql =
        "SELECT id, secret_hash, scopes::text, audience::text, created FROM gatepass_clients ORDER "
        "BY created, id";
    auto rows = query("load clients", sql, {});
    if (!rows && lost_connection()) {
      if (auto ec = connect()) return ec;
      rows = query("load clients", sql, {});
    }
    if (!rows) return rows.error();
    return clients_of(rows->get());
  }

  std::error_code transact_clients(const client_mutation& fn) override {
    std::lock_guard lock(m_);
    if (auto ec = begin("BEGIN")) return ec;
    if (auto r = query("lock clients", clients_lock, {}); !r) return rollback(r.error());
    auto rows =
        query("read clients",
              "SELECT id, secret_hash, scopes::text, audience::text, created FROM gatepass_clients"
              " ORDER BY created, id",
              {});
    if (!rows) return rollback(rows.error());
    auto clients = clients_of(rows->get());
    if (auto ec = fn(clients)) return rollback(ec);
    if (auto r = query("replace clients", "DELETE FROM gatepass_clients", {}); !r)
      return rollback(r.error());
    for (const auto& c : clients) {
      auto r = query("insert client",
                     "INSERT INTO gatepass_clients (id, secret_hash, scopes, audience, created)"
                     " VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)",
                     {c.id, c.secret_hash, json::serialize(json::value_from(c.scopes)),
                      json::serialize(json::value_from(c.audience)), std::to_string(c.created)});
      if (!r) return rollback(r.error());
    }
    if (auto c = query("commit", "COMMIT", {}); !c) return c.error();
    return {};
  }

  std::string describe() const override { return mask_uri(uri_); }

  int change_fd() override {
    std::lock_guard lock(listen_m_);
    if (listen_ && PQstatus(listen_.get()) == CONNECTION_OK) return PQsocket(listen_.get());
    listen_.reset(PQconnectdb(conninfo_.c_str()));
    if (!listen_ || PQstatus(listen_.get()) != CONNECTION_OK) {
      listen_.reset();
      return -1;
    }
    PQsetNoticeProcessor(
        listen_.get(), [](void*, const char*) {}, nullptr);
    pg_result r(PQexec(listen_.get(), (std::string("LISTEN ") + notify_channel).c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      listen_.reset();
      return -1;
    }
    relistened_ = true;
    return PQsocket(listen_.get());
  }

  bool consume_changes() override {
    std::lock_guard lock(listen_m_);
    bool any = std::exchange(relistened_, false);  // a new channel may have missed a change
    if (!listen_) return true;
    if (PQconsumeInput(listen_.get()) == 0) {
      listen_.reset();
      return true;
    }
    while (PGnotify* n = PQnotifies(listen_.get())) {
      any = true;
      PQfreemem(n);
    }
    return any;
  }

 private:
  // One line per distinct failure; repeated identical failures (a database that stays down while
  // an issuer polls every second) are not repeated.
  std::error_code fail(const std::string& what, const char* detail) {
    std::string msg = "gatepass: PostgreSQL " + describe() + " (" + what + "): " + detail;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (msg != last_error_) std::cerr << msg << "\n";
    last_error_ = msg;
    return errc::database;
  }

  void succeeded() {
    if (!last_error_.empty())
      std::cerr << "gatepass: PostgreSQL " << describe() << ": reachable again\n";
    last_error_.clear();
  }

  bool lost_connection() const { return !conn_ || PQstatus(conn_.get()) != CONNECTION_OK; }

  std::error_code connect() {
    if (!lost_connection()) return {};
    conn_.reset(PQconnectdb(conninfo_.c_str()));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      auto ec = fail("connect", conn_ ? PQerrorMessage(conn_.get()) : "out of memory");
      conn_.reset();
      return ec;
    }
    PQsetNoticeProcessor(
        conn_.get(), [](void*, const char*) {}, nullptr);
    if (!migrated_) {
      if (auto ec = migrate()) {
        conn_.reset();
        return ec;
      }
      migrated_ = true;
    }
    succeeded();
    return {};
  }

  // Creates or upgrades the schema under an advisory lock, so issuers starting together migrate
  // once.
  std::error_code migrate() {
    if (auto ec = exec_simple("BEGIN")) return ec;
    if (auto ec = exec_simple(migration_lock)) return rollback(ec);
    if (auto ec = exec_simple(
            "CREATE TABLE IF NOT EXISTS gatepass_migrations (version integer PRIMARY KEY,"
            " description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"))
      return rollback(ec);
    auto cur = query("read schema version",
                     "SELECT coalesce(max(version), 0) FROM gatepass_migrations", {});
    if (!cur) return rollback(cur.error());
    const auto have = to_int64(PQgetvalue(cur->get(), 0, 0));
    const auto known = static_cast<std::int64_t>(std::size(migrations));
    if (have > known) {
      fail("schema",
           ("the database schema is at version " + std::to_string(have) +
            ", newer than this gatepass knows (" + std::to_string(known) + "): upgrade gatepass")
               .c_str());
      return rollback(errc::database);
    }
    for (const auto& m : migrations) {
      if (m.version <= have) continue;
      if (auto ec = exec_simple(m.sql)) return rollback(ec);
      auto r = query("record migration",
                     "INSERT INTO gatepass_migrations (version, description) VALUES ($1, $2)",
                     {std::to_string(m.version), m.description});
      if (!r) return rollback(r.error());
      std::cerr << "gatepass: PostgreSQL schema migrated to version " << m.version << " ("
                << m.description << ")\n";
    }
    return exec_simple("COMMIT");
  }

  // BEGIN on a live connection; a connection found dead at BEGIN (database restarted) is
  // replaced once, since nothing of the transaction has run yet.
  std::error_code begin(const char* sql) {
    if (auto ec = connect()) return ec;
    auto ec = exec_simple(sql);
    if (ec && lost_connection()) {
      if (auto again = connect()) return again;
      ec = exec_simple(sql);
    }
    return ec;
  }

  std::error_code rollback(std::error_code ec) {
    if (!lost_connection()) pg_result(PQexec(conn_.get(), "ROLLBACK"));
    return ec;
  }

  std::error_code exec_simple(const char* sql) {
    pg_result r(PQexec(conn_.get(), sql));
    const auto st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      return fail(sql, PQerrorMessage(conn_.get()));
    return {};
  }

  result<pg_result> query(const char* what, const char* sql,
                          const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    pg_result r(PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
    const auto st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      return fail(what, PQerrorMessage(conn_.get()));
    return r;
  }

  result<stored_key> row_to_key(PGresult* rows, int i, bool decrypt) {
    stored_key sk;
    auto& m = sk.meta;
    m.kid = PQgetvalue(rows, i, 0);
    m.alg = PQgetvalue(rows, i, 1);
    auto state = key_state_from_string(PQgetvalue(rows, i, 2));
    if (!state || !jose::alg_from_string(m.alg)) {
      fail("read keys", ("malformed key record " + m.kid).c_str());
      return errc::store_corrupt;
    }
    m.state = *state;
    m.created = to_int64(PQgetvalue(rows, i, 3));
    m.activated = to_int64(PQgetvalue(rows, i, 4));
    m.deactivated = to_int64(PQgetvalue(rows, i, 5));
    m.retire_at = to_int64(PQgetvalue(rows, i, 6));
    if (!decrypt || m.state == key_state::retired) return sk;
    if (PQgetisnull(rows, i, 7)) {
      fail("read keys", ("no private key stored for kid " + m.kid).c_str());
      return errc::store_corrupt;
    }
    auto key = read_private_pem(PQgetvalue(rows, i, 7), opt_.passphrase,
                                jose::alg_from_string(m.alg), m.kid);
    if (!key) {
      std::cerr << "gatepass: " << describe() << ": cannot read private key for kid " << m.kid
                << "\n";
      return errc::wrong_passphrase;
    }
    sk.key = std::move(*key);
    sk.encrypted = is_encrypted_pem(PQgetvalue(rows, i, 7));
    if (!PQgetisnull(rows, i, 8)) sk.cert_der = pem_cert_to_der(PQgetvalue(rows, i, 8));
    return sk;
  }

  static std::vector<client_record> clients_of(PGresult* rows) {
    std::vector<client_record> out;
    for (int i = 0; i < PQntuples(rows); ++i) {
      client_record c;
      c.id = PQgetvalue(rows, i, 0);
      c.secret_hash = PQgetvalue(rows, i, 1);
      c.scopes = string_list(PQgetvalue(rows, i, 2));
      c.audience = string_list(PQgetvalue(rows, i, 3));
      c.created = to_int64(PQgetvalue(rows, i, 4));
      out.push_back(std::move(c));
    }
    return out;
  }

  std::string uri_;
  std::string conninfo_;
  store_options opt_;
  std::mutex m_;  // one connection, one statement at a time
  conn_ptr conn_;
  bool migrated_ = false;
  std::string last_error_;
  std::mutex listen_m_;
  conn_ptr listen_;
  bool relistened_ = false;
};

}  // namespace

result<std::unique_ptr<key_store>> open_postgres_store(const std::string& uri,
                                                       const store_options& opt) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos || scheme + 3 >= uri.size()) return errc::store_uri_invalid;
  return std::unique_ptr<key_store>(std::make_unique<pg_key_store>(uri, opt));
}

}  // namespace gatepass::keys
