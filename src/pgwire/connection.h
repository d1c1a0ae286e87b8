// One PostgreSQL client connection. A coroutine on the network thread reads
// frames (the length word is checked before anything is allocated), hands
// each batch of complete frames to the connection's `backend` on a worker
// thread, and writes what the backend produced. Reading, processing and
// writing alternate, so one session is only ever used by one thread, and a
// client that does not read its replies stops being read from. A large
// result is produced in pieces of output_bytes_soft_max, each written before
// the next is made. Messages larger than the receive buffer, and all reply
// bytes, draw on the server-wide byte budget. A worker whose batch went
// through whole sends the reply itself and, if the client's next batch
// arrives within a few milliseconds, runs it too, so a client that sends
// query after query costs no thread switch per query; meanwhile the network
// thread waits for the step, and close() only shuts the socket down. A
// client's SSLRequest, when the server has a certificate, turns the
// connection into TLS before startup goes on (the worker's shortcut, which
// reads and writes the socket directly, then stays off).
#pragma once

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "net/byte_budget.h"
#include "net/stream.h"
#include "pgwire/backend.h"
#include "pgwire/server.h"
#include "pgwire/worker_pool.h"

namespace strata::pgwire {

// Live sessions by BackendKeyData, for CancelRequest. Thread-safe.
class cancel_registry {
 public:
  void add(backend_key key, sql::session* session);
  void remove(backend_key key);
  // Cancels the session `key` names, if its secret matches. True when found.
  bool cancel(backend_key key);

 private:
  std::mutex mu_;
  std::map<int32_t, std::pair<int32_t, sql::session*>> sessions_;  // process id -> (secret, session)
};

// What every connection of a server shares; held by shared_ptr so that a
// connection never outlives it.
struct connection_env {
  server_limits limits;
  server_observer observer;
  auth_settings auth;
  backend_env backend;
  worker_pool* workers;  // owned by the server, which joins it before the env goes
  net::byte_budget budget;
  cancel_registry registry;
  std::atomic<int32_t> next_process_id{1000};
  std::shared_ptr<boost::asio::ssl::context> tls;  // set: SSLRequest is answered 'S'
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = boost::asio::ip::tcp::socket;

  connection(socket_type socket, std::shared_ptr<void> slot, std::string peer, bool loopback,
             std::shared_ptr<connection_env> env);
  void start();
  // Hangs up (server stop). Safe to call more than once.
  void close();
  // Drops the session; the server calls it once the workers are joined.
  void release_session();

 private:
  // A complete frame inside the receive buffer or `large_`.
  struct frame {
    char type = 0;  // 0: a startup packet
    std::span<const uint8_t> body;
  };

  // What a worker step leaves: the batch it ended with and how far it got.
  struct step_result {
    std::vector<frame> frames;
    size_t next = 0;
  };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> next_frames(std::vector<frame>& frames);
  boost::asio::awaitable<bool> fill(size_t bytes);
  boost::asio::awaitable<bool> flush_output();
  // After the backend answered an SSLRequest with 'S': the TLS handshake.
  boost::asio::awaitable<bool> start_tls();
  static boost::asio::awaitable<step_result> work(std::shared_ptr<connection> self, std::vector<frame> frames,
                                                  size_t from);
  size_t process(const std::vector<frame>& frames, size_t from);
  // On the worker, after a batch that went through whole: sends the reply
  // and takes the client's next batch if it arrives soon (connection.cc).
  void continue_on_worker(std::vector<frame>& frames, size_t& next);
  bool send_output_now();
  void report_statements(const backend_stats& stats);
  bool read_batch_now(std::vector<frame>& frames);
  bool after_step();
  void reject(std::string_view why);
  void arm(int64_t timeout_ms, const char* why);
  void arm_idle_in_transaction();
  size_t buffered() const { return rx_end_ - rx_begin_; }

  net::stream stream_;
  std::shared_ptr<void> slot_;
  std::string peer_;
  std::shared_ptr<connection_env> env_;
  backend_key key_;
  std::unique_ptr<backend> backend_;
  bool registered_ = false;
  std::atomic<bool> closed_{false};
  // A worker step runs, and may use the socket's descriptor: close() then
  // only shuts the socket down, and run() closes it when the step returns.
  std::atomic<bool> step_running_{false};

  std::vector<uint8_t> rx_;  // bytes [rx_begin_, rx_end_) unread
  size_t rx_begin_ = 0;
  size_t rx_end_ = 0;
  std::vector<uint8_t> large_;  // a message too large for rx_
  net::byte_budget::grant large_grant_;
  std::string tx_;
  std::vector<uint8_t> copy_scratch_;  // consecutive CopyData joined (worker thread only)
  boost::asio::steady_timer deadline_;
};

}  // namespace strata::pgwire
