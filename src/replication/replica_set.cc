#include "replication/replica_set.h"

#include <algorithm>
#include <limits>

namespace strata::replication {

void replica_set::reset(node_id self, const std::vector<node_id>& replicas, const std::vector<node_id>& isr, int64_t now_ms) {
  self_ = self;
  replicas_ = replicas;
  isr_ = isr;
  followers_.clear();
  for (node_id r : replicas_) {
    if (r != self_) followers_[r] = progress{-1, now_ms};
  }
}

void replica_set::set_isr(const std::vector<node_id>& isr) {
  // A replica dropped from the ISR (it lagged, or the controller saw it die)
  // must fetch again before it counts as caught up: its last known end may
  // equal an idle partition's high watermark forever.
  for (auto& [id, p] : followers_) {
    bool was_in = in_isr(id);
    bool stays = std::find(isr.begin(), isr.end(), id) != isr.end();
    if (was_in && !stays) p.log_end_offset = -1;
  }
  isr_ = isr;
}

void replica_set::set_replicas(const std::vector<node_id>& replicas, int64_t now_ms) {
  std::map<node_id, progress> kept;
  for (node_id r : replicas) {
    if (r == self_) continue;
    auto it = followers_.find(r);
    kept[r] = it != followers_.end() ? it->second : progress{-1, now_ms};
  }
  followers_ = std::move(kept);
  replicas_ = replicas;
}

bool replica_set::in_isr(node_id id) const { return std::find(isr_.begin(), isr_.end(), id) != isr_.end(); }

bool replica_set::on_fetch(node_id follower, int64_t fetch_offset, int64_t leader_end_offset, int64_t now_ms) {
  auto it = followers_.find(follower);
  if (it == followers_.end()) return false;
  it->second.log_end_offset = fetch_offset;
  if (fetch_offset >= leader_end_offset) it->second.last_caught_up_ms = now_ms;
  return true;
}

int64_t replica_set::high_watermark(int64_t leader_durable_offset) const {
  int64_t hw = leader_durable_offset;
  for (node_id id : isr_) {
    if (id == self_) continue;
    auto it = followers_.find(id);
    // An ISR member not heard from yet holds the watermark where it is: its
    // end is unknown, and acknowledging past it could lose a record.
    int64_t end = it == followers_.end() ? -1 : it->second.log_end_offset;
    hw = std::min(hw, end);
  }
  return hw;
}

std::vector<node_id> replica_set::lagging(int64_t now_ms, int64_t lag_max_ms) const {
  std::vector<node_id> out;
  for (node_id id : isr_) {
    if (id == self_) continue;
    auto it = followers_.find(id);
    if (it == followers_.end() || now_ms - it->second.last_caught_up_ms > lag_max_ms) out.push_back(id);
  }
  return out;
}

std::vector<node_id> replica_set::caught_up(int64_t high_watermark, int64_t epoch_start_offset) const {
  std::vector<node_id> out;
  for (auto& [id, p] : followers_) {
    if (in_isr(id)) continue;
    if (p.log_end_offset >= high_watermark && p.log_end_offset >= epoch_start_offset) out.push_back(id);
  }
  return out;
}

std::vector<replica_set::follower_lag> replica_set::followers(int64_t now_ms) const {
  std::vector<follower_lag> out;
  for (auto& [id, p] : followers_) out.push_back({id, p.log_end_offset, now_ms - p.last_caught_up_ms, in_isr(id)});
  return out;
}

}  // namespace strata::replication
