// The NBD listener: accepts connections on --nbd-listen (TCP) and optionally
// on a unix socket, and runs one `connection` per socket under the limits
// below. Export calls (reads, writes, flushes, and the handshake's
// open_export) run on a pool of worker threads, never on the network thread.
//
// Threading: call start() and stop() on the network thread (the one running
// the io_context), and destroy the server there or after the io_context has
// stopped running.
//
// Lifetime: destroy the server before the volumes::service it serves; its
// destructor closes every connection, waits for the worker pool and drops
// every export handle.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/units.h"
#include "nbd/protocol.h"
#include "volumes/service.h"

namespace boost::asio {
class thread_pool;
}
namespace strata::net {
class listener;
class unix_listener;
}  // namespace strata::net

namespace strata::nbd {

class connection;
struct connection_env;

struct server_limits {
  uint32_t connections_max = 256;                // per listener (TCP and unix socket each)
  uint32_t request_bytes_max = 32 * MiB;         // largest READ/WRITE; advertised as the maximum block size
  uint64_t inflight_bytes_max = 256 * MiB;       // all connections' WRITE payloads and READ replies in flight
  uint32_t requests_in_flight_max = 64;          // per connection; reading pauses past it
  int64_t handshake_timeout_ms = 10'000;         // each handshake step (client flags, each option) must arrive within this
  int64_t payload_timeout_ms = 30'000;           // a WRITE payload must arrive within this of its header
  int64_t idle_timeout_ms = 0;                   // close a connection with no request for this long; 0: never
  uint32_t worker_threads = 4;                   // threads running export calls
  uint32_t option_bytes_max = 64 * KiB;          // one handshake option's data
  uint32_t options_max = 16384;                  // options in one handshake
  uint32_t block_status_extents_max = 1024;      // descriptors in one BLOCK_STATUS reply
};

// One finished transmission request, for metrics.
struct request_stats {
  uint16_t command = 0;      // cmd_read, ...; command_name() names it
  uint32_t error = 0;        // NBD error sent back, 0 on success; error_name() names it
  uint64_t read_bytes = 0;   // bytes a successful READ returned
  uint64_t write_bytes = 0;  // bytes a successful WRITE stored
  double latency_ms = 0;     // from the request header to the reply queued
};

// Called on the network thread.
struct server_observer {
  std::function<void(const request_stats&)> on_request;
  std::function<void(rejection)> on_rejection;  // the server hung up on a client (rejection_name() names it)
  std::function<void()> on_session;             // a client entered the transmission phase
};

class server {
 public:
  server(boost::asio::io_context& io, volumes::service& volumes, server_limits limits = {}, server_observer observer = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Listens on tcp_listen ("HOST:PORT"; empty: no TCP) and unix_socket_path
  // (empty: none). The flags name the settings in errors.
  status start(const std::string& tcp_listen, const std::string& unix_socket_path,
               const std::string& tcp_flag = "--nbd-listen", const std::string& unix_flag = "--nbd-socket");
  // Stops accepting and closes every connection (in-flight export calls finish on the workers).
  void stop();
  uint16_t port() const;  // the bound TCP port, 0 without TCP
  uint32_t open_connections() const;

 private:
  template <class Socket>
  void accept(Socket socket, std::shared_ptr<void> slot, std::string peer);

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::shared_ptr<connection_env> env_;
  std::shared_ptr<net::listener> tcp_;
  std::shared_ptr<net::unix_listener> unix_;
  std::vector<std::weak_ptr<connection>> connections_;
};

}  // namespace strata::nbd
