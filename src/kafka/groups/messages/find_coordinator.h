// FindCoordinator (API 10) v0-3 request and response, flexible from v3.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct find_coordinator_request {
  std::string key;
  int8_t key_type = 0;  // v1+: 0 group, 1 transaction
};

struct find_coordinator_response {
  int32_t throttle_time_ms = 0;  // v1+
  error_code error = error_code::none;
  std::optional<std::string> error_message;  // v1+
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

result<find_coordinator_request> decode_find_coordinator_request(std::span<const uint8_t> body,
                                                                 int16_t version);
std::vector<uint8_t> encode_find_coordinator_response(const find_coordinator_response& resp, int16_t version);

}  // namespace strata::kafka::groups
