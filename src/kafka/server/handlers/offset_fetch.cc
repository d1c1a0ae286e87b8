// OffsetFetch v0-7 (flexible from v6). -1 for partitions without a commit;
// a null topic list (v2+) returns every partition the group committed.
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status offset_fetch(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_offset_fetch_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  auto may_describe = [&](const std::string& topic) {
    return authorized(s, req, auth::operation::describe, auth::resource_type::topic, topic);
  };
  if (!authorized(s, req, auth::operation::describe, auth::resource_type::group, decoded->group_id)) {
    groups::offset_fetch_response denied;
    denied.error = error_code::group_authorization_failed;
    for (const auto& t : decoded->topics.value_or(std::vector<groups::offset_fetch_topic>{})) {
      groups::offset_fetch_topic_result result{t.name, {}};
      for (int32_t p : t.partitions) result.partitions.push_back({p, -1, -1, std::nullopt, denied.error});
      denied.topics.push_back(std::move(result));
    }
    respond(groups::encode_offset_fetch_response(denied, version));
    return {};
  }
  auto fetched = s.groups.fetch_offsets(*decoded);
  // Topics the principal may not describe: left out of an all-topics answer,
  // TOPIC_AUTHORIZATION_FAILED when named, as in Kafka.
  if (!decoded->topics) {
    std::erase_if(fetched.topics, [&](const groups::offset_fetch_topic_result& t) { return !may_describe(t.name); });
  } else {
    for (auto& t : fetched.topics) {
      if (may_describe(t.name)) continue;
      for (auto& p : t.partitions) p = {p.partition, -1, -1, std::nullopt, error_code::topic_authorization_failed};
    }
  }
  respond(groups::encode_offset_fetch_response(fetched, version));
  return {};
}

}  // namespace strata::kafka::handlers
