// DescribeUserScramCredentials v0 (flexible): each user's SCRAM mechanisms
// and iteration counts, never the verifiers. A null or empty user list asks
// for every user. Needs DESCRIBE on the cluster. As in Kafka, a user named
// twice gets DUPLICATE_RESOURCE and an unknown one RESOURCE_NOT_FOUND.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/user_store.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

namespace {

struct user_result {
  std::string user;
  error_code error = error_code::none;
  std::optional<std::string> message;
  std::vector<auth::mechanism_info> mechanisms;
};

struct describe_response {
  error_code error = error_code::none;
  std::optional<std::string> message;
  std::vector<user_result> results;
};

bool decode(reader& r, std::optional<std::vector<std::string>>& users) {
  int32_t n = r.array_length(true);
  if (n >= 0) users.emplace();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    users->push_back(r.string(true));
    r.skip_tagged_fields();
  }
  r.skip_tagged_fields();
  return r.ok();
}

user_result describe_user(const auth::user_store& store, const std::string& name) {
  auto found = store.describe(name);
  if (!found) {
    return {.user = name, .error = error_code::resource_not_found,
            .message = "Attempt to describe a user credential that does not exist: " + name, .mechanisms = {}};
  }
  return {.user = name, .error = error_code::none, .message = std::nullopt, .mechanisms = std::move(found->mechanisms)};
}

std::vector<user_result> describe_named(const auth::user_store& store, const std::vector<std::string>& names) {
  std::unordered_map<std::string, int> seen;
  for (const auto& n : names) ++seen[n];
  std::vector<user_result> results;
  for (const auto& n : names) {
    int& count = seen[n];
    if (count == 0) continue;  // already answered
    if (count > 1) {
      results.push_back({.user = n, .error = error_code::duplicate_resource,
                         .message = "Cannot describe SCRAM credentials for the same user twice in a single request: " + n,
                         .mechanisms = {}});
    } else {
      results.push_back(describe_user(store, n));
    }
    count = 0;
  }
  return results;
}

describe_response describe(const services& s, const request& req, const std::optional<std::vector<std::string>>& users) {
  describe_response out;
  auto fail = [&out](error_code e, std::string message) {
    out.error = e;
    out.message = std::move(message);
    return out;
  };
  if (!cluster_authorized(s, req, auth::operation::describe)) {
    return fail(error_code::cluster_authorization_failed, cluster_denied_message(req, auth::operation::describe));
  }
  if (s.users == nullptr) return fail(error_code::security_disabled, scram_users_disabled_message());
  if (users && users->size() > static_cast<size_t>(acl_request_entries_max)) {
    return fail(error_code::invalid_request, "at most " + std::to_string(acl_request_entries_max) +
                                                 " users per request: ask for fewer, or for none to list every user");
  }
  if (users && !users->empty()) {
    out.results = describe_named(*s.users, *users);
    return out;
  }
  for (auto& u : s.users->list()) {
    out.results.push_back({.user = std::move(u.name), .error = error_code::none, .message = std::nullopt,
                           .mechanisms = std::move(u.mechanisms)});
  }
  return out;
}

void encode(writer& w, int16_t top_code, const describe_response& res) {
  w.i32(0);  // throttle_time_ms
  w.i16(top_code);
  w.nullable_string(res.message, true);
  w.array_length(static_cast<int32_t>(res.results.size()), true);
  for (const auto& u : res.results) {
    w.string(u.user, true);
    w.i16(wire_code(u.error));
    w.nullable_string(u.message, true);
    w.array_length(static_cast<int32_t>(u.mechanisms.size()), true);
    for (const auto& m : u.mechanisms) {
      w.i8(static_cast<int8_t>(m.hash));
      w.i32(static_cast<int32_t>(m.iterations));
      w.empty_tagged_fields();
    }
    w.empty_tagged_fields();
  }
  w.empty_tagged_fields();
}

}  // namespace

status describe_user_scram_credentials(services& s, const request& req, respond_fn respond) {
  reader r(req.body);
  std::optional<std::vector<std::string>> users;
  if (!decode(r, users)) return malformed_request(req.header);
  describe_response res = describe(s, req, users);
  int16_t top_code = counted_code(s, req.header, res.error);
  count_errors(s, req.header, res.results);
  writer w;
  encode(w, top_code, res);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
