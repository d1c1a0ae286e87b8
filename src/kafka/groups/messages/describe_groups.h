// DescribeGroups (API 15) v0-5 request and response, flexible from v5.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct describe_groups_request {
  std::vector<std::string> groups;
  bool include_authorized_operations = false;  // v3+
};

struct described_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v4+
  std::string client_id;
  std::string client_host;
  std::vector<uint8_t> metadata;    // only while Stable
  std::vector<uint8_t> assignment;  // only while Stable
};

struct described_group {
  error_code error = error_code::none;
  std::string group_id;
  std::string group_state;
  std::string protocol_type;
  std::string protocol_data;  // the selected protocol's name while Stable
  std::vector<described_member> members;
  int32_t authorized_operations = std::numeric_limits<int32_t>::min();  // v3+; "not provided"
};

struct describe_groups_response {
  int32_t throttle_time_ms = 0;  // v1+
  std::vector<described_group> groups;
};

result<describe_groups_request> decode_describe_groups_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_describe_groups_response(const describe_groups_response& resp, int16_t version);

}  // namespace strata::kafka::groups
