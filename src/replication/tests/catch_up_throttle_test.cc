#include "replication/catch_up_throttle.h"

#include <gtest/gtest.h>

#include <limits>

namespace strata::replication {
namespace {

TEST(CatchUpThrottle, UnlimitedByDefault) {
  catch_up_throttle t;
  EXPECT_EQ(t.allowance(0), std::numeric_limits<uint32_t>::max());
  t.spent(1 << 30);
  EXPECT_EQ(t.allowance(1), std::numeric_limits<uint32_t>::max());
}

TEST(CatchUpThrottle, StartsWithOneSecondAndRefillsAtTheRate) {
  catch_up_throttle t;
  t.set_rate(1000, 0);
  EXPECT_EQ(t.allowance(0), 1000u);
  t.spent(1000);
  EXPECT_EQ(t.allowance(0), 0u);
  EXPECT_EQ(t.allowance(250), 250u);
  EXPECT_EQ(t.allowance(5000), 1000u) << "the bucket holds one second";
}

TEST(CatchUpThrottle, DebtDelaysTheNextSend) {
  catch_up_throttle t;
  t.set_rate(1000, 0);
  t.spent(3000);  // one batch larger than the allowance
  EXPECT_EQ(t.allowance(1000), 0u);
  EXPECT_EQ(t.allowance(1999), 0u);
  EXPECT_EQ(t.allowance(2500), 500u);
}

TEST(CatchUpThrottle, SlowRatesStillRefill) {
  catch_up_throttle t;
  t.set_rate(10, 0);
  t.spent(10);
  for (int64_t ms = 1; ms <= 99; ++ms) EXPECT_EQ(t.allowance(ms), 0u) << ms;
  EXPECT_EQ(t.allowance(100), 1u);
}

TEST(CatchUpThrottle, ZeroRateLiftsTheLimit) {
  catch_up_throttle t;
  t.set_rate(100, 0);
  t.spent(500);
  t.set_rate(0, 10);
  EXPECT_EQ(t.allowance(10), std::numeric_limits<uint32_t>::max());
}

}  // namespace
}  // namespace strata::replication
