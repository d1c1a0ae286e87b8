// Heartbeat (API 12) v0-4 request and response, flexible from v4.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct heartbeat_request {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
};

struct heartbeat_response {
  int32_t throttle_time_ms = 0;  // v1+
  error_code error = error_code::none;
};

result<heartbeat_request> decode_heartbeat_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_heartbeat_response(const heartbeat_response& resp, int16_t version);

}  // namespace strata::kafka::groups
