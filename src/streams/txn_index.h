// Transactions as one partition sees them: which producers have a
// transaction open here and from which offset (the last stable offset is the
// oldest of those), and the aborted transactions a read_committed consumer
// must skip. Aborted ranges are kept durably in meta::kv
// (docs/formats/kafka-transactions.md, "Aborted transactions"), written
// before their ABORT marker; open transactions are rebuilt at start-up from
// the log's newest batches, as producer state is.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "streams/service.h"

namespace strata::streams {

struct aborted_range {
  int64_t producer_id = -1;
  int64_t first_offset = -1;  // the transaction's first batch here
  int64_t last_offset = -1;   // its ABORT marker
  bool operator==(const aborted_range&) const = default;
};

class txn_index {
 public:
  static constexpr int64_t no_open_txn = std::numeric_limits<int64_t>::max();

  // A transactional data batch at `offset`: opens the producer's transaction
  // here unless one is open.
  void begin(int64_t producer_id, int64_t offset);
  // A marker at `marker_offset` closes the producer's open transaction. For an
  // ABORT of an open one, the range it aborted.
  std::optional<aborted_range> end(int64_t producer_id, bool commit, int64_t marker_offset);
  std::optional<int64_t> open_first_offset(int64_t producer_id) const;
  // The first offset of the oldest open transaction, or no_open_txn.
  int64_t first_unstable_offset() const;
  size_t open_count() const { return open_.size(); }

  // Adds an aborted range (from the kv, or after its marker). A range with the
  // same producer and first offset is replaced by the one ending later: a
  // coordinator that retries a marker writes a second, later one.
  void add_aborted(const aborted_range& r);
  // The aborted transactions a fetch of [from, to) must report: those that end
  // at or after `from` and begin before `to`, by first offset.
  std::vector<aborted_txn> aborted_overlapping(int64_t from, int64_t to) const;
  // Whether the producer's batch at `offset` belongs to an aborted transaction.
  bool aborted_at(int64_t producer_id, int64_t offset) const;
  // Forgets ranges that end below the log start; returns them.
  std::vector<aborted_range> forget_below(int64_t log_start_offset);
  const std::vector<aborted_range>& aborted() const { return aborted_; }

 private:
  std::unordered_map<int64_t, int64_t> open_;  // producer id -> first offset
  std::vector<aborted_range> aborted_;         // by last offset
};

// The kv records of aborted ranges, under a per-partition prefix.
std::string aborted_kv_prefix(std::string_view topic_id_hex, int32_t partition);
std::string aborted_kv_key(std::string_view prefix, const aborted_range& r);
std::string encode_aborted_value(const aborted_range& r);
std::optional<aborted_range> decode_aborted_value(std::string_view value);

// The COMMIT or ABORT control batch of a marker (baseOffset and leader epoch
// are assigned at append), and the marker a control batch holds (nullopt for
// bytes that are not one).
std::vector<uint8_t> encode_marker_batch(const txn_marker& marker, int64_t timestamp_ms);
std::optional<txn_marker> decode_marker_batch(std::span<const uint8_t> batch);

}  // namespace strata::streams
