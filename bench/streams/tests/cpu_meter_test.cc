#include "cpu_meter.h"

#include <gtest/gtest.h>

namespace strata::bench {
namespace {

TEST(CpuMeter, ParsesTheAggregateLine) {
  auto t = parse_proc_stat("cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->busy_ticks, 160u);
  EXPECT_EQ(t->total_ticks, 980u);
  EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4 5 6 7 8"));
  EXPECT_FALSE(parse_proc_stat("cpu  1 2 3"));
  EXPECT_FALSE(parse_proc_stat(""));
}

TEST(CpuMeter, BusyFractionBetweenReadings) {
  auto u = cpu_between(cpu_times{100, 1000}, cpu_times{250, 1200});
  ASSERT_TRUE(u);
  EXPECT_DOUBLE_EQ(u->busy_fraction, 0.75);
  EXPECT_GT(u->busy_core_seconds, 0);
  EXPECT_FALSE(cpu_between(cpu_times{100, 1000}, cpu_times{100, 1000})) << "no time passed";
  EXPECT_FALSE(cpu_between(std::nullopt, cpu_times{1, 2}));
  EXPECT_TRUE(read_cpu_times().has_value()) << "this machine has /proc/stat";
}

}  // namespace
}  // namespace strata::bench
