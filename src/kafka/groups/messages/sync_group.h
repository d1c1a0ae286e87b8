// SyncGroup (API 14) v0-5 request and response, flexible from v4.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct sync_assignment {
  std::string member_id;
  std::vector<uint8_t> assignment;
};

struct sync_group_request {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  std::optional<std::string> protocol_type;      // v5+
  std::optional<std::string> protocol_name;      // v5+
  std::vector<sync_assignment> assignments;      // sent by the leader only
};

struct sync_group_response {
  int32_t throttle_time_ms = 0;  // v1+
  error_code error = error_code::none;
  std::optional<std::string> protocol_type;  // v5+
  std::optional<std::string> protocol_name;  // v5+
  std::vector<uint8_t> assignment;
};

result<sync_group_request> decode_sync_group_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_sync_group_response(const sync_group_response& resp, int16_t version);

}  // namespace strata::kafka::groups
