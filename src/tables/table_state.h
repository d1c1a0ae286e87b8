// The in-memory state of open tables: per table its partitions, per partition
// its buckets, per bucket its log and the directory of every published batch
// (statistics, and for primary-key tables the bitmap of live rows). Also the
// entry header the service puts in front of each stored columnar batch.
#pragma once

#include <atomic>
#include <condition_variable>
#include <optional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "storage/log.h"
#include "tables/batch_codec.h"
#include "tables/partitioning.h"
#include "tables/pk_state.h"
#include "tables/schema.h"

namespace strata::tables {

// Every bucket-log entry is this header followed by one columnar batch. The
// header ties the entries of one commit together: a commit is visible only
// if all of its parts are in the logs (see docs/formats/table-storage.md).
inline constexpr size_t entry_header_bytes = 20;
inline constexpr uint32_t entry_magic = 0x31425453;        // "STB1" little endian
inline constexpr uint32_t entry_magic_group = 0x32425453;  // "STB2": a commit that wrote several tables

struct entry_header {
  uint64_t txn_id = 0;
  uint32_t part_index = 0;
  uint32_t part_count = 0;
  bool group = false;  // the commit wrote several tables; commit_groups decides whether it completed
};

void encode_entry_header(const entry_header& h, uint8_t* out);
result<entry_header> decode_entry_header(std::span<const uint8_t> entry);

struct batch_meta {
  int64_t base_offset = 0;
  uint32_t row_count = 0;
  uint32_t live_count = 0;  // current versions of their keys; row_count for log tables
  uint64_t stored_bytes = 0;  // the whole log entry
  std::shared_ptr<const batch_directory> dir;
  std::shared_ptr<const std::vector<uint64_t>> live;  // primary-key tables: one bit per row
};

struct bucket_rt {
  uint64_t table_id = 0;
  uint64_t partition_id = 0;
  uint32_t index = 0;
  std::string dir;

  // Commits to one bucket append one at a time (write_mu); each takes a
  // ticket there and applies and publishes in ticket order, so batches
  // become visible in log order. Every commit releases write_mu before its
  // fsync, which later commits share (group commit). A primary-key commit
  // first leaves its key changes in `unapplied`, where the next commits'
  // key checks find them until they are in the state (pk_state).
  std::mutex write_mu;
  std::mutex log_mu;    // the log's single-owner calls (append, read)
  std::shared_ptr<storage::log> log;  // commits flush their own reference, so a drop cannot pull it away
  bool dropped = false;  // set under write_mu and log_mu
  std::atomic<bool> failed{false};  // an fsync or state write failed: refuse writes until restart
  uint64_t next_ticket = 0;  // under write_mu

  // Makes `log` durable up to `upto`, sharing one fsync among the waiters.
  status ensure_durable(storage::log& log, int64_t upto);
  void wait_turn(uint64_t ticket);
  void end_turn();
  // Waits until every commit that took a ticket has ended its turn; the
  // caller holds write_mu, so no other starts (drops, rewrites).
  void wait_idle();

  // Primary-key changes appended (and being made durable) but not yet in
  // the state: per encoded key, the newest commit's row, or none for a delete.
  struct unapplied_key {
    uint64_t ticket = 0;
    std::optional<stored_row> row;
  };
  std::mutex unapplied_mu;  // unapplied; with table_rt::state_version bumps
  std::unordered_map<std::string, unapplied_key> unapplied;

  std::mutex flush_mu;  // flushing, flush_error, published_ticket
  std::condition_variable flush_cv;
  bool flushing = false;
  std::optional<error> flush_error;
  uint64_t published_ticket = 0;

  mutable std::mutex meta_mu;  // guards batches
  std::vector<batch_meta> batches;  // published, in offset order

  // Index of the batch containing `offset`, or -1. Caller holds meta_mu.
  ptrdiff_t find_batch_locked(int64_t offset) const;
  // Clears the live bits of the rows at `offsets`, replacing each changed
  // bitmap with a copy (scans share the old ones). Caller holds meta_mu.
  void clear_live_locked(const std::vector<int64_t>& offsets);
  // Sets a live bit in place: only while recovering, before any scan exists.
  bool set_live_recovering(int64_t offset);
  std::vector<batch_meta> snapshot() const;

  // Reads the entry at base_offset (one batch) under log_mu.
  result<storage::read_result> read_entry(const batch_meta& batch);
};

struct partition_rt {
  uint64_t id = 0;
  std::string key;
  partition_bounds bounds;
  std::vector<std::shared_ptr<bucket_rt>> buckets;  // schema.buckets slots; null until written (table mu)
};

struct table_rt {
  uint64_t id = 0;
  int64_t created_ms = 0;
  table_schema schema;
  std::vector<uint32_t> bucket_key;  // effective: the schema's, else the primary key

  std::mutex mu;  // partitions, next_partition_id
  std::map<std::string, std::shared_ptr<partition_rt>> partitions;
  std::map<uint64_t, std::shared_ptr<partition_rt>> partitions_by_id;
  uint64_t next_partition_id = 1;

  std::atomic<int64_t> live_rows{0};
  // Bumped (under a bucket's unapplied_mu) by every primary-key commit after its state is applied. A
  // transaction whose existence checks started at the current value knows
  // that keys it found absent are still absent.
  std::atomic<uint64_t> state_version{0};
  std::atomic<uint64_t> stored_bytes{0};
  std::atomic<uint64_t> batch_count{0};
  std::atomic<uint32_t> round_robin{0};
  std::atomic<bool> dropped{false};
  std::atomic<bool> altering{false};   // alter_table runs: one at a time per table
  std::atomic<bool> rewriting{false};  // alter_table rewrites it: commits fail until it ends

  bool is_pk() const { return schema.kind == table_kind::primary_key; }
  std::vector<std::shared_ptr<partition_rt>> partition_list();
  // The partition's buckets that exist (written at least once), copied under mu.
  std::vector<std::shared_ptr<bucket_rt>> buckets_of(const partition_rt& partition);
};

inline uint64_t bitmap_words(uint32_t rows) { return (uint64_t(rows) + 63) / 64; }
inline bool bit_is_set(const std::vector<uint64_t>& bits, uint32_t i) { return (bits[i / 64] >> (i % 64)) & 1; }

}  // namespace strata::tables
