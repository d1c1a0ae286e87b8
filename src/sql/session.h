// The SQL service as the PostgreSQL protocol sees it: an engine shared by the
// server, and one session per client connection. Sessions prepare statements,
// execute them into cursors, and run COPY. Values cross this boundary in
// the tables value model (tables/types.h); pgwire does the wire encoding.
//
// Nothing in this header includes DuckDB; src/sql is the only folder that does.
//
// Threading: a session is used by one thread at a time (its connection's
// worker). cancel() may be called from any thread. The engine is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tables/types.h"

namespace strata::tables {
class service;
}

namespace strata::sql {

// An error as PostgreSQL reports it. `sqlstate` is the five-character code
// (docs: Appendix A of the PostgreSQL manual), e.g. "42P01" undefined_table.
struct error {
  std::string sqlstate = "XX000";
  std::string message;
  std::string detail;
  std::string hint;
  uint32_t position = 0;  // 1-based character in the statement the error points at; 0: none
};

template <class T>
class [[nodiscard]] outcome {
 public:
  outcome(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  outcome(error err) : state_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit by design
  bool ok() const { return state_.index() == 0; }
  T& value() { return std::get<0>(state_); }
  const T& value() const { return std::get<0>(state_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  const error& err() const { return std::get<1>(state_); }

 private:
  std::variant<T, error> state_;
};

struct ok_t {};
using status = outcome<ok_t>;

// One column of a result, as RowDescription describes it.
struct field {
  std::string name;
  uint32_t type_oid = 25;      // PostgreSQL type OID (pg_type.oid), e.g. 23 int4, 1700 numeric
  int16_t type_size = -1;      // pg_type.typlen
  int32_t type_modifier = -1;  // atttypmod: varchar(n) -> n + 4, numeric(p,s) -> ((p << 16) | s) + 4
  // How values arrive in the cursor's batches. Types with no tables::type_id
  // of their own (interval, time, uuid, lists, ...) arrive as text in their
  // PostgreSQL text form; `text_only` then says binary format is refused.
  tables::column_type type;
  bool text_only = false;
  uint32_t table_oid = 0;      // source table, when known; 0 otherwise
  int16_t column_number = 0;
};

enum class statement_kind : uint8_t {
  query,      // returns rows (SELECT, VALUES, SHOW, EXPLAIN, catalog queries, ... RETURNING)
  command,    // no rows: DDL, INSERT/UPDATE/DELETE, SET, BEGIN/COMMIT/ROLLBACK
  copy_in,    // COPY ... FROM STDIN
  copy_out,   // COPY ... TO STDOUT
  empty,      // only whitespace and comments: EmptyQueryResponse
};

enum class copy_format : uint8_t { text, csv, binary };

struct copy_description {
  copy_format format = copy_format::text;
  uint32_t column_count = 0;
};

// What DEALLOCATE name | DEALLOCATE ALL drops: the protocol's named prepared
// statements live in pgwire, which drops them when the statement runs.
struct deallocation {
  bool all = false;
  std::string name;
};

class prepared;

// DECLARE, FETCH, MOVE and CLOSE. A SQL cursor is a portal, and portals live
// in pgwire (SQL cursors and the protocol's portals share one namespace), so
// pgwire carries these out; the session only prepares a DECLARE's query.
struct cursor_command {
  enum class action : uint8_t { declare, fetch, move, close };
  // FETCH/MOVE directions as PostgreSQL's parser gives them.
  enum class direction : uint8_t { forward, backward, absolute, relative };
  action what = action::declare;
  std::string name;                 // empty: CLOSE ALL
  std::shared_ptr<prepared> query;  // declare
  bool with_hold = false;           // declare: the cursor outlives its transaction
  bool binary = false;              // declare: the simple protocol's FETCH sends binary rows
  direction how = direction::forward;
  int64_t count = 1;                // rows to go (forward, backward; all_rows for ALL) or a position
};
inline constexpr int64_t all_rows = std::numeric_limits<int64_t>::max();

class prepared {
 public:
  virtual ~prepared() = default;
  virtual statement_kind kind() const = 0;
  // Parameter types, one per $n; a parameter whose type could not be inferred is text (25).
  virtual const std::vector<uint32_t>& parameter_oids() const = 0;
  // The row shape for queries (empty for commands and COPY).
  virtual const std::vector<field>& fields() const = 0;
  virtual copy_description copy() const = 0;  // copy_in / copy_out only
  virtual std::optional<deallocation> deallocates() const { return std::nullopt; }
  virtual const cursor_command* cursor_statement() const { return nullptr; }
};

// A bound parameter value. Text-format parameters arrive as their text and
// are cast to the statement's parameter type; binary ones are decoded by
// pgwire into `value` of `type`.
struct parameter {
  bool is_null = false;
  bool is_text = true;
  std::string text;
  tables::scalar value;
  tables::column_type type;
};

// Rows of an executed statement, fetched in pieces (Execute with a row limit).
class cursor {
 public:
  virtual ~cursor() = default;
  // Appends at most `rows_max` rows to `out` (columns shaped as fields()).
  // Returns true when the statement has more rows to give.
  virtual outcome<bool> fetch(uint32_t rows_max, tables::column_batch& out) = 0;
  // The CommandComplete tag once fetch() returned false, or for commands
  // right after execute: "SELECT 3", "INSERT 0 5", "UPDATE 2", "CREATE TABLE", ...
  virtual std::string command_tag() const = 0;
};

// COPY FROM STDIN: the bytes of CopyData messages in order, then finish().
class copy_in_sink {
 public:
  virtual ~copy_in_sink() = default;
  virtual status write(std::string_view data) = 0;
  // Commits the rows (durable when this returns) and returns the row count.
  virtual outcome<uint64_t> finish() = 0;
  virtual void abort(std::string_view reason) = 0;
};

// COPY TO STDOUT: the output in CopyData-sized pieces.
class copy_out_source {
 public:
  virtual ~copy_out_source() = default;
  // Appends the next row (or the CSV header) to `out`, which pgwire sends as
  // one CopyData message; false at the end, appending nothing. `bytes_max` is
  // a hint a source may use to bound one row's bytes.
  virtual outcome<bool> next(uint64_t bytes_max, std::string& out) = 0;
  virtual uint64_t rows() const = 0;
};

enum class transaction_state : uint8_t { idle, in_block, failed };

struct session_options {
  std::string user;
  std::string database;
  std::string application_name;
};

class session {
 public:
  virtual ~session() = default;

  virtual outcome<std::shared_ptr<prepared>> prepare(std::string_view sql,
                                                     const std::vector<uint32_t>& parameter_oid_hints) = 0;
  virtual outcome<std::unique_ptr<cursor>> execute(const std::shared_ptr<prepared>& statement,
                                                   const std::vector<parameter>& parameters) = 0;
  virtual outcome<std::unique_ptr<copy_in_sink>> copy_in(const std::shared_ptr<prepared>& statement) = 0;
  virtual outcome<std::unique_ptr<copy_out_source>> copy_out(const std::shared_ptr<prepared>& statement) = 0;

  // Interrupts the statement running now, if any; it fails with 57014.
  virtual void cancel() = 0;
  virtual transaction_state state() const = 0;
  // Parameters changed by SET that PostgreSQL reports (ParameterStatus), since the last call.
  virtual std::vector<std::pair<std::string, std::string>> take_reported_parameters() = 0;
  // The values sent at startup: server_version, TimeZone, DateStyle, ...
  virtual std::vector<std::pair<std::string, std::string>> startup_parameters() const = 0;
};

struct engine_config {
  uint32_t threads = 0;                    // DuckDB worker threads; 0 = one per core
  uint64_t memory_bytes_max = 4ULL << 30;  // DuckDB's memory_limit
  std::string temp_dir;                    // DuckDB spill directory (under the data dir)
  std::string server_version = "15.0 (Strata)";
  uint64_t copy_buffer_bytes_max = 64ULL << 20;  // COPY rows buffered before a write
};

class engine {
 public:
  static outcome<std::unique_ptr<engine>> open(engine_config config, tables::service& tables);
  virtual ~engine() = default;
  virtual outcome<std::unique_ptr<session>> new_session(const session_options& options) = 0;
};

// Splits a simple-query string into statements at top-level semicolons,
// respecting quotes, dollar quotes and comments. Empty statements are dropped.
std::vector<std::string> split_statements(std::string_view sql);

}  // namespace strata::sql
