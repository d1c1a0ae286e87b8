#include "tables/row_locks.h"

#include <algorithm>
#include <chrono>

namespace strata::tables {

// PostgreSQL's row-lock conflict table: KEY SHARE conflicts with UPDATE only,
// SHARE with the two update strengths, NO KEY UPDATE with all but KEY SHARE,
// UPDATE with everything. Numbered weakest first, that is a sum of at least 3.
bool conflicts(lock_strength held, lock_strength wanted) {
  return static_cast<int>(held) + static_cast<int>(wanted) >= 3;
}

void row_locks::blockers(uint64_t owner, const target& t, std::vector<uint64_t>& out) {
  out.clear();
  auto it = tables_.find(t.table_id);
  if (it == tables_.end()) return;
  auto take = [&](const entry& e) {
    for (const holder& h : e.holders) {
      if (h.owner == owner || !conflicts(h.strength, t.strength)) continue;
      if (std::find(out.begin(), out.end(), h.owner) == out.end()) out.push_back(h.owner);
    }
  };
  take(it->second.whole);
  if (t.key != nullptr) {
    if (auto row = it->second.rows.find(*t.key); row != it->second.rows.end()) take(row->second);
    return;
  }
  for (const auto& [key, e] : it->second.rows) take(e);
}

bool row_locks::holds_whole(uint64_t owner, uint64_t table_id, lock_strength strength) {
  auto it = tables_.find(table_id);
  if (it == tables_.end()) return false;
  for (const holder& h : it->second.whole.holders) {
    if (h.owner == owner && h.strength >= strength) return true;
  }
  return false;
}

void row_locks::grant(uint64_t owner, const target& t) {
  owner_state& os = owners_[owner];
  table_locks& tl = tables_[t.table_id];
  entry& e = t.key != nullptr ? tl.rows[*t.key] : tl.whole;
  for (holder& h : e.holders) {
    if (h.owner != owner) continue;
    h.strength = std::max(h.strength, t.strength);
    return;
  }
  e.holders.push_back(holder{owner, t.strength});
  if (t.key != nullptr) {
    os.rows.emplace_back(t.table_id, *t.key);
    ++os.rows_in_table[t.table_id];
  } else {
    os.whole_tables.push_back(t.table_id);
  }
}

bool row_locks::closes_cycle(uint64_t start) {
  std::vector<uint64_t> stack{start};
  std::vector<uint64_t> visited{start};
  std::vector<uint64_t> next;
  while (!stack.empty()) {
    const uint64_t o = stack.back();
    stack.pop_back();
    const owner_state& os = owners_[o];
    if (!os.waiting) continue;
    target t{os.wait_table, os.wait_whole ? nullptr : &os.wait_key, os.wait_strength};
    blockers(o, t, next);
    for (uint64_t b : next) {
      if (b == start) return true;
      if (std::find(visited.begin(), visited.end(), b) != visited.end()) continue;
      visited.push_back(b);
      stack.push_back(b);
    }
  }
  return false;
}

lock_status row_locks::acquire(std::unique_lock<std::mutex>& lk, uint64_t owner, const target& t, lock_wait wait,
                               const std::function<bool()>& stop, bool& skipped) {
  skipped = false;
  std::vector<uint64_t> in_the_way;
  owner_state& os = owners_[owner];
  auto stop_waiting = [&os] { os.waiting = false; };
  bool first = true;
  for (;;) {
    blockers(owner, t, in_the_way);
    if (in_the_way.empty()) {
      stop_waiting();
      grant(owner, t);
      return lock_status::locked;
    }
    if (wait == lock_wait::nowait) return lock_status::not_available;
    if (wait == lock_wait::skip_locked) {
      skipped = true;
      return lock_status::locked;
    }
    if (first) {
      // Only the start of a wait can close a cycle of waiters.
      first = false;
      os.waiting = true;
      os.wait_table = t.table_id;
      os.wait_whole = t.key == nullptr;
      os.wait_key = t.key != nullptr ? *t.key : std::string();
      os.wait_strength = t.strength;
      if (closes_cycle(owner)) {
        stop_waiting();
        return lock_status::deadlock;
      }
    }
    released_.wait_for(lk, std::chrono::milliseconds(wait_poll_ms));
    if (stop && stop()) {
      stop_waiting();
      return lock_status::cancelled;
    }
  }
}

lock_status row_locks::lock(uint64_t owner, uint64_t table_id, const std::vector<std::string>& keys,
                            lock_strength strength, lock_wait wait, const std::function<bool()>& stop,
                            std::vector<uint8_t>& skipped) {
  skipped.assign(keys.size(), 0);
  std::unique_lock lk(mu_);
  if (holds_whole(owner, table_id, strength)) return lock_status::locked;
  if (owners_[owner].rows_in_table[table_id] + keys.size() > rows_per_table_max) {
    bool none = false;
    const lock_status s = acquire(lk, owner, target{table_id, nullptr, strength},
                                  wait == lock_wait::skip_locked ? lock_wait::nowait : wait, stop, none);
    // SKIP LOCKED must not skip a whole table for one locked row: when the
    // table lock is not free it locks row by row after all.
    if (s == lock_status::locked || wait != lock_wait::skip_locked) return s;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    bool was_skipped = false;
    const lock_status s = acquire(lk, owner, target{table_id, &keys[i], strength}, wait, stop, was_skipped);
    if (s != lock_status::locked) return s;
    skipped[i] = was_skipped ? 1 : 0;
  }
  return lock_status::locked;
}

void row_locks::release_all(uint64_t owner) {
  {
    std::lock_guard lk(mu_);
    auto it = owners_.find(owner);
    if (it == owners_.end()) return;
    auto drop = [owner](entry& e) {
      std::erase_if(e.holders, [owner](const holder& h) { return h.owner == owner; });
    };
    for (const auto& [table_id, key] : it->second.rows) {
      auto t = tables_.find(table_id);
      if (t == tables_.end()) continue;
      auto row = t->second.rows.find(key);
      if (row == t->second.rows.end()) continue;
      drop(row->second);
      if (row->second.holders.empty()) t->second.rows.erase(row);
    }
    for (uint64_t table_id : it->second.whole_tables) {
      if (auto t = tables_.find(table_id); t != tables_.end()) drop(t->second.whole);
    }
    std::vector<uint64_t> touched = it->second.whole_tables;
    for (const auto& [table_id, count] : it->second.rows_in_table) touched.push_back(table_id);
    for (uint64_t table_id : touched) {
      auto t = tables_.find(table_id);
      if (t != tables_.end() && t->second.rows.empty() && t->second.whole.holders.empty()) tables_.erase(t);
    }
    owners_.erase(it);
  }
  released_.notify_all();
}

size_t row_locks::held_by(uint64_t owner) {
  std::lock_guard lk(mu_);
  auto it = owners_.find(owner);
  return it == owners_.end() ? 0 : it->second.rows.size() + it->second.whole_tables.size();
}

}  // namespace strata::tables
