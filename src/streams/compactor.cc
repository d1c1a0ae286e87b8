#include "streams/compactor.h"

namespace strata::streams {

void compactor::start() {
  if (thread_.joinable()) return;
  stopping_.store(false);
  thread_ = std::thread([this] { loop(); });
}

void compactor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    queued_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void compactor::submit(compaction_job job, done_fn done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_.load()) return;
    queued_.emplace_back(std::move(job), std::move(done));
  }
  wake_.notify_one();
}

void compactor::loop() {
  for (;;) {
    std::pair<compaction_job, done_fn> next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_.load() || !queued_.empty(); });
      if (stopping_.load()) return;
      next = std::move(queued_.front());
      queued_.pop_front();
    }
    auto outcome = compact(fs_, next.first, stopping_);
    if (stopping_.load()) return;  // nobody is left to swap it in; the next open removes the staged files
    next.second(std::move(outcome));
  }
}

}  // namespace strata::streams
