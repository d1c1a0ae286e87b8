// DescribeProducers v0 (flexible): per partition, the idempotent producers
// its leader remembers, with the first offset of each one's open
// transaction there. Needs READ on the topic. The coordinator epoch is -1: a
// single node's coordinator has no epochs.
#include <optional>
#include <string>
#include <vector>

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
  std::optional<std::string> message;
  std::vector<streams::active_producer> producers;
};

struct topic_result {
  std::string name;
  std::vector<partition_result> partitions;
};

bool decode(reader& r, std::vector<topic_request>& topics) {
  decode_topic_partitions(r, /*flex=*/true, topics);
  r.skip_tagged_fields();
  return r.ok();
}

topic_result describe_topic(services& s, const request& req, const topic_request& t) {
  topic_result out{t.name, {}};
  const bool allowed = authorized(s, req, auth::operation::read, auth::resource_type::topic, t.name);
  for (int32_t id : t.partitions) {
    partition_result& res = out.partitions.emplace_back();
    res.partition = id;
    if (!allowed) {
      res.error = error_code::topic_authorization_failed;
      res.message = std::string(req.principal) + " may not read topic " + t.name;
      continue;
    }
    auto found = s.streams.describe_producers(t.name, id);
    res.error = to_kafka_error(found.error);
    res.producers = std::move(found.producers);
    if (res.error == error_code::not_leader_or_follower) {
      res.message = "this node does not lead " + t.name + "-" + std::to_string(id) + "; ask its leader";
    }
  }
  return out;
}

void encode(writer& w, const std::vector<topic_result>& topics) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()), true);
  for (const auto& t : topics) {
    w.string(t.name, true);
    w.array_length(static_cast<int32_t>(t.partitions.size()), true);
    for (const auto& p : t.partitions) {
      w.i32(p.partition);
      w.i16(wire_code(p.error));
      w.nullable_string(p.message, true);
      w.array_length(static_cast<int32_t>(p.producers.size()), true);
      for (const auto& prod : p.producers) {
        w.i64(prod.producer_id);
        w.i32(prod.producer_epoch);
        w.i32(prod.last_sequence);
        w.i64(prod.last_timestamp_ms);
        w.i32(-1);  // coordinator_epoch
        w.i64(prod.current_txn_start_offset);
        w.empty_tagged_fields();
      }
      w.empty_tagged_fields();
    }
    w.empty_tagged_fields();
  }
  w.empty_tagged_fields();
}

}  // namespace

status describe_producers(services& s, const request& req, respond_fn respond) {
  reader r(req.body);
  std::vector<topic_request> topics;
  if (!decode(r, topics)) return malformed_request(req.header);
  std::vector<topic_result> results;
  for (const auto& t : topics) {
    results.push_back(describe_topic(s, req, t));
    count_errors(s, req.header, results.back().partitions);
  }
  writer w;
  encode(w, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
