// The leader epochs of one replica's log: for each epoch, the offset of its
// first entry (Kafka's LeaderEpochFileCache). A follower asks the leader
// where its latest epoch ended, and truncates what diverged. Kept in the
// file `leader-epochs` of the log's directory: docs/formats/leader-epochs.md.
//
// Every change is durable before it returns. On error nothing changes in
// memory. Not thread-safe: one owner calls it, beside the log it describes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "io/fs.h"

namespace strata::replication {

struct epoch_entry {
  int32_t epoch = 0;
  int64_t start_offset = 0;  // the offset of the epoch's first entry
  bool operator==(const epoch_entry&) const = default;
};

class epoch_cache {
 public:
  // Loads dir/leader-epochs, or starts empty when the file is missing (the
  // directory must exist). A corrupt file is errc::corrupt with a message
  // naming the file; another version is errc::unsupported.
  static result<epoch_cache> open(io::fs& fs, std::string dir);

  // Records that `epoch` starts at `start_offset`. Ignored when `epoch` is the
  // latest epoch and already starts at or before start_offset. Otherwise the
  // entries with an epoch >= `epoch` or a start >= start_offset are dropped
  // first, newest first, so both stay increasing (as Kafka's assign; a lower
  // epoch than the latest therefore replaces the later ones).
  // errc::invalid_argument for a negative epoch or offset.
  status assign(int32_t epoch, int64_t start_offset);

  int32_t latest_epoch() const;  // -1 when empty

  // Kafka's OffsetForLeaderEpoch on this replica, given its log end offset:
  // the largest epoch <= requested_epoch and that epoch's end offset (the
  // start of the next epoch, or log_end_offset for the latest epoch). As
  // Kafka: {-1, -1} when requested_epoch is negative or above the latest
  // epoch, or the cache is empty; {requested_epoch, start of the first
  // epoch} when requested_epoch is below the first epoch, so that a follower
  // truncates to where this replica's known epochs begin.
  struct epoch_end {
    int32_t epoch = -1;
    int64_t end_offset = -1;
    bool operator==(const epoch_end&) const = default;
  };
  epoch_end end_offset_for(int32_t requested_epoch, int64_t log_end_offset) const;

  // Drops the entries starting at or after end_offset (after the log was
  // truncated to end there). errc::invalid_argument for a negative offset.
  status truncate_from_end(int64_t end_offset);
  // Drops every entry (after log::truncate_fully).
  status clear();

  const std::vector<epoch_entry>& entries() const { return entries_; }

 private:
  epoch_cache(io::fs& fs, std::string dir, std::vector<epoch_entry> entries)
      : fs_(&fs), dir_(std::move(dir)), entries_(std::move(entries)) {}
  // Writes `next` to the file, then makes it the cache's entries.
  status replace(std::vector<epoch_entry> next);
  std::string path() const;

  io::fs* fs_;
  std::string dir_;
  std::vector<epoch_entry> entries_;  // epochs and start offsets strictly increasing
};

}  // namespace strata::replication
