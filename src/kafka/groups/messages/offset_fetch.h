// OffsetFetch (API 9) v0-7 request and response, flexible from v6.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct offset_fetch_topic {
  std::string name;
  std::vector<int32_t> partitions;
};

struct offset_fetch_request {
  std::string group_id;
  std::optional<std::vector<offset_fetch_topic>> topics;  // null (v2+): every committed partition
  bool require_stable = false;                            // v7+
};

struct offset_fetch_partition_result {
  int32_t partition = 0;
  int64_t offset = -1;        // -1: nothing committed
  int32_t leader_epoch = -1;  // v5+
  std::optional<std::string> metadata;
  error_code error = error_code::none;
};

struct offset_fetch_topic_result {
  std::string name;
  std::vector<offset_fetch_partition_result> partitions;
};

struct offset_fetch_response {
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<offset_fetch_topic_result> topics;
  error_code error = error_code::none;  // v2+
};

result<offset_fetch_request> decode_offset_fetch_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_offset_fetch_response(const offset_fetch_response& resp, int16_t version);

}  // namespace strata::kafka::groups
