#include "metrics/metric.h"

#include <algorithm>
#include <cmath>

#include "base/assert.h"

namespace strata::metrics {

histogram::histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    STRATA_ASSERT(std::isfinite(bounds_[i]), "histogram bounds must be finite; +Inf is implicit");
    STRATA_ASSERT(i == 0 || bounds_[i - 1] < bounds_[i], "histogram bounds must be strictly increasing");
  }
}

void histogram::observe(double value) {
  // Bucket "le" bounds are inclusive; NaN belongs to no finite bucket.
  size_t index = bounds_.size();
  if (!std::isnan(value)) {
    index = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  }
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
  snapshot snap;
  snap.upper_bounds = bounds_;
  snap.cumulative_counts.reserve(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts.push_back(running);
  }
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

}  // namespace strata::metrics
