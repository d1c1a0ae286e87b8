// backend: SQL cursors. DECLARE makes a portal, FETCH and MOVE read one
// forward, CLOSE drops one. SQL cursors and the protocol's portals share
// portals_, as in PostgreSQL, so FETCH and MOVE also read a portal a client
// bound (asyncpg moves its own portals with MOVE).
#include <fmt/format.h>

#include <algorithm>

#include "pgwire/backend.h"
#include "pgwire/backend_internal.h"
#include "sql/binary_value.h"

namespace strata::pgwire {

using detail::format_binary;
using detail::format_text;
using detail::make_sql_error;
using direction = sql::cursor_command::direction;

namespace {

sql::error no_such_cursor(const std::string& name) {
  return make_sql_error(sqlstate::invalid_cursor_name, fmt::format("cursor \"{}\" does not exist", name));
}

sql::error aborted_block() {
  return make_sql_error(sqlstate::in_failed_sql_transaction,
                        "current transaction is aborted, commands ignored until end of transaction block",
                        "Send ROLLBACK to end the block.");
}

}  // namespace

// One FETCH or MOVE: skips to where it starts, then reads up to its count of
// rows from the named portal, which keeps its place for the next one.
class backend::fetch_cursor final : public sql::cursor {
 public:
  fetch_cursor(backend& owner, const sql::cursor_command& command) : owner_(owner), command_(command) {}

  // Where the command starts and how many rows it reads; starts a bound
  // portal that was never executed. Runs before any row is sent.
  sql::status plan() {
    auto target = owner_.portals_.find(command_.name);
    if (target == owner_.portals_.end()) return no_such_cursor(command_.name);
    return plan(*target->second);
  }

  sql::outcome<bool> fetch(uint32_t rows_max, tables::column_batch& out) override {
    auto target = owner_.portals_.find(command_.name);
    if (target == owner_.portals_.end()) return no_such_cursor(command_.name);
    portal_entry& portal = *target->second;
    while (skip_ > 0 && portal.cursor) {
      tables::column_batch skipped;
      auto more = read(portal, uint32_t(std::min<int64_t>(skip_, rows_max)), skipped);
      if (!more.ok()) return more.err();
      skip_ -= skipped.row_count;
    }
    if (take_ == 0 || !portal.cursor) return false;
    auto more = read(portal, uint32_t(std::min<int64_t>(take_, rows_max)), out);
    if (!more.ok()) return more.err();
    take_ -= out.row_count;
    rows_ += out.row_count;
    return take_ > 0 && portal.cursor != nullptr;
  }

  std::string command_tag() const override {
    return fmt::format("{} {}", command_.what == sql::cursor_command::action::move ? "MOVE" : "FETCH", rows_);
  }

 private:
  sql::status plan(portal_entry& portal) {
    if (owner_.session_->state() == sql::transaction_state::failed) return aborted_block();
    if (!portal.started) {
      if (portal.prepared->kind() != sql::statement_kind::query) {
        return make_sql_error(sqlstate::object_not_in_prerequisite_state,
                              fmt::format("portal \"{}\" cannot be run: it returns no rows", command_.name));
      }
      auto rows = owner_.session_->execute(portal.prepared, portal.parameters);
      if (!rows.ok()) return rows.err();
      portal.cursor = std::move(rows.value());
      portal.started = true;
    }
    const int64_t position = int64_t(portal.position);
    const int64_t n = command_.count;
    switch (command_.how) {
      case direction::forward:
        if (n == 0) return backward();  // FETCH 0 reads the current row again
        take_ = n;
        break;
      case direction::relative:
        if (n <= 0) return backward();
        skip_ = n - 1;
        take_ = 1;
        break;
      case direction::absolute:
        if (n == 0 && position == 0) break;  // before the first row, where it is
        if (n <= position) return backward();
        skip_ = n - position - 1;
        take_ = 1;
        break;
      case direction::backward: return backward();
    }
    return sql::ok_t{};
  }

  static sql::error backward() {
    return make_sql_error(sqlstate::object_not_in_prerequisite_state, "cursor can only scan forward",
                          "Strata's cursors read forward only (FETCH, FETCH FORWARD n, FETCH ALL, MOVE FORWARD n, "
                          "ABSOLUTE and RELATIVE to later rows); declare the cursor again to start over.");
  }

  // Reads from the portal's rows and keeps its position; an exhausted portal
  // keeps its entry (a later FETCH reads no rows) but drops its rows.
  sql::outcome<bool> read(portal_entry& portal, uint32_t rows_max, tables::column_batch& out) {
    auto more = portal.cursor->fetch(rows_max, out);
    if (!more.ok()) return more.err();
    portal.position += out.row_count;
    if (!more.value()) {
      portal.finished = true;
      portal.tag = portal.cursor->command_tag();
      portal.cursor.reset();
    }
    return more;
  }

  backend& owner_;
  sql::cursor_command command_;
  int64_t skip_ = 0;
  int64_t take_ = 0;
  uint64_t rows_ = 0;
};

sql::outcome<std::unique_ptr<sql::cursor>> backend::fetch_rows_of(const sql::cursor_command& c) {
  auto rows = std::make_unique<fetch_cursor>(*this, c);
  auto planned = rows->plan();
  if (!planned.ok()) return planned.err();
  return std::unique_ptr<sql::cursor>(std::move(rows));
}

std::optional<std::vector<sql::field>> backend::fields_of(const sql::prepared& statement) const {
  const auto* c = statement.cursor_statement();
  if (c == nullptr || c->what != sql::cursor_command::action::fetch) return statement.fields();
  auto it = portals_.find(c->name);
  if (it == portals_.end()) return std::nullopt;
  return it->second->fields;
}

sql::status backend::declare_cursor(const sql::cursor_command& c, const std::vector<sql::parameter>& params) {
  if (portals_.contains(c.name)) {
    return make_sql_error(sqlstate::duplicate_cursor, fmt::format("cursor \"{}\" already exists", c.name));
  }
  if (!c.with_hold && session_->state() == sql::transaction_state::idle) {
    return make_sql_error(sqlstate::no_active_sql_transaction, "DECLARE CURSOR can only be used in transaction blocks",
                          "Run it after BEGIN, or declare it WITH HOLD.");
  }
  if (portals_.size() - portals_.count("") >= env_.limits.portals_max) {
    return make_sql_error(sqlstate::program_limit_exceeded,
                          fmt::format("too many open portals on this connection (the limit is {})", env_.limits.portals_max),
                          "CLOSE cursors that are no longer needed.");
  }
  const auto& fields = c.query->fields();
  if (c.binary) {
    for (const auto& f : fields) {
      if (!sql::binary_encodable(f)) {
        return make_sql_error(sqlstate::feature_not_supported,
                              fmt::format("binary format is not supported for column \"{}\" (type OID {})", f.name, f.type_oid),
                              "Declare the cursor without BINARY.");
      }
    }
  }
  auto rows = session_->execute(c.query, params);
  if (!rows.ok()) return rows.err();
  auto portal = std::make_unique<portal_entry>();
  portal->prepared = c.query;
  portal->parameters = params;
  portal->fields = fields;
  portal->formats.assign(fields.size(), c.binary ? format_binary : format_text);
  portal->cursor = std::move(rows.value());
  portal->started = true;
  portal->holdable = c.with_hold;
  portals_[c.name] = std::move(portal);
  return sql::ok_t{};
}

sql::status backend::close_cursor(const sql::cursor_command& c, const std::string* running) {
  if (session_->state() == sql::transaction_state::failed) return aborted_block();
  if (c.name.empty()) {
    std::erase_if(portals_, [&](const auto& entry) { return running == nullptr || entry.first != *running; });
    return sql::ok_t{};
  }
  if (!portals_.contains(c.name)) return no_such_cursor(c.name);
  if (running != nullptr && *running == c.name) {
    return make_sql_error(sqlstate::object_in_use, fmt::format("cannot close portal \"{}\": it is running", c.name));
  }
  portals_.erase(c.name);
  return sql::ok_t{};
}

sql::outcome<std::string> backend::run_cursor_command(const sql::cursor_command& c,
                                                      const std::vector<sql::parameter>& params,
                                                      const std::string* running) {
  switch (c.what) {
    case sql::cursor_command::action::declare: {
      auto s = declare_cursor(c, params);
      if (!s.ok()) return s.err();
      return std::string("DECLARE CURSOR");
    }
    case sql::cursor_command::action::close: {
      auto s = close_cursor(c, running);
      if (!s.ok()) return s.err();
      return std::string(c.name.empty() ? "CLOSE CURSOR ALL" : "CLOSE CURSOR");
    }
    case sql::cursor_command::action::fetch:
      break;  // its rows stream through fetch_rows_of
    case sql::cursor_command::action::move: {
      // MOVE reads the rows FETCH would send and drops them.
      fetch_cursor mover(*this, c);
      auto planned = mover.plan();
      if (!planned.ok()) return planned.err();
      for (;;) {
        tables::column_batch skipped;
        auto more = mover.fetch(env_.limits.fetch_rows_max, skipped);
        if (!more.ok()) return more.err();
        if (!more.value()) break;
      }
      return mover.command_tag();
    }
  }
  return make_sql_error(sqlstate::internal_error, "FETCH runs through fetch_rows_of, not as a command");
}

void backend::start_simple_fetch(const std::shared_ptr<sql::prepared>& stmt, const sql::cursor_command& c) {
  auto rows = fetch_rows_of(c);
  if (!rows.ok()) {
    send_error(rows.err());
    end_simple();
    return;
  }
  const portal_entry& target = *portals_.at(c.name);
  auto portal = std::make_unique<portal_entry>();
  portal->prepared = stmt;
  portal->fields = target.fields;
  portal->formats = target.formats;  // binary for a BINARY cursor
  portal->cursor = std::move(rows.value());
  portal->started = true;
  send_row_description(portal->fields, portal->formats);
  simple_->current = std::move(portal);
}

}  // namespace strata::pgwire
