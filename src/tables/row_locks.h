// Row locks: PostgreSQL's four row-lock strengths on primary-key values,
// held by a transaction until it ends. UPDATE, DELETE and ON CONFLICT DO
// UPDATE take them before they read the rows they change, and SELECT ... FOR
// UPDATE | NO KEY UPDATE | SHARE | KEY SHARE takes them for the rows it
// returns, so two transactions never both change one row from the same old
// version (no lost updates).
//
// A lock names a key value, not a stored row version, so a key that does not
// exist yet can be locked too (an upsert locks the key it may insert).
//
// A waiter blocks until the holders that conflict with it end. Whoever
// starts a wait that closes a cycle of waiters gets `deadlock` (it is the one
// PostgreSQL would cancel). Waits poll `stop` (a cancel, statement_timeout)
// every wait_poll_ms.
//
// Bounds: a transaction that would hold more than rows_per_table_max locks
// in one table takes one lock on the whole table instead (in that strength),
// which conflicts with every other transaction's row locks there.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata::tables {

// Weakest first; each conflicts with what the weaker ones conflict with, and more.
enum class lock_strength : uint8_t { key_share, share, no_key_update, update };
bool conflicts(lock_strength held, lock_strength wanted);

enum class lock_wait : uint8_t {
  block,        // wait for conflicting holders to end
  nowait,       // fail with not_available at the first conflict
  skip_locked,  // leave conflicting keys unlocked and report them
};

enum class lock_status : uint8_t { locked, not_available, deadlock, cancelled };

class row_locks {
 public:
  static constexpr uint64_t rows_per_table_max = 100'000;
  static constexpr int wait_poll_ms = 20;

  // Locks `keys` (encoded key values) of table `table_id` for `owner`, in
  // order. With skip_locked, skipped[i] says that keys[i] was left unlocked.
  // Locks taken before a failure stay held (the transaction ends them).
  lock_status lock(uint64_t owner, uint64_t table_id, const std::vector<std::string>& keys, lock_strength strength,
                   lock_wait wait, const std::function<bool()>& stop, std::vector<uint8_t>& skipped);
  void release_all(uint64_t owner);

  // For tests: the locks `owner` holds (a whole-table lock counts as one).
  size_t held_by(uint64_t owner);

 private:
  struct holder {
    uint64_t owner = 0;
    lock_strength strength = lock_strength::key_share;
  };
  struct entry {
    std::vector<holder> holders;
  };
  struct table_locks {
    std::unordered_map<std::string, entry> rows;
    entry whole;
  };
  struct target {
    uint64_t table_id = 0;
    const std::string* key = nullptr;  // null: the whole table
    lock_strength strength = lock_strength::key_share;
  };
  struct owner_state {
    std::vector<std::pair<uint64_t, std::string>> rows;  // (table, key) held
    std::vector<uint64_t> whole_tables;
    std::unordered_map<uint64_t, uint64_t> rows_in_table;
    bool waiting = false;
    uint64_t wait_table = 0;
    std::string wait_key;
    bool wait_whole = false;
    lock_strength wait_strength = lock_strength::key_share;
  };

  // Owners other than `owner` whose locks conflict with `t`.
  void blockers(uint64_t owner, const target& t, std::vector<uint64_t>& out);
  bool holds_whole(uint64_t owner, uint64_t table_id, lock_strength strength);
  void grant(uint64_t owner, const target& t);
  bool closes_cycle(uint64_t owner);
  lock_status acquire(std::unique_lock<std::mutex>& lk, uint64_t owner, const target& t, lock_wait wait,
                      const std::function<bool()>& stop, bool& skipped);

  std::mutex mu_;
  std::condition_variable released_;
  std::unordered_map<uint64_t, table_locks> tables_;
  std::unordered_map<uint64_t, owner_state> owners_;
};

}  // namespace strata::tables
