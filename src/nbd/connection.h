// One NBD client connection, TCP or unix socket. The handshake runs as a
// sequence of read option / answer it; each option is decided on a worker
// thread (it may open an export). In the transmission phase the reader
// decodes and checks each request, reads a WRITE payload (or skips a refused
// one without buffering it), and hands the request to the worker pool; replies
// go back in the order requests complete (NBD allows any order), one write at
// a time. Up to requests_in_flight_max requests run per connection, and their
// payload and reply bytes draw on the server-wide byte budget.
#pragma once

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "nbd/commands.h"
#include "nbd/handshake.h"
#include "nbd/server.h"
#include "net/byte_budget.h"

namespace strata::nbd {

// What every connection of a server shares; held by shared_ptr so that a
// connection never outlives it.
struct connection_env {
  server_limits limits;
  server_observer observer;
  volumes::service& volumes;
  boost::asio::thread_pool::executor_type workers;
  net::byte_budget budget;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = boost::asio::generic::stream_protocol::socket;

  connection(socket_type socket, std::shared_ptr<void> slot, std::string peer, std::shared_ptr<connection_env> env);
  void start();
  // Hangs up (server stop). Safe to call more than once.
  void close();
  // Drops every export handle this connection holds; the server calls it
  // once the workers are joined, so no handle outlives the server.
  void release_exports();

 private:
  using clock = std::chrono::steady_clock;
  struct outgoing {
    reply body;
    net::byte_budget::grant grant;
    std::vector<boost::asio::const_buffer> buffers;
  };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> negotiate();
  static boost::asio::awaitable<handshake::step> decide_option(std::shared_ptr<connection> self,
                                                               handshake::option_header header,
                                                               std::vector<uint8_t> payload);
  boost::asio::awaitable<void> serve();
  boost::asio::awaitable<bool> read_exact(std::span<uint8_t> into);
  boost::asio::awaitable<bool> discard(uint64_t bytes);
  boost::asio::awaitable<bool> send(const std::vector<uint8_t>& bytes);
  void arm(int64_t timeout_ms, rejection why);
  void disarm();
  void arm_idle_if_quiet();
  void reject(rejection why);
  void submit(const request& r, buffer payload, net::byte_budget::grant grant, clock::time_point started);
  void complete(const request& r, reply body, net::byte_budget::grant grant, clock::time_point started);
  void write_next();
  void finish_disconnect_if_done();

  socket_type socket_;
  std::shared_ptr<void> slot_;
  std::string peer_;
  std::shared_ptr<connection_env> env_;
  handshake handshake_;
  std::shared_ptr<volumes::export_handle> export_;
  std::shared_ptr<const session> session_;
  std::deque<outgoing> queue_;  // replies ready to send, in completion order
  uint32_t in_flight_ = 0;      // requests read whose reply is not yet written
  bool writing_ = false;
  bool closed_ = false;
  bool disconnecting_ = false;  // NBD_CMD_DISC seen: finish in-flight requests, then close
  bool awaiting_request_ = false;  // the reader waits for a request header
  boost::asio::steady_timer deadline_;  // handshake, payload and idle deadlines
  boost::asio::steady_timer gate_;      // wakes the reader when in-flight requests drop
};

}  // namespace strata::nbd
