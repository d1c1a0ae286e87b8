#include "net/byte_budget.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/assert.h"

namespace strata::net {

boost::asio::awaitable<byte_budget::grant> byte_budget::acquire(uint64_t bytes) {
  for (;;) {
    if (fits_main(bytes)) {
      used_bytes_ += bytes;
      co_return grant{bytes, false};
    }
    if (fits_small(bytes)) {
      small_used_bytes_ += bytes;
      co_return grant{bytes, true};
    }
    boost::asio::steady_timer wake(io_, boost::asio::steady_timer::time_point::max());
    // The guard unlinks the timer even if the coroutine is destroyed mid-wait.
    struct unlink_on_exit {
      std::list<boost::asio::steady_timer*>& list;
      std::list<boost::asio::steady_timer*>::iterator it;
      ~unlink_on_exit() { list.erase(it); }
    } guard{waiters_, waiters_.insert(waiters_.end(), &wake)};
    boost::system::error_code ec;
    co_await wake.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
}

void byte_budget::release(grant g) {
  uint64_t& used = g.small_pool ? small_used_bytes_ : used_bytes_;
  STRATA_ASSERT(g.bytes <= used, "byte budget released more than it holds");
  used -= g.bytes;
  for (auto* w : waiters_) w->cancel();
}

}  // namespace strata::net
