#include "kafka/groups/messages/find_coordinator.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

result<find_coordinator_request> decode_find_coordinator_request(std::span<const uint8_t> body,
                                                                 int16_t version) {
  const bool flex = is_flexible(api_key::find_coordinator, version);
  reader r(body);
  find_coordinator_request req;
  req.key = r.string(flex);
  if (version >= 1) req.key_type = r.i8();
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::find_coordinator, version);
  return req;
}

std::vector<uint8_t> encode_find_coordinator_response(const find_coordinator_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::find_coordinator, version);
  writer w;
  if (version >= 1) w.i32(resp.throttle_time_ms);
  w.i16(static_cast<int16_t>(resp.error));
  if (version >= 1) w.nullable_string(resp.error_message, flex);
  w.i32(resp.node_id);
  w.string(resp.host, flex);
  w.i32(resp.port);
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
