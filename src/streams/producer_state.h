// Idempotent-producer state of one partition: for each producer id, its epoch
// and the sequence ranges of its last few batches, so that a retried batch is
// recognised (and answered with its original offset) and a gap in sequence
// numbers is refused, as Kafka does (KIP-98).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace strata::streams {

struct batch_header;

inline constexpr size_t producer_batches_remembered = 5;  // Kafka's in-flight limit for idempotence

// A producer as DescribeProducers reports it.
struct active_producer {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t last_sequence = -1;
  int64_t last_timestamp_ms = -1;  // the max timestamp of its last batch
  int64_t current_txn_start_offset = -1;  // its open transaction's first offset here; -1: none
};

class producer_state {
 public:
  enum class verdict { accept, duplicate, out_of_order, invalid_epoch, unknown_producer };

  struct check_result {
    verdict outcome = verdict::accept;
    int64_t duplicate_base_offset = -1;  // with verdict::duplicate
    int64_t duplicate_next_offset = -1;
  };

  // Classifies an incoming idempotent batch without changing state.
  check_result check(const batch_header& batch) const;
  // Records a batch appended at base_offset (after check() accepted it).
  void record(const batch_header& batch, int64_t base_offset);
  // A transaction marker of this epoch: older epochs are fenced from now on,
  // and a newer epoch starts its sequences again at 0.
  void fence(int64_t producer_id, int16_t epoch);
  size_t producer_count() const { return producers_.size(); }
  // Every producer remembered, by id.
  std::vector<active_producer> active() const;
  // The base offset of each producer's last batch (compaction keeps those
  // batches, so a restart rebuilds the producers' sequence state).
  std::vector<int64_t> last_batch_offsets() const;
  size_t producers_max = 100'000;  // oldest-written producers are forgotten past this

 private:
  struct batch_range {
    int32_t first_sequence;
    int32_t last_sequence;
    int64_t base_offset;
    int64_t next_offset;
  };
  struct entry {
    int16_t epoch = 0;
    std::deque<batch_range> recent;  // oldest first
    uint64_t last_write = 0;
    int64_t last_timestamp_ms = -1;
  };
  void evict_oldest();
  std::unordered_map<int64_t, entry> producers_;
  uint64_t writes_ = 0;
};

}  // namespace strata::streams
