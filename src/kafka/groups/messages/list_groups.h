// ListGroups (API 16) v0-4 request and response, flexible from v3.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct list_groups_request {
  std::vector<std::string> states_filter;  // v4+; empty lists every state
};

struct listed_group {
  std::string group_id;
  std::string protocol_type;
  std::string group_state;  // v4+
};

struct list_groups_response {
  int32_t throttle_time_ms = 0;  // v1+
  error_code error = error_code::none;
  std::vector<listed_group> groups;
};

result<list_groups_request> decode_list_groups_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_list_groups_response(const list_groups_response& resp, int16_t version);

}  // namespace strata::kafka::groups
