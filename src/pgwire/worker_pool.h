// The threads that run session calls (a batch of a connection's messages).
//
// A call can block for as long as another session likes: a statement waiting
// for a row lock holds its thread until the holder's COMMIT, which needs a
// thread of its own. So the pool never makes a call wait for a thread: it
// starts `threads_started` and adds one whenever a call is dispatched while
// every thread is taken, up to `threads_max` (the connection limit; each
// connection has at most one call in flight). Added threads stay until the
// pool stops.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace strata::pgwire {

class worker_pool {
 public:
  using executor_type = boost::asio::io_context::executor_type;

  worker_pool(uint32_t threads_started, uint32_t threads_max);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  executor_type executor() { return io_.get_executor(); }
  // Around each call dispatched to executor(): grows the pool when no thread is free.
  void call_begins();
  void call_ends();
  // Runs what is queued, then joins every thread.
  void join();
  uint32_t threads();

 private:
  void add_thread();

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<executor_type>> guard_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
  uint32_t calls_in_flight_ = 0;
  const uint32_t threads_max_;
};

}  // namespace strata::pgwire
