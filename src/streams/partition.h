// One Kafka partition on the network thread: its log, idempotent-producer
// state, the produce requests waiting for durability or replication, the
// fetches waiting for new data, and its replication state. Shared with the
// flusher thread, which only calls log->flush() (and runs truncations).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replication/epoch_cache.h"
#include "replication/replica_set.h"
#include "storage/log.h"
#include "streams/producer_state.h"
#include "streams/service.h"
#include "streams/txn_index.h"

namespace strata::streams {

// leader: serves produce and fetch. follower: copies the leader's log.
// offline: no leader is known, or this node keeps no replica of it.
enum class replica_role { leader, follower, offline };

struct partition {
  std::string topic;
  int32_t id = 0;
  std::string dir;
  std::unique_ptr<storage::log> log;  // null when this node keeps no replica
  producer_state producers;
  txn_index txns;              // open and aborted transactions
  std::string aborted_prefix;  // where txns' aborted ranges live in meta::kv

  struct durable_waiter {
    int64_t next_offset;                  // complete once the log is durable up to here
    std::function<void(bool ok)> done;    // ok=false if the flush failed or the partition went away
  };
  std::deque<durable_waiter> durable_waiters;  // in offset order
  std::map<uint64_t, std::function<void()>> watchers;
  int64_t published_high_watermark = 0;  // the last high watermark announced to watchers
  bool flush_requested = false;          // a flush is queued and not yet completed
  bool failed = false;                   // a flush failed: refuse writes until restart
  bool deleted = false;
  // Log compaction (compactor.h): records below cleaned_offset were compacted
  // (kept in the kv across restarts); a job is running while `compacting`.
  int64_t cleaned_offset = 0;
  std::string cleaned_key;  // where cleaned_offset is kept in meta::kv
  bool compacting = false;

  // Replication. A single node is the leader with epoch 0 and an ISR of itself.
  replica_role role = replica_role::leader;
  int32_t leader_id = 0;
  int32_t leader_epoch = 0;
  int64_t state_revision = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> target_replicas;  // while it moves
  bool stale_dir_checked = false;        // not a replica here: leftover files were looked for
  int64_t high_watermark = 0;         // consumers read below it
  int64_t leader_high_watermark = 0;  // follower: the leader's, as of the last fetch
  replication::replica_set replica_set;          // leader: the followers' progress
  std::optional<replication::epoch_cache> epochs;  // cluster mode only
  bool isr_change_pending = false;
  bool truncating = false;                        // a truncation runs on the flusher thread
  std::optional<replica_assignment> deferred;     // an assignment that arrived during a truncation

  struct replicated_waiter {
    int64_t next_offset;       // complete once the high watermark reaches it
    int64_t deadline_ms;       // then request_timed_out
    std::function<void(stream_error)> done;
  };
  std::deque<replicated_waiter> replicated_waiters;  // in offset order

  bool hosted() const { return log != nullptr; }
};

}  // namespace strata::streams
