#include "pgwire/worker_pool.h"

#include <algorithm>

namespace strata::pgwire {

worker_pool::worker_pool(uint32_t threads_started, uint32_t threads_max)
    : guard_(boost::asio::make_work_guard(io_)), threads_max_(std::max(threads_max, threads_started)) {
  std::lock_guard lk(mu_);
  for (uint32_t i = 0; i < std::max<uint32_t>(1, threads_started); ++i) add_thread();
}

worker_pool::~worker_pool() { join(); }

void worker_pool::add_thread() {
  threads_.emplace_back([this] { io_.run(); });
}

void worker_pool::call_begins() {
  std::lock_guard lk(mu_);
  ++calls_in_flight_;
  if (calls_in_flight_ > threads_.size() && threads_.size() < threads_max_ && guard_) add_thread();
}

void worker_pool::call_ends() {
  std::lock_guard lk(mu_);
  --calls_in_flight_;
}

void worker_pool::join() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lk(mu_);
    guard_.reset();
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

uint32_t worker_pool::threads() {
  std::lock_guard lk(mu_);
  return uint32_t(threads_.size());
}

}  // namespace strata::pgwire
