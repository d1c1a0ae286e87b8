// One client connection's protocol state machine, without I/O: startup
// (SSLRequest/GSSENCRequest refused with 'N', CancelRequest recognised),
// authentication (trust, SCRAM-SHA-256, md5), the simple and extended query
// flows, COPY in both directions, and errors (discard until Sync after an
// extended-protocol error). The connection hands it whole frames and writes
// out what it leaves in output().
//
// It calls the sql::session synchronously (prepare, execute, fetch, COPY),
// so the connection runs it on a worker thread, one thread at a time. Long
// results do not pile up in memory: once output() holds
// output_bytes_soft_max, the backend stops and has_pending() says so; the
// connection writes the output and calls resume(). While has_pending(), it
// must not be given the next frame.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "pgwire/auth.h"
#include "pgwire/protocol.h"
#include "sql/session.h"

namespace strata::pgwire {

enum class auth_method : uint8_t { trust, scram_sha_256, md5 };
const char* auth_method_name(auth_method m);

struct auth_settings {
  auth_method method = auth_method::trust;
  // trust also admits clients that are not on the loopback interface (an
  // operator's explicit choice; by default such clients must authenticate).
  bool trust_remote = false;
  std::vector<credential> users;
};

struct backend_limits {
  uint32_t message_bytes_max = 64 * MiB;     // one message's body; larger lengths are refused before reading
  uint32_t startup_bytes_max = 10000;        // the startup packet, as PostgreSQL limits it
  uint32_t statements_max = 1024;            // named prepared statements per connection
  uint32_t portals_max = 256;                // named portals per connection
  uint32_t fetch_rows_max = 4096;            // rows fetched from a cursor at a time (rows buffered per portal)
  uint64_t output_bytes_soft_max = 1 * MiB;  // the backend pauses once this much output waits to be written
  uint64_t copy_out_chunk_bytes = 64 * KiB;  // bytes asked of a COPY TO STDOUT source per CopyData
  uint32_t negotiations_max = 2;             // SSLRequest/GSSENCRequest answered 'N' per connection
};

// BackendKeyData: what a CancelRequest must quote.
struct backend_key {
  int32_t process_id = 0;
  int32_t secret_key = 0;
  bool operator==(const backend_key&) const = default;
};

struct backend_env {
  sql::engine* engine = nullptr;
  const auth_settings* auth = nullptr;
  backend_limits limits;
  auth::random_source random;
  bool tls_available = false;  // the server has a certificate: SSLRequest gets 'S'
};

// What happened since the last take_stats(), for metrics.
struct backend_stats {
  uint64_t statements = 0;               // statements executed (simple and extended)
  std::vector<std::string> error_codes;  // SQLSTATE of every ErrorResponse sent
  bool authenticated = false;            // the client completed startup
};

class backend {
 public:
  enum class phase : uint8_t { startup, authenticating, serving, closed };

  backend(const backend_env& env, bool peer_is_loopback, backend_key key);
  ~backend();
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;

  // True while the next frame is a startup packet (a length word, no type byte).
  bool expects_startup() const { return phase_ == phase::startup; }
  // An SSLRequest was answered 'S': once that byte is sent, the connection
  // does the TLS handshake (no byte after the SSLRequest may be read in the
  // clear), then calls on_tls_started() and startup goes on inside TLS.
  bool tls_requested() const { return tls_requested_; }
  void on_tls_started() {
    tls_requested_ = false;
    tls_active_ = true;
  }
  // The body of a startup packet (after its length word).
  void on_startup_packet(std::span<const uint8_t> body);
  // One message (type byte and body).
  void on_message(char type, std::span<const uint8_t> body);
  // A length word the framing refused (below the minimum or above the
  // limit): a FATAL 08P01 error, then closing().
  void on_bad_length(uint32_t length);

  bool has_pending() const { return paused_; }
  // Inside COPY FROM STDIN: consecutive CopyData may be handed over joined.
  bool in_copy_in() const { return copy_in_ != nullptr; }
  void resume();
  // Bytes to send; the connection takes them (swap or clear).
  std::string& output() { return out_; }
  // Hang up once output() is written.
  bool closing() const { return phase_ == phase::closed; }
  phase current_phase() const { return phase_; }
  // A CancelRequest's key (the connection looks it up, then closes).
  const std::optional<backend_key>& cancel_request() const { return cancel_; }
  // The session, once startup finished (for the server's cancel registry).
  sql::session* session() { return session_.get(); }
  const std::string& user() const { return user_; }
  backend_stats take_stats();

  // Splits a byte stream into frames itself and handles each, resuming any
  // pending work at once (tests and the fuzz target; the connection frames
  // with its own buffer). Partial frames wait for more bytes.
  void feed(std::span<const uint8_t> bytes);

 private:
  struct statement_entry;
  struct portal_entry;
  struct simple_work;
  struct execute_work;
  struct copy_in_work;
  class fetch_cursor;
  enum class stream_result : uint8_t { done, suspended, paused, failed };

  // Startup and authentication.
  void start_session(const startup_request& req);
  void begin_auth();
  void on_password_message(std::span<const uint8_t> body);
  void on_sasl_initial(std::span<const uint8_t> body);
  void on_sasl_response(std::span<const uint8_t> body);
  void finish_auth();
  void fatal(const char* code, std::string message, std::string hint = {});
  void send_auth_request(int32_t code, std::string_view data = {});
  void negotiate_version(uint32_t minor, const std::vector<std::string>& unknown_options);

  // Serving.
  void on_serving_message(char type, std::span<const uint8_t> body);
  void on_query(std::span<const uint8_t> body);
  void run_simple();
  void start_simple_statement(const std::string& text);
  void end_simple();
  // A Query of several statements outside a block runs as one implicit
  // transaction, as in PostgreSQL: committed at the end, rolled back on error.
  void begin_implicit_block();
  void end_implicit_block();
  bool run_internal(const char* sql);
  void on_parse(std::span<const uint8_t> body);
  void on_bind(std::span<const uint8_t> body);
  void on_describe(std::span<const uint8_t> body);
  void on_execute(std::span<const uint8_t> body);
  void run_execute();
  void on_close(std::span<const uint8_t> body);
  void on_sync();
  void on_copy_message(char type, std::span<const uint8_t> body);
  void finish_copy_in(bool ok);
  bool start_copy_in(const std::shared_ptr<sql::prepared>& stmt, bool extended);
  bool start_copy_out(const std::shared_ptr<sql::prepared>& stmt, portal_entry& portal);
  stream_result pump_copy_out(portal_entry& portal);
  stream_result stream_rows(portal_entry& portal, uint32_t row_limit, uint64_t& rows_sent);

  // SQL cursors (backend_cursor.cc). A cursor is a portal in portals_, so
  // FETCH and MOVE read the protocol's portals too, as in PostgreSQL.
  // DECLARE, MOVE and CLOSE: their command tag. `running` is the portal
  // running the command, which CLOSE ALL leaves alone.
  sql::outcome<std::string> run_cursor_command(const sql::cursor_command& c, const std::vector<sql::parameter>& params,
                                               const std::string* running);
  sql::status declare_cursor(const sql::cursor_command& c, const std::vector<sql::parameter>& params);
  sql::status close_cursor(const sql::cursor_command& c, const std::string* running);
  // A FETCH's rows come through this cursor, which reads the named portal;
  // errors that need no row (no such cursor, backward) come at once.
  sql::outcome<std::unique_ptr<sql::cursor>> fetch_rows_of(const sql::cursor_command& c);
  // The rows a statement describes: its own, or for FETCH its cursor's;
  // nullopt for a FETCH of a cursor that does not exist (yet).
  std::optional<std::vector<sql::field>> fields_of(const sql::prepared& statement) const;
  // A simple Query's FETCH: RowDescription, then its rows stream as simple_->current.
  void start_simple_fetch(const std::shared_ptr<sql::prepared>& stmt, const sql::cursor_command& c);

  void send_error(const sql::error& e);
  void extended_error(const sql::error& e);
  void send_row_description(const std::vector<sql::field>& fields, const std::vector<int16_t>& formats);
  void send_command_complete(std::string_view tag);
  void send_reported_parameters();
  void send_ready_for_query();
  void drop_portals_if_idle();
  // After a DEALLOCATE ran: drops the named prepared statement(s) it names
  // (ALL: every named one; the unnamed statement stays, as in PostgreSQL).
  void forget_statements(const sql::prepared& ran);
  bool output_full() const { return out_.size() >= env_.limits.output_bytes_soft_max; }

  backend_env env_;
  bool peer_is_loopback_;
  backend_key key_;
  phase phase_ = phase::startup;
  std::string out_;
  std::optional<backend_key> cancel_;
  uint32_t negotiations_ = 0;
  bool tls_requested_ = false;
  bool tls_active_ = false;

  // Startup.
  sql::session_options options_;
  std::string user_;
  auth_method auth_used_ = auth_method::trust;
  const credential* credential_ = nullptr;
  std::unique_ptr<auth::scram_server> scram_;
  bool scram_started_ = false;
  uint8_t md5_salt_[4] = {};

  std::unique_ptr<sql::session> session_;
  std::map<std::string, std::unique_ptr<statement_entry>> statements_;  // "" is the unnamed one
  std::map<std::string, std::unique_ptr<portal_entry>> portals_;
  std::unique_ptr<simple_work> simple_;
  std::unique_ptr<execute_work> execute_;
  std::unique_ptr<copy_in_work> copy_in_;
  bool paused_ = false;
  bool ignore_till_sync_ = false;  // an extended-protocol message failed
  backend_stats stats_;

  std::string input_;  // feed()'s partial frame
};

}  // namespace strata::pgwire
