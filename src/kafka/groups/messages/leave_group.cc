#include "kafka/groups/messages/leave_group.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

result<leave_group_request> decode_leave_group_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::leave_group, version);
  reader r(body);
  leave_group_request req;
  req.group_id = r.string(flex);
  if (version <= 2) {
    req.members.push_back(leave_member{r.string(flex), std::nullopt});
  } else {
    int32_t count = r.array_length(flex);
    if (count < 0) r.fail();
    for (int32_t i = 0; i < count && r.ok(); ++i) {
      leave_member m;
      m.member_id = r.string(flex);
      m.group_instance_id = r.nullable_string(flex);
      if (flex) r.skip_tagged_fields();
      req.members.push_back(std::move(m));
    }
  }
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::leave_group, version);
  return req;
}

std::vector<uint8_t> encode_leave_group_response(const leave_group_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::leave_group, version);
  writer w;
  if (version >= 1) w.i32(resp.throttle_time_ms);
  error_code top = resp.error;
  if (version <= 2 && top == error_code::none && !resp.members.empty()) top = resp.members.front().error;
  w.i16(static_cast<int16_t>(top));
  if (version >= 3) {
    w.array_length(static_cast<int32_t>(resp.members.size()), flex);
    for (const auto& m : resp.members) {
      w.string(m.member_id, flex);
      w.nullable_string(m.group_instance_id, flex);
      w.i16(static_cast<int16_t>(m.error));
      if (flex) w.empty_tagged_fields();
    }
  }
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
