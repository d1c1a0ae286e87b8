#include "kafka/groups/messages/sync_group.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

result<sync_group_request> decode_sync_group_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::sync_group, version);
  reader r(body);
  sync_group_request req;
  req.group_id = r.string(flex);
  req.generation_id = r.i32();
  req.member_id = r.string(flex);
  if (version >= 3) req.group_instance_id = r.nullable_string(flex);
  if (version >= 5) {
    req.protocol_type = r.nullable_string(flex);
    req.protocol_name = r.nullable_string(flex);
  }
  int32_t count = r.array_length(flex);
  if (count < 0) r.fail();
  for (int32_t i = 0; i < count && r.ok(); ++i) {
    sync_assignment a;
    a.member_id = r.string(flex);
    a.assignment = to_vector(r.bytes(flex));
    if (flex) r.skip_tagged_fields();
    req.assignments.push_back(std::move(a));
  }
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::sync_group, version);
  return req;
}

std::vector<uint8_t> encode_sync_group_response(const sync_group_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::sync_group, version);
  writer w;
  if (version >= 1) w.i32(resp.throttle_time_ms);
  w.i16(static_cast<int16_t>(resp.error));
  if (version >= 5) {
    w.nullable_string(resp.protocol_type, flex);
    w.nullable_string(resp.protocol_name, flex);
  }
  w.bytes(resp.assignment, flex);
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
