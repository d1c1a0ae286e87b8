#include "pgwire/backend.h"

#include <fmt/format.h>

#include <algorithm>

#include "pgwire/values.h"

namespace strata::pgwire {

namespace {

constexpr int16_t format_text = 0;
constexpr int16_t format_binary = 1;

// The ParameterStatus set clients check, for any the session leaves out.
const std::vector<std::pair<std::string, std::string>>& default_parameters() {
  static const std::vector<std::pair<std::string, std::string>> d = {
      {"server_version", "15.0 (Strata)"},   {"server_encoding", "UTF8"},
      {"client_encoding", "UTF8"},            {"DateStyle", "ISO, MDY"},
      {"integer_datetimes", "on"},            {"standard_conforming_strings", "on"},
      {"TimeZone", "UTC"},                    {"IntervalStyle", "postgres"},
      {"is_superuser", "on"},
  };
  return d;
}

sql::error make_sql_error(const char* code, std::string message, std::string hint = {}) {
  return sql::error{code, std::move(message), {}, std::move(hint)};
}

std::string printable_type(char type) {
  if (type >= 0x20 && type < 0x7f) return fmt::format("'{}'", type);
  return fmt::format("0x{:02x}", uint8_t(type));
}

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

const char* auth_method_name(auth_method m) {
  switch (m) {
    case auth_method::trust: return "trust";
    case auth_method::scram_sha_256: return "scram-sha-256";
    case auth_method::md5: return "md5";
  }
  return "unknown";
}

struct backend::statement_entry {
  std::shared_ptr<sql::prepared> prepared;
  std::vector<uint32_t> parameter_oids;  // the client's types where given, else the inferred ones
};

struct backend::portal_entry {
  std::shared_ptr<sql::prepared> prepared;
  std::vector<sql::parameter> parameters;
  std::vector<int16_t> formats;  // one per field
  std::unique_ptr<sql::cursor> cursor;
  std::unique_ptr<sql::copy_out_source> copy_out;
  bool started = false;
  bool finished = false;
  std::string tag;
};

struct backend::simple_work {
  std::vector<std::string> statements;
  size_t next = 0;
  std::unique_ptr<portal_entry> current;  // the statement whose rows or COPY output are being sent
};

struct backend::execute_work {
  std::string portal;
  uint32_t row_limit = 0;  // 0: every row
  uint64_t rows_sent = 0;
};

struct backend::copy_in_work {
  std::unique_ptr<sql::copy_in_sink> sink;
  bool extended = false;
};

backend::backend(const backend_env& env, bool peer_is_loopback, backend_key key)
    : env_(env), peer_is_loopback_(peer_is_loopback), key_(key) {}

backend::~backend() {
  if (copy_in_) copy_in_->sink->abort("the connection closed during COPY");
}

backend_stats backend::take_stats() {
  backend_stats s = std::move(stats_);
  stats_ = backend_stats{};
  return s;
}

// ---------------------------------------------------------------------------
// Startup and authentication

void backend::fatal(const char* code, std::string message, std::string hint) {
  error_fields e;
  e.severity = "FATAL";
  e.sqlstate = code;
  e.message = std::move(message);
  e.hint = std::move(hint);
  put_error(out_, e);
  stats_.error_codes.push_back(code);
  phase_ = phase::closed;
  paused_ = false;
}

void backend::on_bad_length(uint32_t length) {
  const uint32_t limit = expects_startup() ? env_.limits.startup_bytes_max : env_.limits.message_bytes_max;
  if (length < 4) {
    fatal(sqlstate::protocol_violation, fmt::format("invalid message length {}", length));
  } else {
    fatal(sqlstate::protocol_violation, fmt::format("message length {} exceeds the limit of {} bytes", length, limit));
  }
}

void backend::on_startup_packet(std::span<const uint8_t> body) {
  if (phase_ != phase::startup) return;
  startup_request req = decode_startup(body);
  switch (req.what) {
    case startup_request::kind::ssl:
    case startup_request::kind::gssenc:
      if (++negotiations_ > env_.limits.negotiations_max) {
        fatal(sqlstate::protocol_violation, "too many SSL/GSS encryption requests");
        return;
      }
      out_.push_back('N');
      return;
    case startup_request::kind::cancel:
      cancel_ = backend_key{req.process_id, req.secret_key};
      phase_ = phase::closed;
      return;
    case startup_request::kind::bad_version:
      fatal(sqlstate::feature_not_supported,
            fmt::format("unsupported frontend protocol {}.{}: server supports 3.0", req.version >> 16, req.version & 0xffff));
      return;
    case startup_request::kind::malformed:
      fatal(sqlstate::protocol_violation, "invalid startup packet: " + req.problem);
      return;
    case startup_request::kind::startup: start_session(req); return;
  }
}

void backend::negotiate_version(uint32_t minor, const std::vector<std::string>& unknown_options) {
  (void)minor;
  const size_t m = begin_message(out_, 'v');  // NegotiateProtocolVersion
  put_i32(out_, 0);                           // the newest minor version this server speaks
  put_i32(out_, int32_t(unknown_options.size()));
  for (const auto& o : unknown_options) put_cstr(out_, o);
  end_message(out_, m);
}

void backend::start_session(const startup_request& req) {
  std::vector<std::string> unknown_options;
  for (const auto& [name, value] : req.parameters) {
    if (name == "user") {
      options_.user = value;
    } else if (name == "database") {
      options_.database = value;
    } else if (name == "application_name") {
      options_.application_name = value;
    } else if (name.starts_with("_pq_.")) {
      unknown_options.push_back(name);
    }
    // Other parameters (client_encoding, DateStyle, options, ...) are session
    // settings PostgreSQL would apply; Strata always speaks UTF8 and ISO dates.
  }
  const uint32_t minor = req.version & 0xffff;
  if (minor > 0 || !unknown_options.empty()) negotiate_version(minor, unknown_options);
  if (options_.user.empty()) {
    fatal(sqlstate::invalid_authorization, "no PostgreSQL user name specified in startup packet");
    return;
  }
  if (options_.database.empty()) options_.database = options_.user;
  user_ = options_.user;
  begin_auth();
}

void backend::send_auth_request(int32_t code, std::string_view data) {
  const size_t m = begin_message(out_, be::authentication);
  put_i32(out_, code);
  out_.append(data);
  end_message(out_, m);
}

void backend::begin_auth() {
  const auth_settings& a = *env_.auth;
  for (const auto& c : a.users) {
    if (c.name == user_) credential_ = &c;
  }
  auth_used_ = a.method;
  if (a.method == auth_method::trust) {
    if (peer_is_loopback_ || a.trust_remote) {
      finish_auth();
      return;
    }
    if (a.users.empty()) {
      fatal(sqlstate::invalid_authorization, "no users are configured; start strata with --pg-user NAME:PASSWORD",
            "trust authentication is only allowed for clients on the loopback interface");
      return;
    }
    auth_used_ = auth_method::scram_sha_256;
  }
  phase_ = phase::authenticating;
  if (auth_used_ == auth_method::scram_sha_256) {
    scram_ = std::make_unique<scram_server>(credential_ ? &credential_->scram : nullptr, env_.random, user_);
    using namespace std::string_view_literals;
    send_auth_request(auth_code::sasl, "SCRAM-SHA-256\0\0"sv);
  } else {
    env_.random(md5_salt_);
    send_auth_request(auth_code::md5_password, std::string_view(reinterpret_cast<const char*>(md5_salt_), 4));
  }
}

void backend::on_password_message(std::span<const uint8_t> body) {
  if (auth_used_ == auth_method::md5) {
    reader r(body);
    std::string_view response = r.cstr();
    if (!r.at_end()) {
      fatal(sqlstate::protocol_violation, "invalid password message");
      return;
    }
    if (credential_ == nullptr || !md5_response_matches(*credential_, md5_salt_, response)) {
      fatal(sqlstate::invalid_password, fmt::format("password authentication failed for user \"{}\"", user_));
      return;
    }
    finish_auth();
    return;
  }
  if (!scram_started_) {
    on_sasl_initial(body);
  } else {
    on_sasl_response(body);
  }
}

void backend::on_sasl_initial(std::span<const uint8_t> body) {
  scram_started_ = true;
  reader r(body);
  std::string_view mechanism = r.cstr();
  const int32_t length = r.i32();
  auto data = r.bytes(length < 0 ? 0 : size_t(length));
  if (!r.at_end() || length < 0) {
    fatal(sqlstate::protocol_violation, "invalid SASLInitialResponse message");
    return;
  }
  std::string reply;
  auto verdict = scram_->on_client_first(mechanism, {reinterpret_cast<const char*>(data.data()), data.size()}, reply);
  if (verdict != scram_server::outcome::next) {
    fatal(sqlstate::protocol_violation, "invalid SCRAM exchange: " + scram_->problem());
    return;
  }
  send_auth_request(auth_code::sasl_continue, reply);
}

void backend::on_sasl_response(std::span<const uint8_t> body) {
  std::string reply;
  auto verdict = scram_->on_client_final({reinterpret_cast<const char*>(body.data()), body.size()}, reply);
  switch (verdict) {
    case scram_server::outcome::authenticated:
      send_auth_request(auth_code::sasl_final, reply);
      finish_auth();
      return;
    case scram_server::outcome::bad_password:
      fatal(sqlstate::invalid_password, fmt::format("password authentication failed for user \"{}\"", user_));
      return;
    default: fatal(sqlstate::protocol_violation, "invalid SCRAM exchange: " + scram_->problem()); return;
  }
}

void backend::finish_auth() {
  scram_.reset();
  auto s = env_.engine->new_session(options_);
  if (!s.ok()) {
    fatal(s.err().sqlstate.c_str(), s.err().message, s.err().hint);
    return;
  }
  session_ = std::move(s.value());
  phase_ = phase::serving;
  stats_.authenticated = true;
  send_auth_request(auth_code::ok);
  auto params = session_->startup_parameters();
  auto has = [&](const std::string& name) {
    return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
  };
  for (const auto& d : default_parameters()) {
    if (!has(d.first)) params.push_back(d);
  }
  if (!has("application_name")) params.emplace_back("application_name", options_.application_name);
  if (!has("session_authorization")) params.emplace_back("session_authorization", user_);
  for (const auto& [name, value] : params) {
    const size_t m = begin_message(out_, be::parameter_status);
    put_cstr(out_, name);
    put_cstr(out_, value);
    end_message(out_, m);
  }
  const size_t m = begin_message(out_, be::backend_key_data);
  put_i32(out_, key_.process_id);
  put_i32(out_, key_.secret_key);
  end_message(out_, m);
  send_ready_for_query();
}

// ---------------------------------------------------------------------------
// Dispatch

void backend::on_message(char type, std::span<const uint8_t> body) {
  switch (phase_) {
    case phase::startup: return;  // the connection frames startup packets separately
    case phase::closed: return;
    case phase::authenticating:
      if (type == fe::password) return on_password_message(body);
      if (type == fe::terminate) {
        phase_ = phase::closed;
        return;
      }
      return fatal(sqlstate::protocol_violation,
                   fmt::format("expected a password response, got message type {}", printable_type(type)));
    case phase::serving: return on_serving_message(type, body);
  }
}

void backend::on_serving_message(char type, std::span<const uint8_t> body) {
  if (type == fe::terminate) {
    phase_ = phase::closed;
    return;
  }
  if (copy_in_) return on_copy_message(type, body);
  if (ignore_till_sync_) {
    if (type == fe::sync) on_sync();
    return;
  }
  switch (type) {
    case fe::query: return on_query(body);
    case fe::parse: return on_parse(body);
    case fe::bind: return on_bind(body);
    case fe::describe: return on_describe(body);
    case fe::execute: return on_execute(body);
    case fe::close: return on_close(body);
    case fe::sync: return on_sync();
    case fe::flush: return;  // output goes out after every batch of messages anyway
    case fe::copy_data:
    case fe::copy_done:
    case fe::copy_fail:
      if (ignore_copy_) return;  // the rest of a COPY that already failed
      send_error(make_sql_error(sqlstate::protocol_violation,
                                fmt::format("unexpected message type {} outside COPY", printable_type(type))));
      send_ready_for_query();
      return;
    case fe::function_call:
      send_error(make_sql_error(sqlstate::feature_not_supported, "the function call protocol is not supported"));
      send_ready_for_query();
      return;
    case fe::password:
      send_error(make_sql_error(sqlstate::protocol_violation, "unexpected password message after authentication"));
      send_ready_for_query();
      return;
    default:
      fatal(sqlstate::protocol_violation, fmt::format("invalid frontend message type {}", printable_type(type)));
      return;
  }
}

void backend::resume() {
  if (!paused_) return;
  paused_ = false;
  if (execute_) {
    run_execute();
  } else if (simple_) {
    run_simple();
  }
}

// ---------------------------------------------------------------------------
// Replies

void backend::send_error(const sql::error& e) {
  error_fields f;
  f.sqlstate = e.sqlstate;
  f.message = e.message;
  f.detail = e.detail;
  f.hint = e.hint;
  put_error(out_, f);
  stats_.error_codes.push_back(f.sqlstate.size() == 5 ? f.sqlstate : std::string(sqlstate::internal_error));
}

void backend::extended_error(const sql::error& e) {
  send_error(e);
  ignore_till_sync_ = true;
}

void backend::send_ready_for_query() {
  char status = 'I';
  if (session_) {
    switch (session_->state()) {
      case sql::transaction_state::idle: status = 'I'; break;
      case sql::transaction_state::in_block: status = 'T'; break;
      case sql::transaction_state::failed: status = 'E'; break;
    }
  }
  const size_t m = begin_message(out_, be::ready_for_query);
  out_.push_back(status);
  end_message(out_, m);
}

void backend::send_command_complete(std::string_view tag) {
  const size_t m = begin_message(out_, be::command_complete);
  put_cstr(out_, tag);
  end_message(out_, m);
}

void backend::send_reported_parameters() {
  for (const auto& [name, value] : session_->take_reported_parameters()) {
    const size_t m = begin_message(out_, be::parameter_status);
    put_cstr(out_, name);
    put_cstr(out_, value);
    end_message(out_, m);
  }
}

void backend::send_row_description(const std::vector<sql::field>& fields, const std::vector<int16_t>& formats) {
  const size_t m = begin_message(out_, be::row_description);
  put_i16(out_, int16_t(fields.size()));
  for (size_t i = 0; i < fields.size(); ++i) {
    const sql::field& f = fields[i];
    put_cstr(out_, f.name);
    put_i32(out_, int32_t(f.table_oid));
    put_i16(out_, f.column_number);
    put_i32(out_, int32_t(f.type_oid));
    put_i16(out_, f.type_size);
    put_i32(out_, f.type_modifier);
    put_i16(out_, i < formats.size() ? formats[i] : format_text);
  }
  end_message(out_, m);
}

void backend::drop_portals_if_idle() {
  if (session_ && session_->state() == sql::transaction_state::idle) portals_.clear();
}

// ---------------------------------------------------------------------------
// Rows and COPY output

backend::stream_result backend::stream_rows(portal_entry& portal, uint32_t row_limit, uint64_t& rows_sent) {
  const auto& fields = portal.prepared->fields();
  for (;;) {
    uint32_t want = env_.limits.fetch_rows_max;
    if (row_limit > 0) want = uint32_t(std::min<uint64_t>(want, row_limit - rows_sent));
    tables::column_batch batch;
    auto more = portal.cursor->fetch(want, batch);
    if (!more.ok()) {
      send_error(more.err());
      return stream_result::failed;
    }
    if ((batch.row_count > 0 || !batch.columns.empty()) && batch.columns.size() != fields.size()) {
      send_error(make_sql_error(sqlstate::internal_error,
                                fmt::format("the statement returned {} columns for {} fields", batch.columns.size(), fields.size())));
      return stream_result::failed;
    }
    for (size_t col = 0; col < batch.columns.size(); ++col) {
      const auto& c = batch.columns[col];
      if (c.row_count < batch.row_count) {
        send_error(make_sql_error(sqlstate::internal_error, "the statement returned a short column"));
        return stream_result::failed;
      }
      if (portal.formats[col] == format_binary && !binary_encodable_as(fields[col].type_oid, c.type.id)) {
        send_error(make_sql_error(sqlstate::internal_error,
                                  fmt::format("column \"{}\" holds {} values, which cannot be sent as type OID {} in binary",
                                              fields[col].name, tables::type_name(c.type), fields[col].type_oid)));
        return stream_result::failed;
      }
    }
    for (uint32_t row = 0; row < batch.row_count; ++row) {
      const size_t m = begin_message(out_, be::data_row);
      put_i16(out_, int16_t(fields.size()));
      for (size_t col = 0; col < fields.size(); ++col) {
        const auto& column = batch.columns[col];
        if (column.is_null(row)) {
          put_i32(out_, -1);
          continue;
        }
        const size_t len_at = out_.size();
        put_i32(out_, 0);
        if (portal.formats[col] == format_binary) {
          append_binary_value(fields[col], column, row, out_);
        } else {
          append_text(column, row, out_);
        }
        const auto len = uint32_t(out_.size() - len_at - 4);
        out_[len_at] = char(len >> 24);
        out_[len_at + 1] = char((len >> 16) & 0xff);
        out_[len_at + 2] = char((len >> 8) & 0xff);
        out_[len_at + 3] = char(len & 0xff);
      }
      end_message(out_, m);
    }
    rows_sent += batch.row_count;
    if (!more.value()) {
      portal.finished = true;
      portal.tag = portal.cursor->command_tag();
      portal.cursor.reset();
      send_command_complete(portal.tag);
      return stream_result::done;
    }
    if (row_limit > 0 && rows_sent >= row_limit) {
      const size_t m = begin_message(out_, be::portal_suspended);
      end_message(out_, m);
      return stream_result::suspended;
    }
    if (output_full()) return stream_result::paused;
  }
}

bool backend::start_copy_out(const std::shared_ptr<sql::prepared>& stmt, portal_entry& portal) {
  auto src = session_->copy_out(stmt);
  if (!src.ok()) {
    send_error(src.err());
    return false;
  }
  portal.copy_out = std::move(src.value());
  portal.started = true;
  const sql::copy_description d = stmt->copy();
  const int16_t format = d.format == sql::copy_format::binary ? format_binary : format_text;
  const size_t m = begin_message(out_, be::copy_out_response);
  out_.push_back(char(format));
  put_i16(out_, int16_t(d.column_count));
  for (uint32_t i = 0; i < d.column_count; ++i) put_i16(out_, format);
  end_message(out_, m);
  return true;
}

backend::stream_result backend::pump_copy_out(portal_entry& portal) {
  std::string chunk;
  for (;;) {
    chunk.clear();
    auto more = portal.copy_out->next(env_.limits.copy_out_chunk_bytes, chunk);
    if (!more.ok()) {
      send_error(more.err());
      return stream_result::failed;
    }
    if (!chunk.empty()) {
      const size_t m = begin_message(out_, be::copy_data);
      out_.append(chunk);
      end_message(out_, m);
    }
    if (!more.value()) {
      const size_t m = begin_message(out_, be::copy_done);
      end_message(out_, m);
      portal.finished = true;
      portal.tag = fmt::format("COPY {}", portal.copy_out->rows());
      portal.copy_out.reset();
      send_command_complete(portal.tag);
      return stream_result::done;
    }
    if (output_full()) return stream_result::paused;
  }
}

// ---------------------------------------------------------------------------
// COPY FROM STDIN

bool backend::start_copy_in(const std::shared_ptr<sql::prepared>& stmt, bool extended) {
  auto sink = session_->copy_in(stmt);
  if (!sink.ok()) {
    send_error(sink.err());
    return false;
  }
  copy_in_ = std::make_unique<copy_in_work>();
  copy_in_->sink = std::move(sink.value());
  copy_in_->extended = extended;
  const sql::copy_description d = stmt->copy();
  const int16_t format = d.format == sql::copy_format::binary ? format_binary : format_text;
  const size_t m = begin_message(out_, be::copy_in_response);
  out_.push_back(char(format));
  put_i16(out_, int16_t(d.column_count));
  for (uint32_t i = 0; i < d.column_count; ++i) put_i16(out_, format);
  end_message(out_, m);
  return true;
}

void backend::on_copy_message(char type, std::span<const uint8_t> body) {
  auto& sink = *copy_in_->sink;
  switch (type) {
    case fe::copy_data: {
      auto s = sink.write({reinterpret_cast<const char*>(body.data()), body.size()});
      if (!s.ok()) {
        sink.abort(s.err().message);
        send_error(s.err());
        ignore_copy_ = true;
        finish_copy_in(false);
      }
      return;
    }
    case fe::copy_done: {
      auto rows = sink.finish();
      if (!rows.ok()) {
        send_error(rows.err());
        finish_copy_in(false);
        return;
      }
      send_command_complete(fmt::format("COPY {}", rows.value()));
      finish_copy_in(true);
      return;
    }
    case fe::copy_fail: {
      reader r(body);
      std::string reason(r.cstr());
      sink.abort(reason);
      send_error(make_sql_error(sqlstate::query_canceled, fmt::format("COPY from stdin failed: {}", reason)));
      finish_copy_in(false);
      return;
    }
    case fe::flush:
    case fe::sync: return;  // ignored during COPY FROM STDIN, as PostgreSQL does
    default:
      sink.abort("unexpected message during COPY");
      send_error(make_sql_error(sqlstate::protocol_violation,
                                fmt::format("unexpected message type {} during COPY from stdin", printable_type(type))));
      finish_copy_in(false);
      return;
  }
}

void backend::finish_copy_in(bool ok) {
  const bool extended = copy_in_->extended;
  copy_in_.reset();
  if (extended) {
    if (!ok) ignore_till_sync_ = true;
    return;
  }
  if (!ok) {
    end_simple();
    return;
  }
  if (simple_) send_reported_parameters();
  run_simple();
}

// ---------------------------------------------------------------------------
// Simple query

void backend::on_query(std::span<const uint8_t> body) {
  reader r(body);
  std::string_view text = r.cstr();
  ignore_copy_ = false;
  if (!r.at_end()) {
    send_error(make_sql_error(sqlstate::protocol_violation, "invalid Query message: the text is not NUL-terminated"));
    send_ready_for_query();
    return;
  }
  portals_.erase("");
  simple_ = std::make_unique<simple_work>();
  simple_->statements = sql::split_statements(text);
  if (simple_->statements.empty()) {
    const size_t m = begin_message(out_, be::empty_query_response);
    end_message(out_, m);
    end_simple();
    return;
  }
  run_simple();
}

void backend::end_simple() {
  simple_.reset();
  drop_portals_if_idle();
  send_ready_for_query();
}

void backend::run_simple() {
  while (simple_) {
    if (auto* current = simple_->current.get()) {
      uint64_t rows_sent = 0;
      const stream_result r = current->copy_out ? pump_copy_out(*current) : stream_rows(*current, 0, rows_sent);
      if (r == stream_result::paused) {
        paused_ = true;
        return;
      }
      if (r == stream_result::failed) {
        end_simple();
        return;
      }
      simple_->current.reset();
      send_reported_parameters();
      continue;
    }
    if (copy_in_) return;  // waiting for the client's CopyData
    if (simple_->next == simple_->statements.size()) {
      end_simple();
      return;
    }
    start_simple_statement(simple_->statements[simple_->next++]);
    if (simple_ && !copy_in_ && output_full()) {
      paused_ = true;
      return;
    }
  }
}

void backend::start_simple_statement(const std::string& text) {
  auto prepared = session_->prepare(text, {});
  if (!prepared.ok()) {
    send_error(prepared.err());
    end_simple();
    return;
  }
  auto stmt = prepared.value();
  ++stats_.statements;
  switch (stmt->kind()) {
    case sql::statement_kind::empty: {
      const size_t m = begin_message(out_, be::empty_query_response);
      end_message(out_, m);
      return;
    }
    case sql::statement_kind::copy_in:
      if (!start_copy_in(stmt, false)) end_simple();
      return;
    case sql::statement_kind::copy_out: {
      auto portal = std::make_unique<portal_entry>();
      portal->prepared = stmt;
      if (!start_copy_out(stmt, *portal)) {
        end_simple();
        return;
      }
      simple_->current = std::move(portal);
      return;
    }
    case sql::statement_kind::query:
    case sql::statement_kind::command: break;
  }
  auto cursor = session_->execute(stmt, {});
  if (!cursor.ok()) {
    send_error(cursor.err());
    end_simple();
    return;
  }
  if (stmt->kind() == sql::statement_kind::command) {
    send_command_complete(cursor.value()->command_tag());
    send_reported_parameters();
    return;
  }
  auto portal = std::make_unique<portal_entry>();
  portal->prepared = stmt;
  portal->formats.assign(stmt->fields().size(), format_text);
  portal->cursor = std::move(cursor.value());
  portal->started = true;
  send_row_description(stmt->fields(), portal->formats);
  simple_->current = std::move(portal);
}

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
      auto decoded = decode_binary_parameter(oids[i], bytes);
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
    if (f == format_binary && !binary_encodable(fields[i])) {
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
  auto formats = result_formats_of(m.result_formats, stmt.prepared->fields());
  if (!formats.ok()) return extended_error(formats.err());
  auto portal = std::make_unique<portal_entry>();
  portal->prepared = stmt.prepared;
  portal->parameters = std::move(params.value());
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
    text_formats.assign(prepared->fields().size(), format_text);
    formats = &text_formats;
  } else {
    auto it = portals_.find(name);
    if (it == portals_.end()) {
      return extended_error(make_sql_error(sqlstate::invalid_cursor_name, fmt::format("portal \"{}\" does not exist", name)));
    }
    prepared = it->second->prepared.get();
    formats = &it->second->formats;
  }
  if (prepared->kind() == sql::statement_kind::query) {
    send_row_description(prepared->fields(), *formats);
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
  ignore_copy_ = false;
  execute_.reset();
  drop_portals_if_idle();
  send_ready_for_query();
}

// ---------------------------------------------------------------------------
// Framing for tests and the fuzz target

void backend::feed(std::span<const uint8_t> bytes) {
  input_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t pos = 0;
  const auto* data = reinterpret_cast<const uint8_t*>(input_.data());
  while (phase_ != phase::closed) {
    while (has_pending()) resume();
    const size_t available = input_.size() - pos;
    if (expects_startup()) {
      if (available < startup_header_bytes) break;
      const uint32_t length = load_be32(data + pos);
      auto body = startup_body_bytes(length, env_.limits.startup_bytes_max);
      if (!body) {
        on_bad_length(length);
        break;
      }
      if (available < length) break;
      on_startup_packet({data + pos + startup_header_bytes, *body});
      pos += length;
    } else {
      if (available < message_header_bytes) break;
      const char type = char(data[pos]);
      const uint32_t length = load_be32(data + pos + 1);
      auto body = message_body_bytes(length, env_.limits.message_bytes_max);
      if (!body) {
        on_bad_length(length);
        break;
      }
      if (available < message_header_bytes + *body) break;
      on_message(type, {data + pos + message_header_bytes, *body});
      pos += message_header_bytes + *body;
    }
  }
  while (has_pending()) resume();
  input_.erase(0, pos);
}

}  // namespace strata::pgwire
