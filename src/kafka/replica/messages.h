// The two requests a follower sends its leader, and their responses: Fetch v11
// with a replica id, and OffsetForLeaderEpoch v3. Encoding and decoding only;
// decoders never read out of bounds and report a malformed response as an
// error. See docs/formats/replication.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::kafka::replica {

inline constexpr int16_t fetch_version = 11;
inline constexpr int16_t epoch_version = 3;

struct fetch_partition_request {
  std::string topic;
  int32_t partition = 0;
  int32_t current_leader_epoch = 0;
  int64_t fetch_offset = 0;
  int32_t partition_bytes_max = 0;
};

struct fetch_request {
  int32_t replica_id = 0;
  int32_t max_wait_ms = 0;
  int32_t bytes_max = 0;
  std::vector<fetch_partition_request> partitions;  // grouped by topic when encoded
};

struct fetch_partition_response {
  std::string topic;
  int32_t partition = 0;
  int16_t error = 0;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::span<const uint8_t> records;  // a view into the response buffer
};

struct epoch_request_partition {
  std::string topic;
  int32_t partition = 0;
  int32_t current_leader_epoch = 0;
  int32_t leader_epoch = 0;
};

struct epoch_response_partition {
  std::string topic;
  int32_t partition = 0;
  int16_t error = 0;
  int32_t leader_epoch = -1;
  int64_t end_offset = -1;
};

// A whole request frame: size prefix, header v1 (client id "strata-replica")
// and body.
std::vector<uint8_t> encode_fetch(const fetch_request& req, int32_t correlation_id);
std::vector<uint8_t> encode_offset_for_leader_epoch(int32_t replica_id, const std::vector<epoch_request_partition>& parts,
                                                    int32_t correlation_id);

// `frame` is a response after its size prefix: correlation id, then the body.
result<std::vector<fetch_partition_response>> decode_fetch(std::span<const uint8_t> frame, int32_t correlation_id);
result<std::vector<epoch_response_partition>> decode_offset_for_leader_epoch(std::span<const uint8_t> frame,
                                                                             int32_t correlation_id);

}  // namespace strata::kafka::replica
