// sql::session on DuckDB: routes each statement (Strata DDL, COPY,
// transactions, settings, psql catalog queries, writes to Strata tables,
// everything else to DuckDB), streams query results into cursors and keeps
// the transaction block state.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "duckdb/parser/expression/cast_expression.hpp"
#include "duckdb/parser/expression/columnref_expression.hpp"
#include "duckdb/parser/expression/function_expression.hpp"
#include "duckdb/parser/expression/window_expression.hpp"
#include "duckdb/parser/parsed_data/create_info.hpp"
#include "duckdb/parser/query_node/select_node.hpp"
#include "duckdb/parser/statement/select_statement.hpp"
#include "duckdb/parser/parsed_data/drop_info.hpp"
#include "duckdb/parser/statement/alter_statement.hpp"
#include "duckdb/parser/statement/create_statement.hpp"
#include "duckdb/parser/statement/delete_statement.hpp"
#include "duckdb/parser/statement/drop_statement.hpp"
#include "duckdb/parser/statement/insert_statement.hpp"
#include "duckdb/parser/statement/update_statement.hpp"
#include "duckdb/parser/tableref/basetableref.hpp"
#include "sql/keywords.h"
#include "sql/pg_types.h"
#include "sql/psql_catalog.h"
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

bool is_transaction_exit(std::string_view sql) {
  auto w = leading_words(sql, 1);
  return !w.empty() && (w[0] == "commit" || w[0] == "end" || w[0] == "rollback" || w[0] == "abort");
}

error aborted_block() {
  return error{"25P02", "current transaction is aborted, commands ignored until end of transaction block", {},
               "Send ROLLBACK (or COMMIT, which rolls back) to end the block."};
}

std::string catalog_type_word(duckdb::CatalogType type) {
  switch (type) {
    case duckdb::CatalogType::TABLE_ENTRY: return "TABLE";
    case duckdb::CatalogType::VIEW_ENTRY: return "VIEW";
    case duckdb::CatalogType::SCHEMA_ENTRY: return "SCHEMA";
    case duckdb::CatalogType::INDEX_ENTRY: return "INDEX";
    case duckdb::CatalogType::SEQUENCE_ENTRY: return "SEQUENCE";
    case duckdb::CatalogType::TYPE_ENTRY: return "TYPE";
    case duckdb::CatalogType::MACRO_ENTRY:
    case duckdb::CatalogType::TABLE_MACRO_ENTRY: return "FUNCTION";
    default: return "OBJECT";
  }
}

bool is_unknown_type(const duckdb::LogicalType& t) {
  auto id = t.id();
  return id == duckdb::LogicalTypeId::UNKNOWN || id == duckdb::LogicalTypeId::INVALID ||
         id == duckdb::LogicalTypeId::ANY || id == duckdb::LogicalTypeId::SQLNULL;
}

// The column name PostgreSQL gives an unaliased select-list expression:
// the column or function name, else "?column?". DuckDB would say "count_star()" or "(a + 1)".
std::string pg_column_name(const duckdb::ParsedExpression& e) {
  if (e.HasAlias()) return e.GetAlias();
  switch (e.GetExpressionClass()) {
    case duckdb::ExpressionClass::COLUMN_REF:
      return e.Cast<duckdb::ColumnRefExpression>().GetColumnName();
    case duckdb::ExpressionClass::FUNCTION: {
      const auto& f = e.Cast<duckdb::FunctionExpression>();
      if (f.is_operator) return "?column?";
      return f.function_name == "count_star" ? "count" : f.function_name;
    }
    case duckdb::ExpressionClass::WINDOW: {
      const auto& name = e.Cast<duckdb::WindowExpression>().function_name;
      return name == "count_star" ? "count" : name;
    }
    case duckdb::ExpressionClass::CAST:
      return pg_column_name(*e.Cast<duckdb::CastExpression>().child);
    case duckdb::ExpressionClass::CASE:
      return "case";
    default:
      return "?column?";
  }
}

// PostgreSQL-style names for a plain SELECT's columns; empty when the select
// list does not map one to one onto the result (a `*`, or not a SELECT).
std::vector<std::string> pg_column_names(const duckdb::SQLStatement& stmt) {
  std::vector<std::string> names;
  if (stmt.type != duckdb::StatementType::SELECT_STATEMENT) return names;
  const auto& node = stmt.Cast<duckdb::SelectStatement>().node;
  if (!node || node->type != duckdb::QueryNodeType::SELECT_NODE) return names;
  for (const auto& e : node->Cast<duckdb::SelectNode>().select_list) {
    if (e->GetExpressionClass() == duckdb::ExpressionClass::STAR) return {};
    names.push_back(pg_column_name(*e));
  }
  return names;
}

// psql's catalog queries all name pg_catalog; others skip the table listing.
bool mentions_pg_catalog(std::string_view sql) {
  static constexpr std::string_view needle = "pg_catalog";
  auto it = std::search(sql.begin(), sql.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return it != sql.end();
}

bool is_temp_create(const std::vector<std::string>& w) {
  for (size_t i = 1; i < w.size() && i < 4; ++i) {
    if (w[i] == "temp" || w[i] == "temporary") return true;
  }
  return false;
}

}  // namespace

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

error session_impl::fix_error(error e) const {
  // DuckDB's internal errors carry a stack trace; clients get the message only.
  auto trace = e.message.find("\n\nStack Trace:");
  if (trace != std::string::npos) e.message.resize(trace);
  if (interrupted() && (e.sqlstate == "57014" || e.message.find("nterrupt") != std::string::npos)) {
    return interrupted_error();
  }
  return e;
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
          error e = duck_error(s.result->GetErrorObject());
          s.result.reset();
          s.failure = e;
          return e;
        }
        s.finished = true;
        s.result.reset();
        return false;
      }
      if (chunk->size() == 0) continue;
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

// ----------------------------------------------------------------- DuckDB

outcome<std::shared_ptr<duckdb::PreparedStatement>> session_impl::duck_prepare(duckdb::unique_ptr<duckdb::SQLStatement> stmt) {
  std::shared_ptr<duckdb::PreparedStatement> p(conn_.Prepare(std::move(stmt)).release());
  if (p->HasError()) return duck_error(p->GetErrorObject());
  return p;
}

outcome<std::shared_ptr<duckdb::PreparedStatement>> session_impl::duck_prepare(const std::string& sql) {
  std::shared_ptr<duckdb::PreparedStatement> p(conn_.Prepare(sql).release());
  if (p->HasError()) return duck_error(p->GetErrorObject());
  return p;
}

status session_impl::duck_exec(const std::string& sql) {
  auto r = conn_.Query(sql);
  if (r->HasError()) return duck_error(r->GetErrorObject());
  return ok_t{};
}

outcome<std::unique_ptr<duckdb::QueryResult>> session_impl::run(duckdb::PreparedStatement& stmt, const statement& owner,
                                                                const std::vector<parameter>& params, bool stream) {
  duckdb::case_insensitive_map_t<duckdb::BoundParameterData> values;
  auto expected = stmt.GetExpectedParameterTypes();
  for (const auto& [name, unused] : stmt.named_param_map) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (ec != std::errc{} || n == 0 || n > params.size()) {
      return error{"08P01", fmt::format("no value was bound for parameter ${}", name), {}, {}};
    }
    const parameter& p = params[n - 1];
    duckdb::LogicalType target = duckdb::LogicalType::VARCHAR;
    auto it = expected.find(name);
    if (it != expected.end() && !is_unknown_type(it->second)) {
      target = it->second;
    } else if (n - 1 < owner.hinted_types.size() && owner.hinted_types[n - 1]) {
      target = *owner.hinted_types[n - 1];
    } else if (!p.is_text && !p.is_null) {
      target = to_duckdb_type(p.type);
    }
    auto v = parameter_value(p, target);
    if (!v.ok()) return v.err();
    values[name] = duckdb::BoundParameterData(std::move(v.value()));
  }
  scan_->use_statistics = settings_.pushdown();
  auto pending = stmt.PendingQuery(values, stream);
  if (pending->HasError()) return duck_error(pending->GetErrorObject());
  auto result = pending->Execute();
  if (result->HasError()) return duck_error(result->GetErrorObject());
  return result;
}

outcome<std::vector<tables::column_batch>> session_impl::collect(duckdb::QueryResult& result,
                                                                 const std::vector<tables::column_type>& types) {
  std::vector<tables::column_batch> out;
  uint64_t bytes = 0;
  while (true) {
    auto chunk = result.Fetch();
    if (!chunk) {
      if (result.HasError()) return duck_error(result.GetErrorObject());
      return out;
    }
    if (chunk->size() == 0) continue;
    if (interrupted()) return interrupted_error();
    auto rows = chunk_to_table_rows(*chunk, types);
    if (!rows.ok()) return fix_error(rows.err());
    bytes += rows->memory_bytes();
    if (bytes > write_rows_bytes_max) {
      return error{"54000",
                   fmt::format("the statement touches more than {} MiB of rows", write_rows_bytes_max >> 20), {},
                   "Split it into smaller statements (by key range), or load large data with COPY."};
    }
    out.push_back(std::move(rows.value()));
  }
}

std::optional<tables::table_info> session_impl::find_table(const std::string& schema, const std::string& name) {
  if (!schema.empty() && schema != "public" && schema != "main") return std::nullopt;
  auto info = parts_.tables.describe(name);
  if (info.ok()) return info.value();
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == name) return std::nullopt;
  info = parts_.tables.describe(lower);
  if (info.ok()) return info.value();
  return std::nullopt;
}

// ---------------------------------------------------------------- prepare

outcome<std::shared_ptr<prepared>> session_impl::prepare(std::string_view sql, const std::vector<uint32_t>& hints) {
  outcome<std::shared_ptr<prepared>> r = error{};
  try {
    if (state_ == transaction_state::failed && !is_blank(sql) && !is_transaction_exit(sql)) {
      r = aborted_block();
    } else {
      r = prepare_inner(sql, hints);
    }
  } catch (const std::exception& ex) {
    r = duck_error(duckdb::ErrorData(ex));
  }
  return finish_call(std::move(r));
}

status session_impl::fill_parameters(statement& st, const std::vector<uint32_t>& hints) {
  size_t count = hints.size();
  duckdb::case_insensitive_map_t<duckdb::LogicalType> expected;
  auto add = [&](duckdb::PreparedStatement* p) -> status {
    if (p == nullptr) return ok_t{};
    for (const auto& [name, unused] : p->named_param_map) {
      size_t n = 0;
      auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
      if (ec != std::errc{} || end != name.data() + name.size() || n == 0) {
        return error{"0A000", fmt::format("named parameter ${} is not supported; use $1, $2, ...", name), {}, {}};
      }
      count = std::max(count, n);
    }
    for (auto& [name, type] : p->GetExpectedParameterTypes()) {
      if (!is_unknown_type(type) && !expected.count(name)) expected[name] = type;
    }
    return ok_t{};
  };
  auto a = add(st.duck.get());
  if (!a.ok()) return a;
  if (st.write) {
    auto b = add(st.write->source.get());
    if (!b.ok()) return b;
  }
  st.parameter_oids_.assign(count, oid::text);
  st.hinted_types.assign(count, std::nullopt);
  for (size_t i = 0; i < count; ++i) {
    tables::column_type hinted;
    if (i < hints.size() && hints[i] != 0) {
      st.parameter_oids_[i] = hints[i];
      if (column_type_of_oid(hints[i], hinted)) st.hinted_types[i] = to_duckdb_type(hinted);
      continue;
    }
    auto it = expected.find(std::to_string(i + 1));
    if (it != expected.end()) st.parameter_oids_[i] = field_of("", it->second).type_oid;
  }
  return ok_t{};
}

outcome<std::shared_ptr<prepared>> session_impl::prepare_inner(std::string_view sql, const std::vector<uint32_t>& hints) {
  auto finish = [&](outcome<std::shared_ptr<statement>> st) -> outcome<std::shared_ptr<prepared>> {
    if (!st.ok()) return st.err();
    st.value()->sql = std::string(sql);
    st.value()->owner = this;
    if (st.value()->parameter_oids_.empty() && !hints.empty()) {
      auto f = fill_parameters(*st.value(), hints);
      if (!f.ok()) return f.err();
    }
    return std::shared_ptr<prepared>(st.value());
  };
  if (is_blank(sql)) {
    auto st = std::make_shared<statement>();
    st->how = route::empty;
    st->kind_ = statement_kind::empty;
    return finish(st);
  }
  auto words = leading_words(sql, 4);
  if (!words.empty()) {
    const std::string& w = words[0];
    if (w == "begin" || w == "start" || w == "commit" || w == "end" || w == "rollback" || w == "abort" ||
        w == "savepoint" || w == "release" || (w == "prepare" && words.size() > 1 && words[1] == "transaction")) {
      return finish(prepare_transaction_word(words, sql));
    }
    if (auto setting = parse_setting_command(sql)) {
      if (!setting->ok()) return setting->err();
      auto st = std::make_shared<statement>();
      st->how = route::setting;
      st->setting = setting->value();
      using k = setting_command::kind;
      switch (st->setting->action) {
        case k::show: {
          auto shown = settings_.show(st->setting->name);
          if (!shown.ok()) return shown.err();
          st->kind_ = statement_kind::query;
          st->fields_ = {text_field(shown->first)};
          break;
        }
        case k::show_all:
          st->kind_ = statement_kind::query;
          st->fields_ = {text_field("name"), text_field("setting"), text_field("description")};
          break;
        default:
          st->kind_ = statement_kind::command;
          break;
      }
      return finish(st);
    }
    if ((w == "select" || w == "with") && mentions_pg_catalog(sql)) {
      auto answer = answer_catalog_query(sql, parts_.tables.list_tables(), options_.database, options_.user);
      if (answer) {
        if (!answer->ok()) return answer->err();
        auto st = std::make_shared<statement>();
        st->how = route::catalog;
        st->kind_ = statement_kind::query;
        st->fields_ = answer->value().fields;
        return finish(st);
      }
    }
    if (w == "create" && !is_temp_create(words)) {
      if (auto create = parse_create_table(sql)) {
        if (!create->ok()) return create->err();
        auto st = std::make_shared<statement>();
        st->how = route::create_table;
        st->create = create->value();
        st->tag = "CREATE TABLE";
        return finish(st);
      }
    }
    if (w == "drop") {
      if (auto drop = parse_drop_table(sql)) {
        if (!drop->ok()) return drop->err();
        bool any_strata = false;
        for (const auto& name : drop->value().names) any_strata |= find_table("", name).has_value();
        // Names that are no Strata table may be session TEMP tables: DuckDB drops those.
        if (any_strata) {
          auto st = std::make_shared<statement>();
          st->how = route::drop_table;
          st->drop = drop->value();
          st->tag = "DROP TABLE";
          return finish(st);
        }
      }
    }
    if (w == "copy") {
      if (auto copy = parse_copy(sql)) {
        if (!copy->ok()) return copy->err();
        return finish(prepare_copy(copy->value()));
      }
    }
  }
  auto st = prepare_duckdb(sql, hints);
  if (!st.ok()) return st.err();
  auto f = fill_parameters(*st.value(), hints);
  if (!f.ok()) return f.err();
  return finish(st);
}

outcome<std::shared_ptr<statement>> session_impl::prepare_transaction_word(const std::vector<std::string>& words,
                                                                          std::string_view sql) {
  const std::string& w = words[0];
  auto st = std::make_shared<statement>();
  auto rest = [&](size_t skip) {
    auto t = tokenize(sql, 64);
    std::string out;
    for (size_t i = skip; i < t.size(); ++i) {
      if (t[i].type == token::kind::symbol && t[i].text == ";") continue;
      out += t[i].text + " ";
    }
    return out;
  };
  if (w == "savepoint" || w == "release" ||
      (w == "rollback" && std::find(words.begin(), words.end(), "to") != words.end())) {
    return error{"0A000", "savepoints are not supported", {}, "Use BEGIN, COMMIT and ROLLBACK of the whole block."};
  }
  if (w == "prepare" || (words.size() > 1 && words[1] == "prepared")) {
    return error{"0A000", "two-phase commit (PREPARE TRANSACTION) is not supported", {}, {}};
  }
  if (w == "begin" || w == "start") {
    if (w == "start" && (words.size() < 2 || words[1] != "transaction")) {
      return error{"42601", "syntax error: START TRANSACTION expected", {}, {}};
    }
    auto mode = check_transaction_mode(rest(w == "start" ? 2 : 1));
    if (!mode.ok()) return mode.err();
    st->how = route::begin;
    st->tag = "BEGIN";
  } else if (w == "commit" || w == "end") {
    st->how = route::commit;
    st->tag = "COMMIT";
  } else {
    st->how = route::rollback;
    st->tag = "ROLLBACK";
  }
  return st;
}

outcome<std::shared_ptr<statement>> session_impl::prepare_copy(copy_statement copy) {
  if (copy.format == copy_format::binary) {
    return error{"0A000", "COPY BINARY is not supported", {}, "Use FORMAT text or FORMAT csv."};
  }
  auto st = std::make_shared<statement>();
  st->copy_.format = copy.format;
  if (!copy.table.empty()) {
    auto info = find_table("", copy.table);
    if (!info) {
      return error{"42P01", fmt::format("relation \"{}\" does not exist", copy.table), {},
                   "CREATE TABLE it first; \\dt lists the tables."};
    }
    st->copy_schema = info->schema;
    const auto& cols = info->schema.columns;
    if (copy.columns.empty()) {
      for (uint32_t i = 0; i < cols.size(); ++i) st->copy_columns.push_back(i);
    } else {
      for (const auto& name : copy.columns) {
        auto it = std::find_if(cols.begin(), cols.end(), [&](const tables::column_def& c) { return c.name == name; });
        if (it == cols.end()) {
          return error{"42703", fmt::format("column \"{}\" of relation \"{}\" does not exist", name, copy.table), {}, {}};
        }
        uint32_t index = uint32_t(it - cols.begin());
        if (std::find(st->copy_columns.begin(), st->copy_columns.end(), index) != st->copy_columns.end()) {
          return error{"42701", fmt::format("column \"{}\" specified more than once", name), {}, {}};
        }
        st->copy_columns.push_back(index);
      }
    }
  }
  if (copy.from_stdin) {
    if (copy.table.empty()) return error{"42601", "COPY FROM STDIN needs a table", {}, {}};
    st->how = route::copy_in;
    st->kind_ = statement_kind::copy_in;
    st->copy_.column_count = uint32_t(st->copy_columns.size());
  } else {
    std::string query = copy.query;
    if (query.empty()) {
      query = "SELECT ";
      for (size_t i = 0; i < st->copy_columns.size(); ++i) {
        if (i > 0) query += ", ";
        query += quote_ident(st->copy_schema.columns[st->copy_columns[i]].name);
      }
      query += " FROM " + quote_ident(st->copy_schema.name);
    }
    quiesce();
    auto p = duck_prepare(query);
    if (!p.ok()) return p.err();
    if (p.value()->GetStatementProperties().return_type != duckdb::StatementReturnType::QUERY_RESULT) {
      return error{"0A000", "COPY (query) TO STDOUT takes a query that returns rows", {}, {}};
    }
    st->duck = p.value();
    for (size_t i = 0; i < st->duck->GetTypes().size(); ++i) {
      st->fields_.push_back(field_of(st->duck->GetNames()[i], st->duck->GetTypes()[i]));
    }
    st->how = route::copy_out;
    st->kind_ = statement_kind::copy_out;
    st->copy_.column_count = uint32_t(st->fields_.size());
  }
  st->copy_stmt = std::move(copy);
  return st;
}

outcome<std::shared_ptr<statement>> session_impl::prepare_duckdb(std::string_view sql, const std::vector<uint32_t>&) {
  quiesce();
  auto parsed = conn_.ExtractStatements(std::string(sql));
  if (parsed.empty()) {
    auto st = std::make_shared<statement>();
    st->kind_ = statement_kind::empty;
    return st;
  }
  if (parsed.size() > 1) {
    return error{"42601", "cannot insert multiple commands into a prepared statement", {},
                 "Send the statements one at a time, or as a simple query."};
  }
  auto& stmt = *parsed[0];
  std::string tag;
  switch (stmt.type) {
    case duckdb::StatementType::INSERT_STATEMENT: {
      auto& ins = stmt.Cast<duckdb::InsertStatement>();
      if (auto info = find_table(ins.schema, ins.table)) return prepare_write(stmt, *info);
      break;
    }
    case duckdb::StatementType::UPDATE_STATEMENT:
    case duckdb::StatementType::DELETE_STATEMENT: {
      auto& ref = stmt.type == duckdb::StatementType::UPDATE_STATEMENT ? stmt.Cast<duckdb::UpdateStatement>().table
                                                                       : stmt.Cast<duckdb::DeleteStatement>().table;
      if (ref && ref->type == duckdb::TableReferenceType::BASE_TABLE) {
        auto& base = ref->Cast<duckdb::BaseTableRef>();
        if (auto info = find_table(base.schema_name, base.table_name)) return prepare_write(stmt, *info);
      }
      break;
    }
    case duckdb::StatementType::CREATE_STATEMENT: {
      auto& info = *stmt.Cast<duckdb::CreateStatement>().info;
      std::string what = catalog_type_word(info.type);
      if (!info.temporary && info.catalog != "temp") {
        return error{"0A000",
                     fmt::format("CREATE {} is not supported: Strata keeps only its own tables in the catalog", what),
                     {}, what == "TABLE" ? "Use CREATE TABLE as described in docs/sql.md." : "Use CREATE TEMP " + what + " for a session-local object."};
      }
      tag = "CREATE " + what;
      break;
    }
    case duckdb::StatementType::ALTER_STATEMENT: {
      auto& info = *stmt.Cast<duckdb::AlterStatement>().info;
      if (find_table(info.schema, info.name)) {
        return error{"0A000", fmt::format("ALTER TABLE is not supported on Strata table \"{}\"", info.name), {},
                     "Create a new table and copy the rows with INSERT ... SELECT."};
      }
      tag = "ALTER TABLE";
      break;
    }
    case duckdb::StatementType::DROP_STATEMENT:
      tag = "DROP " + catalog_type_word(stmt.Cast<duckdb::DropStatement>().info->type);
      break;
    case duckdb::StatementType::ATTACH_STATEMENT:
    case duckdb::StatementType::DETACH_STATEMENT:
    case duckdb::StatementType::EXPORT_STATEMENT:
    case duckdb::StatementType::LOAD_STATEMENT:
    case duckdb::StatementType::COPY_DATABASE_STATEMENT:
    case duckdb::StatementType::UPDATE_EXTENSIONS_STATEMENT:
    case duckdb::StatementType::COPY_STATEMENT:
    case duckdb::StatementType::SET_STATEMENT:
    case duckdb::StatementType::VARIABLE_SET_STATEMENT:
    case duckdb::StatementType::TRANSACTION_STATEMENT:
    case duckdb::StatementType::EXTENSION_STATEMENT:
      return error{"0A000", fmt::format("{} statements are not supported", duckdb::StatementTypeToString(stmt.type)), {},
                   "docs/sql.md lists what Strata runs."};
    default:
      break;
  }
  auto pg_names = pg_column_names(stmt);
  auto p = duck_prepare(std::move(parsed[0]));
  if (!p.ok()) return p.err();
  auto st = std::make_shared<statement>();
  st->how = route::duckdb;
  st->duck = p.value();
  st->duck_type = st->duck->GetStatementType();
  if (st->duck->GetStatementProperties().return_type == duckdb::StatementReturnType::QUERY_RESULT) {
    st->kind_ = statement_kind::query;
    const auto& names = st->duck->GetNames();
    const auto& types = st->duck->GetTypes();
    bool rename = pg_names.size() == types.size();
    for (size_t i = 0; i < types.size(); ++i) st->fields_.push_back(field_of(rename ? pg_names[i] : names[i], types[i]));
  } else {
    st->kind_ = statement_kind::command;
    st->tag = tag.empty() ? duckdb::StatementTypeToString(st->duck_type) : tag;
  }
  return st;
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
        st->how != route::empty) {
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
    case route::setting:
      return run_setting(st);
    case route::duckdb:
      return run_duckdb(st, params);
    case route::insert:
    case route::update:
    case route::remove: {
      auto tag = run_write(st, params);
      if (!tag.ok()) return tag.err();
      return std::unique_ptr<cursor>(std::make_unique<command_cursor>(tag.value()));
    }
  }
  return error{"XX000", "unknown statement route", {}, {}};
}

outcome<std::unique_ptr<cursor>> session_impl::run_transaction_command(statement& st) {
  std::string tag = st.tag;
  quiesce();
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
  scan_->use_statistics = settings_.pushdown();
  std::string tag = cmd.action == k::reset || cmd.action == k::reset_all ? "RESET"
                    : cmd.action == k::discard_all                     ? "DISCARD ALL"
                                                                       : "SET";
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>(tag));
}

outcome<std::unique_ptr<cursor>> session_impl::run_catalog(statement& st) {
  auto answer = answer_catalog_query(st.sql, parts_.tables.list_tables(), options_.database, options_.user);
  if (!answer) return error{"XX000", "the catalog query is no longer recognised", {}, {}};
  if (!answer->ok()) return answer->err();
  auto& a = answer->value();
  return std::unique_ptr<cursor>(std::make_unique<rows_cursor>(std::move(a.rows), a.command_tag));
}

outcome<std::unique_ptr<cursor>> session_impl::run_ddl(statement& st) {
  if (st.how == route::create_table) {
    auto r = parts_.tables.create_table(st.create->schema, st.create->if_not_exists);
    if (!r.ok()) {
      error e = tables_error(r.err());
      if (r.err().code == errc::already_exists) e.sqlstate = "42P07";
      if (r.err().code == errc::invalid_argument) e.sqlstate = "42601";
      return e;
    }
    return std::unique_ptr<cursor>(std::make_unique<command_cursor>("CREATE TABLE"));
  }
  const auto& drop = *st.drop;
  if (!drop.if_exists) {
    for (const auto& name : drop.names) {
      if (!find_table("", name)) {
        return error{"42P01", fmt::format("table \"{}\" does not exist", name), {}, "\\dt lists the tables."};
      }
    }
  }
  for (const auto& name : drop.names) {
    auto info = find_table("", name);
    if (!info) continue;
    auto r = parts_.tables.drop_table(info->schema.name, drop.if_exists);
    if (!r.ok()) return tables_error(r.err());
  }
  return std::unique_ptr<cursor>(std::make_unique<command_cursor>("DROP TABLE"));
}

outcome<std::unique_ptr<cursor>> session_impl::run_duckdb(statement& st, const std::vector<parameter>& params) {
  quiesce();
  if (!st.duck) return std::unique_ptr<cursor>(std::make_unique<command_cursor>(""));
  scan_->txn = txn_.get();
  bool query = st.kind_ == statement_kind::query;
  auto result = run(*st.duck, st, params, query);
  if (!result.ok()) return result.err();
  if (query) {
    auto s = std::make_shared<stream_state>();
    s->fields = st.fields_;
    s->result = std::move(result.value());
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
