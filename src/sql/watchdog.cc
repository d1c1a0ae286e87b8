#include "sql/watchdog.h"

namespace strata::sql {

watchdog::watchdog() : thread_([this] { run(); }) {}

watchdog::~watchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t watchdog::arm(clock::time_point deadline, std::function<void()> fire) {
  std::lock_guard lock(mutex_);
  if (timers_.size() >= timers_max) return 0;
  uint64_t id = next_id_++;
  timers_.emplace(id, timer{deadline, std::move(fire)});
  wake_.notify_all();
  return id;
}

void watchdog::disarm(uint64_t id) {
  std::lock_guard lock(mutex_);
  timers_.erase(id);
}

void watchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto now = clock::now();
    auto earliest = clock::time_point::max();
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (it->second.deadline <= now) {
        it->second.fire();  // under the lock, so disarm() waits for it
        it = timers_.erase(it);
      } else {
        earliest = std::min(earliest, it->second.deadline);
        ++it;
      }
    }
    if (earliest == clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, earliest);
    }
  }
}

}  // namespace strata::sql
