// DECLARE, FETCH, MOVE and CLOSE read off PostgreSQL's tree into a
// cursor_command that pgwire carries out (SQL cursors are portals, which live
// there); LISTEN, UNLISTEN and NOTIFY.
#include <fmt/format.h>

#include "sql/pg_parse.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {

namespace {

// DeclareCursorStmt.options bits (PostgreSQL's CURSOR_OPT_*).
constexpr int32_t cursor_opt_binary = 0x0001;
constexpr int32_t cursor_opt_scroll = 0x0002;
constexpr int32_t cursor_opt_hold = 0x0020;

std::string portal_name(const char* name) { return name != nullptr ? std::string(name) : std::string(); }

// pgwire runs it and gives its command tag.
std::shared_ptr<statement> cursor_statement_of(cursor_command c, statement_kind kind) {
  auto st = std::make_shared<statement>();
  st->how = route::cursor;
  st->kind_ = kind;
  st->cursor_ = std::make_shared<cursor_command>(std::move(c));
  return st;
}

}  // namespace

outcome<std::shared_ptr<statement>> session_impl::prepare_declare_cursor(const PgQuery__DeclareCursorStmt& d) {
  if ((d.options & cursor_opt_scroll) != 0) {
    return error{"0A000", "SCROLL cursors are not supported", {},
                 "Declare the cursor without SCROLL and read it forward (FETCH, FETCH FORWARD n, MOVE)."};
  }
  auto text = deparse_statement(d.query);
  if (!text.ok()) return text.err();
  const std::vector<uint32_t> hints = prepare_hints_;
  auto query = prepare_inner(*text, hints);
  if (!query.ok()) return query.err();
  if (query.value()->kind() != statement_kind::query) {
    return error{"42601", "DECLARE CURSOR needs a query that returns rows", {}, {}};
  }
  cursor_command c;
  c.what = cursor_command::action::declare;
  c.name = portal_name(d.portalname);
  c.with_hold = (d.options & cursor_opt_hold) != 0;
  c.binary = (d.options & cursor_opt_binary) != 0;
  c.query = query.value();
  auto st = cursor_statement_of(std::move(c), statement_kind::command);
  st->parameter_oids_ = query.value()->parameter_oids();
  if (st->parameter_oids_.empty()) st->parameter_oids_ = hints;
  return st;
}

outcome<std::shared_ptr<statement>> session_impl::prepare_fetch(const PgQuery__FetchStmt& f) {
  cursor_command c;
  c.what = f.ismove ? cursor_command::action::move : cursor_command::action::fetch;
  c.name = portal_name(f.portalname);
  switch (f.direction) {
    case PG_QUERY__FETCH_DIRECTION__FETCH_BACKWARD: c.how = cursor_command::direction::backward; break;
    case PG_QUERY__FETCH_DIRECTION__FETCH_ABSOLUTE: c.how = cursor_command::direction::absolute; break;
    case PG_QUERY__FETCH_DIRECTION__FETCH_RELATIVE: c.how = cursor_command::direction::relative; break;
    default: c.how = cursor_command::direction::forward; break;
  }
  // PostgreSQL's parser gives ALL as LONG_MAX.
  c.count = f.how_many >= all_rows ? all_rows : f.how_many;
  const bool fetch = c.what == cursor_command::action::fetch;
  return cursor_statement_of(std::move(c), fetch ? statement_kind::query : statement_kind::command);
}

outcome<std::shared_ptr<statement>> session_impl::prepare_close_cursor(const PgQuery__ClosePortalStmt& c) {
  cursor_command command;
  command.what = cursor_command::action::close;
  command.name = portal_name(c.portalname);
  return cursor_statement_of(std::move(command), statement_kind::command);
}

outcome<std::shared_ptr<statement>> session_impl::prepare_listen(const PgQuery__Node& node) {
  if (node.node_case == PG_QUERY__NODE__NODE_UNLISTEN_STMT) {
    // Nothing to stop: no session can LISTEN.
    auto st = std::make_shared<statement>();
    st->how = route::accepted;
    st->tag = "UNLISTEN";
    return st;
  }
  const bool listen = node.node_case == PG_QUERY__NODE__NODE_LISTEN_STMT;
  return error{"0A000", fmt::format("{} is not supported", listen ? "LISTEN" : "NOTIFY"), {},
               "Strata has no asynchronous notifications; poll a table, or use a Kafka topic for events."};
}

}  // namespace strata::sql::detail
