#include "replication/catch_up_throttle.h"

#include <algorithm>
#include <limits>

namespace strata::replication {

void catch_up_throttle::set_rate(int64_t bytes_per_second, int64_t now_ms) {
  if (bytes_per_second == bytes_per_second_) return;
  bytes_per_second_ = std::max<int64_t>(bytes_per_second, 0);
  tokens_ = bytes_per_second_;
  refilled_ms_ = now_ms;
}

void catch_up_throttle::refill(int64_t now_ms) {
  if (now_ms <= refilled_ms_) return;
  // Whole milliseconds only, so that slow refills are not lost to rounding.
  const int64_t elapsed_ms = now_ms - refilled_ms_;
  const int64_t earned = bytes_per_second_ * elapsed_ms / 1000;
  if (earned == 0) return;
  tokens_ = std::min(tokens_ + earned, bytes_per_second_);
  refilled_ms_ = now_ms;
}

uint32_t catch_up_throttle::allowance(int64_t now_ms) {
  constexpr uint32_t unlimited = std::numeric_limits<uint32_t>::max();
  if (bytes_per_second_ == 0) return unlimited;
  refill(now_ms);
  if (tokens_ <= 0) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(tokens_, unlimited));
}

void catch_up_throttle::spent(uint64_t bytes) {
  if (bytes_per_second_ == 0) return;
  tokens_ -= static_cast<int64_t>(std::min<uint64_t>(bytes, std::numeric_limits<int64_t>::max() / 2));
}

}  // namespace strata::replication
