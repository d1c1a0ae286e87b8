// strata::scheduler on a Boost.Asio io_context: timers are steady_timers and
// post() is asio::post, so every callback runs on the network thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <unordered_map>

#include "base/scheduler.h"

namespace strata::net {

class asio_scheduler final : public scheduler {
 public:
  explicit asio_scheduler(boost::asio::io_context& io) : io_(io) {}
  int64_t now_ms() const override;
  timer_id after(int64_t delay_ms, std::function<void()> fn) override;
  void cancel(timer_id id) override;
  void post(std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
  timer_id next_id_ = 1;
  std::unordered_map<timer_id, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace strata::net
