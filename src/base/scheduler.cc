#include "base/scheduler.h"

#include <algorithm>
#include <utility>

namespace strata {

scheduler::timer_id manual_scheduler::after(int64_t delay_ms, std::function<void()> fn) {
  timer_id id = next_id_++;
  timers_.push_back(timer{id, now_ms_ + std::max<int64_t>(0, delay_ms), std::move(fn)});
  return id;
}

void manual_scheduler::cancel(timer_id id) {
  std::erase_if(timers_, [id](const timer& t) { return t.id == id; });
}

void manual_scheduler::post(std::function<void()> fn) {
  std::lock_guard lock(posted_mutex_);
  posted_.push_back(std::move(fn));
}

void manual_scheduler::run_pending() {
  for (;;) {
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(posted_mutex_);
      batch.swap(posted_);
    }
    if (batch.empty()) return;
    for (auto& fn : batch) fn();
  }
}

void manual_scheduler::advance(int64_t delta_ms) {
  int64_t target_ms = now_ms_ + delta_ms;
  run_pending();
  for (;;) {
    auto due = std::min_element(timers_.begin(), timers_.end(),
                                [](const timer& a, const timer& b) { return a.due_ms < b.due_ms || (a.due_ms == b.due_ms && a.id < b.id); });
    if (due == timers_.end() || due->due_ms > target_ms) break;
    now_ms_ = std::max(now_ms_, due->due_ms);
    auto fn = std::move(due->fn);
    timers_.erase(due);
    fn();
    run_pending();
  }
  now_ms_ = target_ms;
}

}  // namespace strata
