#include "auth/user_store.h"

#include <fmt/format.h>

#include <algorithm>

#include "auth/codec.h"
#include "meta/kv.h"

namespace strata::auth {

namespace {

constexpr std::string_view user_prefix = "auth/user/";
constexpr uint8_t user_format_version = 1;
constexpr size_t salt_bytes_max = 256;  // salts come from clients (AlterUserScramCredentials)

std::string user_key(std::string_view name) { return std::string(user_prefix) + std::string(name); }

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = uint8_t(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = uint8_t(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

status validate_name(std::string_view name) {
  if (name.empty()) return make_error(errc::invalid_argument, "the user name is empty");
  if (name.size() > user_name_bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("the user name is {} bytes; the limit is {}", name.size(),
                                                          user_name_bytes_max));
  }
  for (char c : name) {
    if (uint8_t(c) < 0x20 || c == 0x7f) {
      return make_error(errc::invalid_argument, "the user name has a control character; use printable characters");
    }
  }
  if (!valid_utf8(name)) return make_error(errc::invalid_argument, "the user name is not valid UTF-8");
  return {};
}

status validate_password(std::string_view password) {
  if (password.empty()) return make_error(errc::invalid_argument, "the password is empty");
  if (password.size() > password_bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("the password is {} bytes; the limit is {}", password.size(),
                                                          password_bytes_max));
  }
  return {};
}

status validate_secret(const scram_secret& s) {
  if (s.hash != scram_hash::sha256 && s.hash != scram_hash::sha512) {
    return make_error(errc::invalid_argument,
                      fmt::format("SCRAM mechanism code {} is unknown; use 1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512)",
                                  int(s.hash)));
  }
  if (s.iterations < scram_iterations_min || s.iterations > scram_iterations_max) {
    return make_error(errc::invalid_argument, fmt::format("{} iterations is outside {}..{}", s.iterations,
                                                          scram_iterations_min, scram_iterations_max));
  }
  if (s.salt.empty() || s.salt.size() > salt_bytes_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("the SCRAM salt is {} bytes; it must be 1..{}", s.salt.size(), salt_bytes_max));
  }
  const size_t n = digest_bytes(s.hash);
  if (s.stored_key.size() != n || s.server_key.size() != n) {
    return make_error(errc::invalid_argument, fmt::format("{} keys must be {} bytes", mechanism_name(s.hash), n));
  }
  return {};
}

std::vector<scram_secret> make_secrets(std::string_view password, const random_source& random) {
  std::vector<scram_secret> out;
  for (scram_hash h : {scram_hash::sha256, scram_hash::sha512}) {
    std::vector<uint8_t> salt(scram_salt_bytes);
    random(salt);
    out.push_back(make_scram_secret(h, password, salt, scram_iterations_default));
  }
  return out;
}

}  // namespace

struct user_store::user {
  std::string name;
  std::vector<scram_secret> secrets;  // by hash, at most one each
};

namespace {

std::string encode_user(const std::vector<scram_secret>& secrets) {
  codec::writer w;
  w.u8(user_format_version);
  w.u8(uint8_t(secrets.size()));
  for (const scram_secret& s : secrets) {
    w.u8(uint8_t(s.hash));
    w.u32(s.iterations);
    w.bytes16(s.salt);
    w.bytes16(s.stored_key);
    w.bytes16(s.server_key);
  }
  return w.take();
}

// errc::corrupt, naming the key, for a value that does not decode; unsupported for a newer version.
result<std::vector<scram_secret>> decode_user(std::string_view key, std::string_view value) {
  auto corrupt = [&](std::string_view why) {
    return make_error(errc::corrupt, fmt::format("auth store record \"{}\" is corrupt: {}; restore the meta store "
                                                 "from a backup or delete the key and recreate the user",
                                                 key, why));
  };
  codec::reader r(value);
  const auto version = r.u8();
  if (!version) return corrupt("empty value");
  if (*version != user_format_version) {
    return make_error(errc::unsupported, fmt::format("auth store record \"{}\" has format version {}; this build "
                                                     "reads version {} (was it written by a newer Strata?)",
                                                     key, *version, user_format_version));
  }
  const auto count = r.u8();
  if (!count || *count == 0) return corrupt("no SCRAM mechanism");
  std::vector<scram_secret> out;
  for (uint8_t i = 0; i < *count; ++i) {
    const auto code = r.u8();
    const auto iterations = r.u32();
    const auto salt = r.bytes16();
    const auto stored = r.bytes16();
    const auto server = r.bytes16();
    if (!code || !iterations || !salt || !stored || !server) return corrupt("truncated");
    scram_secret s;
    s.hash = scram_hash(int8_t(*code));
    s.iterations = *iterations;
    s.salt = codec::to_vector(*salt);
    s.stored_key = codec::to_vector(*stored);
    s.server_key = codec::to_vector(*server);
    if (auto ok = validate_secret(s); !ok.ok()) return corrupt(ok.err().message);
    if (!out.empty() && out.back().hash >= s.hash) return corrupt("mechanisms out of order or repeated");
    out.push_back(std::move(s));
  }
  if (!r.at_end()) return corrupt("trailing bytes");
  return out;
}

}  // namespace

user_store::user_store(meta::kv& kv) : kv_(kv) {}
user_store::~user_store() = default;

result<std::unique_ptr<user_store>> user_store::open(meta::kv& kv) {
  std::unique_ptr<user_store> store(new user_store(kv));
  STRATA_TRY(store->reload());
  return store;
}

status user_store::reload() {
  std::vector<user> loaded;
  std::optional<error> failed;
  auto scanned = kv_.scan_prefix(user_prefix, [&](std::string_view key, std::string_view value) {
    if (failed) return;
    const std::string_view name = key.substr(user_prefix.size());
    if (auto ok = validate_name(name); !ok.ok()) {
      failed = make_error(errc::corrupt, fmt::format("auth store key \"{}\" names no valid user: {}", key,
                                                     ok.err().message));
      return;
    }
    auto secrets = decode_user(key, value);
    if (!secrets.ok()) {
      failed = secrets.err();
      return;
    }
    loaded.push_back(user{std::string(name), std::move(secrets.value())});
  });
  STRATA_TRY(scanned);
  if (failed) return *failed;
  // scan_prefix returns keys in order, and the prefix is common, so users_ is sorted by name.
  STRATA_ASSERT(std::is_sorted(loaded.begin(), loaded.end(), [](const user& a, const user& b) { return a.name < b.name; }),
                "kv scan_prefix out of key order");
  std::lock_guard lock(mu_);
  users_ = std::move(loaded);
  return {};
}

std::vector<user_store::user>::iterator user_store::find(std::string_view name) {
  auto it = std::lower_bound(users_.begin(), users_.end(), name,
                             [](const user& u, std::string_view n) { return u.name < n; });
  return it != users_.end() && it->name == name ? it : users_.end();
}

std::vector<user_store::user>::const_iterator user_store::find(std::string_view name) const {
  return const_cast<user_store*>(this)->find(name);
}

status user_store::write(const user& u) { return kv_.put(user_key(u.name), encode_user(u.secrets)); }

status user_store::create_user(std::string_view name, std::string_view password, const random_source& random) {
  STRATA_TRY(validate_name(name));
  STRATA_TRY(validate_password(password));
  // PBKDF2 runs before the lock, so a slow create does not stall logins.
  user u{std::string(name), make_secrets(password, random)};
  std::lock_guard lock(mu_);
  if (find(name) != users_.end()) {
    return make_error(errc::already_exists, fmt::format("user \"{}\" exists; use set_password to change it", name));
  }
  if (users_.size() >= users_max) {
    return make_error(errc::limit_exceeded, fmt::format("there are {} users already, the limit; delete some first",
                                                        users_.size()));
  }
  STRATA_TRY(write(u));
  auto at = std::lower_bound(users_.begin(), users_.end(), name,
                             [](const user& x, std::string_view n) { return x.name < n; });
  users_.insert(at, std::move(u));
  return {};
}

status user_store::set_password(std::string_view name, std::string_view password, const random_source& random) {
  STRATA_TRY(validate_name(name));
  STRATA_TRY(validate_password(password));
  user u{std::string(name), make_secrets(password, random)};
  std::lock_guard lock(mu_);
  auto it = find(name);
  if (it == users_.end()) return make_error(errc::not_found, fmt::format("no user \"{}\"; create it first", name));
  STRATA_TRY(write(u));
  it->secrets = std::move(u.secrets);
  return {};
}

status user_store::upsert_credential(std::string_view name, const scram_secret& secret) {
  STRATA_TRY(validate_name(name));
  STRATA_TRY(validate_secret(secret));
  std::lock_guard lock(mu_);
  auto it = find(name);
  if (it == users_.end()) {
    if (users_.size() >= users_max) {
      return make_error(errc::limit_exceeded, fmt::format("there are {} users already, the limit; delete some first",
                                                          users_.size()));
    }
    user u{std::string(name), {secret}};
    STRATA_TRY(write(u));
    auto at = std::lower_bound(users_.begin(), users_.end(), name,
                               [](const user& x, std::string_view n) { return x.name < n; });
    users_.insert(at, std::move(u));
    return {};
  }
  user u = *it;
  auto same = std::find_if(u.secrets.begin(), u.secrets.end(), [&](const auto& s) { return s.hash == secret.hash; });
  if (same != u.secrets.end()) {
    *same = secret;
  } else {
    auto at = std::find_if(u.secrets.begin(), u.secrets.end(), [&](const auto& s) { return s.hash > secret.hash; });
    u.secrets.insert(at, secret);
  }
  STRATA_TRY(write(u));
  *it = std::move(u);
  return {};
}

status user_store::delete_credential(std::string_view name, scram_hash hash) {
  std::lock_guard lock(mu_);
  auto it = find(name);
  if (it == users_.end()) return make_error(errc::not_found, fmt::format("no user \"{}\"", name));
  auto same = std::find_if(it->secrets.begin(), it->secrets.end(), [&](const auto& s) { return s.hash == hash; });
  if (same == it->secrets.end()) {
    return make_error(errc::not_found, fmt::format("user \"{}\" has no {} credential", name,
                                                   hash == scram_hash::sha256 || hash == scram_hash::sha512
                                                       ? mechanism_name(hash)
                                                       : "such"));
  }
  if (it->secrets.size() == 1) {
    STRATA_TRY(kv_.remove(user_key(name)));
    users_.erase(it);
    return {};
  }
  user u = *it;
  u.secrets.erase(u.secrets.begin() + (same - it->secrets.begin()));
  STRATA_TRY(write(u));
  *it = std::move(u);
  return {};
}

status user_store::delete_user(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = find(name);
  if (it == users_.end()) return make_error(errc::not_found, fmt::format("no user \"{}\"", name));
  STRATA_TRY(kv_.remove(user_key(name)));
  users_.erase(it);
  return {};
}

namespace {

user_summary summarize(std::string_view name, const std::vector<scram_secret>& secrets) {
  user_summary out;
  out.name = std::string(name);
  for (const scram_secret& s : secrets) out.mechanisms.push_back(mechanism_info{s.hash, s.iterations});
  return out;
}

}  // namespace

std::vector<user_summary> user_store::list() const {
  std::lock_guard lock(mu_);
  std::vector<user_summary> out;
  out.reserve(users_.size());
  for (const user& u : users_) out.push_back(summarize(u.name, u.secrets));
  return out;
}

std::optional<user_summary> user_store::describe(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = find(name);
  if (it == users_.end()) return std::nullopt;
  return summarize(it->name, it->secrets);
}

std::optional<scram_secret> user_store::secret(std::string_view name, scram_hash hash) const {
  std::lock_guard lock(mu_);
  auto it = find(name);
  if (it == users_.end()) return std::nullopt;
  for (const scram_secret& s : it->secrets) {
    if (s.hash == hash) return s;
  }
  return std::nullopt;
}

bool user_store::verify_password(std::string_view name, std::string_view password) const {
  std::optional<scram_secret> chosen;
  {
    std::lock_guard lock(mu_);
    auto it = find(name);
    if (it != users_.end() && !it->secrets.empty()) chosen = it->secrets.front();  // SHA-256 when present
  }
  if (!chosen) {
    // The same PBKDF2 work for a missing user, so timing does not reveal which names exist.
    static const scram_secret mock = [] {
      std::vector<uint8_t> salt(scram_salt_bytes);
      system_random()(salt);
      return make_scram_secret(scram_hash::sha256, "mock", salt, scram_iterations_default);
    }();
    (void)password_matches(mock, password);
    return false;
  }
  // PBKDF2 runs outside the lock: it takes milliseconds.
  return password_matches(*chosen, password);
}

}  // namespace strata::auth
