// A server-wide budget of bytes for requests in flight. A connection reserves
// a request's size before reading its body and releases it once the response
// is written; when the budget is spent, readers wait, which pushes back on
// clients instead of growing memory.
//
// Small requests (metadata, heartbeats, commits) may also draw on a separate,
// smaller pool, so that large requests filling the main budget (or clients
// stalling halfway through large frames) cannot starve them. Memory stays
// bounded by bytes_max + small_pool_bytes_max.
#pragma once

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <list>

#include "base/units.h"

namespace strata::net {

struct byte_budget_config {
  uint64_t bytes_max = 256 * MiB;
  uint64_t small_request_bytes_max = 64 * KiB;  // requests up to this size may use the small pool
  uint64_t small_pool_bytes_max = 16 * MiB;
};

class byte_budget {
 public:
  // Bytes taken by acquire(), to be handed back to release().
  struct grant {
    uint64_t bytes = 0;
    bool small_pool = false;
  };

  byte_budget(boost::asio::io_context& io, byte_budget_config config) : io_(io), config_(config) {}

  // Waits until `bytes` fit, then takes them. A request larger than the whole
  // budget is allowed alone (so it is not starved), never alongside others.
  boost::asio::awaitable<grant> acquire(uint64_t bytes);
  void release(grant g);
  // Takes bytes from the main budget without waiting, possibly past the limit
  // (for responses, which cannot wait); readers then wait until enough is
  // released with release_unowned().
  void add(uint64_t bytes) { used_bytes_ += bytes; }
  void release_unowned(uint64_t bytes) { release(grant{bytes, false}); }

  uint64_t used_bytes() const { return used_bytes_; }
  uint64_t small_pool_used_bytes() const { return small_used_bytes_; }
  uint64_t bytes_max() const { return config_.bytes_max; }

 private:
  bool fits_main(uint64_t bytes) const { return used_bytes_ == 0 || used_bytes_ + bytes <= config_.bytes_max; }
  bool fits_small(uint64_t bytes) const {
    return bytes <= config_.small_request_bytes_max && small_used_bytes_ + bytes <= config_.small_pool_bytes_max;
  }
  boost::asio::io_context& io_;
  byte_budget_config config_;
  uint64_t used_bytes_ = 0;
  uint64_t small_used_bytes_ = 0;
  std::list<boost::asio::steady_timer*> waiters_;
};

}  // namespace strata::net
