#include "produce_driver.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "payload.h"

namespace strata::bench {
namespace {

// Acks every sent record from its own thread after delay_us, like a client
// library's delivery thread; can drop records or report errors.
class fake_producer final : public producer {
 public:
  fake_producer(ack_tracker& acks, int delay_us) : acks_(acks), delay_us_(delay_us) {
    thread_ = std::thread([this] { run(); });
  }
  ~fake_producer() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  status send(uint64_t index, std::span<const uint8_t> payload) override {
    auto carried = check_payload(payload);
    if (!carried || *carried != index) {
      return make_error(errc::corrupt, "driver sent a payload that does not carry its index");
    }
    std::lock_guard lock(mu_);
    queue_.push_back(index);
    ++unacked_;
    max_unacked_ = std::max(max_unacked_, unacked_);
    cv_.notify_all();
    return {};
  }
  status flush() override {
    ++flushes_;
    return {};
  }

  uint64_t drop_from = UINT64_MAX;   // records >= this are never acked
  uint64_t fail_at = UINT64_MAX;     // this record gets an error
  std::atomic<uint64_t> flushes_{0};
  uint64_t max_unacked() {
    std::lock_guard lock(mu_);
    return max_unacked_;
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      const uint64_t index = queue_.front();
      queue_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
      lock.lock();
      --unacked_;  // before the ack, so the driver can never see more room than we do
      lock.unlock();
      if (index == fail_at) {
        acks_.on_error(index, "injected");
      } else if (index < drop_from) {
        acks_.on_ack(index);
      }
      lock.lock();
    }
  }

  ack_tracker& acks_;
  int delay_us_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<uint64_t> queue_;
  uint64_t unacked_ = 0;
  uint64_t max_unacked_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

TEST(ProduceDriver, NeverExceedsTheWindowAndAcksEverything) {
  ack_tracker acks(2000);
  fake_producer p(acks, 5);
  auto stats = run_produce(p, acks, {2000, 64, 16, 0, 5'000});
  ASSERT_TRUE(stats.ok()) << stats.err().message;
  EXPECT_EQ(stats->records, 2000u);
  EXPECT_EQ(stats->payload_bytes, 2000u * 64);
  EXPECT_LE(stats->in_flight_max, 16u);
  EXPECT_EQ(stats->in_flight_max, 16u);  // a slow acker fills the window
  EXPECT_LE(p.max_unacked(), 16u);
  EXPECT_GT(stats->latency.p50_ms, 0.0);
  EXPECT_GE(stats->latency.p99_ms, stats->latency.p50_ms);
  EXPECT_GT(p.flushes_.load(), 0u);  // flushed before blocking on the window
}

TEST(ProduceDriver, PacesToTheRequestedRate) {
  ack_tracker acks(200);
  fake_producer p(acks, 0);
  auto stats = run_produce(p, acks, {200, 32, 64, 1000.0, 5'000});  // 200 records at 1000/s: ~0.2 s
  ASSERT_TRUE(stats.ok()) << stats.err().message;
  EXPECT_GE(stats->seconds, 0.19);
  EXPECT_LT(stats->seconds, 1.0);
  EXPECT_LT(stats->records_per_s, 1100.0);
}

TEST(ProduceDriver, LatencyCountsFromWhenARecordWasDue) {
  // Window 1, 5 ms per ack, 1000 records/s asked: the sender falls ~4 ms further
  // behind each record, and that wait must show in the latency.
  ack_tracker acks(50);
  fake_producer p(acks, 5'000);
  auto stats = run_produce(p, acks, {50, 32, 1, 1000.0, 5'000});
  ASSERT_TRUE(stats.ok()) << stats.err().message;
  EXPECT_GE(stats->sender_lag_max_ms, 100.0);
  EXPECT_GE(stats->latency.max_ms, stats->sender_lag_max_ms);
  EXPECT_GE(stats->latency.p50_ms, 50.0);  // an ack itself takes only 5 ms
}

TEST(ProduceDriver, FailsWhenAcksStop) {
  ack_tracker acks(100);
  fake_producer p(acks, 0);
  p.drop_from = 50;
  auto stats = run_produce(p, acks, {100, 32, 8, 0, 200});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.code(), errc::timed_out);
}

TEST(ProduceDriver, ReportsAClientError) {
  ack_tracker acks(100);
  fake_producer p(acks, 0);
  p.fail_at = 10;
  auto stats = run_produce(p, acks, {100, 32, 8, 0, 2'000});
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.err().message.find("record 10"), std::string::npos) << stats.err().message;
}

TEST(AckTracker, RejectsDuplicateAcks) {
  ack_tracker acks(2);
  acks.on_send(0, now_ns());
  acks.on_ack(0);
  acks.on_ack(0);
  EXPECT_FALSE(acks.wait_all(100).ok());
}

TEST(Summarize, NearestRankPercentiles) {
  std::vector<int64_t> ns;
  for (int i = 100; i >= 1; --i) ns.push_back(i * 1'000'000LL);  // 1..100 ms, unsorted
  auto s = summarize(ns);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50.0);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 100.0);
  std::vector<int64_t> one{3'000'000};
  auto t = summarize(one);
  EXPECT_DOUBLE_EQ(t.p50_ms, 3.0);
  EXPECT_DOUBLE_EQ(t.p99_ms, 3.0);
}

}  // namespace
}  // namespace strata::bench
