// The compactor thread: runs compaction jobs (compaction.h) one at a time off
// the network thread, so reading and rewriting segments never stalls
// produce and fetch. The swap of the result is the caller's, on the log's
// owner thread. Memory: one job's key map (compaction_job::map_bytes_max)
// plus one batch being rewritten.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "io/fs.h"
#include "streams/compaction.h"

namespace strata::streams {

class compactor {
 public:
  using done_fn = std::function<void(result<compaction_outcome>)>;

  explicit compactor(io::fs& fs) : fs_(fs) {}
  ~compactor() { stop(); }
  compactor(const compactor&) = delete;
  compactor& operator=(const compactor&) = delete;

  void start();
  // Cancels the running job (its staged files are removed), drops the queued
  // ones without calling them back, and joins the thread.
  void stop();
  // Queues a job; `done` runs on the compactor thread.
  void submit(compaction_job job, done_fn done);

 private:
  void loop();

  io::fs& fs_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<compaction_job, done_fn>> queued_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace strata::streams
