#include "kafka/groups/messages/offset_commit.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

namespace {

offset_commit_partition decode_partition(reader& r, int16_t version, bool flex) {
  offset_commit_partition p;
  p.partition = r.i32();
  p.offset = r.i64();
  if (version >= 6) p.leader_epoch = r.i32();
  if (version == 1) p.commit_timestamp = r.i64();
  p.metadata = r.nullable_string(flex);
  if (flex) r.skip_tagged_fields();
  return p;
}

offset_commit_topic decode_topic(reader& r, int16_t version, bool flex) {
  offset_commit_topic t;
  t.name = r.string(flex);
  int32_t count = r.array_length(flex);
  if (count < 0) r.fail();
  for (int32_t i = 0; i < count && r.ok(); ++i) t.partitions.push_back(decode_partition(r, version, flex));
  if (flex) r.skip_tagged_fields();
  return t;
}

}  // namespace

result<offset_commit_request> decode_offset_commit_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::offset_commit, version);
  reader r(body);
  offset_commit_request req;
  req.group_id = r.string(flex);
  if (version >= 1) {
    req.generation_id = r.i32();
    req.member_id = r.string(flex);
  }
  if (version >= 7) req.group_instance_id = r.nullable_string(flex);
  if (version >= 2 && version <= 4) req.retention_time_ms = r.i64();
  int32_t count = r.array_length(flex);
  if (count < 0) r.fail();
  for (int32_t i = 0; i < count && r.ok(); ++i) req.topics.push_back(decode_topic(r, version, flex));
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::offset_commit, version);
  return req;
}

std::vector<uint8_t> encode_offset_commit_response(const offset_commit_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::offset_commit, version);
  writer w;
  if (version >= 3) w.i32(resp.throttle_time_ms);
  w.array_length(static_cast<int32_t>(resp.topics.size()), flex);
  for (const auto& t : resp.topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (const auto& p : t.partitions) {
      w.i32(p.partition);
      w.i16(static_cast<int16_t>(p.error));
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
