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

// The controller key's record, {"version": 1, "id": N} (implemented in state.cc
// with the other codecs).
std::string encode_controller(node_id id);
result<node_id> decode_controller(const std::string& json);

}  // namespace strata::cluster
