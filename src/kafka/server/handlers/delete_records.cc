// DeleteRecords v0-2 (flexible from v2): moves each partition's log start
// offset forward (offset -1: to the high watermark), durably, on the
// partition's leader. Needs DELETE on the topic. timeout_ms is ignored: the
// move is done before the response. Followers keep their own start until
// they are restarted from the leader's (docs/formats/kafka-wire.md).
#include <string>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

constexpr size_t partitions_per_request_max = 100'000;

struct partition_request {
  int32_t partition = 0;
  int64_t offset = 0;
};

struct topic_request {
  std::string name;
  std::vector<partition_request> partitions;
};

struct partition_result {
  int32_t partition = 0;
  int64_t low_watermark = -1;
  error_code error = error_code::none;
};

struct topic_result {
  std::string name;
  std::vector<partition_result> partitions;
};

bool decode(reader& r, bool flex, std::vector<topic_request>& topics) {
  size_t total = 0;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    topic_request& t = topics.emplace_back();
    t.name = r.string(flex);
    int32_t m = r.array_length(flex);
    for (int32_t j = 0; j < m && r.ok(); ++j) {
      partition_request& p = t.partitions.emplace_back();
      p.partition = r.i32();
      p.offset = r.i64();
      if (flex) r.skip_tagged_fields();
    }
    total += t.partitions.size();
    if (total > partitions_per_request_max) r.fail();
    if (flex) r.skip_tagged_fields();
  }
  (void)r.i32();  // timeout_ms
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

topic_result delete_in_topic(services& s, const request& req, const topic_request& t) {
  topic_result out{t.name, {}};
  const bool allowed = authorized(s, req, auth::operation::remove, auth::resource_type::topic, t.name);
  for (const auto& p : t.partitions) {
    partition_result& res = out.partitions.emplace_back();
    res.partition = p.partition;
    if (!allowed) {
      res.error = error_code::topic_authorization_failed;
      continue;
    }
    auto moved = s.streams.delete_records(t.name, p.partition, p.offset);
    res.error = to_kafka_error(moved.error);
    res.low_watermark = moved.low_watermark;
  }
  return out;
}

void encode(writer& w, bool flex, const std::vector<topic_result>& topics) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (const auto& p : t.partitions) {
      w.i32(p.partition);
      w.i64(p.low_watermark);
      w.i16(wire_code(p.error));
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status delete_records(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::vector<topic_request> topics;
  if (!decode(r, flex, topics)) return malformed_request(req.header);
  std::vector<topic_result> results;
  for (const auto& t : topics) {
    results.push_back(delete_in_topic(s, req, t));
    count_errors(s, req.header, results.back().partitions);
  }
  writer w;
  encode(w, flex, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
