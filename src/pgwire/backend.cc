// The PostgreSQL protocol state machine: startup, authentication, dispatch,
// replies and the simple query flow. COPY and row streaming are in
// backend_copy.cc, the extended query flow in backend_extended.cc.
#include "pgwire/backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "pgwire/backend_internal.h"
#include "sql/binary_value.h"

namespace strata::pgwire {

using detail::format_binary;
using detail::format_text;
using detail::make_sql_error;
using detail::printable_type;

namespace {

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

// BEGIN, COMMIT, SAVEPOINT, ...: a Query holding one runs without an implicit block.
bool is_transaction_control(const std::string& statement) {
  size_t i = 0;
  for (;;) {
    while (i < statement.size() && std::isspace(static_cast<unsigned char>(statement[i]))) ++i;
    if (statement.compare(i, 2, "--") == 0) {
      i = std::min(statement.find('\n', i), statement.size());
    } else if (statement.compare(i, 2, "/*") == 0) {
      size_t end = statement.find("*/", i + 2);
      i = end == std::string::npos ? statement.size() : end + 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < statement.size() && std::isalpha(static_cast<unsigned char>(statement[i]))) {
    word.push_back(char(std::tolower(static_cast<unsigned char>(statement[i++]))));
  }
  static constexpr std::string_view words[] = {"begin", "start", "commit", "end", "rollback",
                                                "abort", "savepoint", "release", "prepare"};
  return std::find(std::begin(words), std::end(words), word) != std::end(words);
}

}  // namespace

const char* auth_method_name(auth_method m) {
  switch (m) {
    case auth_method::trust: return "trust";
    case auth_method::scram_sha_256: return "scram-sha-256";
    case auth_method::md5: return "md5";
  }
  return "unknown";
}

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
      if (req.what == startup_request::kind::ssl && env_.tls_available && !tls_active_) {
        out_.push_back('S');
        tls_requested_ = true;
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
    scram_ = make_scram_server(credential_, user_, env_.random);
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
  if (mechanism != auth::mechanism_name(auth::scram_hash::sha256)) {
    fatal(sqlstate::protocol_violation,
          fmt::format("invalid SCRAM exchange: SASL mechanism \"{}\" is not supported; use SCRAM-SHA-256",
                      mechanism.substr(0, 64)));
    return;
  }
  std::string reply;
  auto verdict = scram_->on_client_first({reinterpret_cast<const char*>(data.data()), data.size()}, reply);
  if (verdict != auth::scram_server::outcome::next) {
    fatal(sqlstate::protocol_violation, "invalid SCRAM exchange: " + scram_->problem());
    return;
  }
  send_auth_request(auth_code::sasl_continue, reply);
}

void backend::on_sasl_response(std::span<const uint8_t> body) {
  std::string reply;
  auto verdict = scram_->on_client_final({reinterpret_cast<const char*>(body.data()), body.size()}, reply);
  switch (verdict) {
    case auth::scram_server::outcome::authenticated:
      send_auth_request(auth_code::sasl_final, reply);
      finish_auth();
      return;
    case auth::scram_server::outcome::bad_password:
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
      return;  // PostgreSQL ignores these outside COPY: the rest of a COPY that failed to start
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
  f.position = e.position;
  put_error(out_, f);
  stats_.error_codes.push_back(f.sqlstate.size() == 5 ? f.sqlstate : std::string(sqlstate::internal_error));
  if (simple_) simple_->failed = true;
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
  if (!session_ || session_->state() != sql::transaction_state::idle) return;
  std::erase_if(portals_, [](const auto& entry) { return !entry.second->holdable; });
}

// ---------------------------------------------------------------------------
// Simple query

void backend::on_query(std::span<const uint8_t> body) {
  reader r(body);
  std::string_view text = r.cstr();
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
  begin_implicit_block();
  run_simple();
}

void backend::end_simple() {
  end_implicit_block();
  simple_.reset();
  drop_portals_if_idle();
  send_ready_for_query();
}

void backend::forget_statements(const sql::prepared& ran) {
  const auto d = ran.deallocates();
  if (!d) return;
  if (!d->all) {
    statements_.erase(d->name);
    return;
  }
  std::erase_if(statements_, [](const auto& entry) { return !entry.first.empty(); });
}

bool backend::run_internal(const char* sql) {
  auto stmt = session_->prepare(sql, {});
  if (!stmt.ok()) return false;
  auto cursor = session_->execute(stmt.value(), {});
  if (!cursor.ok()) {
    send_error(cursor.err());
    return false;
  }
  return true;
}

void backend::begin_implicit_block() {
  const auto& statements = simple_->statements;
  if (statements.size() < 2 || session_->state() != sql::transaction_state::idle) return;
  if (std::any_of(statements.begin(), statements.end(), is_transaction_control)) return;
  simple_->implicit_block = run_internal("BEGIN");
}

void backend::end_implicit_block() {
  if (!simple_ || !simple_->implicit_block) return;
  simple_->implicit_block = false;
  if (session_->state() == sql::transaction_state::idle) return;
  const bool commit = !simple_->failed && session_->state() == sql::transaction_state::in_block;
  run_internal(commit ? "COMMIT" : "ROLLBACK");
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
  if (const auto* c = stmt->cursor_statement()) {
    if (c->what == sql::cursor_command::action::fetch) return start_simple_fetch(stmt, *c);
    auto tag = run_cursor_command(*c, {}, nullptr);
    if (!tag.ok()) {
      send_error(tag.err());
      end_simple();
      return;
    }
    send_command_complete(tag.value());
    return;
  }
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
    forget_statements(*stmt);
    send_command_complete(cursor.value()->command_tag());
    send_reported_parameters();
    return;
  }
  auto portal = std::make_unique<portal_entry>();
  portal->prepared = stmt;
  portal->fields = stmt->fields();
  portal->formats.assign(stmt->fields().size(), format_text);
  portal->cursor = std::move(cursor.value());
  portal->started = true;
  send_row_description(stmt->fields(), portal->formats);
  simple_->current = std::move(portal);
}

// ---------------------------------------------------------------------------
// Framing for tests and the fuzz target

void backend::feed(std::span<const uint8_t> bytes) {
  input_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t pos = 0;
  const auto* data = reinterpret_cast<const uint8_t*>(input_.data());
  while (phase_ != phase::closed && !tls_requested_) {
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
