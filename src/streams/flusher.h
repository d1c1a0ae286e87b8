// The flusher thread: makes partition logs durable off the network thread and
// groups the appends that arrive during one fsync into the next (group
// commit). Under fsync_policy::interval, non-urgent requests wait for the next
// tick. Completions are posted back to the network thread through the
// scheduler. Deleting a partition's files also runs here, so it never races a
// flush of the same log.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/scheduler.h"
#include "storage/log.h"

namespace strata::streams {

struct partition;

class flusher {
 public:
  using on_flushed_fn = std::function<void(const std::shared_ptr<partition>&, result<log_offset>)>;

  flusher(scheduler& sched, int64_t interval_ms, on_flushed_fn on_flushed);
  ~flusher();
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  void start();
  // Flushes whatever is queued, then joins the thread.
  void stop();

  // Queues p for a flush; `urgent` skips the interval wait.
  void request(const std::shared_ptr<partition>& p, bool urgent);
  // Runs `work` on the flusher thread after every flush queued before it.
  void run_after_flushes(std::function<void()> work);

 private:
  void loop();
  void flush_all(std::vector<std::shared_ptr<partition>>& batch);

  scheduler& sched_;
  const int64_t interval_ms_;
  on_flushed_fn on_flushed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<partition>> queued_;
  std::vector<std::function<void()>> work_;
  bool urgent_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace strata::streams
