// The tables service: the catalog of tables, their partitions and buckets, the
// columnar batch logs, primary-key state and changelogs, and scans over them.
//
// Threading: every method is safe to call from any thread. Writes to one
// bucket are serialized; scans run concurrently with writes and see, per
// bucket, the batches durable when the scan was opened.
//
// Durability: a committed write returns only after its batches are fsynced
// (the bucket logs are the write-ahead log; primary-key state in RocksDB is
// rebuilt from them after a crash). A committed write is visible to every scan
// opened after the commit returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "tables/row_locks.h"
#include "tables/schema.h"
#include "tables/sequences.h"
#include "tables/types.h"

namespace strata::io {
class fs;
}
namespace strata::meta {
class kv;
}

namespace strata::tables {

struct service_config {
  std::string data_dir;                       // tables live under <data_dir>/tables
  uint32_t batch_rows_max = 122880;           // rows per stored columnar batch; larger writes are split
  uint64_t decoded_cache_bytes_max = 2ULL << 30;  // decoded column chunks kept for hot scans
  uint64_t transaction_bytes_max = 256ULL << 20;  // rows buffered by one open transaction
  uint64_t segment_bytes_max = 256ULL << 20;  // bucket log segments roll past this size
  uint64_t commit_records_per_sweep = 1024;   // commits over several tables between drops of their records
  int zstd_level = 1;  // level 3 encodes about half as fast for ~3% smaller batches (COPY speed matters more)
};

struct table_info {
  uint64_t table_id = 0;
  table_schema schema;
  uint64_t row_count = 0;        // live rows (an estimate while writes run)
  uint64_t stored_bytes = 0;     // compressed bytes across bucket logs
  uint32_t partition_count = 0;
  uint64_t batch_count = 0;
};

// A filter the scan uses to skip whole batches (by min/max and null counts)
// and whole partitions. Predicates are ANDed. They only prune: rows of a
// batch that may match are all returned, and the caller applies the exact
// filter, so a predicate the service does not understand is simply ignored.
struct column_predicate {
  enum class op : uint8_t { eq, ne, lt, le, gt, ge, in, is_null, is_not_null };
  uint32_t column = 0;  // index into the table's columns (or the changelog's)
  op kind = op::eq;
  std::vector<scalar> values;  // one for comparisons, the list for `in`, none for null tests
};

struct scan_spec {
  std::vector<uint32_t> columns;  // projection, output order; empty = every column
  std::vector<column_predicate> predicates;
  bool use_statistics = true;     // false: no batch skipping or partition pruning (for tests)
  bool changelog = false;         // scan "t$changelog" instead of the table's live rows
  // Nonzero: the table's id when the caller planned the scan; a table that
  // was replaced since (ALTER TABLE, DROP and CREATE) fails the scan with
  // errc::unavailable, since its columns may differ.
  uint64_t table_id = 0;
};

// Columns of "t$changelog": change_type text ('+I', '-U', '+U', '-D'),
// log_offset bigint, commit_ts timestamptz, then the table's columns.
inline constexpr uint32_t changelog_system_columns = 3;
std::vector<column_def> changelog_columns(const table_schema& schema);

// Rows handed out by a scan. Columns are shared with the decoded cache and
// must not be modified. When `selection` is non-empty only those row indexes
// are live (a primary-key table hides superseded and deleted rows this way).
struct scan_chunk {
  uint32_t row_count = 0;  // rows in each column (before selection)
  std::vector<std::shared_ptr<const column_vector>> columns;  // in scan_spec::columns order
  std::vector<uint32_t> selection;
  uint32_t live_rows() const { return selection.empty() ? row_count : uint32_t(selection.size()); }
};

// What a planned scan knows about one of its output columns without reading
// it, merged from the statistics of the batches it will read (and of a
// transaction's buffered rows). Rows the scan hides (superseded or deleted
// rows of those batches) still count, so these bound the scan's rows.
struct column_statistics {
  bool has_min_max = false;  // every non-null value lies in [min, max]
  scalar min;
  scalar max;
  uint64_t null_count = 0;   // NULLs among the rows counted
  uint64_t value_count = 0;  // non-NULL values among the rows counted
};

class scan_cursor {
 public:
  virtual ~scan_cursor() = default;
  // Fills `out` with the next chunk; returns false at the end.
  virtual result<bool> next(scan_chunk& out) = 0;
};

// A planned scan: independent units (one per surviving partition x bucket,
// larger buckets split further) that threads may read in parallel.
class table_scan {
 public:
  virtual ~table_scan() = default;
  virtual size_t unit_count() const = 0;
  virtual result<std::unique_ptr<scan_cursor>> open_unit(size_t unit) = 0;
  // The rows the scan can return at most (live rows of the batches it reads,
  // plus the transaction's buffered rows).
  virtual uint64_t estimated_rows() const = 0;
  // Per output column (scan_spec::columns order): statistics over every batch
  // the scan will read. Computed from batch directories already in memory.
  // An empty vector means nothing is known (implementations that keep no stats).
  virtual std::vector<column_statistics> column_stats() const { return {}; }
  // How much the statistics saved, for EXPLAIN-style checks and tests.
  virtual uint64_t batches_skipped() const = 0;
  virtual uint32_t partitions_pruned() const = 0;
};

enum class on_conflict : uint8_t {
  error,       // a key already present (or repeated in the batch) fails the write: unique violation
  do_nothing,  // rows whose key exists are dropped
  replace,     // rows whose key exists replace the stored row (the upsert)
  // As error, but stored keys are checked only at commit: one lookup per row
  // instead of two for bulk loads (COPY). A key repeated within the
  // transaction still fails the write at once.
  error_at_commit,
};

struct write_result {
  uint64_t rows_written = 0;  // rows that changed the table (PostgreSQL's command count)
};

// Writes buffered until commit. A scan given a transaction also sees its
// uncommitted writes. Not thread-safe: one session owns it.
class transaction {
 public:
  virtual ~transaction() = default;
  // Appends rows (every table column, in table order). Log tables accept
  // on_conflict::error only (there is no key to conflict on).
  virtual result<write_result> insert(const std::string& table, const column_batch& rows, on_conflict action) = 0;
  // Deletes rows by primary key (`keys` holds the key columns in key order).
  // Primary-key tables only; missing keys are not an error.
  virtual result<write_result> remove(const std::string& table, const column_batch& keys) = 0;
  // The current rows for `keys` (key columns in key order), as seen by this
  // transaction: found[i] says whether key i exists; rows holds the found rows
  // only, every table column, in the order of the keys found.
  struct lookup_result {
    std::vector<uint8_t> found;
    column_batch rows;
  };
  virtual result<lookup_result> lookup(const std::string& table, const column_batch& keys) = 0;
  // Makes every buffered write durable and visible, then empties the buffer.
  virtual result<void> commit() = 0;
  virtual void rollback() = 0;
  virtual uint64_t buffered_bytes() const = 0;

  // SAVEPOINT: a copy of what the transaction has buffered so far (so it
  // costs what is buffered; callers bound that), which restore() puts back,
  // also into another transaction of the same service after this one was
  // rolled back (ROLLBACK TO after an error).
  class savepoint {
   public:
    virtual ~savepoint() = default;
  };
  virtual std::shared_ptr<const savepoint> save() const = 0;
  virtual void restore(const savepoint& point) = 0;

  // Row locks (row_locks.h) on primary-key values of `table` (`keys`: the key
  // columns in key order), held until commit or rollback. A savepoint keeps
  // the locks held when it was taken, so a block that ROLLBACK TO recovers
  // still holds them; they end with the block. `stop` is polled while waiting.
  struct lock_report {
    lock_status status = lock_status::locked;
    std::vector<uint8_t> skipped;  // skip_locked: keys left unlocked
  };
  virtual result<lock_report> lock_keys(const std::string& table, const column_batch& keys, lock_strength strength,
                                        lock_wait wait, const std::function<bool()>& stop) = 0;
  // Changes whenever a commit changes the table's committed rows (or the
  // table is replaced), so equal versions mean rows read in between are current.
  struct rows_version {
    uint64_t table_id = 0;
    uint64_t commits = 0;
    bool operator==(const rows_version&) const = default;
  };
  virtual result<rows_version> version_of(const std::string& table) = 0;
  // changed[i]: row i of `rows` (every column, table order), as this
  // transaction read it, is no longer the current row of its key (it was
  // changed or deleted since).
  virtual result<std::vector<uint8_t>> changed_rows(const std::string& table, const column_batch& rows) = 0;
};

// Rows a rewrite writes per transaction into its staged table (well under
// transaction_bytes_max), whoever fills it.
inline constexpr uint64_t rewrite_commit_bytes = 32ULL << 20;

// What ALTER TABLE makes of a table (service::alter_table).
struct table_change {
  table_schema target;  // the new definition; its name differs for RENAME TO
  // Per target column: the current column it continues (under a new name,
  // DEFAULT, NOT NULL or, with a rewrite, type), or nullopt for a column the
  // change adds. The sequences a column owns follow it.
  std::vector<std::optional<uint32_t>> continues = {};
  // Whether the rows are written again. Needed when a column is added,
  // dropped or changes type, or when the new definition must be checked
  // against every row (a new key, SET NOT NULL).
  bool rewrite = false;
  // For a rewrite: writes every row, shaped as `target`, into the staged
  // table it is given, through this service's transactions. Empty: the rows
  // are copied as they are (every column continues, with its type).
  std::function<status(const std::string& staged)> fill = {};
  // Free-standing sequences that a target column now owns (ADD COLUMN of a
  // serial column): {sequence, column}.
  std::vector<std::pair<std::string, std::string>> adopt = {};
  // The definition the change was computed from; when set, a table that has
  // another by now (a concurrent ALTER TABLE) fails with errc::unavailable.
  std::optional<table_schema> base = {};
};

class service {
 public:
  static result<std::unique_ptr<service>> open(service_config config, io::fs& fs, meta::kv& catalog_kv);
  virtual ~service() = default;

  // `owned` sequences (a serial or identity column's) are created with the
  // table in one catalog write, and dropped with it.
  virtual result<table_info> create_table(const table_schema& schema, bool if_not_exists,
                                          const std::vector<sequence_def>& owned = {}) = 0;
  virtual status drop_table(const std::string& name, bool if_exists) = 0;
  // Tables and sequences share one namespace: errc::already_exists names the
  // relation. A sequence a table owns cannot be dropped on its own
  // (errc::invalid_argument); every name is checked before any is dropped.
  virtual status create_sequence(const sequence_def& def, bool if_not_exists) = 0;
  virtual status drop_sequences(const std::vector<std::string>& names, bool if_exists) = 0;
  // nextval, setval, ALTER SEQUENCE and the list.
  virtual sequence_store& sequences() = 0;
  // Empties the tables at once and atomically (one catalog write swaps each
  // for an empty table of the same schema, also across a crash). Not part of
  // any transaction: rows a transaction buffered for them stay buffered.
  virtual status truncate_tables(const std::vector<std::string>& names) = 0;
  // ALTER TABLE: the table becomes `change.target` (see table_change).
  // Without a rewrite only the catalog record changes. With one, every row
  // is written into a new table, which checks the new key and NOT NULLs,
  // and one catalog write then swaps it in; commits to the table fail with
  // errc::unavailable meanwhile. The sequences the table owns follow their
  // columns (renamed with them, dropped with them) in that same write. A
  // failure (a duplicate key: errc::already_exists) or a crash before the
  // write leaves the table as it was.
  virtual result<table_info> alter_table(const std::string& name, const table_change& change) = 0;
  virtual result<table_info> describe(const std::string& name) = 0;
  virtual std::vector<table_info> list_tables() = 0;

  virtual std::unique_ptr<transaction> begin() = 0;
  // `txn` may be null (committed data only).
  virtual result<std::unique_ptr<table_scan>> scan(const std::string& table, const scan_spec& spec,
                                                   const transaction* txn) = 0;

  // Makes everything durable; called at shutdown.
  virtual status flush_all() = 0;
};

}  // namespace strata::tables
