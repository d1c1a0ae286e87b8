// Kafka-style access control lists and the authorizer that applies them.
// A binding allows or denies one principal ("User:alice", or "User:*") from
// one host (or "*") one operation on resources of one type, named literally
// or by prefix (or "*" for all). Kept in a meta::kv under "auth/acl/"
// (docs/formats/auth-store.md) and cached in memory.
//
// The enum values are Kafka's wire codes, so the ACL API handlers pass them
// through.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace strata::meta {
class kv;
}

namespace strata::auth {

enum class resource_type : int8_t { unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactional_id = 5,
                                    delegation_token = 6, user = 7 };
enum class pattern_type : int8_t { unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4 };
enum class operation : int8_t { unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, remove = 6, alter = 7,
                                describe = 8, cluster_action = 9, describe_configs = 10, alter_configs = 11,
                                idempotent_write = 12, create_tokens = 13, describe_tokens = 14 };
enum class permission : int8_t { unknown = 0, any = 1, deny = 2, allow = 3 };

inline constexpr std::string_view cluster_resource_name = "kafka-cluster";
inline constexpr std::string_view wildcard = "*";
inline constexpr size_t acls_max = 100'000;
inline constexpr size_t acl_field_bytes_max = 1024;  // resource name, principal, host

const char* resource_type_name(resource_type t);  // "TOPIC"
const char* operation_name(operation op);         // "READ"

struct acl_binding {
  resource_type type = resource_type::unknown;
  std::string name;
  pattern_type pattern = pattern_type::literal;  // literal or prefixed once stored
  std::string principal;                         // "User:NAME" or "User:*"
  std::string host = "*";
  operation op = operation::unknown;
  permission perm = permission::unknown;
  bool operator==(const acl_binding&) const = default;
};

// What DescribeAcls and DeleteAcls select. `any` values and unset strings
// match everything; pattern `match` selects the literal bindings named
// `name`, the wildcard ones and the prefixed ones whose prefix `name` starts
// with, as Kafka does.
struct acl_filter {
  resource_type type = resource_type::any;
  std::optional<std::string> name;
  pattern_type pattern = pattern_type::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  operation op = operation::any;
  permission perm = permission::any;
};

// invalid_argument, saying which field, for a binding that cannot be stored:
// any/match/unknown values, a principal not of the form "TYPE:NAME", an empty
// name, a cluster resource not named "kafka-cluster", an operation that does
// not apply to the resource type, or an oversized field.
status validate(const acl_binding& b);
// invalid_argument for a filter with an unknown value.
status validate(const acl_filter& f);

class acl_store {
 public:
  static result<std::unique_ptr<acl_store>> open(meta::kv& kv);
  status reload();  // as user_store::reload

  status add(const acl_binding& b);  // validates; adding one that exists is a no-op
  // Removes and returns every binding the filter selects (all in one batch).
  result<std::vector<acl_binding>> remove_matching(const acl_filter& f);
  std::vector<acl_binding> matching(const acl_filter& f) const;
  // Every binding that can apply to this resource: literal ones with its name
  // or "*", prefixed ones whose prefix the name starts with.
  std::vector<acl_binding> for_resource(resource_type t, std::string_view name) const;

 private:
  friend class authorizer;  // checks scan bindings_ in place, without copying
  explicit acl_store(meta::kv& kv);
  meta::kv& kv_;
  mutable std::mutex mu_;
  std::map<std::string, acl_binding> bindings_;  // by kv key
};

// Kafka's AclAuthorizer rules: super users may do anything; otherwise a
// matching DENY wins over any ALLOW, and with no matching ALLOW the answer is
// no. ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE, and ALLOW of
// ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL matches every operation.
class authorizer {
 public:
  authorizer(const acl_store& acls, std::vector<std::string> super_users);  // "User:admin"
  bool allowed(std::string_view principal, std::string_view host, operation op, resource_type t,
               std::string_view name) const;
  bool is_super_user(std::string_view principal) const;

 private:
  const acl_store& acls_;
  std::vector<std::string> super_users_;
};

}  // namespace strata::auth
