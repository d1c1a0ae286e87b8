// The rate at which a leader sends records to replicas catching up outside
// the ISR (the copies a rebalance makes), all of them together: a token bucket
// that refills at bytes_per_second and holds at most one second of it.
// In-sync replicas are never throttled: holding them back would hold back
// the high watermark and every acks=all producer.
#pragma once

#include <cstdint>

namespace strata::replication {

class catch_up_throttle {
 public:
  // 0: unlimited. A new rate starts with a full bucket.
  void set_rate(int64_t bytes_per_second, int64_t now_ms);
  int64_t rate() const { return bytes_per_second_; }

  // How many bytes may be sent now; UINT32_MAX when unlimited, 0 when the
  // bucket is empty.
  uint32_t allowance(int64_t now_ms);
  // What was sent (may exceed the allowance: a fetch returns at least one
  // whole batch; the debt delays the next one).
  void spent(uint64_t bytes);

 private:
  void refill(int64_t now_ms);
  int64_t bytes_per_second_ = 0;
  int64_t tokens_ = 0;  // may go negative
  int64_t refilled_ms_ = 0;
};

}  // namespace strata::replication
