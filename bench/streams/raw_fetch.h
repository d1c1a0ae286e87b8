// A Kafka Fetch client with no client library, for the server-bound cold
// read: one plain socket, Fetch v11 encoded by hand, large responses, and only
// the response framing parsed. It sums the record-set bytes and walks the
// RecordBatch headers to find the next offset, but never decodes a record.
// So its time is the server's time plus the socket's, with next to no client
// work, and the gap to librdkafka's consumer is what the client costs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::bench {

struct raw_fetch_plan {
  std::string topic;
  int32_t partition = 0;
  uint64_t records = 0;       // the partition must hold exactly these, from offset 0
  uint32_t record_bytes = 0;  // payload bytes per record, for the payload MB/s
  int32_t max_bytes = 32 << 20;  // per Fetch, and the partition's max in it
  int64_t stall_timeout_ms = 30'000;
};

struct raw_fetch_stats {
  int32_t max_bytes = 0;          // asked for per Fetch (plan.max_bytes)
  uint64_t records = 0;
  uint64_t payload_bytes = 0;     // records x record_bytes
  uint64_t record_set_bytes = 0;  // the responses' complete batches (batch and record headers included)
  uint64_t response_bytes = 0;    // whole response frames
  uint64_t requests = 0;          // Fetch requests sent
  uint64_t batches = 0;           // RecordBatches walked
  double seconds = 0;             // from before connecting to the last byte of the last response
  double first_response_seconds = 0;  // from before connecting to the last byte of the first response
  double streaming_seconds = 0;       // from there to the last byte of the last response
  uint64_t first_response_records = 0;
  double streaming_mb_per_s = 0;  // payload after the first response over streaming_seconds; 0 if none
  // Summed over the requests: from writing the request to the response's
  // first byte (the server reads and assembles the response), and from that
  // byte to its last (the response crosses the socket).
  double wait_seconds = 0;
  double transfer_seconds = 0;
  double mb_per_s = 0;  // 10^6 payload bytes per second, over `seconds`
  double records_per_s = 0;
  double record_set_mb_per_s = 0;  // 10^6 record-set bytes per second, over `seconds`
};

// Reads plan.topic/plan.partition on 127.0.0.1:port from offset 0 to its high
// watermark. Fails on a Kafka error, a malformed or non-contiguous response,
// a high watermark other than plan.records, or no progress for
// plan.stall_timeout_ms.
result<raw_fetch_stats> raw_fetch_read(uint16_t port, const raw_fetch_plan& plan);

// The pieces, for tests.

// A whole Fetch v11 request frame (size prefix, header v1 with client id
// "strata-bench-raw", body) for one partition, read_uncommitted, no session.
std::vector<uint8_t> encode_fetch_v11(const std::string& topic, int32_t partition, int64_t fetch_offset,
                                      int32_t max_bytes, int32_t max_wait_ms, int32_t correlation_id);

struct fetch_summary {
  int16_t error = 0;  // the partition's (or the response's) Kafka error code
  int64_t high_watermark = -1;
  uint64_t record_set_bytes = 0;  // the complete batches
  uint64_t truncated_bytes = 0;   // a batch cut off at the end of the record set
  uint64_t batches = 0;           // complete batches in the record set
  int64_t next_offset = -1;  // last complete batch's base_offset + last_offset_delta + 1; -1 if none
};

// Parses a Fetch v11 response for one partition (`frame` is what follows the
// size prefix: correlation id, then the body) and walks its record set's
// batch headers. Batches must be magic 2 and contiguous from fetch_offset
// (the first may start before it); a truncated batch at the end is left for
// the next fetch.
result<fetch_summary> parse_fetch_v11(std::span<const uint8_t> frame, int32_t correlation_id, int64_t fetch_offset);

}  // namespace strata::bench
