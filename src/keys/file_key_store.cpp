// file:DIR — the embedded key store. Layout: keyring.json (all metadata, one atomic file, so a
// crash leaves either the old or the new ring, never a mix), <kid>.key.pem (PKCS#8, encrypted
// with the passphrase), <kid>.crt.pem (x5c certificate), clients.json, .lock (flock).
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/base64url.h"
#include "common/ossl.h"
#include "jose/json.h"
#include "keys/certificate.h"
#include "keys/errc.h"
#include "keys/key_generator.h"
#include "keys/key_store.h"

namespace gatepass::keys {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::error_code io_error(const fs::path& p, const char* what) {
  std::cerr << "gatepass: " << what << " " << p.string() << ": " << std::strerror(errno) << "\n";
  return errc::store_io;
}

// temp file, fsync, rename, fsync of the folder; a failure removes the temp file (it may hold
// part of a private key)
std::error_code write_atomic(const fs::path& path, std::string_view data) {
  const fs::path tmp =
      path.parent_path() / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
  struct remove_on_failure {
    const fs::path& p;
    bool done = false;
    ~remove_on_failure() {
      if (!done) ::unlink(p.c_str());
    }
  } cleanup{tmp};
  {
    fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return io_error(tmp, "cannot create");
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error(tmp, "cannot write");
      }
      off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return io_error(tmp, "cannot fsync");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error(path, "cannot rename onto");
  cleanup.done = true;
  fd_guard dir(::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return {};
}

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// kids are free text (`--kid my-key-id`); file names use the kid when it is a safe token,
// else its base64url SHA-256.
std::string file_stem(const std::string& kid) {
  bool safe = !kid.empty() && kid.size() <= 100 && kid[0] != '.';
  for (char c : kid)
    safe = safe && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.');
  if (safe) return kid;
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(kid.data(), kid.size(), md, &len, EVP_sha256(), nullptr);
  return "k-" + base64url_encode(std::string_view(reinterpret_cast<char*>(md), len));
}

json::object record_to_json(const key_record& r) {
  json::object o;
  o["kid"] = r.kid;
  o["alg"] = r.alg;
  o["state"] = to_string(r.state);
  o["created"] = r.created;
  o["activated"] = r.activated;
  o["deactivated"] = r.deactivated;
  o["retire_at"] = r.retire_at;
  return o;
}

std::optional<key_record> record_from_json(const json::value& v) {
  const auto* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  key_record r;
  auto str = [&](const char* n) -> const json::string* {
    auto it = o->find(n);
    return it != o->end() ? it->value().if_string() : nullptr;
  };
  auto num = [&](const char* n, std::int64_t& out) {
    auto it = o->find(n);
    if (it == o->end() || !it->value().is_int64()) return false;
    out = it->value().get_int64();
    return true;
  };
  const auto* kid = str("kid");
  const auto* alg = str("alg");
  const auto* state = str("state");
  if (kid == nullptr || alg == nullptr || state == nullptr) return std::nullopt;
  auto st = key_state_from_string(*state);
  if (!st || !jose::alg_from_string(*alg)) return std::nullopt;
  r.kid = std::string(*kid);
  r.alg = std::string(*alg);
  r.state = *st;
  if (!num("created", r.created) || !num("activated", r.activated) ||
      !num("deactivated", r.deactivated) || !num("retire_at", r.retire_at))
    return std::nullopt;
  return r;
}

class file_key_store final : public key_store {
 public:
  file_key_store(fs::path dir, store_options opt) : dir_(std::move(dir)), opt_(std::move(opt)) {}

  result<std::vector<stored_key>> load() override {
    auto records = read_ring();
    if (!records) return records.error();
    std::vector<stored_key> out;
    for (auto& r : *records) {
      stored_key sk{r, std::nullopt, {}};
      if (r.state != key_state::retired) {
        const auto stem = file_stem(r.kid);
        auto pem = read_file(dir_ / (stem + ".key.pem"));
        if (!pem) {
          std::cerr << "gatepass: " << (dir_ / (stem + ".key.pem")).string()
                    << ": missing key file for kid " << r.kid << "\n";
          return errc::store_corrupt;
        }
        auto key = read_private_pem(*pem, opt_.passphrase, jose::alg_from_string(r.alg), r.kid);
        if (!key) {
          std::cerr << "gatepass: " << (dir_ / (stem + ".key.pem")).string()
                    << ": cannot read private key for kid " << r.kid << "\n";
          return errc::wrong_passphrase;
        }
        sk.key = std::move(*key);
        sk.encrypted = is_encrypted_pem(*pem);
        if (auto cert = read_file(dir_ / (stem + ".crt.pem"))) sk.cert_der = pem_cert_to_der(*cert);
      }
      out.push_back(std::move(sk));
    }
    return out;
  }

  result<std::string> version() override {
    struct stat st {};
    if (::stat((dir_ / "keyring.json").c_str(), &st) != 0) return std::string("absent");
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }

  std::error_code transact(const mutation& fn) override {
    auto lock = acquire_lock();
    if (!lock) return lock.error();
    auto records = read_ring();
    if (!records) return records.error();
    // Keys written with another passphrase would lock every other process out: prove this
    // one opens an existing key before writing anything.
    if (auto ec = check_passphrase(*records)) return ec;
    auto change = fn(*records);
    if (!change) return change.error();
    // key material first: until the ring names it, a new file is an ignored orphan
    for (const auto& added : change->added) {
      if (!added.key) return errc::store_corrupt;
      auto pem = private_pem(*added.key, opt_.passphrase);
      if (!pem) return pem.error();
      const auto stem = file_stem(added.meta.kid);
      if (auto ec = write_atomic(dir_ / (stem + ".key.pem"), *pem)) return ec;
      if (!added.cert_der.empty())
        if (auto ec = write_atomic(dir_ / (stem + ".crt.pem"), der_to_pem_cert(added.cert_der)))
          return ec;
    }
    if (auto ec = write_ring(change->records)) return ec;
    for (const auto& kid : change->deleted) {
      const auto stem = file_stem(kid);
      std::error_code ignore;
      fs::remove(dir_ / (stem + ".key.pem"), ignore);
      fs::remove(dir_ / (stem + ".crt.pem"), ignore);
    }
    return {};
  }

  result<std::vector<client_record>> load_clients() override {
    auto text = read_file(dir_ / "clients.json");
    std::vector<client_record> out;
    if (!text) return out;
    auto doc = jose::parse_json_object(*text);
    if (!doc) return errc::store_corrupt;
    auto it = doc->find("clients");
    if (it == doc->end() || !it->value().is_array()) return errc::store_corrupt;
    for (const auto& v : it->value().get_array()) {
      const auto* o = v.if_object();
      if (o == nullptr) return errc::store_corrupt;
      client_record c;
      auto s = [&](const char* n) {
        auto f = o->find(n);
        return f != o->end() && f->value().is_string() ? std::string(f->value().get_string())
                                                       : std::string();
      };
      auto list = [&](const char* n) {
        std::vector<std::string> l;
        auto f = o->find(n);
        if (f != o->end() && f->value().is_array())
          for (const auto& e : f->value().get_array())
            if (e.is_string()) l.emplace_back(e.get_string());
        return l;
      };
      c.id = s("id");
      c.secret_hash = s("secret_hash");
      c.scopes = list("scopes");
      c.audience = list("audience");
      if (auto f = o->find("created"); f != o->end() && f->value().is_int64())
        c.created = f->value().get_int64();
      if (c.id.empty() || c.secret_hash.empty()) return errc::store_corrupt;
      out.push_back(std::move(c));
    }
    return out;
  }

  std::error_code transact_clients(const client_mutation& fn) override {
    auto lock = acquire_lock();
    if (!lock) return lock.error();
    auto clients = load_clients();
    if (!clients) return clients.error();
    if (auto ec = fn(*clients)) return ec;
    json::array arr;
    for (const auto& c : *clients) {
      json::object o;
      o["id"] = c.id;
      o["secret_hash"] = c.secret_hash;
      o["scopes"] = json::value_from(c.scopes);
      o["audience"] = json::value_from(c.audience);
      o["created"] = c.created;
      arr.push_back(std::move(o));
    }
    json::object doc;
    doc["version"] = 1;
    doc["clients"] = std::move(arr);
    return write_atomic(dir_ / "clients.json", json::serialize(doc) + "\n");
  }

  std::string describe() const override { return "file:" + dir_.string(); }

  std::error_code prepare() {
    std::error_code ec;
    if (!fs::exists(dir_)) {
      fs::create_directories(dir_, ec);
      if (ec) {
        std::cerr << "gatepass: cannot create key store " << dir_.string() << ": " << ec.message()
                  << "\n";
        return errc::store_io;
      }
      ::chmod(dir_.c_str(), 0700);
    } else if (!fs::is_directory(dir_)) {
      std::cerr << "gatepass: key store " << dir_.string() << " is not a folder\n";
      return errc::store_io;
    }
    return {};
  }

 private:
  result<std::shared_ptr<fd_guard>> acquire_lock() {
    auto fd = std::make_shared<fd_guard>(
        ::open((dir_ / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd->get() < 0) return io_error(dir_ / ".lock", "cannot open");
    while (::flock(fd->get(), LOCK_EX) != 0)
      if (errno != EINTR) return io_error(dir_ / ".lock", "cannot lock");
    return fd;  // closing the descriptor releases the lock
  }

  std::error_code check_passphrase(const std::vector<key_record>& records) {
    for (const auto& r : records) {
      if (r.state == key_state::retired) continue;
      auto pem = read_file(dir_ / (file_stem(r.kid) + ".key.pem"));
      if (!pem) return errc::store_corrupt;
      if (!read_private_pem(*pem, opt_.passphrase, jose::alg_from_string(r.alg), r.kid))
        return errc::wrong_passphrase;
      return {};
    }
    return {};
  }

  result<std::vector<key_record>> read_ring() {
    const auto path = dir_ / "keyring.json";
    auto text = read_file(path);
    std::vector<key_record> out;
    if (!text) {
      if (fs::exists(path)) return io_error(path, "cannot read");
      return out;
    }
    auto doc = jose::parse_json_object(*text);
    auto bad = [&](const std::string& why) -> std::error_code {
      std::cerr << "gatepass: " << path.string() << ": " << why << "\n";
      return errc::store_corrupt;
    };
    if (!doc) return bad(doc.error().message());
    auto it = doc->find("keys");
    if (it == doc->end() || !it->value().is_array()) return bad("no \"keys\" array");
    for (const auto& v : it->value().get_array()) {
      auto r = record_from_json(v);
      if (!r) return bad("malformed key record " + json::serialize(v));
      out.push_back(std::move(*r));
    }
    return out;
  }

  std::error_code write_ring(const std::vector<key_record>& records) {
    json::array arr;
    for (const auto& r : records) arr.push_back(record_to_json(r));
    json::object doc;
    doc["version"] = 1;
    doc["keys"] = std::move(arr);
    return write_atomic(dir_ / "keyring.json", json::serialize(doc) + "\n");
  }

  fs::path dir_;
  store_options opt_;
};

}  // namespace

result<std::unique_ptr<key_store>> open_file_store(const std::string& dir,
                                                   const store_options& opt) {
  if (dir.empty()) return errc::store_uri_invalid;
  auto store = std::make_unique<file_key_store>(fs::path(dir), opt);
  if (auto ec = store->prepare()) return ec;
  return std::unique_ptr<key_store>(std::move(store));
}

}  // namespace gatepass::keys
