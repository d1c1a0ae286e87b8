// OffsetForLeaderEpoch v0-4 (flexible from v4), KIP-101/279: for each
// partition, the largest leader epoch <= the one asked for that this leader
// knows, and the offset where that epoch ends in its log. A follower coming
// back truncates its log there before it fetches again; clients use it to
// detect a log that was truncated under them.
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct epoch_query {
  int32_t partition = 0;
  int32_t current_leader_epoch = -1;
  int32_t leader_epoch = 0;
};

struct topic_query {
  std::string name;
  std::vector<epoch_query> partitions;
};

std::optional<std::vector<topic_query>> decode(const request& req) {
  const int16_t v = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  if (v >= 3) (void)r.i32();  // replica_id: answered the same for followers and clients
  std::vector<topic_query> topics;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    topic_query t;
    t.name = r.string(flex);
    int32_t m = r.array_length(flex);
    for (int32_t j = 0; j < m && r.ok(); ++j) {
      epoch_query q;
      q.partition = r.i32();
      if (v >= 2) q.current_leader_epoch = r.i32();
      q.leader_epoch = r.i32();
      if (flex) r.skip_tagged_fields();
      t.partitions.push_back(q);
    }
    if (flex) r.skip_tagged_fields();
    topics.push_back(std::move(t));
  }
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return std::nullopt;
  return topics;
}

}  // namespace

status offset_for_leader_epoch(services& svc, const request& req, respond_fn respond) {
  auto topics = decode(req);
  if (!topics) return malformed_request(req.header);
  const int16_t v = req.header.api_version;
  const bool flex = req.header.flexible;
  std::vector<uint8_t> out;
  writer w(out);
  if (v >= 2) w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics->size()), flex);
  // Followers need CLUSTER_ACTION (or the node listener); clients DESCRIBE on the topic.
  const bool replica = req.node_listener || cluster_authorized(svc, req, auth::operation::cluster_action);
  for (auto& t : *topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    const bool allowed = replica || authorized(svc, req, auth::operation::describe, auth::resource_type::topic, t.name);
    for (auto& q : t.partitions) {
      streams::service::epoch_end found{};
      if (allowed) found = svc.streams.end_offset_for_epoch(t.name, q.partition, q.current_leader_epoch, q.leader_epoch);
      const error_code code = allowed ? to_kafka_error(found.error) : error_code::topic_authorization_failed;
      w.i16(counted_code(svc, req.header, code));
      w.i32(q.partition);
      if (v >= 1) w.i32(found.leader_epoch);
      w.i64(found.end_offset);
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  respond(std::move(out));
  return {};
}

}  // namespace strata::kafka::handlers
