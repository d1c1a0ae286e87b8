// The clock and timers that services use, so that their timeouts can be driven
// by a manual clock in tests. Callbacks run on the owning (network) thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace strata {

class scheduler {
 public:
  using timer_id = uint64_t;
  virtual ~scheduler() = default;
  virtual int64_t now_ms() const = 0;  // monotonic milliseconds
  // Runs fn once after delay_ms, unless cancelled first.
  virtual timer_id after(int64_t delay_ms, std::function<void()> fn) = 0;
  // Cancels a pending timer; a no-op if it has fired or was cancelled.
  virtual void cancel(timer_id id) = 0;
  // Runs fn on the owning thread soon; safe to call from any thread.
  virtual void post(std::function<void()> fn) = 0;
};

// A scheduler whose clock moves only when advance() is called; post() runs
// callbacks at the next advance() or run_pending(). For unit tests.
class manual_scheduler final : public scheduler {
 public:
  int64_t now_ms() const override { return now_ms_; }
  timer_id after(int64_t delay_ms, std::function<void()> fn) override;
  void cancel(timer_id id) override;
  void post(std::function<void()> fn) override;
  void advance(int64_t delta_ms);
  void run_pending();

 private:
  struct timer {
    timer_id id;
    int64_t due_ms;
    std::function<void()> fn;
  };
  int64_t now_ms_ = 1'000'000;
  timer_id next_id_ = 1;
  std::vector<timer> timers_;
  std::mutex posted_mutex_;  // post() may be called from any thread
  std::vector<std::function<void()>> posted_;
};

}  // namespace strata
