// The leader's view of its replicas (Kafka's ISR design): each follower's log
// end offset as its fetches report it, when it last caught up, and from those
// the high watermark and the ISR changes the leader should propose. Knows
// nothing of Kafka or of the coordinator: the streams face drives it today,
// volume and table replicas can drive it the same way.
//
// Followers make what they fetch durable before they fetch again, so a
// follower's fetch offset is its durable end, and the high watermark (the
// lowest durable end in the ISR) never covers a record a single crash loses.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace strata::replication {

using node_id = int32_t;

class replica_set {
 public:
  // Starts leading: the followers' progress restarts (Kafka does the same), so
  // a follower counts as caught up until replica_lag_time_max_ms passes
  // without a fetch reaching the leader's end.
  void reset(node_id self, const std::vector<node_id>& replicas, const std::vector<node_id>& isr, int64_t now_ms);
  // The committed ISR changed (the coordinator accepted a proposal, or the
  // controller changed it). Followers keep their progress, but one dropped
  // from the ISR is unknown again until it next fetches.
  void set_isr(const std::vector<node_id>& isr);
  // The replica set changed (a move added or removed replicas): followers that
  // stay keep their progress, a new one is unknown until it fetches.
  void set_replicas(const std::vector<node_id>& replicas, int64_t now_ms);

  // A follower asked for records from `fetch_offset` while the leader's log
  // ended at `leader_end_offset`. Returns false for a node that is not a replica.
  bool on_fetch(node_id follower, int64_t fetch_offset, int64_t leader_end_offset, int64_t now_ms);

  // The lowest durable end in the ISR; the leader's own is leader_durable_offset.
  int64_t high_watermark(int64_t leader_durable_offset) const;

  // ISR members that have not caught up within lag_max_ms: the shrink to propose.
  std::vector<node_id> lagging(int64_t now_ms, int64_t lag_max_ms) const;
  // Replicas outside the ISR whose end has reached both the high watermark and
  // the start of the leader's epoch: the expansion to propose.
  std::vector<node_id> caught_up(int64_t high_watermark, int64_t epoch_start_offset) const;

  struct follower_lag {
    node_id id = 0;
    int64_t log_end_offset = -1;
    int64_t lag_ms = 0;  // time since it last caught up
    bool in_isr = false;
  };
  std::vector<follower_lag> followers(int64_t now_ms) const;

  const std::vector<node_id>& isr() const { return isr_; }
  const std::vector<node_id>& replicas() const { return replicas_; }
  bool in_isr(node_id id) const;

 private:
  struct progress {
    int64_t log_end_offset = -1;    // unknown until the first fetch
    int64_t last_caught_up_ms = 0;
  };
  node_id self_ = 0;
  std::vector<node_id> replicas_;
  std::vector<node_id> isr_;
  std::map<node_id, progress> followers_;
};

}  // namespace strata::replication
