// Internals of the SQL engine shared by engine.cc, session.cc, dml.cc and
// copy.cc: the prepared statement, the session and its DuckDB connection.
// Not a contract for other folders (they use sql/session.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "duckdb.hpp"
#include "sql/duckdb_bridge.h"
#include "sql/session.h"
#include "sql/settings.h"
#include "sql/pg_parse.h"
#include "sql/point_access.h"
#include "sql/sequence_options.h"
#include "sql/statements.h"
#include "sql/watchdog.h"
#include "tables/service.h"

namespace strata::sql::detail {

// Rows a displaced streaming portal may keep when another statement starts on
// its session; past this the portal fails on its next fetch.
inline constexpr uint64_t portal_bytes_buffered_max = 64ULL << 20;
// A SAVEPOINT copies the block's buffered rows, so their count and the
// bytes all of a block's copies hold are bounded.
inline constexpr size_t savepoints_max = 1000;
inline constexpr uint64_t savepoint_copy_bytes_max = 64ULL << 20;
// Rows an INSERT / UPDATE / DELETE computes before writing them.
inline constexpr uint64_t write_rows_bytes_max = 256ULL << 20;
// Times an UPDATE, DELETE or SELECT ... FOR UPDATE reads its rows again
// because rows it read changed before it got their locks; then 40001.
inline constexpr int locked_read_attempts_max = 100;
// Rows handed to one tables::transaction::insert call.
inline constexpr uint64_t write_piece_bytes = 16ULL << 20;
// What DuckDB's streaming result may hold ahead of the client. DuckDB counts a
// chunk's fixed-width part only, so a chunk of long strings weighs far more
// than it is counted as; its default (1 MB) let ~200 MB of wide rows pile up.
inline constexpr uint64_t stream_buffer_bytes = 64ULL << 10;

struct engine_parts {
  engine_config config;
  tables::service& tables;
  duckdb::DuckDB& db;
  watchdog& dog;
};

enum class route : uint8_t {
  empty,
  catalog,
  create_table,
  drop_table,
  copy_in,
  copy_out,
  begin,
  commit,
  rollback,
  savepoint,
  release,
  rollback_to,
  setting,
  maintenance,  // VACUUM, ANALYZE: checks its tables; statistics are read fresh at every bind
  truncate,
  alter_table,      // ALTER TABLE and its RENAME forms on a Strata table (alter_table.cc)
  duckdb,
  insert,
  update,
  remove,
  select_locking,  // SELECT ... FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE on a Strata table
  point_select,    // SELECT of columns of a primary-key table by its whole key (point_select.cc)
  deallocate,      // DEALLOCATE [PREPARE] name | ALL
  cursor,          // DECLARE, FETCH, MOVE, CLOSE: pgwire runs them (cursor_command)
  accepted,        // changes nothing, by design: UNLISTEN (LISTEN is refused), a sequence's OWNER TO
  sequence,        // CREATE, ALTER and DROP SEQUENCE
};

// CREATE / ALTER / DROP SEQUENCE (sequence_ddl.cc).
struct sequence_command {
  enum class kind : uint8_t { create, alter, drop };
  kind action = kind::create;
  std::vector<std::string> names;  // one for create and alter
  sequence_options options;
  bool missing_ok = false;  // IF NOT EXISTS / IF EXISTS
};

// A serial or identity column of a CREATE TABLE, and its sequence's options.
struct column_sequence {
  uint32_t column = 0;
  sequence_options options;
};

// One action of an ALTER TABLE on a Strata table (alter_table.cc), read off
// PostgreSQL's tree.
struct alter_action {
  enum class kind : uint8_t {
    add_column, drop_column, rename_column, rename_table, set_type, set_default, drop_default, set_not_null,
    drop_not_null, add_primary_key,
  };
  kind what = kind::add_column;
  std::string column = {};    // the column acted on (add_column: the new one)
  std::string new_name = {};  // rename_column, rename_table
  bool missing_ok = false;    // ADD COLUMN IF NOT EXISTS, DROP COLUMN IF EXISTS
  tables::column_def added = {};  // add_column; set_type: the new type
  std::optional<column_sequence> added_sequence = {};  // add_column of a serial or identity column
  bool added_key = false;     // add_column ... PRIMARY KEY
  std::string expression = {};  // set_default: the DEFAULT; set_type: USING (empty: the column)
  std::vector<std::string> key_columns = {};  // add_primary_key
};

struct alter_command {
  qualified_name table;
  bool missing_ok = false;  // ALTER TABLE IF EXISTS
  std::vector<alter_action> actions;
};

// An ALTER TABLE's actions applied so far.
struct alter_state {
  tables::table_change change;
  // Per target column: its values for a rewrite, as SQL over the current table's columns.
  std::vector<std::string> expressions;
  std::vector<tables::sequence_def> sequences;  // created before the change (ADD COLUMN of a serial)
  bool reshaped = false;  // a column added, dropped or retyped: DuckDB computes the rows
};

// An UPDATE or DELETE of one row by its whole key, or an INSERT of VALUES
// rows, run without DuckDB (point_write.cc).
struct point_write {
  std::vector<key_source> key;  // UPDATE, DELETE: per key column, in key order
  // UPDATE: per table column, its new value; nullopt: it keeps its value.
  std::vector<std::optional<value_expr>> values;
  // INSERT: per row, per table column, its value; nullopt: NULL.
  std::vector<std::vector<std::optional<value_expr>>> rows;
};

// How an INSERT / UPDATE / DELETE on a Strata table runs (dml.cc).
struct write_plan {
  std::string table;
  uint64_t table_id = 0;
  tables::table_schema schema;
  // insert: full rows in table order, cast to the column types.
  // update: the new rows (every column), then the old rows (every column).
  // delete: the old rows (every column).
  std::shared_ptr<duckdb::PreparedStatement> source;
  tables::on_conflict action = tables::on_conflict::error;
  bool do_update = false;
  bool excluded_only = false;         // every SET is c = EXCLUDED.c and there is no WHERE
  std::vector<uint32_t> set_columns;  // DO UPDATE / UPDATE targets
  std::shared_ptr<duckdb::SQLStatement> upsert;  // general DO UPDATE: the INSERT run over temp tables
  bool key_changes = false;           // UPDATE sets a key column
  std::shared_ptr<duckdb::PreparedStatement> returning;  // RETURNING over returning_table; null without
  std::string returning_table;
  std::shared_ptr<const point_write> point;  // set: `source` is null, and the row is found by its key
};

// How a SELECT ... FOR UPDATE on a Strata table runs (select_locking.cc).
struct locking_plan {
  std::string table;
  uint64_t table_id = 0;
  tables::table_schema schema;
  // The SELECT without its locking clause and LIMIT/OFFSET: the columns the
  // client sees, then every table column (the row images to lock and re-check).
  std::shared_ptr<duckdb::PreparedStatement> source;
  // SELECT <limit>, <offset> (applied after locking, as PostgreSQL does); null without either.
  std::shared_ptr<duckdb::PreparedStatement> bounds;
  size_t visible_columns = 0;
  tables::lock_strength strength = tables::lock_strength::update;
  tables::lock_wait wait = tables::lock_wait::block;
};

// How a SELECT of plain columns from a primary-key table by its whole key
// runs (point_select.cc): one key lookup, without DuckDB.
struct point_plan {
  std::string table;
  uint64_t table_id = 0;
  tables::table_schema schema;
  std::vector<key_source> key;    // per key column, in key order
  std::vector<uint32_t> columns;  // the table column of each field
};

class statement final : public prepared {
 public:
  statement_kind kind() const override { return kind_; }
  const std::vector<uint32_t>& parameter_oids() const override { return parameter_oids_; }
  const std::vector<field>& fields() const override { return fields_; }
  copy_description copy() const override { return copy_; }
  std::optional<deallocation> deallocates() const override { return deallocation_; }
  const cursor_command* cursor_statement() const override { return cursor_.get(); }

  route how = route::empty;
  statement_kind kind_ = statement_kind::command;
  std::vector<uint32_t> parameter_oids_;
  std::vector<std::optional<duckdb::LogicalType>> hinted_types;  // from the client's parameter OIDs
  std::vector<field> fields_;
  copy_description copy_;
  std::string sql;
  std::string tag;  // fixed command tag, when there is one
  std::optional<create_table_statement> create;
  std::vector<column_sequence> create_sequences;  // create_table: serial and identity columns
  std::shared_ptr<sequence_command> sequence;
  std::optional<drop_table_statement> drop;
  std::vector<qualified_name> relations;  // maintenance (none: all), truncate: the tables named
  std::shared_ptr<alter_command> alter;   // alter_table
  std::string savepoint_name;             // savepoint, release, rollback_to
  std::optional<copy_statement> copy_stmt;
  tables::table_schema copy_schema;         // copy_in target / copy_out table
  std::vector<uint32_t> copy_columns;       // table column per input column
  std::optional<setting_command> setting;
  std::shared_ptr<duckdb::PreparedStatement> duck;  // duckdb and copy_out routes
  duckdb::StatementType duck_type = duckdb::StatementType::INVALID_STATEMENT;
  std::shared_ptr<write_plan> write;
  std::shared_ptr<locking_plan> locking;
  std::shared_ptr<point_plan> point;
  std::optional<deallocation> deallocation_;
  std::shared_ptr<cursor_command> cursor_;
  const void* owner = nullptr;
};

// A query's rows as they stream out of DuckDB. `buffer` holds converted rows
// not yet handed out (one chunk normally; more after the portal is displaced).
// What running a DuckDB statement again needs when a strata_scan fails with
// stale statistics (duckdb_bridge.h) before the result gave any row.
struct duck_retry {
  duckdb::unique_ptr<duckdb::SQLStatement> statement;  // prepared again for each retry
  duckdb::case_insensitive_map_t<duckdb::BoundParameterData> values;
  bool stream = false;
  int stale_failures = 0;  // the second one turns statistics off for the last try
};
inline constexpr int stale_failures_max = 2;

struct stream_state {
  std::vector<field> fields;
  std::unique_ptr<duckdb::QueryResult> result;
  std::shared_ptr<duck_retry> retry;  // null: no retry
  bool fetched = false;               // a chunk arrived: too late to run the statement again
  tables::column_batch buffer;
  uint32_t position = 0;
  uint64_t rows_sent = 0;
  bool finished = false;
  std::optional<error> failure;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

enum class interrupt_reason : uint8_t { none, user, timeout };

class session_impl;
// Lets cursors and COPY objects outlive their session safely.
struct session_link {
  session_impl* session = nullptr;
};

class session_impl final : public session {
 public:
  session_impl(const engine_parts& parts, const session_options& options);
  ~session_impl() override;

  outcome<std::shared_ptr<prepared>> prepare(std::string_view sql, const std::vector<uint32_t>& parameter_oid_hints) override;
  outcome<std::unique_ptr<cursor>> execute(const std::shared_ptr<prepared>& statement,
                                           const std::vector<parameter>& parameters) override;
  outcome<std::unique_ptr<copy_in_sink>> copy_in(const std::shared_ptr<prepared>& statement) override;
  outcome<std::unique_ptr<copy_out_source>> copy_out(const std::shared_ptr<prepared>& statement) override;
  void cancel() override;
  transaction_state state() const override { return state_; }
  std::vector<std::pair<std::string, std::string>> take_reported_parameters() override;
  std::vector<std::pair<std::string, std::string>> startup_parameters() const override;

  // --- used by cursors, COPY and dml.cc ---
  // Fetches the next DuckDB chunk of `s` into s.buffer; false at the end.
  outcome<bool> pull_chunk(stream_state& s);
  outcome<bool> fetch_stream(stream_state& s, uint32_t rows_max, tables::column_batch& out);
  // Marks the end of a statement call: an error inside a block fails the block.
  template <class T>
  outcome<T> finish_call(outcome<T> r) {
    if (!r.ok() && state_ == transaction_state::in_block) fail_block();
    return r;
  }
  error interrupted_error() const;
  bool interrupted() const { return interrupt_.load() != interrupt_reason::none; }
  error fix_error(error e) const;
  error duck_error(const duckdb::ErrorData& data) const { return fix_error(error_of(data)); }
  error tables_error(const strata::error& e) const;

  // The transaction a write uses: the block's, or a fresh one (autocommit).
  tables::transaction& write_txn(std::unique_ptr<tables::transaction>& autocommit);
  status end_write(std::unique_ptr<tables::transaction>& autocommit, bool ok);
  void quiesce();  // makes the connection free for a new DuckDB statement
  void set_scan_txn(const tables::transaction* txn) { scan_->txn = txn; }

  // Runs a prepared DuckDB statement with the session's parameters, again
  // (prepared anew) when it fails on stale statistics. `retry` receives what
  // a caller needs to run it again should the first chunk fail that way.
  outcome<std::unique_ptr<duckdb::QueryResult>> run(duckdb::PreparedStatement& stmt, const statement& owner,
                                                   const std::vector<parameter>& params, bool stream,
                                                   std::shared_ptr<duck_retry>* retry = nullptr);
  // Prepares and runs `r`'s statement again after a stale-statistics failure.
  outcome<std::unique_ptr<duckdb::QueryResult>> run_again(duck_retry& r);
  outcome<std::unique_ptr<duckdb::QueryResult>> execute_prepared(duckdb::PreparedStatement& stmt, duck_retry& r);
  outcome<std::shared_ptr<duckdb::PreparedStatement>> duck_prepare(duckdb::unique_ptr<duckdb::SQLStatement> stmt);
  outcome<std::shared_ptr<duckdb::PreparedStatement>> duck_prepare(const std::string& sql);
  status duck_exec(const std::string& sql);
  // For a SELECT from one Strata table: the Strata type of each output column
  // that is a plain column of it (nullopt for others); empty otherwise.
  std::vector<std::optional<tables::column_type>> table_column_types(const duckdb::SQLStatement& stmt);
  // Copies the session's settings into the DuckDB variable current_setting() reads.
  status publish_settings();
  // After SET, RESET or set_config: the scan's pushdown flag and the published settings follow.
  status settings_changed();

  // Every row of a DuckDB result as table rows of `types`, at most write_rows_bytes_max.
  // `retry` (from run()) lets it run the statement again when the first chunk fails as stale.
  outcome<std::vector<tables::column_batch>> collect(std::unique_ptr<duckdb::QueryResult>& result,
                                                     const std::vector<tables::column_type>& types,
                                                     duck_retry* retry = nullptr);
  // Hands each chunk of a result to `sink`, which returns the bytes it kept
  // (at most write_rows_bytes_max in all); runs the statement again as
  // `collect` does.
  status each_chunk(std::unique_ptr<duckdb::QueryResult>& result, duck_retry* retry,
                    const std::function<outcome<uint64_t>(const duckdb::DataChunk&)>& sink);

  duckdb::Connection& connection() { return conn_; }
  tables::service& tables() { return parts_.tables; }
  const engine_config& config() const { return parts_.config; }
  std::shared_ptr<session_link> link() const { return link_; }
  void arm_timer(std::chrono::steady_clock::time_point deadline);
  void disarm_timer();
  std::chrono::steady_clock::time_point statement_deadline() const;
  void begin_call();
  // A COPY FROM STDIN is under way: a cancel fails its next write.
  void set_copy_active(bool active) { copy_active_.store(active); }

 private:
  outcome<std::shared_ptr<prepared>> prepare_inner(std::string_view sql, const std::vector<uint32_t>& hints);
  outcome<std::unique_ptr<cursor>> execute_inner(statement& stmt, const std::vector<parameter>& params);
  // From PostgreSQL's parse tree (pg_parse.h); nullopt: the statement is not routed by its tree yet.
  std::optional<outcome<std::shared_ptr<statement>>> prepare_from_tree(const PgQuery__Node& node, std::string_view sql);
  outcome<std::shared_ptr<statement>> prepare_transaction(const PgQuery__TransactionStmt& t);
  outcome<std::shared_ptr<statement>> prepare_maintenance(const PgQuery__VacuumStmt& v);
  outcome<std::shared_ptr<statement>> prepare_truncate(const PgQuery__TruncateStmt& t);
  // cursor_statements.cc
  outcome<std::shared_ptr<statement>> prepare_declare_cursor(const PgQuery__DeclareCursorStmt& d);
  outcome<std::shared_ptr<statement>> prepare_fetch(const PgQuery__FetchStmt& f);
  outcome<std::shared_ptr<statement>> prepare_close_cursor(const PgQuery__ClosePortalStmt& c);
  outcome<std::shared_ptr<statement>> prepare_listen(const PgQuery__Node& node);
  // alter_table.cc: nullopt unless the statement names a Strata table.
  std::optional<outcome<std::shared_ptr<statement>>> prepare_sequence_owner(const PgQuery__AlterTableStmt& a);
  std::optional<outcome<std::shared_ptr<statement>>> prepare_alter_table(const PgQuery__AlterTableStmt& a);
  std::optional<outcome<std::shared_ptr<statement>>> prepare_rename(const PgQuery__RenameStmt& r);
  outcome<alter_action> read_alter_command(const PgQuery__AlterTableCmd& c, const PgQuery__RangeVar& relation);
  outcome<alter_action> read_added_column(PgQuery__ColumnDef column, const PgQuery__RangeVar& relation);
  outcome<std::unique_ptr<cursor>> run_alter_table(statement& stmt);
  status apply_alter(alter_state& s, const alter_action& a);
  // Writes the rows of `expressions` over table `from` into `staged`; an
  // error of the SQL (not of the write) also lands in `sql_failure`.
  strata::status fill_rewrite(const std::string& from, const tables::table_schema& target,
                      const std::vector<std::string>& expressions, const std::string& staged,
                      std::optional<error>& sql_failure);
  outcome<std::shared_ptr<statement>> prepare_duckdb(std::string_view sql, const std::vector<uint32_t>& hints);
  outcome<std::shared_ptr<statement>> prepare_copy(copy_statement copy);
  status fill_parameters(statement& st, const std::vector<uint32_t>& hints);
  outcome<std::unique_ptr<cursor>> run_transaction_command(statement& stmt);
  outcome<std::unique_ptr<cursor>> run_savepoint_command(statement& stmt);
  outcome<std::unique_ptr<cursor>> run_setting(statement& stmt);
  outcome<std::unique_ptr<cursor>> run_catalog(statement& stmt);
  outcome<std::unique_ptr<cursor>> run_ddl(statement& stmt);
  // create_table.cc
  outcome<std::shared_ptr<statement>> prepare_create_table(create_table_statement create,
                                                           const outcome<pg_tree>& tree);
  outcome<std::unique_ptr<cursor>> run_create_table(statement& stmt);
  // The sequence of a serial or identity column, named as PostgreSQL names
  // it (not one of `also_taken`); sets the column's DEFAULT to its nextval.
  outcome<tables::sequence_def> column_sequence_def(const std::string& table, tables::column_def& column,
                                                    const column_sequence& cs,
                                                    const std::vector<tables::sequence_def>& also_taken);
  // Checks a column's DEFAULT binds as the column's type (without running it).
  status check_default(const tables::column_def& column);
 public:
  // `rows` values of a column's DEFAULT (NULLs without one), for COPY.
  outcome<tables::column_vector> default_column(const tables::column_def& column, uint32_t rows);
 private:
  // sequence_ddl.cc
  outcome<std::shared_ptr<statement>> prepare_sequence_ddl(const PgQuery__Node& node);
  outcome<std::unique_ptr<cursor>> run_sequence_ddl(statement& stmt);
  outcome<std::unique_ptr<cursor>> run_drop(const drop_table_statement& drop);
  outcome<std::unique_ptr<cursor>> run_maintenance(statement& stmt);
  outcome<std::unique_ptr<cursor>> run_truncate(statement& stmt);
  // DDL that replaces a table's storage cannot follow rows this block buffered for it.
  std::optional<error> refuse_after_buffered_writes(std::string_view what) const;
  // Sorts names into Strata tables and this session's TEMP tables; the
  // first that is neither is the error.
  struct resolved_tables {
    std::vector<std::string> strata;
    std::vector<std::string> temp;
  };
  outcome<resolved_tables> resolve_tables(const std::vector<qualified_name>& names, bool skip_missing,
                                         std::string_view noun);
  // Whether `name` is one of this session's TEMP tables (DuckDB's).
  bool is_temp_table(const std::string& name);
  outcome<std::unique_ptr<cursor>> run_duckdb(statement& stmt, const std::vector<parameter>& params);
  void fail_block();

  // point_select.cc: nullopt unless the SELECT reads one row by its whole key.
  std::optional<std::shared_ptr<statement>> prepare_point_select(const PgQuery__SelectStmt& select);
  // The table a point statement reads or writes (a primary-key table unless
  // `any_kind`), when DuckDB would take the name for that table too; `range`
  // receives how the statement names it.
  std::optional<tables::table_info> find_point_table(const PgQuery__RangeVar& from, point_range& range,
                                                     bool any_kind = false);
  outcome<std::unique_ptr<cursor>> run_point_select(statement& stmt, const std::vector<parameter>& params);

  // point_write.cc: nullopt unless the statement changes one row by its whole key.
  std::optional<std::shared_ptr<statement>> prepare_point_update(const PgQuery__UpdateStmt& update);
  std::optional<std::shared_ptr<statement>> prepare_point_delete(const PgQuery__DeleteStmt& del);
  std::optional<std::shared_ptr<statement>> prepare_point_insert(const PgQuery__InsertStmt& insert);
  outcome<std::string> run_point_insert(const write_plan& plan, const std::vector<parameter>& params,
                                        tables::transaction& txn, std::vector<tables::column_batch>* changed);
  outcome<std::string> run_point_update(const write_plan& plan, const std::vector<parameter>& params,
                                        tables::transaction& txn, std::vector<tables::column_batch>* changed);
  outcome<std::string> run_point_delete(const write_plan& plan, const std::vector<parameter>& params,
                                        tables::transaction& txn, std::vector<tables::column_batch>* changed);
  // The row of a point write's key, locked with `strength`; nullopt when there is none.
  outcome<std::optional<tables::column_batch>> lock_point_row(const write_plan& plan,
                                                              const std::vector<parameter>& params,
                                                              tables::transaction& txn, tables::lock_strength strength);

  // select_locking.cc
  outcome<std::shared_ptr<statement>> prepare_select_locking(const PgQuery__SelectStmt& select, std::string_view sql);
  outcome<std::unique_ptr<cursor>> run_select_locking(statement& stmt, const std::vector<parameter>& params);

  // dml.cc
  outcome<std::shared_ptr<statement>> prepare_write(duckdb::SQLStatement& parsed, const tables::table_info& table);
  // `returned` receives the RETURNING rows when the statement has RETURNING.
  outcome<std::string> run_write(statement& stmt, const std::vector<parameter>& params,
                                 std::optional<tables::column_batch>& returned);
  outcome<std::string> run_write_once(statement& stmt, const std::vector<parameter>& params,
                                      std::optional<tables::column_batch>& returned);
  // When the table of `st` (a write or a SELECT ... FOR UPDATE) changed
  // (ALTER TABLE, or dropped and created again) since `st` was prepared,
  // prepares it again from its text, as PostgreSQL plans a statement again
  // after DDL: true when it did; 0A000 if that changes its result's shape.
  outcome<bool> replan_if_changed(statement& st);
  outcome<std::string> run_insert(const write_plan& plan, const statement& stmt, const std::vector<parameter>& params,
                                  tables::transaction& txn, std::vector<tables::column_batch>* changed);
  outcome<std::string> run_update(const write_plan& plan, const statement& stmt, const std::vector<parameter>& params,
                                  tables::transaction& txn, std::vector<tables::column_batch>* changed);
  outcome<std::string> run_delete(const write_plan& plan, const statement& stmt, const std::vector<parameter>& params,
                                  tables::transaction& txn, std::vector<tables::column_batch>* changed);
  // Locks, in order, the keys of `images` (rows as the statement read them,
  // every column) until `wanted` rows are locked (skip_locked skips some);
  // `changed` when a row locked was changed since `read_at`, so the caller
  // reads again (PostgreSQL's READ COMMITTED re-check).
  // Locks `keys` (key columns); with skip_locked, which were skipped. A lock
  // that cannot be had is PostgreSQL's error (55P03, 40P01, 57014).
  outcome<std::vector<uint8_t>> take_locks(tables::transaction& txn, const std::string& table,
                                           const tables::column_batch& keys, tables::lock_strength strength,
                                           tables::lock_wait wait);
  struct locked_rows {
    std::vector<uint32_t> rows;  // indexes into images, in order
    bool changed = false;
  };
  outcome<locked_rows> lock_in_order(tables::transaction& txn, const std::string& table, const tables::table_schema& schema,
                                     const tables::column_batch& images, tables::lock_strength strength,
                                     tables::lock_wait wait, uint64_t wanted,
                                     const tables::transaction::rows_version& read_at);
  // Runs `read` (which returns the rows it read, every column), locks them
  // with lock_in_order, and runs it again while a row it locked had changed
  // first; 40001 after locked_read_attempts_max reads.
  outcome<locked_rows> read_locked(tables::transaction& txn, const std::string& table,
                                   const tables::table_schema& schema, tables::lock_strength strength,
                                   tables::lock_wait wait, uint64_t wanted,
                                   const std::function<outcome<const tables::column_batch*>()>& read);
  // UPDATE's and DELETE's rows, read, locked and read again until no row
  // read changed before its lock was granted.
  struct locked_read {
    tables::column_batch images;                 // the rows as read (every column), one per key
    std::vector<tables::column_batch> new_rows;  // UPDATE: the rows as they will be
  };
  outcome<locked_read> read_and_lock(const write_plan& plan, const statement& stmt, const std::vector<parameter>& params,
                                     tables::transaction& txn, tables::lock_strength strength);
  outcome<uint64_t> insert_new_keys_only(const write_plan& plan, tables::transaction& txn,
                                         const tables::column_batch& rows, std::vector<tables::column_batch>& changed);
  outcome<uint64_t> upsert_general(const write_plan& plan, const statement& stmt, const std::vector<parameter>& params,
                                   tables::transaction& txn, const tables::column_batch& rows,
                                   std::vector<tables::column_batch>* changed);
  // RETURNING: a SELECT of `list` over a TEMP table shaped like the Strata
  // table (named `alias`), and its fields; returning_rows runs it over the
  // rows a statement changed.
  status prepare_returning(write_plan& plan, duckdb::vector<duckdb::unique_ptr<duckdb::ParsedExpression>> list,
                           const std::string& alias, const duckdb::case_insensitive_map_t<duckdb::idx_t>& params,
                           std::vector<field>& fields);
  outcome<tables::column_batch> returning_rows(const write_plan& plan, const statement& stmt,
                                               const std::vector<parameter>& params,
                                               const std::vector<tables::column_batch>& changed);

 public:
  // Finds a Strata table by the name DuckDB parsed (exact, then lower-cased).
  std::optional<tables::table_info> find_table(const std::string& schema, const std::string& name);
  // find_table, unless a TEMP table of the name hides it (an unqualified
  // name means the TEMP table first, in PostgreSQL and DuckDB alike).
  std::optional<tables::table_info> find_unhidden_table(const std::string& schema, const std::string& name);

 private:
  engine_parts parts_;
  session_options options_;
  duckdb::Connection conn_;
  duckdb::shared_ptr<scan_context> scan_;
  session_settings settings_;
  std::unique_ptr<tables::transaction> txn_;  // open while in a block
  // The block's savepoints, oldest first; each holds a copy of the writes
  // buffered when it was set (tables::transaction::save).
  struct savepoint_entry {
    std::string name;
    std::shared_ptr<const tables::transaction::savepoint> point;
    uint64_t copied_bytes = 0;
  };
  std::vector<savepoint_entry> savepoints_;
  transaction_state state_ = transaction_state::idle;
  std::atomic<interrupt_reason> interrupt_{interrupt_reason::none};
  std::atomic<bool> running_{false};
  std::atomic<bool> copy_active_{false};
  std::weak_ptr<stream_state> active_stream_;
  std::shared_ptr<session_link> link_;
  uint64_t timer_id_ = 0;
  std::chrono::steady_clock::time_point call_started_;
  // The parameter OIDs of the Parse being prepared, which duck_prepare uses
  // for parameters DuckDB cannot type; empty outside prepare().
  std::vector<uint32_t> prepare_hints_;
  // A TEMP object was created through DuckDB, which may hide a Strata table
  // of its name; until then no statement needs to ask DuckDB's catalog.
  bool temp_tables_created_ = false;
};

// PostgreSQL's schema for Strata's tables: DuckDB's catalog functions list
// them there (catalog_functions.cc), and each session's search path starts
// with it, so current_schema() says what PostgreSQL says. DuckDB's own
// objects (macros, types) stay in `main`, second on the path.
inline constexpr const char* strata_schema = "public";

// current_setting(name) over the map each session keeps in this DuckDB
// variable (session_impl::publish_settings); unknown names raise the
// message fix_error maps to 42704.
inline constexpr const char* settings_variable = "strata_pg_settings";
inline constexpr const char* current_setting_macro =
    "CREATE MACRO current_setting(name) AS coalesce(getvariable('strata_pg_settings')[lower(name)], "
    "error('unrecognized configuration parameter \"' || name || '\"'))";

// Whether a schema qualifier names where Strata's tables and sequences live:
// none, `public`, or DuckDB's `main` (session.cc).
bool names_strata_schema(std::string_view schema);

// Row helpers (rows.cc).
void append_rows(const tables::column_vector& src, uint32_t begin, uint32_t end, tables::column_vector& dst);
void append_batch(const tables::column_batch& src, uint32_t begin, uint32_t end, tables::column_batch& dst);
tables::column_batch pick_columns(const tables::column_batch& src, const std::vector<uint32_t>& columns);
tables::column_batch pick_rows(const tables::column_batch& src, const std::vector<uint32_t>& rows);
// SQL text of `expression` cast to a column's type, for DuckDB
// (a DEFAULT's value, a retyped column's rows).
std::string cast_text(const std::string& expression, const tables::column_type& type);
// 23502 when a not-null column of `schema` holds a NULL in `rows` (table order).
status check_not_null(const tables::table_schema& schema, const tables::column_batch& rows);
// 22001 when a varchar(n) column of `schema` holds more than n characters in
// `rows` (table order); excess that is all spaces passes, as in PostgreSQL.
status check_lengths(const tables::table_schema& schema, const tables::column_batch& rows);
// One byte string per row encoding the given columns (for duplicate checks).
std::string row_key(const tables::column_batch& batch, const std::vector<uint32_t>& columns, uint32_t row);
field text_field(const std::string& name);
// A plain column of a Strata table as DuckDB's route describes it, with
// PostgreSQL's varchar(n) (point_select.cc).
void describe_as_column(field& f, const tables::column_type& source);
field column_field(const std::string& name, const tables::column_type& type);
// PostgreSQL-style names for a plain SELECT's columns; empty when the select
// list does not map one to one onto the result (a `*`, or not a SELECT) (session_prepare.cc).
std::vector<std::string> pg_column_names(const duckdb::SQLStatement& stmt);
// Rows already in memory, as a cursor with a fixed command tag (session.cc).
std::unique_ptr<cursor> rows_cursor_of(tables::column_batch rows, std::string tag);
// No rows, only a command tag (session.cc).
std::unique_ptr<cursor> command_cursor_of(std::string tag);
// 42P18: DuckDB's result has another width than the statement's fields (a
// parameter it could not type changed the result's shape) (session.cc).
error result_shape_changed(size_t columns, size_t fields);
// 25P02: a statement other than COMMIT/ROLLBACK inside a failed block (session.cc).
error aborted_block();
// DuckDB could not infer this type (an untyped parameter or NULL) (session.cc).
bool is_unknown_type(const duckdb::LogicalType& t);

}  // namespace strata::sql::detail
