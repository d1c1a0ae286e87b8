// backend: the extended query flow (Parse, Bind, Describe, Execute, Close, Sync).
#include "pgwire/backend.h"

#include <fmt/format.h>

#include <algorithm>

#include "pgwire/backend_internal.h"
#include "sql/binary_value.h"

namespace strata::pgwire {

using detail::format_binary;
using detail::format_text;
using detail::make_sql_error;
using detail::printable_type;

namespace {

// The statement of an empty query string: EmptyQueryResponse, no session call.
class empty_statement final : public sql::prepared {
 public:
  sql::statement_kind kind() const override { return sql::statement_kind::empty; }
  const std::vector<uint32_t>& parameter_oids() const override { return none_; }
  const std::vector<sql::field>& fields() const override { return fields_; }
  sql::copy_description copy() const override { return {}; }

 private:
  std::vector<uint32_t> none_;
  std::vector<sql::field> fields_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Extended query

void backend::on_parse(std::span<const uint8_t> body) {
  reader r(body);
  std::string name(r.cstr());
  std::string_view text = r.cstr();
  const int16_t count = r.i16();
  std::vector<uint32_t> hints;
  for (int i = 0; i < count && r.ok(); ++i) hints.push_back(uint32_t(r.i32()));
  if (!r.at_end() || count < 0) {
    return extended_error(make_sql_error(sqlstate::protocol_violation, "invalid Parse message"));
  }
  if (!name.empty() && statements_.contains(name)) {
    return extended_error(make_sql_error(sqlstate::duplicate_prepared_statement,
                                         fmt::format("prepared statement \"{}\" already exists", name)));
  }
  if (!name.empty() && statements_.size() - statements_.count("") >= env_.limits.statements_max) {
    return extended_error(make_sql_error(
        sqlstate::program_limit_exceeded,
        fmt::format("too many prepared statements on this connection (the limit is {})", env_.limits.statements_max),
        "close prepared statements that are no longer needed"));
  }
  auto parts = sql::split_statements(text);
  if (parts.size() > 1) {
    return extended_error(
        make_sql_error(sqlstate::syntax_error, "cannot insert multiple commands into a prepared statement"));
  }
  auto entry = std::make_unique<statement_entry>();
  if (parts.empty()) {
    entry->prepared = std::make_shared<empty_statement>();
  } else {
    auto prepared = session_->prepare(parts[0], hints);
    if (!prepared.ok()) return extended_error(prepared.err());
    entry->prepared = std::move(prepared.value());
  }
  const auto& inferred = entry->prepared->parameter_oids();
  const size_t n = std::max(hints.size(), inferred.size());
  for (size_t i = 0; i < n; ++i) {
    uint32_t oid = i < hints.size() ? hints[i] : 0;
    if (oid == 0) oid = i < inferred.size() ? inferred[i] : 25;
    entry->parameter_oids.push_back(oid);
  }
  statements_[name] = std::move(entry);
  const size_t m = begin_message(out_, be::parse_complete);
  end_message(out_, m);
}

namespace {

// A Bind message's fields, parsed; the spans point into the message.
struct bind_message {
  std::string portal;
  std::string statement;
  std::vector<int16_t> param_formats;
  std::vector<std::pair<bool, std::span<const uint8_t>>> values;  // (is_null, bytes)
  std::vector<int16_t> result_formats;
};

bool read_bind(std::span<const uint8_t> body, bind_message& m) {
  reader r(body);
  m.portal = r.cstr();
  m.statement = r.cstr();
  const int16_t format_count = r.i16();
  for (int i = 0; i < format_count && r.ok(); ++i) m.param_formats.push_back(r.i16());
  const int16_t param_count = r.i16();
  for (int i = 0; i < param_count && r.ok(); ++i) {
    const int32_t len = r.i32();
    if (len < -1) return false;
    m.values.emplace_back(len == -1, len == -1 ? std::span<const uint8_t>() : r.bytes(size_t(len)));
  }
  const int16_t result_format_count = r.i16();
  for (int i = 0; i < result_format_count && r.ok(); ++i) m.result_formats.push_back(r.i16());
  return r.at_end() && format_count >= 0 && param_count >= 0 && result_format_count >= 0;
}

// The format of item i when a message gives none (text), one (for all) or one each.
int16_t format_at(const std::vector<int16_t>& formats, size_t i) {
  return formats.empty() ? format_text : formats.size() == 1 ? formats[0] : formats[i];
}

sql::outcome<std::vector<sql::parameter>> decode_parameters(const bind_message& m, const std::vector<uint32_t>& oids,
                                                            const std::string& statement_name) {
  if (m.values.size() != oids.size()) {
    return make_sql_error(sqlstate::protocol_violation,
                          fmt::format("bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                                      m.values.size(), statement_name, oids.size()));
  }
  if (m.param_formats.size() > 1 && m.param_formats.size() != m.values.size()) {
    return make_sql_error(sqlstate::protocol_violation, fmt::format("bind message has {} parameter formats but {} parameters",
                                                                    m.param_formats.size(), m.values.size()));
  }
  for (int16_t f : m.param_formats) {
    if (f != format_text && f != format_binary) {
      return make_sql_error(sqlstate::protocol_violation, fmt::format("unsupported format code: {}", f));
    }
  }
  std::vector<sql::parameter> params;
  for (size_t i = 0; i < m.values.size(); ++i) {
    sql::parameter p;
    const auto& [is_null, bytes] = m.values[i];
    if (is_null) {
      p.is_null = true;
    } else if (format_at(m.param_formats, i) == format_text) {
      p.text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } else {
      auto decoded = sql::decode_binary_parameter(oids[i], bytes);
      if (!decoded.ok()) {
        sql::error e = decoded.err();
        e.message = fmt::format("parameter ${}: {}", i + 1, e.message);
        return e;
      }
      p = std::move(decoded.value());
    }
    params.push_back(std::move(p));
  }
  return params;
}

sql::outcome<std::vector<int16_t>> result_formats_of(const std::vector<int16_t>& requested,
                                                     const std::vector<sql::field>& fields) {
  if (requested.size() > 1 && requested.size() != fields.size()) {
    return make_sql_error(sqlstate::protocol_violation, fmt::format("bind message has {} result formats but the query has {} columns",
                                                                    requested.size(), fields.size()));
  }
  std::vector<int16_t> formats(fields.size(), format_text);
  for (size_t i = 0; i < fields.size(); ++i) {
    const int16_t f = format_at(requested, i);
    if (f != format_text && f != format_binary) {
      return make_sql_error(sqlstate::protocol_violation, fmt::format("unsupported format code: {}", f));
    }
    if (f == format_binary && !sql::binary_encodable(fields[i])) {
      return make_sql_error(
          sqlstate::feature_not_supported,
          fmt::format("binary format is not supported for column \"{}\" (type OID {})", fields[i].name, fields[i].type_oid),
          "request this column in text format");
    }
    formats[i] = f;
  }
  return formats;
}

}  // namespace

void backend::on_bind(std::span<const uint8_t> body) {
  bind_message m;
  if (!read_bind(body, m)) return extended_error(make_sql_error(sqlstate::protocol_violation, "invalid Bind message"));
  auto it = statements_.find(m.statement);
  if (it == statements_.end()) {
    return extended_error(make_sql_error(sqlstate::invalid_statement_name,
                                         fmt::format("prepared statement \"{}\" does not exist", m.statement)));
  }
  const statement_entry& stmt = *it->second;
  if (!m.portal.empty() && portals_.contains(m.portal)) {
    return extended_error(
        make_sql_error(sqlstate::duplicate_cursor, fmt::format("portal \"{}\" already exists", m.portal)));
  }
  if (!m.portal.empty() && portals_.size() - portals_.count("") >= env_.limits.portals_max) {
    return extended_error(make_sql_error(
        sqlstate::program_limit_exceeded,
        fmt::format("too many open portals on this connection (the limit is {})", env_.limits.portals_max)));
  }
  auto params = decode_parameters(m, stmt.parameter_oids, m.statement);
  if (!params.ok()) return extended_error(params.err());
  // A FETCH's rows are its cursor's; without the cursor it fails at Execute.
  std::vector<sql::field> fields = fields_of(*stmt.prepared).value_or(std::vector<sql::field>{});
  auto formats = result_formats_of(m.result_formats, fields);
  if (!formats.ok()) return extended_error(formats.err());
  auto portal = std::make_unique<portal_entry>();
  portal->prepared = stmt.prepared;
  portal->parameters = std::move(params.value());
  portal->fields = std::move(fields);
  portal->formats = std::move(formats.value());
  portals_[m.portal] = std::move(portal);
  const size_t m_at = begin_message(out_, be::bind_complete);
  end_message(out_, m_at);
}

void backend::on_describe(std::span<const uint8_t> body) {
  reader r(body);
  const char what = char(r.u8());
  std::string name(r.cstr());
  if (!r.at_end() || (what != 'S' && what != 'P')) {
    return extended_error(make_sql_error(sqlstate::protocol_violation, "invalid Describe message"));
  }
  const sql::prepared* prepared = nullptr;
  std::optional<std::vector<sql::field>> fields;
  const std::vector<int16_t>* formats = nullptr;
  std::vector<int16_t> text_formats;
  if (what == 'S') {
    auto it = statements_.find(name);
    if (it == statements_.end()) {
      return extended_error(
          make_sql_error(sqlstate::invalid_statement_name, fmt::format("prepared statement \"{}\" does not exist", name)));
    }
    prepared = it->second->prepared.get();
    const size_t m = begin_message(out_, be::parameter_description);
    put_i16(out_, int16_t(it->second->parameter_oids.size()));
    for (uint32_t oid : it->second->parameter_oids) put_i32(out_, int32_t(oid));
    end_message(out_, m);
    fields = fields_of(*prepared);
    text_formats.assign(fields ? fields->size() : 0, format_text);
    formats = &text_formats;
  } else {
    auto it = portals_.find(name);
    if (it == portals_.end()) {
      return extended_error(make_sql_error(sqlstate::invalid_cursor_name, fmt::format("portal \"{}\" does not exist", name)));
    }
    prepared = it->second->prepared.get();
    fields = it->second->fields;
    formats = &it->second->formats;
  }
  if (prepared->kind() == sql::statement_kind::query && fields) {
    send_row_description(*fields, *formats);
  } else {
    const size_t m = begin_message(out_, be::no_data);
    end_message(out_, m);
  }
}

void backend::on_execute(std::span<const uint8_t> body) {
  reader r(body);
  std::string name(r.cstr());
  const int32_t limit = r.i32();
  if (!r.at_end()) return extended_error(make_sql_error(sqlstate::protocol_violation, "invalid Execute message"));
  auto it = portals_.find(name);
  if (it == portals_.end()) {
    return extended_error(make_sql_error(sqlstate::invalid_cursor_name, fmt::format("portal \"{}\" does not exist", name)));
  }
  portal_entry& portal = *it->second;
  const auto kind = portal.prepared->kind();
  if (kind == sql::statement_kind::empty) {
    const size_t m = begin_message(out_, be::empty_query_response);
    end_message(out_, m);
    return;
  }
  if (portal.finished) {
    send_command_complete(portal.tag);
    return;
  }
  if (!portal.started) {
    ++stats_.statements;
    if (const auto* c = portal.prepared->cursor_statement()) {
      portal.started = true;
      if (c->what == sql::cursor_command::action::fetch) {
        auto rows = fetch_rows_of(*c);
        if (!rows.ok()) {
          portals_.erase(it);
          return extended_error(rows.err());
        }
        portal.cursor = std::move(rows.value());
      } else {
        auto tag = run_cursor_command(*c, portal.parameters, &name);
        if (!tag.ok()) {
          portals_.erase(name);
          return extended_error(tag.err());
        }
        portal.finished = true;
        portal.tag = std::move(tag.value());
        send_command_complete(portal.tag);
        return;
      }
    }
  }
  if (!portal.started) {
    switch (kind) {
      case sql::statement_kind::copy_in:
        portal.started = true;
        portal.finished = true;
        if (!start_copy_in(portal.prepared, true)) ignore_till_sync_ = true;
        return;
      case sql::statement_kind::copy_out:
        if (!start_copy_out(portal.prepared, portal)) {
          ignore_till_sync_ = true;
          portals_.erase(it);
          return;
        }
        break;
      default: {
        auto cursor = session_->execute(portal.prepared, portal.parameters);
        if (!cursor.ok()) {
          portals_.erase(it);
          return extended_error(cursor.err());
        }
        portal.started = true;
        if (kind == sql::statement_kind::command) {
          forget_statements(*portal.prepared);
          portal.finished = true;
          portal.tag = cursor.value()->command_tag();
          send_command_complete(portal.tag);
          send_reported_parameters();
          return;
        }
        portal.cursor = std::move(cursor.value());
        break;
      }
    }
  }
  execute_ = std::make_unique<execute_work>();
  execute_->portal = name;
  execute_->row_limit = limit > 0 ? uint32_t(limit) : 0;
  run_execute();
}

void backend::run_execute() {
  auto it = portals_.find(execute_->portal);
  if (it == portals_.end()) {
    execute_.reset();
    return;
  }
  portal_entry& portal = *it->second;
  const stream_result r =
      portal.copy_out ? pump_copy_out(portal) : stream_rows(portal, execute_->row_limit, execute_->rows_sent);
  switch (r) {
    case stream_result::paused: paused_ = true; return;
    case stream_result::failed:
      portals_.erase(it);
      execute_.reset();
      ignore_till_sync_ = true;
      return;
    case stream_result::done: send_reported_parameters(); [[fallthrough]];
    case stream_result::suspended: execute_.reset(); return;
  }
}

void backend::on_close(std::span<const uint8_t> body) {
  reader r(body);
  const char what = char(r.u8());
  std::string name(r.cstr());
  if (!r.at_end() || (what != 'S' && what != 'P')) {
    return extended_error(make_sql_error(sqlstate::protocol_violation, "invalid Close message"));
  }
  if (what == 'S') {
    statements_.erase(name);
  } else {
    portals_.erase(name);
  }
  const size_t m = begin_message(out_, be::close_complete);
  end_message(out_, m);
}

void backend::on_sync() {
  ignore_till_sync_ = false;
  execute_.reset();
  drop_portals_if_idle();
  send_ready_for_query();
}

}  // namespace strata::pgwire
