// The entity of DescribeClientQuotas and AlterClientQuotas on the wire: a
// list of (entity_type, entity_name) with entity_name null for the default.
#pragma once

#include <optional>
#include <string>

#include "kafka/protocol/wire.h"
#include "kafka/server/client_quotas.h"

namespace strata::kafka::handlers {

inline constexpr int32_t quota_entries_max = 10'000;
inline constexpr std::string_view entity_user = "user";
inline constexpr std::string_view entity_client_id = "client-id";

// Reads one entity; an error message for an unknown or repeated type.
std::optional<std::string> decode_entity(reader& r, bool flex, quota_entity& out);
void encode_entity(writer& w, bool flex, const quota_entity& e);

}  // namespace strata::kafka::handlers
