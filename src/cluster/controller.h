// The controller's decisions, as pure functions of a cluster_view: leader
// elections when nodes die, moves back to the preferred leader, hand-offs for
// a controlled shutdown, and replica placement for new partitions. The agent
// (cluster/agent.h) commits what these return, each write comparing the
// partition's revision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "cluster/state.h"

namespace strata::cluster {

// The partitions whose state must change, as their new states; `revision` is
// still the current one (the value the write must compare).
// - A partition whose leader is gone (no_leader or not alive) gets the first
//   replica, in `replicas` order, that is alive and in the isr; the isr loses
//   its dead members and leader_epoch grows by one. With no such replica the
//   leader becomes no_leader and the isr stays as it is: a replica outside the
//   isr is never elected (no unclean election).
// - A partition whose leader lives but some isr members do not loses those
//   members from its isr (leader and epoch unchanged).
// - With move_to_preferred, a partition whose replicas[0] is alive, in the isr
//   and not the leader gets replicas[0] as leader (epoch + 1).
std::vector<partition_state> plan_leadership(const cluster_view& view, bool move_to_preferred);

// Kafka's rack-unaware round-robin placement for partitions
// [first_partition, first_partition + partition_count): partition p's leader
// is live node (p + start) mod n, its followers the nodes that follow at a
// shift that grows every n partitions; `seed` picks start and shift. Node ids
// are sorted first, so the result depends only on the set of nodes and seed.
// errc::invalid_argument when replication_factor < 1 or > live nodes.
result<std::vector<std::vector<node_id>>> assign_replicas(std::vector<node_id> live_nodes, int32_t first_partition,
                                                          int32_t partition_count, int32_t replication_factor,
                                                          uint32_t seed);

// For a controlled shutdown of `leaving`: if it leads p, p's new state with the
// first other replica that is alive and in the isr as leader, epoch + 1 and
// `leaving` out of the isr. nullopt when `leaving` does not lead p or no other
// isr member is alive.
std::optional<partition_state> plan_leader_handoff(const partition_state& p, node_id leaving, const cluster_view& view);

// Moves that can finish: a moving partition whose target replicas are all in
// the isr gets replicas = target, isr = isr minus the leaving replicas, and
// no target. If its leader leaves, the first target replica that is alive and
// in the isr leads at epoch + 1; with none alive the move waits.
std::vector<partition_state> plan_move_completions(const cluster_view& view);

// What `strata cluster rebalance` asks for: new states for the partitions
// that move. Replicas move from the most to the least loaded live nodes until
// no two live nodes hold more than one replica apart, moving followers before
// leaders; then preferred leaders (replicas[0]) are reordered the same way.
// A partition that changes its replica set starts a move (target_replicas set,
// replicas = target then the leaving ones); one that only changes order gets
// the new order at once. Partitions already moving, offline, or with a
// replica on a node that is not alive are left alone and counted in
// `skipped`. Deterministic for a given view.
struct rebalance_plan {
  std::vector<partition_state> changes;
  std::vector<std::vector<node_id>> replicas_before;  // of each change, as it was read
  int32_t replicas_moved = 0;     // replica copies the moves make
  int32_t preferred_changed = 0;  // partitions whose preferred leader changed
  int32_t skipped = 0;
};
rebalance_plan plan_rebalance(const cluster_view& view);
// Fills replicas_before, replicas_moved and preferred_changed from
// plan.changes and the state they were planned from.
void tally_moves(const cluster_view& before, rebalance_plan& plan);

struct rebalance_request {
  int64_t throttle_bytes_per_second = 0;  // for the copies the moves make; 0: unlimited
  bool dry_run = false;
};

// The controller key's record, {"version": 1, "id": N} (implemented in state.cc
// with the other codecs).
std::string encode_controller(node_id id);
result<node_id> decode_controller(const std::string& json);

}  // namespace strata::cluster
