// The consume side of the benchmark: a cold consumer reads every record from
// the beginning; the meter times it and checks each record is the next one
// sent, intact.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace strata::bench {

struct consume_stats {
  uint64_t records = 0;
  uint64_t payload_bytes = 0;
  double seconds = 0;   // from before the consumer connects to the last record
  double mb_per_s = 0;  // 10^6 payload bytes per second
  double records_per_s = 0;
  // seconds = first_record_seconds + streaming_seconds. Time to the first
  // record: the client's start-up (connect, metadata, offset lookup) and the
  // first fetch. Streaming: from the first record to the last.
  double first_record_seconds = 0;
  double streaming_seconds = 0;
  double streaming_mb_per_s = 0;  // the records after the first, over streaming_seconds; 0 if it is 0
};

// observe() is called from one thread at a time; seen() and done() from any.
class consume_meter {
 public:
  // unordered (bench/cluster's loss count after a failover): records may
  // arrive in any order and more than once; seen() counts distinct ones, and
  // saw(i) / duplicates() tell what arrived. finish() is not for this mode.
  consume_meter(uint64_t records, uint32_t record_bytes, bool unordered = false);

  void start();
  // Fails on a record of the wrong size, a damaged one, or one out of order.
  status observe(std::span<const uint8_t> payload);
  uint64_t seen() const { return seen_.load(std::memory_order_acquire); }
  bool done() const { return seen() >= records_; }
  // Fails unless every record was observed.
  result<consume_stats> finish();
  // Unordered mode: was record `index` observed, and how many repeats arrived.
  bool saw(uint64_t index) const { return index < seen_mask_.size() && seen_mask_[index]; }
  uint64_t duplicates() const { return duplicates_; }

 private:
  uint64_t records_;
  uint32_t record_bytes_;
  bool unordered_ = false;
  std::vector<bool> seen_mask_;  // unordered mode only
  uint64_t duplicates_ = 0;
  int64_t start_ns_ = 0;
  int64_t first_ns_ = 0;
  int64_t last_ns_ = 0;
  std::atomic<uint64_t> seen_{0};
};

}  // namespace strata::bench
