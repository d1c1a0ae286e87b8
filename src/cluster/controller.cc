#include "cluster/controller.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

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
  return a.leader == b.leader && a.leader_epoch == b.leader_epoch && a.isr == b.isr && a.replicas == b.replicas &&
         a.target_replicas == b.target_replicas;
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

bool movable(const partition_state& p, const cluster_view& view) {
  if (p.moving() || p.leader == no_leader || p.replicas.empty()) return false;
  return std::all_of(p.replicas.begin(), p.replicas.end(), [&](node_id id) { return view.alive(id); });
}

// Live nodes ordered by (count, id): the least loaded first.
std::vector<node_id> by_load(const std::map<node_id, int32_t>& count) {
  std::vector<node_id> ids;
  for (auto& [id, n] : count) ids.push_back(id);
  std::stable_sort(ids.begin(), ids.end(), [&](node_id a, node_id b) { return count.at(a) < count.at(b); });
  return ids;
}

// One step of balancing `count` over `targets`: moves one unit from the most
// loaded node to a less loaded one through `try_move(target, from, to)`.
// Returns false when balanced or when no allowed move exists.
template <typename TryMove>
bool balance_step(std::map<node_id, int32_t>& count, std::vector<std::vector<node_id>>& targets, TryMove try_move) {
  if (count.size() < 2) return false;
  std::vector<node_id> order = by_load(count);
  for (auto hi = order.rbegin(); hi != order.rend(); ++hi) {
    for (node_id lo : order) {
      if (count[*hi] - count[lo] <= 1) break;
      for (auto& target : targets) {
        if (try_move(target, *hi, lo)) {
          --count[*hi];
          ++count[lo];
          return true;
        }
      }
    }
  }
  return false;
}

// Replaces follower `from` with `to` in target (leaders only when
// allow_leader), keeping its position.
bool move_replica(std::vector<node_id>& target, node_id from, node_id to, bool allow_leader) {
  if (contains(target, to)) return false;
  auto it = std::find(target.begin(), target.end(), from);
  if (it == target.end() || (it == target.begin() && !allow_leader)) return false;
  *it = to;
  return true;
}

bool make_preferred(std::vector<node_id>& target, node_id from, node_id to) {
  if (target.empty() || target.front() != from) return false;
  auto it = std::find(target.begin(), target.end(), to);
  if (it == target.end()) return false;
  std::iter_swap(target.begin(), it);
  return true;
}

bool same_members(std::vector<node_id> a, std::vector<node_id> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

partition_state start_move(const partition_state& p, const std::vector<node_id>& target) {
  partition_state next = p;
  if (same_members(p.replicas, target)) {
    next.replicas = target;
    return next;
  }
  next.target_replicas = target;
  next.replicas = target;
  for (node_id id : p.replicas) {
    if (!contains(target, id)) next.replicas.push_back(id);
  }
  return next;
}

}  // namespace

std::vector<partition_state> plan_move_completions(const cluster_view& view) {
  std::vector<partition_state> changes;
  for (const partition_state& p : view.partitions) {
    if (!p.moving()) continue;
    bool all_in_sync = std::all_of(p.target_replicas.begin(), p.target_replicas.end(),
                                   [&](node_id id) { return contains(p.isr, id); });
    if (!all_in_sync) continue;
    partition_state next = p;
    next.replicas = p.target_replicas;
    next.target_replicas.clear();
    next.isr.clear();
    for (node_id id : p.isr) {
      if (contains(next.replicas, id)) next.isr.push_back(id);
    }
    if (!contains(next.replicas, p.leader)) {
      next.leader = first_eligible(next, view, no_leader);
      if (next.leader == no_leader) continue;  // no live target replica to lead: wait rather than go offline
      next.leader_epoch = p.leader_epoch + 1;
    }
    changes.push_back(std::move(next));
  }
  return changes;
}

rebalance_plan plan_rebalance(const cluster_view& view) {
  rebalance_plan plan;
  std::map<node_id, int32_t> replicas_on, preferred_on;
  for (const node_info& n : view.nodes) replicas_on[n.id] = preferred_on[n.id] = 0;
  std::vector<const partition_state*> candidates;
  std::vector<std::vector<node_id>> targets;  // candidates' replicas as planned
  for (const partition_state& p : view.partitions) {
    if (movable(p, view)) {
      candidates.push_back(&p);
      targets.push_back(p.replicas);
      continue;
    }
    ++plan.skipped;
    const std::vector<node_id>& held = p.moving() ? p.target_replicas : p.replicas;
    for (node_id id : held) {
      if (view.alive(id)) ++replicas_on[id];
    }
    if (!held.empty() && view.alive(held.front())) ++preferred_on[held.front()];
  }
  for (const auto& t : targets) {
    for (node_id id : t) ++replicas_on[id];
  }
  // Followers move first, so that fewer partitions change leader.
  for (bool allow_leader : {false, true}) {
    auto move = [allow_leader](auto& t, node_id from, node_id to) { return move_replica(t, from, to, allow_leader); };
    while (balance_step(replicas_on, targets, move)) {
    }
  }
  for (const auto& t : targets) ++preferred_on[t.front()];
  while (balance_step(preferred_on, targets, make_preferred)) {
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (targets[i] != candidates[i]->replicas) plan.changes.push_back(start_move(*candidates[i], targets[i]));
  }
  tally_moves(view, plan);
  return plan;
}

void tally_moves(const cluster_view& before, rebalance_plan& plan) {
  plan.replicas_moved = 0;
  plan.preferred_changed = 0;
  plan.replicas_before.clear();
  for (const partition_state& next : plan.changes) {
    const partition_state* was = nullptr;
    for (const partition_state& p : before.partitions) {
      if (p.topic == next.topic && p.partition == next.partition) was = &p;
    }
    plan.replicas_before.push_back(was ? was->replicas : std::vector<node_id>{});
    if (was == nullptr || was->replicas.empty()) continue;
    const std::vector<node_id>& target = next.moving() ? next.target_replicas : next.replicas;
    for (node_id id : target) plan.replicas_moved += contains(was->replicas, id) ? 0 : 1;
    if (target.front() != was->replicas.front()) ++plan.preferred_changed;
  }
}

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
