// memory_coordinator: the coordinator in a std::map under a mutex, with etcd's
// semantics, for unit tests. Its clock only moves when a test calls advance_ms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/coordinator.h"

namespace strata::cluster {

// etcd's default --max-txn-ops: conditions and ops of one commit, each.
inline constexpr size_t k_max_txn_ops = 128;

// etcd's longest lease, in seconds; longer ones are refused.
inline constexpr int64_t k_max_lease_ttl_seconds = 9'000'000'000;

// A lease's TTL as etcd keeps it: whole seconds, rounded up, at least one.
inline int64_t lease_ttl_seconds(int64_t ttl_ms) { return ttl_ms <= 1000 ? 1 : ttl_ms / 1000 + (ttl_ms % 1000 != 0); }

// invalid_argument for a negative TTL or one longer than etcd allows.
status check_lease_ttl(int64_t ttl_ms);

class memory_coordinator final : public coordinator {
 public:
  result<lease_id> grant_lease(int64_t ttl_ms) override;
  status keep_alive(lease_id lease) override;
  status revoke_lease(lease_id lease) override;

  result<range_result> range(const std::string& prefix) override;
  result<std::optional<kv_entry>> get(const std::string& key) override;
  result<txn_outcome> commit(const std::vector<txn_condition>& conditions, const std::vector<txn_op>& ops) override;

  // Moves the test clock; every lease whose deadline it reaches expires, and
  // its keys are deleted (one revision per lease that had keys, as in etcd).
  void advance_ms(int64_t elapsed_ms);

 private:
  struct lease_state {
    int64_t ttl_ms = 0;
    int64_t deadline_ms = 0;
  };

  bool condition_holds(const txn_condition& condition) const;
  status check_leases(const std::vector<txn_op>& ops) const;
  bool apply(const txn_op& op, int64_t revision);
  void drop_lease(lease_id lease);

  mutable std::mutex mutex_;
  std::map<std::string, kv_entry> entries_;
  std::map<lease_id, lease_state> leases_;
  int64_t revision_ = 1;  // etcd's store starts at revision 1
  int64_t now_ms_ = 0;
  lease_id next_lease_ = 1;
};

}  // namespace strata::cluster
