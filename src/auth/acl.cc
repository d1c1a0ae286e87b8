#include "auth/acl.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <initializer_list>

#include "auth/codec.h"
#include "meta/kv.h"

namespace strata::auth {

namespace {

constexpr std::string_view acl_prefix = "auth/acl/";
constexpr uint8_t acl_format_version = 1;

const char* pattern_name(pattern_type p) {
  switch (p) {
    case pattern_type::unknown: return "UNKNOWN";
    case pattern_type::any: return "ANY";
    case pattern_type::match: return "MATCH";
    case pattern_type::literal: return "LITERAL";
    case pattern_type::prefixed: return "PREFIXED";
  }
  return "UNKNOWN";
}

const char* permission_name(permission p) {
  switch (p) {
    case permission::unknown: return "UNKNOWN";
    case permission::any: return "ANY";
    case permission::deny: return "DENY";
    case permission::allow: return "ALLOW";
  }
  return "UNKNOWN";
}

bool in(operation op, std::initializer_list<operation> ops) { return std::find(ops.begin(), ops.end(), op) != ops.end(); }

// The operations Kafka accepts in an ACL on each resource type (ALL included).
bool applies(operation op, resource_type t) {
  using o = operation;
  switch (t) {
    case resource_type::topic:
      return in(op, {o::all, o::read, o::write, o::create, o::remove, o::alter, o::describe, o::describe_configs,
                     o::alter_configs});
    case resource_type::group: return in(op, {o::all, o::read, o::remove, o::describe});
    case resource_type::cluster:
      return in(op, {o::all, o::create, o::alter, o::describe, o::cluster_action, o::describe_configs, o::alter_configs,
                     o::idempotent_write, o::create_tokens, o::describe_tokens});
    case resource_type::transactional_id: return in(op, {o::all, o::write, o::describe});
    case resource_type::delegation_token: return in(op, {o::all, o::describe});
    case resource_type::user: return in(op, {o::all, o::create_tokens, o::describe_tokens});
    default: return false;
  }
}

bool known(resource_type t) { return int8_t(t) >= 0 && int8_t(t) <= int8_t(resource_type::user); }
bool known(pattern_type p) { return int8_t(p) >= 0 && int8_t(p) <= int8_t(pattern_type::prefixed); }
bool known(operation op) { return int8_t(op) >= 0 && int8_t(op) <= int8_t(operation::describe_tokens); }
bool known(permission p) { return int8_t(p) >= 0 && int8_t(p) <= int8_t(permission::allow); }

status check_field(std::string_view what, std::string_view value) {
  if (value.size() > acl_field_bytes_max) {
    return make_error(errc::invalid_argument, fmt::format("the ACL {} is {} bytes; the limit is {}", what, value.size(),
                                                          acl_field_bytes_max));
  }
  return {};
}

// Deterministic and injective (lengths before the free-text fields), so the
// same binding always lands on the same key and adding it twice is a no-op.
std::string acl_key(const acl_binding& b) {
  return fmt::format("{}{}/{}/{}:{}/{}:{}/{}:{}/{}/{}", acl_prefix, resource_type_name(b.type), pattern_name(b.pattern),
                     b.name.size(), b.name, b.principal.size(), b.principal, b.host.size(), b.host,
                     operation_name(b.op), permission_name(b.perm));
}

std::string encode_acl(const acl_binding& b) {
  codec::writer w;
  w.u8(acl_format_version);
  w.u8(uint8_t(b.type));
  w.u8(uint8_t(b.pattern));
  w.u8(uint8_t(b.op));
  w.u8(uint8_t(b.perm));
  w.bytes16(b.name);
  w.bytes16(b.principal);
  w.bytes16(b.host);
  return w.take();
}

result<acl_binding> decode_acl(std::string_view key, std::string_view value) {
  auto corrupt = [&](std::string_view why) {
    return make_error(errc::corrupt, fmt::format("auth store record \"{}\" is corrupt: {}; restore the meta store "
                                                 "from a backup or delete the key and add the ACL again",
                                                 key, why));
  };
  codec::reader r(value);
  const auto version = r.u8();
  if (!version) return corrupt("empty value");
  if (*version != acl_format_version) {
    return make_error(errc::unsupported, fmt::format("auth store record \"{}\" has format version {}; this build "
                                                     "reads version {} (was it written by a newer Strata?)",
                                                     key, *version, acl_format_version));
  }
  const auto type = r.u8();
  const auto pattern = r.u8();
  const auto op = r.u8();
  const auto perm = r.u8();
  const auto name = r.bytes16();
  const auto principal = r.bytes16();
  const auto host = r.bytes16();
  if (!type || !pattern || !op || !perm || !name || !principal || !host) return corrupt("truncated");
  if (!r.at_end()) return corrupt("trailing bytes");
  acl_binding b;
  b.type = resource_type(int8_t(*type));
  b.pattern = pattern_type(int8_t(*pattern));
  b.op = operation(int8_t(*op));
  b.perm = permission(int8_t(*perm));
  b.name = std::string(*name);
  b.principal = std::string(*principal);
  b.host = std::string(*host);
  if (auto ok = validate(b); !ok.ok()) return corrupt(ok.err().message);
  if (acl_key(b) != key) return corrupt("the value does not match its key");
  return b;
}

// Kafka's ResourcePatternFilter.matches.
bool resource_matches(const acl_filter& f, const acl_binding& b) {
  if (f.type != resource_type::any && f.type != b.type) return false;
  if (f.pattern != pattern_type::any && f.pattern != pattern_type::match && f.pattern != b.pattern) return false;
  if (!f.name) return true;
  if (f.pattern == pattern_type::any || f.pattern == b.pattern) return *f.name == b.name;
  // pattern match: what would apply to a resource named *f.name.
  if (b.pattern == pattern_type::literal) return b.name == *f.name || b.name == wildcard;
  return b.pattern == pattern_type::prefixed && f.name->starts_with(b.name);
}

bool entry_matches(const acl_filter& f, const acl_binding& b) {
  if (f.principal && *f.principal != b.principal) return false;
  if (f.host && *f.host != b.host) return false;
  if (f.op != operation::any && f.op != b.op) return false;
  return f.perm == permission::any || f.perm == b.perm;
}

bool matches(const acl_filter& f, const acl_binding& b) { return resource_matches(f, b) && entry_matches(f, b); }

// Whether a binding can apply to the resource (t, name): for_resource's test.
bool applies_to_resource(const acl_binding& b, resource_type t, std::string_view name) {
  if (b.type != t) return false;
  if (b.pattern == pattern_type::literal) return b.name == name || b.name == wildcard;
  return b.pattern == pattern_type::prefixed && name.starts_with(b.name);
}

}  // namespace

const char* resource_type_name(resource_type t) {
  switch (t) {
    case resource_type::unknown: return "UNKNOWN";
    case resource_type::any: return "ANY";
    case resource_type::topic: return "TOPIC";
    case resource_type::group: return "GROUP";
    case resource_type::cluster: return "CLUSTER";
    case resource_type::transactional_id: return "TRANSACTIONAL_ID";
    case resource_type::delegation_token: return "DELEGATION_TOKEN";
    case resource_type::user: return "USER";
  }
  return "UNKNOWN";
}

const char* operation_name(operation op) {
  switch (op) {
    case operation::unknown: return "UNKNOWN";
    case operation::any: return "ANY";
    case operation::all: return "ALL";
    case operation::read: return "READ";
    case operation::write: return "WRITE";
    case operation::create: return "CREATE";
    case operation::remove: return "DELETE";
    case operation::alter: return "ALTER";
    case operation::describe: return "DESCRIBE";
    case operation::cluster_action: return "CLUSTER_ACTION";
    case operation::describe_configs: return "DESCRIBE_CONFIGS";
    case operation::alter_configs: return "ALTER_CONFIGS";
    case operation::idempotent_write: return "IDEMPOTENT_WRITE";
    case operation::create_tokens: return "CREATE_TOKENS";
    case operation::describe_tokens: return "DESCRIBE_TOKENS";
  }
  return "UNKNOWN";
}

status validate(const acl_binding& b) {
  if (!known(b.type) || b.type == resource_type::unknown || b.type == resource_type::any) {
    return make_error(errc::invalid_argument,
                      fmt::format("ACL resource type {} cannot be stored; use TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, "
                                  "DELEGATION_TOKEN or USER",
                                  int(b.type)));
  }
  if (b.pattern != pattern_type::literal && b.pattern != pattern_type::prefixed) {
    return make_error(errc::invalid_argument,
                      fmt::format("ACL pattern type {} cannot be stored; use LITERAL or PREFIXED", int(b.pattern)));
  }
  if (!known(b.op) || b.op == operation::unknown || b.op == operation::any) {
    return make_error(errc::invalid_argument, fmt::format("ACL operation {} cannot be stored", int(b.op)));
  }
  if (b.perm != permission::allow && b.perm != permission::deny) {
    return make_error(errc::invalid_argument,
                      fmt::format("ACL permission {} cannot be stored; use ALLOW or DENY", int(b.perm)));
  }
  STRATA_TRY(check_field("resource name", b.name));
  STRATA_TRY(check_field("principal", b.principal));
  STRATA_TRY(check_field("host", b.host));
  if (b.name.empty()) return make_error(errc::invalid_argument, "the ACL resource name is empty");
  if (b.type == resource_type::cluster && (b.name != cluster_resource_name || b.pattern != pattern_type::literal)) {
    return make_error(errc::invalid_argument,
                      fmt::format("a CLUSTER ACL must name the literal resource \"{}\"", cluster_resource_name));
  }
  const size_t colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size()) {
    return make_error(errc::invalid_argument,
                      fmt::format("ACL principal \"{}\" is not of the form TYPE:NAME (User:alice or User:*)",
                                  b.principal));
  }
  if (b.host.empty()) return make_error(errc::invalid_argument, "the ACL host is empty; use \"*\" for any host");
  if (!applies(b.op, b.type)) {
    return make_error(errc::invalid_argument, fmt::format("operation {} does not apply to {} resources",
                                                          operation_name(b.op), resource_type_name(b.type)));
  }
  return {};
}

status validate(const acl_filter& f) {
  if (!known(f.type) || f.type == resource_type::unknown) {
    return make_error(errc::invalid_argument, fmt::format("ACL filter resource type {} is unknown", int(f.type)));
  }
  if (!known(f.pattern) || f.pattern == pattern_type::unknown) {
    return make_error(errc::invalid_argument, fmt::format("ACL filter pattern type {} is unknown", int(f.pattern)));
  }
  if (!known(f.op) || f.op == operation::unknown) {
    return make_error(errc::invalid_argument, fmt::format("ACL filter operation {} is unknown", int(f.op)));
  }
  if (!known(f.perm) || f.perm == permission::unknown) {
    return make_error(errc::invalid_argument, fmt::format("ACL filter permission {} is unknown", int(f.perm)));
  }
  return {};
}

acl_store::acl_store(meta::kv& kv) : kv_(kv) {}

result<std::unique_ptr<acl_store>> acl_store::open(meta::kv& kv) {
  std::unique_ptr<acl_store> store(new acl_store(kv));
  STRATA_TRY(store->reload());
  return store;
}

status acl_store::reload() {
  decltype(bindings_) loaded;
  std::optional<error> failed;
  auto scanned = kv_.scan_prefix(acl_prefix, [&](std::string_view key, std::string_view value) {
    if (failed) return;
    auto b = decode_acl(key, value);
    if (!b.ok()) {
      failed = b.err();
      return;
    }
    loaded.emplace(std::string(key), std::move(b.value()));
  });
  STRATA_TRY(scanned);
  if (failed) return *failed;
  std::lock_guard lock(mu_);
  bindings_ = std::move(loaded);
  return {};
}

status acl_store::add(const acl_binding& b) {
  STRATA_TRY(validate(b));
  std::string key = acl_key(b);
  std::lock_guard lock(mu_);
  if (bindings_.contains(key)) return {};
  if (bindings_.size() >= acls_max) {
    return make_error(errc::limit_exceeded,
                      fmt::format("there are {} ACLs already, the limit; remove some or use prefixed ones", acls_max));
  }
  STRATA_TRY(kv_.put(key, encode_acl(b)));
  bindings_.emplace(std::move(key), b);
  return {};
}

result<std::vector<acl_binding>> acl_store::remove_matching(const acl_filter& f) {
  STRATA_TRY(validate(f));
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  std::vector<acl_binding> removed;
  for (const auto& [key, b] : bindings_) {
    if (!matches(f, b)) continue;
    ops.emplace_back(key, std::nullopt);
    removed.push_back(b);
  }
  if (ops.empty()) return removed;
  STRATA_TRY(kv_.write_batch(ops));
  for (const auto& op : ops) bindings_.erase(op.first);
  return removed;
}

std::vector<acl_binding> acl_store::matching(const acl_filter& f) const {
  std::vector<acl_binding> out;
  if (!validate(f).ok()) return out;
  std::lock_guard lock(mu_);
  for (const auto& [key, b] : bindings_) {
    if (matches(f, b)) out.push_back(b);
  }
  return out;
}

// A linear scan under the mutex: clusters keep a few hundred bindings, and
// a scan of those costs microseconds, less than an index kept in step with
// prefixed and wildcard bindings would save.
std::vector<acl_binding> acl_store::for_resource(resource_type t, std::string_view name) const {
  std::vector<acl_binding> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, b] : bindings_) {
    if (applies_to_resource(b, t, name)) out.push_back(b);
  }
  return out;
}

authorizer::authorizer(const acl_store& acls, std::vector<std::string> super_users)
    : acls_(acls), super_users_(std::move(super_users)) {}

bool authorizer::is_super_user(std::string_view principal) const {
  return std::find(super_users_.begin(), super_users_.end(), principal) != super_users_.end();
}

bool authorizer::allowed(std::string_view principal, std::string_view host, operation op, resource_type t,
                         std::string_view name) const {
  if (is_super_user(principal)) return true;
  // Callers ask about one concrete operation; ANY or ALL would be a question Kafka does not ask.
  if (!known(op) || op == operation::unknown || op == operation::any || op == operation::all) return false;
  // Operations whose ALLOW also allows `op`.
  std::array<operation, 5> allowing{op, op, op, op, op};
  if (op == operation::describe) {
    allowing = {operation::describe, operation::read, operation::write, operation::remove, operation::alter};
  } else if (op == operation::describe_configs) {
    allowing = {operation::describe_configs, operation::alter_configs, op, op, op};
  }

  bool allow = false;
  // Scanned in place rather than through for_resource, so a check allocates nothing.
  std::lock_guard lock(acls_.mu_);
  for (const auto& [key, b] : acls_.bindings_) {
    if (!applies_to_resource(b, t, name)) continue;
    if (b.principal != principal && b.principal != "User:*") continue;
    if (b.host != host && b.host != wildcard) continue;
    if (b.perm == permission::deny) {
      // DENY is never implied: it applies to its own operation, or to all.
      if (b.op == op || b.op == operation::all) return false;
    } else if (b.op == operation::all || std::find(allowing.begin(), allowing.end(), b.op) != allowing.end()) {
      allow = true;
    }
  }
  return allow;
}

}  // namespace strata::auth
