#include "cluster/memory_coordinator.h"

#include <fmt/format.h>

#include <set>

namespace strata::cluster {
namespace {

error lease_gone(lease_id lease) {
  return make_error(errc::not_found, fmt::format("lease {} has expired or was revoked", lease));
}

// The checks etcd makes before a transaction reaches the store: sizes, empty
// keys, and a key written twice (put+put or put+delete; delete+delete is fine).
status validate_txn(const std::vector<txn_condition>& conditions, const std::vector<txn_op>& ops) {
  if (conditions.size() > k_max_txn_ops || ops.size() > k_max_txn_ops) {
    return make_error(errc::limit_exceeded, fmt::format("a transaction holds at most {} conditions and {} ops",
                                                        k_max_txn_ops, k_max_txn_ops));
  }
  std::set<std::string> puts;
  std::set<std::string> removes;
  for (const txn_op& op : ops) {
    if (op.key.empty()) return make_error(errc::invalid_argument, "a transaction op has an empty key");
    if (op.op == txn_op::kind::remove) removes.insert(op.key);
  }
  for (const txn_op& op : ops) {
    if (op.op != txn_op::kind::put) continue;
    if (!puts.insert(op.key).second || removes.count(op.key) != 0) {
      return make_error(errc::invalid_argument, fmt::format("a transaction writes key '{}' twice", op.key));
    }
  }
  return {};
}

}  // namespace

status check_lease_ttl(int64_t ttl_ms) {
  if (ttl_ms < 0) return make_error(errc::invalid_argument, fmt::format("lease ttl {} ms is negative", ttl_ms));
  if (lease_ttl_seconds(ttl_ms) > k_max_lease_ttl_seconds) {
    return make_error(errc::invalid_argument,
                      fmt::format("lease ttl {} ms is longer than etcd's {} s", ttl_ms, k_max_lease_ttl_seconds));
  }
  return {};
}

std::unique_ptr<memory_coordinator> make_memory_coordinator() { return std::make_unique<memory_coordinator>(); }

result<lease_id> memory_coordinator::grant_lease(int64_t ttl_ms) {
  STRATA_TRY(check_lease_ttl(ttl_ms));
  std::lock_guard lock(mutex_);
  int64_t whole_ttl_ms = lease_ttl_seconds(ttl_ms) * 1000;
  lease_id id = next_lease_++;
  leases_[id] = lease_state{whole_ttl_ms, now_ms_ + whole_ttl_ms};
  return id;
}

status memory_coordinator::keep_alive(lease_id lease) {
  std::lock_guard lock(mutex_);
  auto it = leases_.find(lease);
  if (it == leases_.end()) return lease_gone(lease);
  it->second.deadline_ms = now_ms_ + it->second.ttl_ms;
  return {};
}

status memory_coordinator::revoke_lease(lease_id lease) {
  std::lock_guard lock(mutex_);
  if (leases_.count(lease) == 0) return lease_gone(lease);
  drop_lease(lease);
  return {};
}

result<range_result> memory_coordinator::range(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  range_result out;
  out.revision = revision_;
  for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix); ++it) {
    out.entries.push_back(it->second);
  }
  return out;
}

result<std::optional<kv_entry>> memory_coordinator::get(const std::string& key) {
  if (key.empty()) return make_error(errc::invalid_argument, "get of an empty key");
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::optional<kv_entry>();
  return std::optional<kv_entry>(it->second);
}

result<txn_outcome> memory_coordinator::commit(const std::vector<txn_condition>& conditions,
                                               const std::vector<txn_op>& ops) {
  STRATA_TRY(validate_txn(conditions, ops));
  std::lock_guard lock(mutex_);
  for (const txn_condition& condition : conditions) {
    if (!condition_holds(condition)) return txn_outcome{false, revision_};
  }
  STRATA_TRY(check_leases(ops));
  int64_t next_revision = revision_ + 1;
  bool changed = false;
  for (const txn_op& op : ops) changed = apply(op, next_revision) || changed;
  if (changed) revision_ = next_revision;
  return txn_outcome{true, revision_};
}

void memory_coordinator::advance_ms(int64_t elapsed_ms) {
  STRATA_ASSERT(elapsed_ms >= 0, "the test clock only moves forward");
  std::lock_guard lock(mutex_);
  now_ms_ += elapsed_ms;
  std::vector<lease_id> expired;
  for (const auto& [id, lease] : leases_) {
    if (lease.deadline_ms <= now_ms_) expired.push_back(id);
  }
  for (lease_id id : expired) drop_lease(id);
}

bool memory_coordinator::condition_holds(const txn_condition& condition) const {
  auto it = entries_.find(condition.key);
  int64_t mod_revision = it == entries_.end() ? 0 : it->second.mod_revision;
  return mod_revision == condition.mod_revision;
}

status memory_coordinator::check_leases(const std::vector<txn_op>& ops) const {
  for (const txn_op& op : ops) {
    if (op.op == txn_op::kind::put && op.lease != 0 && leases_.count(op.lease) == 0) {
      return make_error(errc::not_found,
                        fmt::format("lease {} of key '{}' has expired or was revoked", op.lease, op.key));
    }
  }
  return {};
}

// Returns whether the store changed (deleting a missing key does not).
bool memory_coordinator::apply(const txn_op& op, int64_t revision) {
  if (op.op == txn_op::kind::remove) return entries_.erase(op.key) != 0;
  kv_entry& entry = entries_[op.key];
  if (entry.create_revision == 0) {
    entry.key = op.key;
    entry.create_revision = revision;
  }
  entry.value = op.value;
  entry.mod_revision = revision;
  entry.lease = op.lease;
  return true;
}

// Forgets a lease and deletes its keys in one revision, as etcd's revoke does.
void memory_coordinator::drop_lease(lease_id lease) {
  leases_.erase(lease);
  bool changed = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.lease == lease) {
      it = entries_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (changed) ++revision_;
}

}  // namespace strata::cluster
