#include "net/asio_scheduler.h"

#include <boost/asio/post.hpp>
#include <chrono>

namespace strata::net {

int64_t asio_scheduler::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

scheduler::timer_id asio_scheduler::after(int64_t delay_ms, std::function<void()> fn) {
  timer_id id = next_id_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(std::max<int64_t>(0, delay_ms)));
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled
    timers_.erase(id);
    fn();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void asio_scheduler::cancel(timer_id id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second->cancel();
  timers_.erase(it);
}

void asio_scheduler::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

}  // namespace strata::net
