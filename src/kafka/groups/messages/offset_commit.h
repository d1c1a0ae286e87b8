// OffsetCommit (API 8) v0-8 request and response, flexible from v8.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

struct offset_commit_partition {
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;       // v6+
  int64_t commit_timestamp = -1;   // v1 only; ignored, the coordinator stamps commits
  std::optional<std::string> metadata;
};

struct offset_commit_topic {
  std::string name;
  std::vector<offset_commit_partition> partitions;
};

struct offset_commit_request {
  std::string group_id;
  int32_t generation_id = -1;  // v1+; -1 for commits outside group management
  std::string member_id;       // v1+
  std::optional<std::string> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                // v2-4; ignored
  std::vector<offset_commit_topic> topics;
};

struct offset_commit_partition_result {
  int32_t partition = 0;
  error_code error = error_code::none;
};

struct offset_commit_topic_result {
  std::string name;
  std::vector<offset_commit_partition_result> partitions;
};

struct offset_commit_response {
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<offset_commit_topic_result> topics;
};

result<offset_commit_request> decode_offset_commit_request(std::span<const uint8_t> body, int16_t version);
std::vector<uint8_t> encode_offset_commit_response(const offset_commit_response& resp, int16_t version);

}  // namespace strata::kafka::groups
