#include "streams/flusher.h"

#include <algorithm>
#include <chrono>

#include "streams/partition.h"

namespace strata::streams {

flusher::flusher(scheduler& sched, int64_t interval_ms, on_flushed_fn on_flushed)
    : sched_(sched), interval_ms_(std::max<int64_t>(1, interval_ms)), on_flushed_(std::move(on_flushed)) {}

flusher::~flusher() { stop(); }

void flusher::start() {
  STRATA_ASSERT(!thread_.joinable(), "flusher started twice");
  thread_ = std::thread([this] { loop(); });
}

void flusher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void flusher::request(const std::shared_ptr<partition>& p, bool urgent) {
  {
    std::lock_guard lock(mutex_);
    if (std::find(queued_.begin(), queued_.end(), p) == queued_.end()) queued_.push_back(p);
    urgent_ = urgent_ || urgent;
  }
  if (urgent) wake_.notify_one();
}

void flusher::run_after_flushes(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    work_.push_back(std::move(work));
    urgent_ = true;
  }
  wake_.notify_one();
}

void flusher::flush_all(std::vector<std::shared_ptr<partition>>& batch) {
  for (auto& p : batch) {
    auto flushed = p->log->flush();
    sched_.post([this, p, flushed = std::move(flushed)]() mutable { on_flushed_(p, std::move(flushed)); });
  }
  batch.clear();
}

void flusher::loop() {
  std::vector<std::shared_ptr<partition>> batch;
  std::vector<std::function<void()>> work;
  for (;;) {
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return urgent_ || stopping_; });
      batch.swap(queued_);
      work.swap(work_);
      urgent_ = false;
      stopping = stopping_;
    }
    flush_all(batch);
    for (auto& w : work) w();
    work.clear();
    if (stopping) {
      std::lock_guard lock(mutex_);
      if (queued_.empty() && work_.empty()) return;
    }
  }
}

}  // namespace strata::streams
