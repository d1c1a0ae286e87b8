// AlterUserScramCredentials v0 (flexible): deletes and upserts SCRAM
// credentials, one result per user named. Needs ALTER on the cluster. As in
// Kafka, a user's changes apply all or none: an empty name, an unknown
// mechanism, iterations out of range, the same (user, mechanism) twice, or
// the deletion of a missing credential fails that user and changes nothing of
// it. The client sends the salted password, never the password.
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "auth/scram.h"
#include "auth/user_store.h"
#include "base/assert.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

namespace {

constexpr size_t salt_bytes_max = 1024;

struct deletion {
  std::string name;
  int8_t mechanism = 0;
};

struct upsertion {
  std::string name;
  int8_t mechanism = 0;
  int32_t iterations = 0;
  std::span<const uint8_t> salt;  // into the request body
  std::span<const uint8_t> salted_password;
};

struct alter_request {
  std::vector<deletion> deletions;
  std::vector<upsertion> upsertions;
};

struct user_result {
  std::string user;
  error_code error = error_code::none;
  std::optional<std::string> message;
};

bool decode(reader& r, alter_request& req) {
  int32_t n = r.array_length(true);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    deletion d;
    d.name = r.string(true);
    d.mechanism = r.i8();
    r.skip_tagged_fields();
    req.deletions.push_back(std::move(d));
  }
  n = r.array_length(true);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    upsertion u;
    u.name = r.string(true);
    u.mechanism = r.i8();
    u.iterations = r.i32();
    u.salt = r.bytes(true);
    u.salted_password = r.bytes(true);
    r.skip_tagged_fields();
    req.upsertions.push_back(std::move(u));
  }
  r.skip_tagged_fields();
  return r.ok();
}

std::optional<auth::scram_hash> hash_from_wire(int8_t v) {
  if (v == static_cast<int8_t>(auth::scram_hash::sha256)) return auth::scram_hash::sha256;
  if (v == static_cast<int8_t>(auth::scram_hash::sha512)) return auth::scram_hash::sha512;
  return std::nullopt;
}

std::string unknown_mechanism_message(int8_t v) {
  return "unknown SCRAM mechanism " + std::to_string(v) + ": use 1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512)";
}

// The results, one per user in order of first mention, and what failed each.
class alteration {
 public:
  explicit alteration(const alter_request& req) {
    for (const auto& d : req.deletions) add_user(d.name);
    for (const auto& u : req.upsertions) add_user(u.name);
  }

  void fail_all(error_code e, const std::string& message) {
    for (auto& r : results_) fail(r.user, e, message);
  }
  // Keeps the first error of a user.
  void fail(const std::string& user, error_code e, std::string message) {
    user_result& r = result_for(user);
    if (r.error != error_code::none) return;
    r.error = e;
    r.message = std::move(message);
  }
  bool failed(const std::string& user) { return result_for(user).error != error_code::none; }
  std::vector<user_result>& results() { return results_; }

 private:
  void add_user(const std::string& name) {
    if (index_.emplace(name, results_.size()).second) {
      results_.push_back({.user = name, .error = error_code::none, .message = std::nullopt});
    }
  }
  user_result& result_for(const std::string& user) {
    auto it = index_.find(user);
    STRATA_ASSERT(it != index_.end(), "a user the request does not name");
    return results_[it->second];
  }
  std::vector<user_result> results_;
  std::unordered_map<std::string, size_t> index_;  // user -> its result
};

void check_values(const alter_request& req, alteration& alt) {
  const std::string empty_name = "the user name must not be empty";
  for (const auto& d : req.deletions) {
    if (d.name.empty()) alt.fail(d.name, error_code::unacceptable_credential, empty_name);
    if (!hash_from_wire(d.mechanism)) {
      alt.fail(d.name, error_code::unsupported_sasl_mechanism, unknown_mechanism_message(d.mechanism));
    }
  }
  for (const auto& u : req.upsertions) {
    auto hash = hash_from_wire(u.mechanism);
    if (u.name.empty()) alt.fail(u.name, error_code::unacceptable_credential, empty_name);
    if (!hash) {
      alt.fail(u.name, error_code::unsupported_sasl_mechanism, unknown_mechanism_message(u.mechanism));
      continue;
    }
    if (u.iterations < static_cast<int64_t>(auth::scram_iterations_min) ||
        u.iterations > static_cast<int64_t>(auth::scram_iterations_max)) {
      alt.fail(u.name, error_code::unacceptable_credential,
               "iterations " + std::to_string(u.iterations) + " out of range: use " +
                   std::to_string(auth::scram_iterations_min) + " to " + std::to_string(auth::scram_iterations_max));
    }
    if (u.salt.empty() || u.salt.size() > salt_bytes_max) {
      alt.fail(u.name, error_code::unacceptable_credential,
               "the salt must have 1 to " + std::to_string(salt_bytes_max) + " bytes");
    }
    if (u.salted_password.size() != auth::digest_bytes(*hash)) {
      alt.fail(u.name, error_code::unacceptable_credential,
               std::string("the salted password of ") + auth::mechanism_name(*hash) + " must have " +
                   std::to_string(auth::digest_bytes(*hash)) + " bytes");
    }
  }
}

void check_duplicates(const alter_request& req, alteration& alt) {
  std::vector<std::pair<std::string, int8_t>> pairs;
  for (const auto& d : req.deletions) pairs.emplace_back(d.name, d.mechanism);
  for (const auto& u : req.upsertions) pairs.emplace_back(u.name, u.mechanism);
  std::sort(pairs.begin(), pairs.end());
  for (size_t i = 1; i < pairs.size(); ++i) {
    if (pairs[i] == pairs[i - 1]) {
      alt.fail(pairs[i].first, error_code::duplicate_resource,
               "a user credential cannot be altered twice in the same request: send one change per user and "
               "mechanism");
    }
  }
}

void check_deletions_exist(const auth::user_store& users, const alter_request& req, alteration& alt) {
  for (const auto& d : req.deletions) {
    if (alt.failed(d.name)) continue;
    auto hash = *hash_from_wire(d.mechanism);
    auto found = users.describe(d.name);
    bool has = found && std::any_of(found->mechanisms.begin(), found->mechanisms.end(),
                                    [&](const auth::mechanism_info& m) { return m.hash == hash; });
    if (!has) {
      alt.fail(d.name, error_code::resource_not_found,
               "user " + d.name + " has no " + auth::mechanism_name(hash) + " credential to delete");
    }
  }
}

// Upsertions first, so that replacing a user's only mechanism by another
// never removes the user in between.
void apply(auth::user_store& users, const alter_request& req, alteration& alt) {
  for (const auto& u : req.upsertions) {
    if (alt.failed(u.name)) continue;
    auto hash = *hash_from_wire(u.mechanism);
    auto secret = auth::scram_secret_from_salted(hash, u.salted_password, u.salt, static_cast<uint32_t>(u.iterations));
    if (auto st = users.upsert_credential(u.name, secret); !st) {
      bool refused = st.code() == errc::invalid_argument || st.code() == errc::limit_exceeded;
      alt.fail(u.name, refused ? error_code::unacceptable_credential : error_code::unknown_server_error,
               st.err().message);
    }
  }
  for (const auto& d : req.deletions) {
    if (alt.failed(d.name)) continue;
    if (auto st = users.delete_credential(d.name, *hash_from_wire(d.mechanism)); !st) {
      alt.fail(d.name, st.code() == errc::not_found ? error_code::resource_not_found : error_code::unknown_server_error,
               st.err().message);
    }
  }
}

std::vector<user_result> alter(services& s, const request& req, const alter_request& parsed) {
  alteration alt(parsed);
  if (!cluster_authorized(s, req, auth::operation::alter)) {
    alt.fail_all(error_code::cluster_authorization_failed, cluster_denied_message(req, auth::operation::alter));
    return std::move(alt.results());
  }
  if (s.users == nullptr) {
    alt.fail_all(error_code::security_disabled, scram_users_disabled_message());
    return std::move(alt.results());
  }
  if (parsed.deletions.size() + parsed.upsertions.size() > static_cast<size_t>(acl_request_entries_max)) {
    alt.fail_all(error_code::invalid_request, "at most " + std::to_string(acl_request_entries_max) +
                                                  " credential changes per request: send them in smaller batches");
    return std::move(alt.results());
  }
  check_values(parsed, alt);
  check_duplicates(parsed, alt);
  check_deletions_exist(*s.users, parsed, alt);
  apply(*s.users, parsed, alt);
  return std::move(alt.results());
}

void encode(writer& w, const std::vector<user_result>& results) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), true);
  for (const auto& r : results) {
    w.string(r.user, true);
    w.i16(wire_code(r.error));
    w.nullable_string(r.message, true);
    w.empty_tagged_fields();
  }
  w.empty_tagged_fields();
}

}  // namespace

status alter_user_scram_credentials(services& s, const request& req, respond_fn respond) {
  reader r(req.body);
  alter_request parsed;
  if (!decode(r, parsed)) return malformed_request(req.header);
  auto results = alter(s, req, parsed);
  count_errors(s, req.header, results);
  writer w;
  encode(w, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
