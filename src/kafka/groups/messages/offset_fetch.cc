#include "kafka/groups/messages/offset_fetch.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

namespace {

offset_fetch_topic decode_topic(reader& r, bool flex) {
  offset_fetch_topic t;
  t.name = r.string(flex);
  int32_t count = r.array_length(flex);
  if (count < 0) r.fail();
  for (int32_t i = 0; i < count && r.ok(); ++i) t.partitions.push_back(r.i32());
  if (flex) r.skip_tagged_fields();
  return t;
}

}  // namespace

result<offset_fetch_request> decode_offset_fetch_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::offset_fetch, version);
  reader r(body);
  offset_fetch_request req;
  req.group_id = r.string(flex);
  int32_t count = r.array_length(flex);
  if (count < 0 && version < 2) r.fail();  // null means "all topics" only from v2
  if (count >= 0) {
    req.topics.emplace();
    for (int32_t i = 0; i < count && r.ok(); ++i) req.topics->push_back(decode_topic(r, flex));
  }
  if (version >= 7) req.require_stable = r.boolean();
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::offset_fetch, version);
  return req;
}

std::vector<uint8_t> encode_offset_fetch_response(const offset_fetch_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::offset_fetch, version);
  writer w;
  if (version >= 3) w.i32(resp.throttle_time_ms);
  w.array_length(static_cast<int32_t>(resp.topics.size()), flex);
  for (const auto& t : resp.topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (const auto& p : t.partitions) {
      w.i32(p.partition);
      w.i64(p.offset);
      if (version >= 5) w.i32(p.leader_epoch);
      w.nullable_string(p.metadata, flex);
      w.i16(static_cast<int16_t>(p.error));
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  if (version >= 2) w.i16(static_cast<int16_t>(resp.error));
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
