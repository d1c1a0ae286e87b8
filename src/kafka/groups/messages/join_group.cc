#include "kafka/groups/messages/join_group.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

result<join_group_request> decode_join_group_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::join_group, version);
  reader r(body);
  join_group_request req;
  req.group_id = r.string(flex);
  req.session_timeout_ms = r.i32();
  req.rebalance_timeout_ms = version >= 1 ? r.i32() : req.session_timeout_ms;
  req.member_id = r.string(flex);
  if (version >= 5) req.group_instance_id = r.nullable_string(flex);
  req.protocol_type = r.string(flex);
  int32_t count = r.array_length(flex);
  if (count < 0) r.fail();
  for (int32_t i = 0; i < count && r.ok(); ++i) {
    join_protocol p;
    p.name = r.string(flex);
    p.metadata = to_vector(r.bytes(flex));
    if (flex) r.skip_tagged_fields();
    req.protocols.push_back(std::move(p));
  }
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::join_group, version);
  return req;
}

std::vector<uint8_t> encode_join_group_response(const join_group_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::join_group, version);
  writer w;
  if (version >= 2) w.i32(resp.throttle_time_ms);
  w.i16(static_cast<int16_t>(resp.error));
  w.i32(resp.generation_id);
  if (version >= 7) {
    w.nullable_string(resp.protocol_type, flex);
    w.nullable_string(resp.protocol_name, flex);
  } else {
    w.string(resp.protocol_name.value_or(""), flex);
  }
  w.string(resp.leader, flex);
  w.string(resp.member_id, flex);
  w.array_length(static_cast<int32_t>(resp.members.size()), flex);
  for (const auto& m : resp.members) {
    w.string(m.member_id, flex);
    if (version >= 5) w.nullable_string(m.group_instance_id, flex);
    w.bytes(m.metadata, flex);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
