#include "kafka/groups/messages/heartbeat.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

result<heartbeat_request> decode_heartbeat_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::heartbeat, version);
  reader r(body);
  heartbeat_request req;
  req.group_id = r.string(flex);
  req.generation_id = r.i32();
  req.member_id = r.string(flex);
  if (version >= 3) req.group_instance_id = r.nullable_string(flex);
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::heartbeat, version);
  return req;
}

std::vector<uint8_t> encode_heartbeat_response(const heartbeat_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::heartbeat, version);
  writer w;
  if (version >= 1) w.i32(resp.throttle_time_ms);
  w.i16(static_cast<int16_t>(resp.error));
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
