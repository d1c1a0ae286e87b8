// sql::session on DuckDB: executes prepared statements (Strata DDL, COPY,
// transactions, settings, psql catalog queries, writes to Strata tables,
// everything else on DuckDB), streams query results into cursors and keeps
// the transaction block state. Preparing is in session_prepare.cc, running
// on DuckDB in session_duckdb.cc.
#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

#include "base/ascii.h"
#include "duckdb/main/prepared_statement_data.hpp"
#include "sql/keywords.h"
#include "sql/pg_types.h"
#include "sql/psql_catalog.h"
#include "sql/sequence_functions.h"
#include "sql/setting_functions.h"
#include "sql/session_impl.h"
namespace strata::sql::detail {
namespace {

using clock = std::chrono::steady_clock;

class command_cursor final : public cursor {
 public:
  explicit command_cursor(std::string tag) : tag_(std::move(tag)) {}
  outcome<bool> fetch(uint32_t, tables::column_batch&) override { return false; }
  std::string command_tag() const override { return tag_; }

 private:
  std::string tag_;
};

// Rows already in memory (SHOW, catalog answers).
class rows_cursor final : public cursor {
 public:
  rows_cursor(tables::column_batch rows, std::string tag) : rows_(std::move(rows)), tag_(std::move(tag)) {}
  outcome<bool> fetch(uint32_t rows_max, tables::column_batch& out) override {
    uint32_t left = rows_.row_count - position_;
    uint32_t n = rows_max == 0 ? left : std::min(left, rows_max);
    append_batch(rows_, position_, position_ + n, out);
    position_ += n;
    return position_ < rows_.row_count;
  }
  std::string command_tag() const override { return tag_; }

 private:
  tables::column_batch rows_;
  uint32_t position_ = 0;
  std::string tag_;
};

class stream_cursor final : public cursor {
 public:
  stream_cursor(std::weak_ptr<session_link> link, std::shared_ptr<stream_state> state)
      : link_(std::move(link)), state_(std::move(state)) {}
  outcome<bool> fetch(uint32_t rows_max, tables::column_batch& out) override {
    auto link = link_.lock();
    if (!link || link->session == nullptr) return error{"08003", "the session of this portal is closed", {}, {}};
    return link->session->fetch_stream(*state_, rows_max, out);
  }
  std::string command_tag() const override { return fmt::format("SELECT {}", state_->rows_sent); }

 private:
  std::weak_ptr<session_link> link_;
  std::shared_ptr<stream_state> state_;
};

struct call_guard {
  session_impl& s;
  call_guard(session_impl& session, clock::time_point deadline) : s(session) { s.arm_timer(deadline); }
  ~call_guard() { s.disarm_timer(); }
};

}  // namespace

error result_shape_changed(size_t columns, size_t fields) {
  return error{"42P18", fmt::format("the statement returned {} columns where it was described with {}", columns, fields),
               {}, "Give its parameters types: cast them, e.g. $1::integer."};
}

error aborted_block() {
  return error{"25P02", "current transaction is aborted, commands ignored until end of transaction block", {},
               "Send ROLLBACK (or COMMIT, which rolls back) to end the block."};
}

bool is_unknown_type(const duckdb::LogicalType& t) {
  auto id = t.id();
  return id == duckdb::LogicalTypeId::UNKNOWN || id == duckdb::LogicalTypeId::INVALID ||
         id == duckdb::LogicalTypeId::ANY || id == duckdb::LogicalTypeId::SQLNULL;
}


// ---------------------------------------------------------------- lifecycle

session_impl::session_impl(const engine_parts& parts, const session_options& options)
    : parts_(parts),
      options_(options),
      conn_(parts.db),
      scan_(duckdb::make_shared_ptr<scan_context>()),
      settings_(options, parts.config.server_version),
      link_(std::make_shared<session_link>()) {
  link_->session = this;
  conn_.context->registered_state->Insert(scan_context::key, scan_);
  conn_.context->registered_state->Insert(sequence_context::key,
                                          duckdb::make_shared_ptr<sequence_context>(parts.tables.sequences()));
  conn_.context->registered_state->Insert(
      settings_context::key, duckdb::make_shared_ptr<settings_context>(settings_, [this] { return settings_changed(); }));
  duckdb::ClientConfig::GetConfig(*conn_.context).streaming_buffer_size = stream_buffer_bytes;
  auto published = publish_settings();
  if (!published.ok()) throw std::runtime_error(published.err().message);  // engine::new_session reports it
  auto path = duck_exec(fmt::format("SET search_path = '{},main'", strata_schema));
  if (!path.ok()) throw std::runtime_error(path.err().message);
}

session_impl::~session_impl() {
  disarm_timer();
  link_->session = nullptr;
  if (txn_) txn_->rollback();
}

std::vector<std::pair<std::string, std::string>> session_impl::take_reported_parameters() {
  return settings_.take_reported();
}

std::vector<std::pair<std::string, std::string>> session_impl::startup_parameters() const {
  return settings_.startup_parameters();
}

// ------------------------------------------------------------ interruption

void session_impl::cancel() {
  if (!running_.load() && !copy_active_.load()) return;
  interrupt_.store(interrupt_reason::user);
  conn_.Interrupt();
}

void session_impl::begin_call() {
  interrupt_.store(interrupt_reason::none);
  call_started_ = clock::now();
}

clock::time_point session_impl::statement_deadline() const {
  uint64_t ms = settings_.statement_timeout_ms();
  if (ms == 0) return clock::time_point::max();
  return call_started_ + std::chrono::milliseconds(ms);
}

void session_impl::arm_timer(clock::time_point deadline) {
  running_.store(true);
  if (deadline == clock::time_point::max()) return;
  if (deadline <= clock::now()) {
    interrupt_.store(interrupt_reason::timeout);
    conn_.Interrupt();
    return;
  }
  timer_id_ = parts_.dog.arm(deadline, [this] {
    interrupt_.store(interrupt_reason::timeout);
    conn_.Interrupt();
  });
}

void session_impl::disarm_timer() {
  if (timer_id_ != 0) parts_.dog.disarm(timer_id_);
  timer_id_ = 0;
  running_.store(false);
}

error session_impl::interrupted_error() const {
  if (interrupt_.load() == interrupt_reason::timeout) {
    return error{"57014", "canceling statement due to statement timeout", {}, {}};
  }
  return error{"57014", "canceling statement due to user request", {}, {}};
}

namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// SQLSTATEs PostgreSQL gives where DuckDB's error type alone misleads.
error fix_sqlstate(error e) {
  const std::string& m = e.message;
  if (contains(m, "Could not cast value") && contains(m, "to DECIMAL(")) {
    e.sqlstate = "22003";  // numeric field overflow
  } else if (contains(m, "date field value out of range") || contains(m, "time field value out of range")) {
    e.sqlstate = "22008";
  } else if (contains(m, "unrecognized configuration parameter")) {
    e.sqlstate = "42704";  // current_setting() of an unknown name
  }
  return e;
}

}  // namespace

error session_impl::fix_error(error e) const {
  // DuckDB's internal errors carry a stack trace; clients get the message only.
  auto trace = e.message.find("\n\nStack Trace:");
  if (trace != std::string::npos) e.message.resize(trace);
  if (interrupted() && (e.sqlstate == "57014" || e.message.find("nterrupt") != std::string::npos)) {
    return interrupted_error();
  }
  return fix_sqlstate(std::move(e));
}

error session_impl::tables_error(const strata::error& e) const {
  std::string state = "XX000";
  switch (e.code) {
    case errc::ok: break;
    case errc::invalid_argument: state = "22023"; break;
    case errc::not_found: state = "42P01"; break;
    case errc::already_exists: state = "23505"; break;
    case errc::corrupt: state = "XX001"; break;
    case errc::io_error: state = "58030"; break;
    case errc::no_space: state = "53100"; break;
    case errc::limit_exceeded: state = "54000"; break;
    case errc::timed_out: state = "57014"; break;
    case errc::unavailable: state = "57P03"; break;
    case errc::unsupported: state = "0A000"; break;
    case errc::internal: state = "XX000"; break;
  }
  if (interrupted()) return interrupted_error();
  return error{state, e.message, {}, {}};
}

void session_impl::fail_block() {
  state_ = transaction_state::failed;
  if (txn_) txn_->rollback();
  txn_.reset();
  scan_->txn = nullptr;
}

// ---------------------------------------------------------------- streams

outcome<bool> session_impl::pull_chunk(stream_state& s) {
  if (!s.result || s.finished) return false;
  try {
    while (true) {
      auto chunk = s.result->Fetch();
      if (!chunk) {
        if (s.result->HasError()) {
          const auto& failure = s.result->GetErrorObject();
          if (!s.fetched && s.retry && s.retry->statement && s.retry->stale_failures < stale_failures_max &&
              is_stale_statistics_error(failure)) {
            s.result.reset();
            auto again = run_again(*s.retry);
            if (!again.ok()) {
              s.failure = again.err();
              return again.err();
            }
            s.result = std::move(again.value());
            continue;
          }
          error e = duck_error(failure);
          s.result.reset();
          s.failure = e;
          return e;
        }
        s.finished = true;
        s.result.reset();
        return false;
      }
      if (chunk->size() == 0) continue;
      if (chunk->ColumnCount() != s.fields.size()) {
        error e = result_shape_changed(chunk->ColumnCount(), s.fields.size());
        s.result.reset();
        s.failure = e;
        return e;
      }
      s.fetched = true;
      append_chunk(*chunk, s.fields, s.buffer);
      return true;
    }
  } catch (const std::exception& ex) {
    error e = duck_error(duckdb::ErrorData(ex));
    s.result.reset();
    s.failure = e;
    return e;
  }
}

outcome<bool> session_impl::fetch_stream(stream_state& s, uint32_t rows_max, tables::column_batch& out) {
  if (s.failure) return *s.failure;
  begin_call();
  call_guard guard(*this, s.deadline);
  uint64_t limit = rows_max == 0 ? UINT64_MAX : rows_max;
  uint64_t added = 0;
  while (added < limit) {
    uint32_t left = s.buffer.row_count - s.position;
    if (left > 0) {
      uint32_t n = uint32_t(std::min<uint64_t>(left, limit - added));
      if (out.columns.empty() && out.row_count == 0 && s.position == 0 && n == s.buffer.row_count) {
        out = std::move(s.buffer);
        s.buffer = {};
      } else {
        append_batch(s.buffer, s.position, s.position + n, out);
        s.position += n;
      }
      added += n;
      continue;
    }
    s.buffer = {};
    s.position = 0;
    auto more = pull_chunk(s);
    if (!more.ok()) return finish_call(more);
    if (!*more) break;
  }
  s.rows_sent += added;
  if (s.position < s.buffer.row_count) return true;
  s.buffer = {};
  s.position = 0;
  return finish_call(pull_chunk(s));
}

void session_impl::quiesce() {
  auto s = active_stream_.lock();
  active_stream_.reset();
  if (!s || !s->result || s->finished || s->failure) return;
  if (s->position > 0) {
    tables::column_batch rest;
    append_batch(s->buffer, s->position, s->buffer.row_count, rest);
    s->buffer = std::move(rest);
    s->position = 0;
  }
  while (true) {
    if (s->buffer.memory_bytes() > portal_bytes_buffered_max) {
      s->result.reset();
      s->failure = error{"55000",
                         fmt::format("the portal was closed: another statement ran on this connection while it had more "
                                     "than {} MiB of rows left",
                                     portal_bytes_buffered_max >> 20),
                         {}, "Fetch a portal to its end before running other statements, or use a second connection."};
      return;
    }
    auto more = pull_chunk(*s);
    if (!more.ok() || !*more) return;
  }
}

std::unique_ptr<cursor> rows_cursor_of(tables::column_batch rows, std::string tag) {
  return std::make_unique<rows_cursor>(std::move(rows), std::move(tag));
}

std::unique_ptr<cursor> command_cursor_of(std::string tag) { return std::make_unique<command_cursor>(std::move(tag)); }

bool names_strata_schema(std::string_view schema) {
  return schema.empty() || schema == "public" || schema == "main";
}

namespace {
// Session TEMP tables are in `pg_temp` (DuckDB's `temp`).
bool names_temp_schema(const std::string& schema) { return schema == "pg_temp" || schema == "temp"; }
}  // namespace

std::optional<tables::table_info> session_impl::find_table(const std::string& schema, const std::string& name) {
  if (!names_strata_schema(schema)) return std::nullopt;
  auto info = parts_.tables.describe(name);
  if (info.ok()) return info.value();
  const std::string lower = lower_ascii(name);
  if (lower == name) return std::nullopt;
  info = parts_.tables.describe(lower);
  if (info.ok()) return info.value();
  return std::nullopt;
}

std::optional<tables::table_info> session_impl::find_unhidden_table(const std::string& schema, const std::string& name) {
  auto table = find_table(schema, name);
  if (table && temp_tables_created_ && schema.empty() && is_temp_table(name)) return std::nullopt;
  return table;
}

// ---------------------------------------------------------------- execute

outcome<std::unique_ptr<cursor>> session_impl::execute(const std::shared_ptr<prepared>& prepared_statement,
                                                       const std::vector<parameter>& params) {
  outcome<std::unique_ptr<cursor>> r = error{};
  auto* st = dynamic_cast<statement*>(prepared_statement.get());
  if (st == nullptr || st->owner != this) {
    return error{"26000", "the prepared statement does not belong to this session", {}, {}};
  }
  begin_call();
  try {
    if (state_ == transaction_state::failed && st->how != route::commit && st->how != route::rollback &&
        st->how != route::rollback_to && st->how != route::empty) {
      r = aborted_block();
    } else if (params.size() < st->parameter_oids_.size()) {
      r = error{"08P01",
                fmt::format("bind message supplies {} parameters, but prepared statement requires {}", params.size(),
                            st->parameter_oids_.size()),
                {}, {}};
    } else {
      call_guard guard(*this, statement_deadline());
      r = execute_inner(*st, params);
    }
  } catch (const std::exception& ex) {
    r = duck_error(duckdb::ErrorData(ex));
  }
  return finish_call(std::move(r));
}

outcome<std::unique_ptr<cursor>> session_impl::execute_inner(statement& st, const std::vector<parameter>& params) {
  switch (st.how) {
    case route::empty:
      return std::unique_ptr<cursor>(std::make_unique<command_cursor>(""));
    case route::catalog:
      return run_catalog(st);
    case route::create_table:
    case route::drop_table:
      return run_ddl(st);
    case route::copy_in:
    case route::copy_out:
      return error{"08P01", "COPY runs through the COPY sub-protocol, not Execute", {}, {}};
    case route::begin:
    case route::commit:
    case route::rollback:
      return run_transaction_command(st);
    case route::savepoint:
    case route::release:
    case route::rollback_to:
      return run_savepoint_command(st);
    case route::setting:
      return run_setting(st);
    case route::maintenance:
      return run_maintenance(st);
    case route::truncate:
      return run_truncate(st);
    case route::alter_table:
      return run_alter_table(st);
    case route::duckdb:
      return run_duckdb(st, params);
    case route::select_locking:
      return run_select_locking(st, params);
    case route::point_select:
      return run_point_select(st, params);
    case route::sequence:
      return run_sequence_ddl(st);
    case route::deallocate:
      // A statement PREPAREd in SQL lives in DuckDB; pgwire drops the protocol's.
      if (!st.deallocation_->all) {
        quiesce();
        try {
          (void)duck_exec("DEALLOCATE " + quote_identifier(st.deallocation_->name));
        } catch (const std::exception&) {  // not a SQL-level one
        }
      }
      return std::unique_ptr<cursor>(std::make_unique<command_cursor>(st.tag));
    case route::cursor:
      return error{"08P01", "DECLARE, FETCH, MOVE and CLOSE are run by the protocol layer, not Execute", {}, {}};
    case route::accepted:
      return std::unique_ptr<cursor>(std::make_unique<command_cursor>(st.tag));
    case route::insert:
    case route::update:
    case route::remove: {
      std::optional<tables::column_batch> returned;
      auto tag = run_write(st, params, returned);
      if (!tag.ok()) return tag.err();
      if (returned) return rows_cursor_of(std::move(*returned), tag.value());
      return std::unique_ptr<cursor>(std::make_unique<command_cursor>(tag.value()));
    }
  }
  return error{"XX000", "unknown statement route", {}, {}};
}

outcome<std::unique_ptr<cursor>> session_impl::run_transaction_command(statement& st) {
  std::string tag = st.tag;
  quiesce();
  if (st.how != route::begin) savepoints_.clear();
  if (st.how == route::begin) {
    if (state_ == transaction_state::idle) {
      txn_ = parts_.tables.begin();
      state_ = transaction_state::in_block;
    }
  } else if (st.how == route::rollback || state_ == transaction_state::failed) {
    if (txn_) txn_->rollback();
    txn_.reset();
    if (state_ == transaction_state::failed) tag = "ROLLBACK";
    state_ = transaction_state::idle;
  } else if (txn_) {
    auto r = txn_->commit();
    txn_.reset();
    state_ = transaction_state::idle;
    scan_->txn = nullptr;
    if (!r.ok()) return tables_error(r.err());
  }
  scan_->txn = txn_.get();
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>(tag));
}

outcome<std::unique_ptr<cursor>> session_impl::run_setting(statement& st) {
  using k = setting_command::kind;
  const setting_command& cmd = *st.setting;
  auto single_text_rows = [](const std::vector<std::vector<std::string>>& rows, size_t columns) {
    tables::column_batch batch;
    for (size_t c = 0; c < columns; ++c) batch.columns.emplace_back(tables::column_type{tables::type_id::text});
    for (const auto& row : rows) {
      for (size_t c = 0; c < columns; ++c) batch.columns[c].append_bytes(row[c]);
    }
    batch.row_count = uint32_t(rows.size());
    return batch;
  };
  if (cmd.action == k::show) {
    auto shown = settings_.show(cmd.name);
    if (!shown.ok()) return shown.err();
    return std::unique_ptr<cursor>(std::make_unique<rows_cursor>(single_text_rows({{shown->second}}, 1), "SHOW"));
  }
  if (cmd.action == k::show_all) {
    return std::unique_ptr<cursor>(std::make_unique<rows_cursor>(single_text_rows(settings_.show_all(), 3), "SHOW"));
  }
  auto r = settings_.apply(cmd);
  if (!r.ok()) return r.err();
  auto published = settings_changed();
  if (!published.ok()) return published.err();
  std::string tag = cmd.action == k::reset || cmd.action == k::reset_all ? "RESET"
                    : cmd.action == k::discard_all                     ? "DISCARD ALL"
                                                                       : "SET";
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>(tag));
}

status session_impl::settings_changed() {
  scan_->use_statistics = settings_.pushdown();
  return publish_settings();
}

// Sets the variable directly rather than through SET VARIABLE, so that
// set_config can publish from inside a running statement.
status session_impl::publish_settings() {
  duckdb::vector<duckdb::Value> names, values;
  for (const auto& row : settings_.show_all()) {
    names.emplace_back(lower_ascii(row[0]));
    values.emplace_back(row[1]);
  }
  const auto text = duckdb::LogicalType::VARCHAR;
  duckdb::ClientConfig::GetConfig(*conn_.context)
      .SetUserVariable(settings_variable, duckdb::Value::MAP(text, text, std::move(names), std::move(values)));
  return ok_t{};
}

outcome<std::unique_ptr<cursor>> session_impl::run_catalog(statement& st) {
  auto answer = answer_catalog_query(st.sql, parts_.tables.list_tables(), options_.database, options_.user,
                                     parts_.tables.sequences().list());
  if (!answer) return error{"XX000", "the catalog query is no longer recognised", {}, {}};
  if (!answer->ok()) return answer->err();
  auto& a = answer->value();
  return std::unique_ptr<cursor>(std::make_unique<rows_cursor>(std::move(a.rows), a.command_tag));
}

outcome<std::unique_ptr<cursor>> session_impl::run_ddl(statement& st) {
  if (st.how == route::create_table) return run_create_table(st);
  return run_drop(*st.drop);
}

namespace {

// PostgreSQL says "table" in DROP TABLE's error and "relation" in the others'.
error no_such_table(const qualified_name& t, std::string_view noun) {
  if (!names_strata_schema(t.schema) && !names_temp_schema(t.schema)) {
    return error{"3F000", fmt::format("schema \"{}\" does not exist", t.schema), {}, {}};
  }
  return error{"42P01", fmt::format("{} \"{}\" does not exist", noun, t.name), {}, "\\dt lists the tables."};
}

}  // namespace

bool session_impl::is_temp_table(const std::string& name) {
  auto r = conn_.Query("SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = $1", duckdb::Value(name));
  if (r->HasError()) return false;
  auto chunk = r->Fetch();
  return chunk && chunk->size() > 0;
}

outcome<session_impl::resolved_tables> session_impl::resolve_tables(const std::vector<qualified_name>& names,
                                                                    bool skip_missing, std::string_view noun) {
  resolved_tables found;
  for (const auto& t : names) {
    if (auto info = find_table(t.schema, t.name)) {
      found.strata.push_back(info->schema.name);
      continue;
    }
    if ((names_strata_schema(t.schema) || names_temp_schema(t.schema)) && is_temp_table(t.name)) {
      found.temp.push_back(t.name);
      continue;
    }
    if (!skip_missing) return no_such_table(t, noun);
  }
  return found;
}

// Every name is checked before anything is dropped, so a missing one (without
// IF EXISTS) drops nothing. Session TEMP tables are DuckDB's, Strata's own
// tables the tables service's.
outcome<std::unique_ptr<cursor>> session_impl::run_drop(const drop_table_statement& drop) {
  auto found = resolve_tables(drop.tables, drop.if_exists, "table");
  if (!found.ok()) return found.err();
  for (const auto& name : found.value().strata) {
    auto r = parts_.tables.drop_table(name, drop.if_exists);
    if (!r.ok()) return tables_error(r.err());
  }
  for (const auto& name : found.value().temp) {
    auto r = duck_exec("DROP TABLE IF EXISTS temp.main." + quote_identifier(name));
    if (!r.ok()) return r.err();
  }
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>("DROP TABLE"));
}

// PostgreSQL's VACUUM reclaims dead rows and ANALYZE samples statistics.
// Strata's logs have no dead rows to reclaim in place (compaction is its own
// mechanism), and strata_scan reads column statistics afresh at every bind,
// so both only check that their tables exist.
outcome<std::unique_ptr<cursor>> session_impl::run_maintenance(statement& st) {
  if (st.tag == "VACUUM" && state_ != transaction_state::idle) {
    return error{"25001", "VACUUM cannot run inside a transaction block", {}, {}};
  }
  auto found = resolve_tables(st.relations, false, "relation");
  if (!found.ok()) return found.err();
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>(st.tag));
}

// TRUNCATE empties Strata tables at once, as DDL (docs/sql.md): it is not
// undone by ROLLBACK. A block that already buffered rows is refused, since
// PostgreSQL would truncate those rows too.
// SAVEPOINT copies the block's buffered writes; ROLLBACK TO puts a copy
// back (into a new transaction when an error had failed the block) and keeps
// the savepoint, dropping later ones; RELEASE drops it and later ones. Only
// writes to Strata tables are covered: session TEMP tables are not part of
// Strata transactions at all (docs/sql.md).
outcome<std::unique_ptr<cursor>> session_impl::run_savepoint_command(statement& st) {
  quiesce();
  const char* what = st.how == route::savepoint ? "SAVEPOINT" : st.how == route::release ? "RELEASE SAVEPOINT"
                                                                                          : "ROLLBACK TO SAVEPOINT";
  if (state_ == transaction_state::idle) {
    return error{"25P01", fmt::format("{} can only be used in transaction blocks", what), {}, {}};
  }
  if (st.how == route::savepoint) {
    if (savepoints_.size() >= savepoints_max) {
      return error{"54000", fmt::format("a block holds at most {} savepoints", savepoints_max), {},
                   "RELEASE the savepoints you no longer need."};
    }
    uint64_t copied_bytes = txn_->buffered_bytes();
    for (const auto& p : savepoints_) copied_bytes += p.copied_bytes;
    if (copied_bytes > savepoint_copy_bytes_max) {
      return error{"54000", fmt::format("SAVEPOINT copies the block's buffered rows, and this block's savepoints "
                                        "would hold more than {} MiB", savepoint_copy_bytes_max >> 20),
                   {}, "COMMIT large loads before setting savepoints, or RELEASE the ones you no longer need."};
    }
    savepoints_.push_back(savepoint_entry{st.savepoint_name, txn_->save(), txn_->buffered_bytes()});
    return std::unique_ptr<cursor>(std::make_unique<command_cursor>(st.tag));
  }
  auto it = std::find_if(savepoints_.rbegin(), savepoints_.rend(),
                         [&](const auto& p) { return p.name == st.savepoint_name; });
  if (it == savepoints_.rend()) {
    return error{"3B001", fmt::format("savepoint \"{}\" does not exist", st.savepoint_name), {}, {}};
  }
  const size_t index = static_cast<size_t>(savepoints_.rend() - it) - 1;
  if (st.how == route::release) {
    savepoints_.resize(index);
  } else {
    savepoints_.resize(index + 1);
    if (!txn_) txn_ = parts_.tables.begin();
    txn_->restore(*savepoints_.back().point);
    state_ = transaction_state::in_block;
    scan_->txn = txn_.get();
  }
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>(st.tag));
}

std::optional<error> session_impl::refuse_after_buffered_writes(std::string_view what) const {
  if (!txn_ || txn_->buffered_bytes() == 0) return std::nullopt;
  return error{"0A000", fmt::format("{} in a transaction block that has already written rows is not supported", what),
               {}, fmt::format("Run {} before the block's first write, or outside the block.", what)};
}

outcome<std::unique_ptr<cursor>> session_impl::run_truncate(statement& st) {
  if (auto refused = refuse_after_buffered_writes("TRUNCATE")) return *refused;
  auto found = resolve_tables(st.relations, false, "relation");
  if (!found.ok()) return found.err();
  if (!found.value().strata.empty()) {
    auto r = parts_.tables.truncate_tables(found.value().strata);
    if (!r.ok()) return tables_error(r.err());
  }
  for (const auto& name : found.value().temp) {
    auto r = duck_exec("TRUNCATE temp.main." + quote_identifier(name));
    if (!r.ok()) return r.err();
  }
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>(st.tag));
}

outcome<std::unique_ptr<cursor>> session_impl::run_duckdb(statement& st, const std::vector<parameter>& params) {
  quiesce();
  if (!st.duck) return std::unique_ptr<cursor>(std::make_unique<command_cursor>(""));
  scan_->txn = txn_.get();
  bool query = st.kind_ == statement_kind::query;
  std::shared_ptr<duck_retry> retry;
  auto result = run(*st.duck, st, params, query, &retry);
  if (!result.ok()) return result.err();
  if (query) {
    auto s = std::make_shared<stream_state>();
    s->fields = st.fields_;
    s->result = std::move(result.value());
    s->retry = std::move(retry);
    s->deadline = statement_deadline();
    active_stream_ = s;
    return std::unique_ptr<cursor>(std::make_unique<stream_cursor>(link_, s));
  }
  std::string tag = st.tag;
  if (st.duck->GetStatementProperties().return_type == duckdb::StatementReturnType::CHANGED_ROWS) {
    int64_t count = 0;
    auto chunk = result.value()->Fetch();
    if (chunk && chunk->size() > 0) count = chunk->GetValue(0, 0).GetValue<int64_t>();
    switch (st.duck_type) {
      case duckdb::StatementType::INSERT_STATEMENT: tag = fmt::format("INSERT 0 {}", count); break;
      case duckdb::StatementType::UPDATE_STATEMENT: tag = fmt::format("UPDATE {}", count); break;
      case duckdb::StatementType::DELETE_STATEMENT: tag = fmt::format("DELETE {}", count); break;
      default: break;
    }
  }
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>(tag));
}

// ------------------------------------------------------------ transactions

tables::transaction& session_impl::write_txn(std::unique_ptr<tables::transaction>& autocommit) {
  if (txn_) return *txn_;
  autocommit = parts_.tables.begin();
  return *autocommit;
}

status session_impl::end_write(std::unique_ptr<tables::transaction>& autocommit, bool ok) {
  if (!autocommit) return ok_t{};
  auto txn = std::move(autocommit);
  if (!ok) {
    txn->rollback();
    return ok_t{};
  }
  if (interrupted()) {
    txn->rollback();
    return interrupted_error();
  }
  auto r = txn->commit();
  if (!r.ok()) return tables_error(r.err());
  return ok_t{};
}

}  // namespace strata::sql::detail
