// One NBD client connection, TCP or unix socket. The handshake runs as a
// sequence of read option / answer it; each option is decided on a worker
// thread (it may open an export). In the transmission phase the reader
// decodes and checks each request, reads a WRITE payload (or skips a refused
// one without buffering it), and queues the request for the worker pool;
// replies go back in the order requests complete (NBD allows any order). Up
// to requests_in_flight_max requests run per connection, and their payload
// and reply bytes draw on the server-wide byte budget.
//
// For small requests served from the page cache, the costly part is not the
// work but the hand-overs between threads (a futex wake-up and a context
// switch each) and the syscalls, so the transmission phase batches them:
// - the reader fills a receive buffer with whatever the socket holds and
//   decodes every request in it (small WRITE payloads included) before it
//   reads again;
// - requests go to a per-connection queue that workers ("drainers") empty
//   one request at a time, going back to sleep only when it is empty; another
//   drainer is woken only when every running one is inside a request (which
//   may be slow: a cold read, a flush), so fast requests keep one or two
//   workers busy instead of waking one per request;
// - where the export submits disk reads together (direct I/O with io_uring),
//   a drainer takes the READs queued behind a READ as one batch, so a queue
//   of small reads costs one system call instead of one per read;
// - workers hand replies back in a list; only the first reply of a batch
//   wakes the network thread, which then sends all ready replies in one
//   gathered write.
#pragma once

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
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
  // A checked request waiting for (or running on) a worker.
  struct job {
    request r;
    buffer payload;
    net::byte_budget::grant grant;
    clock::time_point started;
  };
  // A request whose reply is built, on its way to the network thread.
  struct finished {
    request r;
    reply body;
    net::byte_budget::grant grant;
    clock::time_point started;
  };
  struct outgoing {
    reply body;
    net::byte_budget::grant grant;
  };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> negotiate();
  static boost::asio::awaitable<handshake::step> decide_option(std::shared_ptr<connection> self,
                                                               handshake::option_header header,
                                                               std::vector<uint8_t> payload);
  boost::asio::awaitable<void> serve();
  boost::asio::awaitable<bool> wait_for_room();
  boost::asio::awaitable<bool> buffer_at_least(size_t bytes);
  boost::asio::awaitable<bool> read_payload(buffer& payload);
  boost::asio::awaitable<bool> skip_payload(uint64_t bytes);
  boost::asio::awaitable<bool> read_exact(std::span<uint8_t> into);
  boost::asio::awaitable<bool> discard(uint64_t bytes);
  boost::asio::awaitable<bool> send(const std::vector<uint8_t>& bytes);
  size_t buffered() const { return rx_end_ - rx_begin_; }
  void arm(int64_t timeout_ms, rejection why);
  void disarm();
  void arm_idle_if_quiet();
  void reject(rejection why);

  void submit(job j);
  void post_drainer(std::shared_ptr<volumes::export_handle> exp, std::shared_ptr<const session> sess);
  void drain(std::shared_ptr<volumes::export_handle> exp, std::shared_ptr<const session> sess);
  void take_jobs(bool gather_reads, std::vector<job>& taken);
  static void run_jobs(volumes::export_handle& exp, const session& sess, std::vector<job>& taken,
                       std::vector<request>& reads, std::vector<reply>& replies);
  void take_finished();
  void answer_now(const request& r, reply body, clock::time_point started);
  void queue_reply(const request& r, reply body, net::byte_budget::grant grant, clock::time_point started);
  void write_next();
  void on_written(const boost::system::error_code& ec);
  void finish_disconnect_if_done();

  socket_type socket_;
  std::shared_ptr<void> slot_;
  std::string peer_;
  std::shared_ptr<connection_env> env_;
  handshake handshake_;
  std::shared_ptr<volumes::export_handle> export_;
  std::shared_ptr<const session> session_;

  // Network thread only.
  std::unique_ptr<uint8_t[]> rx_;  // receive buffer (transmission phase); bytes [rx_begin_, rx_end_) unread
  size_t rx_begin_ = 0;
  size_t rx_end_ = 0;
  std::deque<outgoing> queue_;  // replies ready to send, in completion order
  std::vector<boost::asio::const_buffer> tx_buffers_;  // the gathered write in progress
  size_t writing_replies_ = 0;  // replies at the front of queue_ that the write in progress sends
  std::vector<finished> batch_;  // take_finished's scratch, kept for its capacity
  uint32_t in_flight_ = 0;      // requests read whose reply is not yet written
  bool closed_ = false;
  bool disconnecting_ = false;  // NBD_CMD_DISC seen: finish in-flight requests, then close
  bool awaiting_request_ = false;  // the reader waits for a request header
  const socket_type::executor_type net_executor_;  // the network thread's, for workers to post to
  boost::asio::steady_timer deadline_;  // handshake, payload and idle deadlines
  boost::asio::steady_timer gate_;      // wakes the reader when in-flight requests drop

  // Shared with the workers, under work_mu_.
  std::mutex work_mu_;
  std::deque<job> todo_;          // requests no worker has taken yet
  std::vector<finished> done_;    // replies the network thread has not taken yet
  uint32_t drainers_ = 0;         // workers running drain() for this connection (or about to)
  uint32_t running_ = 0;          // drainers inside execute()
  bool take_posted_ = false;      // a take_finished() is on its way to the network thread
  bool work_closed_ = false;      // the connection is closed: drainers stop taking requests
};

}  // namespace strata::nbd
