#include "kafka/groups/messages/list_groups.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

result<list_groups_request> decode_list_groups_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::list_groups, version);
  reader r(body);
  list_groups_request req;
  if (version >= 4) {
    int32_t count = r.array_length(flex);
    if (count < 0) r.fail();
    for (int32_t i = 0; i < count && r.ok(); ++i) req.states_filter.push_back(r.string(flex));
  }
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::list_groups, version);
  return req;
}

std::vector<uint8_t> encode_list_groups_response(const list_groups_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::list_groups, version);
  writer w;
  if (version >= 1) w.i32(resp.throttle_time_ms);
  w.i16(static_cast<int16_t>(resp.error));
  w.array_length(static_cast<int32_t>(resp.groups.size()), flex);
  for (const auto& g : resp.groups) {
    w.string(g.group_id, flex);
    w.string(g.protocol_type, flex);
    if (version >= 4) w.string(g.group_state, flex);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
