#include "kafka/groups/messages/describe_groups.h"

#include "kafka/groups/messages/common.h"

namespace strata::kafka::groups {

namespace {

void encode_member(writer& w, const described_member& m, int16_t version, bool flex) {
  w.string(m.member_id, flex);
  if (version >= 4) w.nullable_string(m.group_instance_id, flex);
  w.string(m.client_id, flex);
  w.string(m.client_host, flex);
  w.bytes(m.metadata, flex);
  w.bytes(m.assignment, flex);
  if (flex) w.empty_tagged_fields();
}

void encode_group(writer& w, const described_group& g, int16_t version, bool flex) {
  w.i16(static_cast<int16_t>(g.error));
  w.string(g.group_id, flex);
  w.string(g.group_state, flex);
  w.string(g.protocol_type, flex);
  w.string(g.protocol_data, flex);
  w.array_length(static_cast<int32_t>(g.members.size()), flex);
  for (const auto& m : g.members) encode_member(w, m, version, flex);
  if (version >= 3) w.i32(g.authorized_operations);
  if (flex) w.empty_tagged_fields();
}

}  // namespace

result<describe_groups_request> decode_describe_groups_request(std::span<const uint8_t> body, int16_t version) {
  const bool flex = is_flexible(api_key::describe_groups, version);
  reader r(body);
  describe_groups_request req;
  int32_t count = r.array_length(flex);
  if (count < 0) r.fail();
  for (int32_t i = 0; i < count && r.ok(); ++i) req.groups.push_back(r.string(flex));
  if (version >= 3) req.include_authorized_operations = r.boolean();
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return undecodable(api_key::describe_groups, version);
  return req;
}

std::vector<uint8_t> encode_describe_groups_response(const describe_groups_response& resp, int16_t version) {
  const bool flex = is_flexible(api_key::describe_groups, version);
  writer w;
  if (version >= 1) w.i32(resp.throttle_time_ms);
  w.array_length(static_cast<int32_t>(resp.groups.size()), flex);
  for (const auto& g : resp.groups) encode_group(w, g, version, flex);
  if (flex) w.empty_tagged_fields();
  return std::move(w.buffer());
}

}  // namespace strata::kafka::groups
