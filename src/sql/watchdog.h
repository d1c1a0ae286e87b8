// One thread per engine that fires statement timeouts: a session arms a
// deadline with a callback (which must be quick and must not block: it
// interrupts DuckDB) and disarms it when the statement call returns. Once
// disarm() returns the callback is not running and will not run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace strata::sql {

class watchdog {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr uint64_t timers_max = 1 << 20;

  watchdog();
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  // Returns an id for disarm (never 0), or 0 when timers_max are armed.
  uint64_t arm(clock::time_point deadline, std::function<void()> fire);
  void disarm(uint64_t id);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  struct timer {
    clock::time_point deadline;
    std::function<void()> fire;
  };
  std::map<uint64_t, timer> timers_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace strata::sql
