// The PostgreSQL listener: accepts connections on --pg-listen and runs one
// `connection` per socket under the limits below. Session calls (prepare,
// execute, fetch, COPY) run on a pool of worker threads (worker_pool.h),
// never on the network thread; each connection uses its session from one
// worker at a time, and a call never waits for a free worker. A CancelRequest (which arrives on a connection of its own) cancels
// the session it names from the network thread.
//
// Threading: call start() and stop() on the network thread (the one running
// the io_context), and destroy the server there or after the io_context has
// stopped running.
//
// Lifetime: destroy the server before the sql::engine it serves; its
// destructor closes every connection, waits for the worker pool and drops
// every session.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/units.h"
#include "pgwire/backend.h"
#include "pgwire/worker_pool.h"
#include "sql/session.h"

namespace strata::net {
class listener;
}

namespace strata::pgwire {

class connection;
struct connection_env;

struct server_limits {
  uint32_t connections_max = 256;               // open client connections
  uint32_t message_bytes_max = 64 * MiB;        // one message's body; a longer length word gets 08P01 FATAL
  uint32_t startup_bytes_max = 10000;           // the startup packet
  uint32_t statements_max = 1024;               // named prepared statements per connection
  uint32_t portals_max = 256;                   // named portals per connection
  uint32_t fetch_rows_max = 4096;               // rows fetched from a cursor at a time (rows buffered per portal)
  uint64_t output_bytes_soft_max = 1 * MiB;     // reply bytes a connection produces before it writes them
  uint64_t inflight_bytes_max = 256 * MiB;      // all connections' large messages and replies in flight
  int64_t startup_timeout_ms = 10'000;          // startup and authentication must finish within this
  int64_t idle_in_transaction_timeout_ms = 0;   // close a session idle inside a transaction this long; 0: never
  int64_t message_timeout_ms = 30'000;          // a message larger than the receive buffer must arrive within this
  uint32_t worker_threads = 4;                  // threads started for session calls; more are added while all are busy (worker_pool.h)
};

// A user as configured (--pg-user NAME:PASSWORD). The server keeps only the
// SCRAM verifier and md5 hash derived from the password.
struct user {
  std::string name;
  std::string password;
};

struct server_config {
  std::string listen = "127.0.0.1:5433";  // HOST:PORT
  auth_method auth = auth_method::trust;  // trust admits loopback clients; others need a user (SCRAM)
  bool trust_remote = false;              // with trust: admit non-loopback clients without a password too
  std::vector<user> users;
  server_limits limits;
  // Set: an SSLRequest is answered 'S' and the connection goes on inside TLS
  // with this context (net::make_server_tls); unset: 'N', in the clear.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// Called on the network thread, and on_statements and on_error also on
// worker threads, so each must be thread-safe.
struct server_observer {
  std::function<void()> on_session;                        // a client finished startup
  std::function<void(uint64_t)> on_statements;             // statements executed
  std::function<void(std::string_view sqlstate)> on_error;  // every ErrorResponse sent (its SQLSTATE)
  // The server hung up on a client: "startup_timeout", "bad_message_length",
  // "message_timeout" or "idle_in_transaction_timeout".
  std::function<void(std::string_view why)> on_rejection;
};

class server {
 public:
  server(boost::asio::io_context& io, sql::engine& engine, server_config config, server_observer observer = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Listens on config.listen. `flag` names the setting in errors.
  status start(const std::string& flag = "--pg-listen");
  // Stops accepting and closes every connection (running session calls finish on the workers).
  void stop();
  uint16_t port() const;  // the bound port
  uint32_t open_connections() const;

 private:
  boost::asio::io_context& io_;
  std::string listen_;
  std::unique_ptr<worker_pool> pool_;
  std::shared_ptr<connection_env> env_;
  std::shared_ptr<net::listener> tcp_;
  std::vector<std::weak_ptr<connection>> connections_;
};

// Parses "NAME:PASSWORD" (the --pg-user flag); the flag name is for errors.
result<user> parse_user(std::string_view text, std::string_view flag = "--pg-user");
// Parses "trust", "scram-sha-256" or "md5".
result<auth_method> parse_auth_method(std::string_view text, std::string_view flag = "--pg-auth");

}  // namespace strata::pgwire
