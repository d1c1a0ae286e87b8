#include "cluster/controller.h"

#include <fmt/format.h>

#include <algorithm>

namespace strata::cluster {
namespace {

bool contains(const std::vector<node_id>& ids, node_id id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::vector<node_id> without_dead(const std::vector<node_id>& isr, const cluster_view& view) {
  std::vector<node_id> alive;
  for (node_id id : isr) {
    if (view.alive(id)) alive.push_back(id);
  }
  return alive;
}

// The first replica, in preference order, that may lead: alive, in the isr,
// and not `excluded`.
node_id first_eligible(const partition_state& p, const cluster_view& view, node_id excluded) {
  for (node_id id : p.replicas) {
    if (id != excluded && contains(p.isr, id) && view.alive(id)) return id;
  }
  return no_leader;
}

bool same_state(const partition_state& a, const partition_state& b) {
  return a.leader == b.leader && a.leader_epoch == b.leader_epoch && a.isr == b.isr && a.replicas == b.replicas;
}

partition_state elect_leader(const partition_state& p, const cluster_view& view) {
  partition_state next = p;
  node_id chosen = first_eligible(p, view, no_leader);
  if (chosen != no_leader) {
    next.leader = chosen;
    next.isr = without_dead(p.isr, view);
    next.leader_epoch = p.leader_epoch + 1;
  } else if (p.leader != no_leader) {
    // Offline: the isr keeps its last members so that one of them, not a
    // replica that may lack acknowledged records, leads when it comes back.
    next.leader = no_leader;
    next.leader_epoch = p.leader_epoch + 1;
  }
  return next;
}

partition_state shrink_or_move(const partition_state& p, const cluster_view& view, bool move_to_preferred) {
  partition_state next = p;
  next.isr = without_dead(p.isr, view);
  if (move_to_preferred && !p.replicas.empty()) {
    node_id preferred = p.replicas.front();
    if (preferred != p.leader && view.alive(preferred) && contains(next.isr, preferred)) {
      next.leader = preferred;
      next.leader_epoch = p.leader_epoch + 1;
    }
  }
  return next;
}

}  // namespace

std::vector<partition_state> plan_leadership(const cluster_view& view, bool move_to_preferred) {
  std::vector<partition_state> changes;
  for (const partition_state& p : view.partitions) {
    bool leader_alive = p.leader != no_leader && view.alive(p.leader);
    partition_state next = leader_alive ? shrink_or_move(p, view, move_to_preferred) : elect_leader(p, view);
    if (!same_state(p, next)) changes.push_back(std::move(next));
  }
  return changes;
}

result<std::vector<std::vector<node_id>>> assign_replicas(std::vector<node_id> live_nodes, int32_t first_partition,
                                                          int32_t partition_count, int32_t replication_factor,
                                                          uint32_t seed) {
  std::sort(live_nodes.begin(), live_nodes.end());
  live_nodes.erase(std::unique(live_nodes.begin(), live_nodes.end()), live_nodes.end());
  const int64_t n = static_cast<int64_t>(live_nodes.size());
  if (replication_factor < 1) {
    return make_error(errc::invalid_argument, fmt::format("replication factor {} is below 1", replication_factor));
  }
  if (replication_factor > n) {
    return make_error(errc::invalid_argument,
                      fmt::format("replication factor {} needs at least {} live nodes; {} {} alive", replication_factor,
                                  replication_factor, n, n == 1 ? "is" : "are"));
  }
  if (first_partition < 0 || partition_count < 0) {
    return make_error(errc::invalid_argument,
                      fmt::format("partitions [{}, +{}) are not a valid range", first_partition, partition_count));
  }
  const int64_t start = seed % n;
  const int64_t base_shift = (seed / n) % n;
  std::vector<std::vector<node_id>> assignment;
  assignment.reserve(partition_count);
  for (int64_t p = first_partition; p < int64_t{first_partition} + partition_count; ++p) {
    const int64_t leader_index = (p + start) % n;
    // Followers sit 1..n-1 places after the leader; the shift moves every n
    // partitions so that a node's followers are not always the same nodes.
    const int64_t shift = base_shift + p / n;
    std::vector<node_id> replicas{live_nodes[leader_index]};
    for (int64_t j = 0; j + 1 < replication_factor; ++j) {
      const int64_t offset = 1 + (shift + j) % (n - 1);
      replicas.push_back(live_nodes[(leader_index + offset) % n]);
    }
    assignment.push_back(std::move(replicas));
  }
  return assignment;
}

std::optional<partition_state> plan_leader_handoff(const partition_state& p, node_id leaving,
                                                   const cluster_view& view) {
  if (p.leader != leaving || leaving == no_leader) return std::nullopt;
  node_id successor = first_eligible(p, view, leaving);
  if (successor == no_leader) return std::nullopt;
  partition_state next = p;
  next.leader = successor;
  next.leader_epoch = p.leader_epoch + 1;
  next.isr.erase(std::remove(next.isr.begin(), next.isr.end(), leaving), next.isr.end());
  return next;
}

}  // namespace strata::cluster
