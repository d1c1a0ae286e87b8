// The tables service implementation, shared by service.cc (open, recovery,
// catalog), transaction.cc (write buffers) and commit.cc (the write path).
#pragma once

#include <atomic>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/fs.h"
#include "meta/kv.h"
#include "tables/commit_groups.h"
#include "tables/decoded_cache.h"
#include "tables/pk_state.h"
#include "tables/scan.h"
#include "tables/service.h"
#include "tables/table_state.h"

namespace strata::tables {

// One buffered primary-key change. `mode` is the on_conflict of the write
// that first buffered the key; commit re-checks it against the stored state.
struct pk_pending {
  enum class kind : uint8_t { upsert, remove, noop };
  std::string key;
  uint32_t row = 0;  // index into table_buffer::rows (upsert only)
  kind state = kind::upsert;
  on_conflict mode = on_conflict::replace;
  bool known_absent = false;  // the stored state had no such key at table_buffer::checked_at
};

struct table_buffer {
  std::shared_ptr<table_rt> table;
  column_batch rows;  // log tables: the rows to append; pk tables: row images pending points at
  std::vector<pk_pending> pending;
  std::unordered_map<std::string, size_t> index;  // key -> pending
  uint64_t bytes = 0;
  std::optional<uint64_t> checked_at;  // table_rt::state_version before the first existence check
  bool checks_stale = false;           // a commit happened between this buffer's checks
};

class service_impl;

// A transaction's row locks; released when the last holder (the transaction,
// or a savepoint taken from it) lets go, or at commit.
struct lock_owner {
  row_locks& locks;
  const uint64_t id;
  lock_owner(row_locks& l, uint64_t i) : locks(l), id(i) {}
  ~lock_owner() { locks.release_all(id); }
};

class transaction_impl final : public transaction {
 public:
  explicit transaction_impl(service_impl& svc) : svc_(svc) {}
  ~transaction_impl() override = default;

  result<write_result> insert(const std::string& table, const column_batch& rows, on_conflict action) override;
  result<write_result> remove(const std::string& table, const column_batch& keys) override;
  result<lookup_result> lookup(const std::string& table, const column_batch& keys) override;
  result<void> commit() override;
  void rollback() override;
  uint64_t buffered_bytes() const override { return bytes_; }
  std::shared_ptr<const savepoint> save() const override;
  void restore(const savepoint& point) override;
  result<lock_report> lock_keys(const std::string& table, const column_batch& keys, lock_strength strength,
                                lock_wait wait, const std::function<bool()>& stop) override;
  result<rows_version> version_of(const std::string& table) override;
  result<std::vector<uint8_t>> changed_rows(const std::string& table, const column_batch& rows) override;

  // For scans given this transaction: null if it has not written to `table_id`.
  const table_buffer* buffer_of(uint64_t table_id) const;

 private:
  result<table_buffer*> buffer_for(const std::string& table);
  status check_rows(const table_rt& t, const column_batch& rows) const;
  status reserve_bytes(table_buffer& b, uint64_t bytes);
  // Whether the key exists for this transaction; `stored_absent` is set when
  // the stored state (not the buffer) says it does not.
  // taken[r]: keys[r] is already live, in this transaction's writes or (when
  // ask_stored) in the stored state; stored_absent[r]: the stored state was
  // asked and lacks it.
  status look_up_keys(table_buffer& b, const std::vector<std::string>& keys, bool ask_stored,
                      std::vector<uint8_t>& taken, std::vector<uint8_t>& stored_absent);
  result<write_result> insert_pk(table_buffer& b, const column_batch& rows, on_conflict action);

  service_impl& svc_;
  std::map<std::string, table_buffer> buffers_;
  uint64_t bytes_ = 0;
  std::shared_ptr<lock_owner> locks_;  // null until the first lock
};

class service_impl final : public service {
 public:
  service_impl(service_config config, io::fs& fs, meta::kv& kv, std::unique_ptr<pk_state> state);
  ~service_impl() override = default;

  result<table_info> create_table(const table_schema& schema, bool if_not_exists,
                                  const std::vector<sequence_def>& owned) override;
  status drop_table(const std::string& name, bool if_exists) override;
  status create_sequence(const sequence_def& def, bool if_not_exists) override;
  status drop_sequences(const std::vector<std::string>& names, bool if_exists) override;
  sequence_store& sequences() override { return sequences_; }
  status truncate_tables(const std::vector<std::string>& names) override;
  result<table_info> alter_table(const std::string& name, const table_change& change) override;
  result<table_info> describe(const std::string& name) override;
  std::vector<table_info> list_tables() override;
  std::unique_ptr<transaction> begin() override;
  result<std::unique_ptr<table_scan>> scan(const std::string& table, const scan_spec& spec,
                                           const transaction* txn) override;
  status flush_all() override;

  status recover();
  result<std::shared_ptr<table_rt>> find_table(const std::string& name);
  // After the catalog stopped naming `t`: closes its logs and removes its
  // state and files (what is left over, the next open removes).
  void release_storage(table_rt& t);
  // create_table without the check that keeps SQL names off rewrite_name_prefix.
  result<table_info> create_table_named(const table_schema& schema, bool if_not_exists,
                                        const std::vector<sequence_def>& owned = {});
  // alter_table's steps (rewrite.cc).
  static status check_change(const table_schema& current, const table_change& change);
  std::vector<sequence_store::owner_change> owner_changes(const table_schema& current, const table_change& change);
  status copy_rows(const std::string& from, const std::string& to);
  // `fresh`: the staged table of a rewrite; null: the change is in place.
  result<table_info> swap_in(const std::shared_ptr<table_rt>& old, const std::shared_ptr<table_rt>& fresh,
                             const table_change& change);
  std::vector<std::shared_ptr<table_rt>> all_tables();  // a snapshot of the catalog
  status commit(std::map<std::string, table_buffer>& buffers);

  const service_config& config() const { return config_; }
  pk_state& state() { return *state_; }
  row_locks& locks() { return locks_; }
  commit_groups& groups() { return groups_; }
  uint64_t next_lock_owner() { return next_lock_owner_.fetch_add(1); }
  decoded_cache& cache() { return cache_; }

 private:
  friend struct recovery;
  std::string table_dir(uint64_t table_id) const;
  std::string bucket_dir(uint64_t table_id, uint64_t partition_id, uint32_t bucket) const;
  storage::log_config log_config() const;
  result<std::shared_ptr<partition_rt>> partition_for(table_rt& t, const std::string& key);
  result<std::shared_ptr<bucket_rt>> bucket_for(table_rt& t, partition_rt& p, uint32_t bucket);
  result<std::unique_ptr<storage::log>> open_log(const std::string& dir);
  table_info info_of(table_rt& t);
  status remove_orphans();

  const service_config config_;
  io::fs& fs_;
  meta::kv& kv_;
  const std::string root_;
  std::unique_ptr<pk_state> state_;
  decoded_cache cache_;
  row_locks locks_;
  commit_groups groups_{kv_, config_.commit_records_per_sweep};
  sequence_store sequences_{kv_};
  std::atomic<uint64_t> next_lock_owner_{1};

  std::mutex catalog_mu_;
  std::map<std::string, std::shared_ptr<table_rt>> tables_;
  uint64_t next_table_id_ = 1;
  std::atomic<uint64_t> next_txn_id_{1};
  friend class committer;
};

// "key (id)=(5)" for unique-violation messages.
std::string key_text(const table_schema& schema, const column_batch& rows, uint32_t row,
                     const std::vector<uint32_t>& columns);
int64_t now_us();

// The catalog name of the table a rewrite fills before it swaps it in; no
// SQL name starts with it, and opening the service drops what a crash left.
inline constexpr std::string_view rewrite_name_prefix = "\x01rewrite:";

}  // namespace strata::tables
