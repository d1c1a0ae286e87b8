// OffsetDelete v0: deletes a group's committed offsets of partitions whose
// topic no member subscribes to, durably. Needs DELETE on the group and
// READ on each topic.
#include <string>
#include <vector>

#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/topic_partitions.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct partition_result {
  int32_t partition = 0;
  error_code error = error_code::none;
};

struct topic_result {
  std::string name;
  std::vector<partition_result> partitions;
};

bool decode(reader& r, std::string& group_id, std::vector<topic_request>& topics) {
  group_id = r.string(false);
  decode_topic_partitions(r, /*flex=*/false, topics);
  return r.ok();
}

// Per topic the error that stops it before the coordinator, or none.
error_code topic_error(const services& s, const request& req, const std::string& topic) {
  if (!authorized(s, req, auth::operation::read, auth::resource_type::topic, topic)) {
    return error_code::topic_authorization_failed;
  }
  return s.streams.describe_topic(topic).ok() ? error_code::none : error_code::unknown_topic_or_partition;
}

error_code delete_offsets(services& s, const request& req, const std::string& group_id,
                          const std::vector<topic_request>& topics, std::vector<topic_result>& results) {
  if (!authorized(s, req, auth::operation::remove, auth::resource_type::group, group_id)) {
    return error_code::group_authorization_failed;
  }
  std::vector<groups::topic_partition> asked;
  for (const auto& t : topics) {
    topic_result& out = results.emplace_back();
    out.name = t.name;
    const error_code e = topic_error(s, req, t.name);
    for (int32_t p : t.partitions) {
      out.partitions.push_back({p, e});
      if (e == error_code::none) asked.push_back({t.name, p});
    }
  }
  auto done = s.groups.delete_offsets(group_id, asked);
  if (done.error != error_code::none) {
    results.clear();
    return done.error;
  }
  size_t next = 0;
  for (auto& t : results) {
    for (auto& p : t.partitions) {
      if (p.error == error_code::none) p.error = done.partitions.at(next++).second;
    }
  }
  return error_code::none;
}

}  // namespace

status offset_delete(services& s, const request& req, respond_fn respond) {
  reader r(req.body);
  std::string group_id;
  std::vector<topic_request> topics;
  if (!decode(r, group_id, topics)) return malformed_request(req.header);
  std::vector<topic_result> results;
  const error_code group_error = delete_offsets(s, req, group_id, topics, results);
  writer w;
  w.i16(counted_code(s, req.header, group_error));
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), false);
  for (const auto& t : results) {
    count_errors(s, req.header, t.partitions);
    w.string(t.name, false);
    w.array_length(static_cast<int32_t>(t.partitions.size()), false);
    for (const auto& p : t.partitions) {
      w.i32(p.partition);
      w.i16(wire_code(p.error));
    }
  }
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
