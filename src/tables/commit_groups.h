// Atomicity across tables. A commit that writes several tables marks its
// bucket-log entries as a group (entry magic "STB2") and, after fsyncing
// every part and before applying or publishing any, writes a commit record
// to the catalog kv (synced). After a crash a group counts as committed only
// if its record is there, so every table shows all of the commit or none of
// it, whatever happened to the other tables since (a drop, a truncate).
//
// Records do not pile up: every `records_per_sweep` groups, the ids below
// the oldest group still in flight become "resolved" (one kv value), and
// their records go. A group that failed part way gets an "aborted" record
// first, so resolving never turns it into a commit. Opening the service
// resolves everything the logs hold. Format: docs/formats/table-storage.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <vector>

#include "base/result.h"
#include "meta/kv.h"

namespace strata::tables {

class commit_groups {
 public:
  commit_groups(meta::kv& kv, uint64_t records_per_sweep) : kv_(kv), records_per_sweep_(records_per_sweep) {}

  // Reads what the kv says (before recovery looks at entries).
  status load();
  // At recovery: whether group `txn_id` committed (its parts per table are
  // checked separately).
  bool committed(uint64_t txn_id) const;
  // The lowest id no record names: new commits start there (or above the
  // logs' highest id), so an aborted group's id is never used again.
  uint64_t first_free_id() const;
  // At the end of recovery: the groups the logs hold but that did not commit
  // are marked aborted, and every id below `next_txn_id` becomes resolved.
  status resolve_after_recovery(const std::set<uint64_t>& not_committed, uint64_t next_txn_id);

  // A commit that will write several tables takes its id here (from
  // `next_txn_id`, which plain commits draw from too): ids are handed out and
  // marked in flight under one lock, so resolving never passes a group that
  // has an id but has not begun.
  uint64_t begin(std::atomic<uint64_t>& next_txn_id);
  // Every part is durable: the record that makes the group committed.
  status record(uint64_t txn_id);
  // The group will not commit (an error after begin, before record succeeded).
  void abort(uint64_t txn_id);

  // For tests.
  uint64_t resolved_below() const;
  size_t records_held();

 private:
  status sweep_locked();

  meta::kv& kv_;
  const uint64_t records_per_sweep_;
  mutable std::mutex mu_;
  uint64_t resolved_below_ = 0;
  std::set<uint64_t> records_;  // at recovery: recorded ids at or above resolved_below_
  std::set<uint64_t> aborted_;
  std::set<uint64_t> in_flight_;
  std::vector<uint64_t> recorded_;  // records written since the last sweep
  uint64_t highest_begun_ = 0;
};

}  // namespace strata::tables
