// A server-wide budget of bytes for requests in flight. A connection reserves
// a request's size before reading its body and releases it once the response
// is written; when the budget is spent, readers wait, which pushes back on
// clients instead of growing memory.
#pragma once

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <list>

namespace strata::net {

class byte_budget {
 public:
  byte_budget(boost::asio::io_context& io, uint64_t bytes_max) : io_(io), bytes_max_(bytes_max) {}

  // Waits until `bytes` fit, then takes them. A request larger than the whole
  // budget is allowed alone (so it is not starved), never alongside others.
  boost::asio::awaitable<void> acquire(uint64_t bytes);
  void release(uint64_t bytes);
  // Takes bytes without waiting, possibly past the limit (for responses,
  // which cannot wait); readers then wait until enough is released.
  void add(uint64_t bytes) { used_bytes_ += bytes; }
  uint64_t used_bytes() const { return used_bytes_; }
  uint64_t bytes_max() const { return bytes_max_; }

 private:
  bool fits(uint64_t bytes) const { return used_bytes_ == 0 || used_bytes_ + bytes <= bytes_max_; }
  boost::asio::io_context& io_;
  uint64_t bytes_max_;
  uint64_t used_bytes_ = 0;
  std::list<boost::asio::steady_timer*> waiters_;
};

}  // namespace strata::net
