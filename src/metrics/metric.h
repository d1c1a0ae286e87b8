// The three kinds of metric a registry hands out. Each is a lock-free value that
// any thread may update; the registry owns them and reads them when rendering.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace strata::metrics {

// Upper bounds in milliseconds for latency histograms; +Inf is implicit.
inline constexpr std::array<double, 15> latency_ms_buckets = {0.1, 0.25, 0.5, 1,   2.5,  5,    10,  25,
                                                              50,  100,  250, 500, 1000, 2500, 5000};

// A count that only goes up (requests served, bytes written).
class counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (open connections, queue depth).
class gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void sub(double delta) { value_.fetch_sub(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets. Buckets are stored per interval and
// made cumulative when read, so observe() touches one bucket only.
class histogram {
 public:
  // upper_bounds: finite and strictly increasing; +Inf is added implicitly.
  explicit histogram(std::span<const double> upper_bounds);

  void observe(double value);

  struct snapshot {
    std::vector<double> upper_bounds;        // finite bounds, as constructed
    std::vector<uint64_t> cumulative_counts; // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;                      // equals cumulative_counts.back()
  };
  snapshot read() const;

  std::span<const double> upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 intervals
  std::atomic<double> sum_{0};
};

}  // namespace strata::metrics
