// What the ACL and SCRAM-credential handlers share: request limits, the wire
// form of an ACL filter, wire codes to auth enums, and the messages for a
// disabled feature or a refused principal.
#pragma once

#include <cstdint>
#include <string>

#include "auth/acl.h"
#include "kafka/protocol/wire.h"
#include "kafka/server/handler.h"

namespace strata::kafka::handlers {

// Bindings, filters, users or credential changes in one request.
inline constexpr int32_t acl_request_entries_max = 10'000;

// Wire codes outside the enum's range become `unknown`, as Kafka's fromCode does.
auth::resource_type resource_type_from_wire(int8_t v);
auth::pattern_type pattern_type_from_wire(int8_t v);
auth::operation operation_from_wire(int8_t v);
auth::permission permission_from_wire(int8_t v);

// Reads the fields of a DescribeAcls/DeleteAcls filter (no tagged fields).
// Before v1 there is no pattern type field: the filter selects literal bindings.
auth::acl_filter decode_acl_filter(reader& r, int16_t version, bool flex);

// Writes a binding's principal, host, operation and permission, the fields
// DescribeAcls and DeleteAcls answer alike (no tagged fields).
void encode_acl_access(writer& w, const auth::acl_binding& b, bool flex);

// The message of SECURITY_DISABLED when services have no ACL or user store.
std::string acls_disabled_message();
std::string scram_users_disabled_message();

// The message of CLUSTER_AUTHORIZATION_FAILED for a request that needs `op` on the cluster.
std::string cluster_denied_message(const request& req, auth::operation op);

}  // namespace strata::kafka::handlers
