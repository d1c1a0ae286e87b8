// ListOffsets v1-7 (flexible from v6). Timestamps: -1 latest (the high
// watermark), -2 earliest, -3 (v7+) the record with the largest timestamp,
// else the first offset whose timestamp is at or after the given one.
//
// The service does not track each partition's largest timestamp, so -3
// answers with the last record (high watermark - 1) and timestamp -1. That is
// exact when timestamps do not go backwards (LogAppendTime, or one producer
// with a steady clock).
//
// isolation_level (v2+) read_committed answers "latest" with the last stable
// offset (the first offset of the oldest open transaction), and -3 with the
// record before it. The only leader epoch is 0.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

constexpr int64_t latest_timestamp = -1;
constexpr int64_t max_timestamp = -3;
constexpr int32_t leader_epoch = 0;

struct offsets_partition {
  int32_t index = 0;
  int32_t current_leader_epoch = -1;
  int64_t timestamp = 0;
};

struct offsets_topic {
  std::string name;
  std::vector<offsets_partition> partitions;
};

struct partition_answer {
  int32_t index = 0;
  error_code error = error_code::none;
  int64_t timestamp = -1;
  int64_t offset = -1;
};

struct topic_answer {
  std::string name;
  std::vector<partition_answer> partitions;
};

partition_answer answer(int32_t index, error_code error) {
  return {.index = index, .error = error, .timestamp = -1, .offset = -1};
}

offsets_topic decode_topic(reader& r, int16_t version, bool flex) {
  offsets_topic t;
  t.name = r.string(flex);
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    offsets_partition p;
    p.index = r.i32();
    if (version >= 4) p.current_leader_epoch = r.i32();
    p.timestamp = r.i64();
    if (flex) r.skip_tagged_fields();
    t.partitions.push_back(p);
  }
  if (flex) r.skip_tagged_fields();
  return t;
}

struct offsets_request {
  streams::isolation isolation = streams::isolation::read_uncommitted;
  std::vector<offsets_topic> topics;
};

bool decode(reader& r, int16_t version, bool flex, offsets_request& req) {
  (void)r.i32();  // replica_id: only consumers ask a single node
  // isolation_level: 0 read_uncommitted, above 0 read_committed (as in Fetch).
  if (version >= 2 && r.i8() > 0) req.isolation = streams::isolation::read_committed;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) req.topics.push_back(decode_topic(r, version, flex));
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

partition_answer last_record(streams::service& svc, const std::string& topic, int32_t partition,
                             streams::isolation level) {
  auto latest = svc.list_offset(topic, partition, latest_timestamp, level);
  partition_answer a = answer(partition, to_kafka_error(latest.error));
  auto earliest = svc.list_offset(topic, partition, -2, level);
  if (a.error == error_code::none) a.error = to_kafka_error(earliest.error);
  if (a.error == error_code::none && latest.offset > earliest.offset) a.offset = latest.offset - 1;
  return a;
}

partition_answer lookup(streams::service& svc, int16_t version, streams::isolation level, const std::string& topic,
                        const offsets_partition& p) {
  if (p.current_leader_epoch > leader_epoch) return answer(p.index, error_code::unknown_leader_epoch);
  if (version >= 7 && p.timestamp == max_timestamp) return last_record(svc, topic, p.index, level);
  auto found = svc.list_offset(topic, p.index, p.timestamp, level);
  partition_answer a = answer(p.index, to_kafka_error(found.error));
  if (a.error == error_code::none) {
    a.offset = found.offset;
    a.timestamp = p.timestamp < 0 ? -1 : found.timestamp_ms;
  }
  return a;
}

std::vector<topic_answer> answer_all(const services& s, const request& req, const offsets_request& parsed) {
  std::set<std::pair<std::string, int32_t>> seen;
  std::vector<topic_answer> out;
  for (const auto& t : parsed.topics) {
    topic_answer ta;
    ta.name = t.name;
    const bool may_describe = authorized(s, req, auth::operation::describe, auth::resource_type::topic, t.name);
    for (const auto& p : t.partitions) {
      if (!seen.emplace(t.name, p.index).second) {
        ta.partitions.push_back(answer(p.index, error_code::invalid_request));
        continue;
      }
      if (!may_describe) {
        ta.partitions.push_back(answer(p.index, error_code::topic_authorization_failed));
        continue;
      }
      ta.partitions.push_back(lookup(s.streams, req.header.api_version, parsed.isolation, t.name, p));
    }
    out.push_back(std::move(ta));
  }
  return out;
}

void encode(writer& w, int16_t version, bool flex, const std::vector<topic_answer>& topics) {
  if (version >= 2) w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (const auto& p : t.partitions) {
      w.i32(p.index);
      w.i16(wire_code(p.error));
      w.i64(p.timestamp);
      w.i64(p.offset);
      if (version >= 4) w.i32(p.error == error_code::none ? leader_epoch : -1);
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status list_offsets(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  offsets_request parsed;
  if (!decode(r, version, flex, parsed)) return malformed_request(req.header);
  writer w;
  auto answers = answer_all(s, req, parsed);
  for (const auto& t : answers) count_errors(s, req.header, t.partitions);
  encode(w, version, flex, answers);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
