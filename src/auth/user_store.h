// The users that may log in over SASL: each has a SCRAM verifier per
// mechanism (SCRAM-SHA-256, SCRAM-SHA-512), never a password. Kept in a
// meta::kv under "auth/user/" (docs/formats/auth-store.md) and cached in
// memory; every change is durable before the call returns.
//
// Thread-safe: the Kafka handlers and the admin API call it from the network
// thread, the CLI's admin routes too; one mutex guards the cache.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/scram.h"
#include "base/result.h"

namespace strata::meta {
class kv;
}

namespace strata::auth {

inline constexpr size_t user_name_bytes_max = 256;
inline constexpr size_t password_bytes_max = 1024;
inline constexpr size_t users_max = 100'000;

struct mechanism_info {
  scram_hash hash = scram_hash::sha256;
  uint32_t iterations = 0;
};

struct user_summary {
  std::string name;
  std::vector<mechanism_info> mechanisms;  // in scram_hash order
};

class user_store {
 public:
  // Loads every user from `kv` (which must outlive the store).
  static result<std::unique_ptr<user_store>> open(meta::kv& kv);
  // Reads every user from the kv again; in cluster mode the kv is shared by
  // the nodes, and each reloads to see the others' changes.
  status reload();
  ~user_store();

  // A new user with both SCRAM mechanisms from one password, so the user can
  // log in with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. already_exists if the
  // name is taken; invalid_argument for an empty or oversized name or password
  // or a name with control characters.
  status create_user(std::string_view name, std::string_view password, const random_source& random);
  // Replaces every mechanism's verifier with ones made from `password`; not_found for no such user.
  status set_password(std::string_view name, std::string_view password, const random_source& random);
  // Adds or replaces one mechanism's verifier (Kafka's AlterUserScramCredentials
  // upsertion); creates the user when missing. invalid_argument for iterations
  // outside scram_iterations_min..max or a verifier of the wrong size.
  status upsert_credential(std::string_view name, const scram_secret& secret);
  // not_found when the user has no such mechanism; the user goes when its last mechanism does.
  status delete_credential(std::string_view name, scram_hash hash);
  status delete_user(std::string_view name);  // not_found for no such user

  std::vector<user_summary> list() const;  // by name
  std::optional<user_summary> describe(std::string_view name) const;
  std::optional<scram_secret> secret(std::string_view name, scram_hash hash) const;
  // PLAIN: true when `password` matches the user's SCRAM-SHA-256 verifier (or
  // SCRAM-SHA-512 when that is the only one). False for no such user.
  bool verify_password(std::string_view name, std::string_view password) const;

 private:
  explicit user_store(meta::kv& kv);
  struct user;
  std::vector<user>::iterator find(std::string_view name);  // end() when missing; mu_ held
  std::vector<user>::const_iterator find(std::string_view name) const;
  status write(const user& u);  // puts the user's record; mu_ held
  meta::kv& kv_;
  mutable std::mutex mu_;
  std::vector<user> users_;  // sorted by name
};

}  // namespace strata::auth
