// LeaveGroup (API 13) v0-4 request and response, flexible from v4. Versions
// 0-2 name one member; v3+ carry a batch of members (KIP-345).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct leave_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct leave_group_request {
  std::string group_id;
  std::vector<leave_member> members;  // exactly one for v0-2
};

struct leave_member_result {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  error_code error = error_code::none;
};

struct leave_group_response {
  int32_t throttle_time_ms = 0;  // v1+
  // Group-level error. v0-2 have no member list, so the encoder reports the
  // first member's error there when this is none.
  error_code error = error_code::none;
  std::vector<leave_member_result> members;  // v3+
};

result<leave_group_request> decode_leave_group_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_leave_group_response(const leave_group_response& resp, int16_t version);

}  // namespace strata::kafka::groups
