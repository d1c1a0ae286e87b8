// OffsetFetch v0-7 (flexible from v6). -1 for partitions without a commit;
// a null topic list (v2+) returns every partition the group committed. With
// require_stable (v7+), a partition whose offset an open transaction is about
// to commit answers UNSTABLE_OFFSET_COMMIT (retriable) and offset -1 (KIP-447).
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/txn/coordinator.h"

namespace strata::kafka::handlers {

namespace {

void mark_unstable(const txn::coordinator& txns, const std::string& group, groups::offset_fetch_response& resp) {
  for (auto& t : resp.topics) {
    for (auto& p : t.partitions) {
      if (p.error != error_code::none || !txns.offset_pending(group, {t.name, p.partition})) continue;
      p = {p.partition, -1, -1, std::nullopt, error_code::unstable_offset_commit};
    }
  }
}

void count_response_errors(const services& s, const request_header& header, const groups::offset_fetch_response& resp) {
  (void)counted_code(s, header, resp.error);
  for (const auto& t : resp.topics) count_errors(s, header, t.partitions);
}

}  // namespace

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
    count_response_errors(s, req.header, denied);
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
  if (decoded->require_stable && s.transactions) mark_unstable(*s.transactions, decoded->group_id, fetched);
  count_response_errors(s, req.header, fetched);
  respond(groups::encode_offset_fetch_response(fetched, version));
  return {};
}

}  // namespace strata::kafka::handlers
