// JoinGroup (API 11) v0-7 request and response, flexible from v6.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct join_protocol {
  std::string name;
  std::vector<uint8_t> metadata;
};

struct join_group_request {
  std::string group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;  // v0 has none: the session timeout
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::string protocol_type;
  std::vector<join_protocol> protocols;
};

struct join_group_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::vector<uint8_t> metadata;
};

struct join_group_response {
  int32_t throttle_time_ms = 0;  // v2+
  error_code error = error_code::none;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;  // v7+
  std::optional<std::string> protocol_name;  // nullable from v7; "" before
  std::string leader;
  std::string member_id;
  std::vector<join_group_member> members;  // filled for the leader only
};

result<join_group_request> decode_join_group_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_join_group_response(const join_group_response& resp, int16_t version);

}  // namespace strata::kafka::groups
