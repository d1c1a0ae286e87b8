#include "report.h"

#include <gtest/gtest.h>

#include "report_test_util.h"

namespace strata::bench {
namespace {

produce_stats produced(double mbps, double p99_ms) {
  produce_stats s;
  s.mb_per_s = mbps;
  s.latency.p99_ms = p99_ms;
  return s;
}

consume_stats consumed(double mbps) {
  consume_stats s;
  s.mb_per_s = mbps;
  return s;
}

target_report full(const std::string& name, double produce_mbps, double p99_half_ms, double consume_mbps) {
  target_report t;
  t.name = name;
  t.produce_max = produced(produce_mbps, 10);
  t.produce_half = produced(produce_mbps / 2, p99_half_ms);
  t.consume = consumed(consume_mbps);
  return t;
}

TEST(Ratios, ComputesRatiosAndVerdicts) {
  machine_report m;
  m.disk = disk_write_stats{400, 1, true};
  m.loopback = loopback_stats{2000, 1};
  auto lines = compute_ratios({full("strata", 300, 4, 1500), full("jetstream", 100, 8, 500), full("redis", 250, 2, 600)}, m);

  const auto& vs_js = by_label(lines, "produce MB/s, Strata / JetStream");
  ASSERT_TRUE(vs_js.value);
  EXPECT_DOUBLE_EQ(*vs_js.value, 3.0);
  EXPECT_EQ(vs_js.met, true);

  const auto& vs_redis = by_label(lines, "produce MB/s, Strata / Redis");
  EXPECT_DOUBLE_EQ(*vs_redis.value, 1.2);
  EXPECT_EQ(vs_redis.met, false);

  const auto& disk = by_label(lines, "produce MB/s, Strata / direct disk write");
  EXPECT_DOUBLE_EQ(*disk.value, 75.0);
  EXPECT_EQ(disk.met, true);

  const auto& lo = by_label(lines, "cold consume MB/s, Strata / loopback TCP");
  EXPECT_DOUBLE_EQ(*lo.value, 75.0);
  EXPECT_EQ(lo.met, true);

  const auto& p99 = by_label(lines, "p99 produce latency at half load, Strata");
  EXPECT_DOUBLE_EQ(*p99.value, 4.0);
  EXPECT_EQ(p99.met, true);

  const auto& p99_redis = by_label(lines, "p99 at half load, Strata / Redis (lower is better)");
  EXPECT_DOUBLE_EQ(*p99_redis.value, 2.0);
  EXPECT_FALSE(p99_redis.met.has_value());  // no goal in the brief
}

TEST(Ratios, MissingStrataGivesNoValuesAndNoVerdicts) {
  machine_report m;
  m.disk = disk_write_stats{400, 1, true};
  target_report skipped;
  skipped.name = "strata";
  skipped.skipped = "not built";
  auto lines = compute_ratios({skipped, full("jetstream", 100, 8, 500), full("redis", 250, 2, 600)}, m);
  for (const auto& l : lines) {
    EXPECT_FALSE(l.value.has_value()) << l.label;
    EXPECT_FALSE(l.met.has_value()) << l.label;
  }
}

TEST(Ratios, LatencyGoalIsAnUpperBound) {
  auto lines = compute_ratios({full("strata", 300, 6, 1500)}, machine_report{});
  const auto& p99 = by_label(lines, "p99 produce latency at half load, Strata");
  EXPECT_EQ(p99.met, false);
}

}  // namespace
}  // namespace strata::bench
