#include "cluster_report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/report_test_util.h"

namespace strata::bench {
namespace {

constexpr int64_t ms = 1'000'000;

TEST(FailoverMs, AcksResumingAfterAPauseGiveTheEndOfThePause) {
  // Steady acks every 1 ms, kill at 100 ms, acks resume at 1600 ms.
  std::vector<int64_t> acks;
  for (int64_t t = 0; t <= 100; ++t) acks.push_back(t * ms);
  for (int64_t t = 1600; t <= 1700; ++t) acks.push_back(t * ms);
  auto f = failover_ms(acks, 100 * ms);
  ASSERT_TRUE(f);
  EXPECT_DOUBLE_EQ(*f, 1500.0);
}

TEST(FailoverMs, StragglersFromTheOldLeaderDoNotEndTheFailover) {
  std::vector<int64_t> acks = {10 * ms, 101 * ms, 102 * ms, 2100 * ms, 2101 * ms, 2102 * ms};
  auto f = failover_ms(acks, 100 * ms);
  ASSERT_TRUE(f);
  EXPECT_DOUBLE_EQ(*f, 2000.0);
}

TEST(FailoverMs, UnacknowledgedRecordsAndOrderDoNotMatter) {
  std::vector<int64_t> acks = {-1, 900 * ms, 50 * ms, -1, 901 * ms};
  auto f = failover_ms(acks, 100 * ms);
  ASSERT_TRUE(f);
  EXPECT_DOUBLE_EQ(*f, 800.0);
}

TEST(FailoverMs, NoAckAfterTheKillHasNoFigure) {
  EXPECT_FALSE(failover_ms({1 * ms, 2 * ms}, 5 * ms));
  EXPECT_FALSE(failover_ms({}, 5 * ms));
}

TEST(FailoverMs, ANoPauseFailoverIsTheFirstAck) {
  std::vector<int64_t> acks = {101 * ms, 102 * ms, 103 * ms};
  auto f = failover_ms(acks, 100 * ms);
  ASSERT_TRUE(f);
  EXPECT_DOUBLE_EQ(*f, 1.0);
}

system_report sys(std::string name, double mbps, double p99, std::optional<double> fo, uint64_t lost) {
  system_report s;
  s.name = std::move(name);
  produce_stats p;
  p.mb_per_s = mbps;
  p.latency.p99_ms = p99;
  s.produce = p;
  s.failover_run = fo.has_value();
  s.failover_ms = fo;
  s.loss = loss_count{1000, lost, 0};
  return s;
}

TEST(ClusterRatios, GoalsMetAndMissed) {
  machine_report m;
  m.disk = disk_write_stats{200.0, 1 << 20, true};
  auto lines = compute_cluster_ratios(
      {sys("strata-rf3", 60, 5, 1500, 0), sys("jetstream-r3", 20, 10, 4000, 3), sys("strata-single", 120, 2, {}, 0)},
      m);
  const auto& vs_js = by_label(lines, "produce MB/s, Strata RF3 / JetStream R3");
  ASSERT_TRUE(vs_js.value);
  EXPECT_DOUBLE_EQ(*vs_js.value, 3.0);
  EXPECT_EQ(vs_js.met, true);
  const auto& vs_single = by_label(lines, "produce MB/s, Strata RF3 / Strata single node");
  EXPECT_DOUBLE_EQ(*vs_single.value, 50.0);
  EXPECT_EQ(vs_single.met, false);
  EXPECT_DOUBLE_EQ(*by_label(lines, "produce MB/s, Strata RF3 / direct disk write").value, 30.0);
  const auto& fo = by_label(lines, "failover after kill -9 of the leader, Strata RF3");
  EXPECT_DOUBLE_EQ(*fo.value, 1500.0);
  EXPECT_EQ(fo.met, true);
  EXPECT_EQ(by_label(lines, "failover after kill -9 of the leader, JetStream R3").met, std::nullopt);
  EXPECT_EQ(by_label(lines, "acknowledged then lost, Strata RF3").met, true);
  EXPECT_DOUBLE_EQ(*by_label(lines, "acknowledged then lost, JetStream R3").value, 3.0);
}

TEST(ClusterRatios, ThreeSingleNodesAtOnceAreTheMachinesLimit) {
  auto lines = compute_cluster_ratios(
      {sys("strata-rf3", 60, 5, 1500, 0), sys("strata-single", 240, 2, {}, 0), sys("strata-single-x3", 80, 9, {}, 0)},
      machine_report{});
  const auto& vs_limit = by_label(lines, "produce MB/s, Strata RF3 / three single nodes at once (machine limit)");
  ASSERT_TRUE(vs_limit.value);
  EXPECT_DOUBLE_EQ(*vs_limit.value, 75.0);
  EXPECT_EQ(vs_limit.met, std::nullopt) << "a measurement, not a goal";
  EXPECT_DOUBLE_EQ(*by_label(lines, "produce MB/s, three single nodes at once / one single node").value, 100.0 / 3);
}

TEST(ClusterRatios, MissingSystemsLeaveNoValue) {
  auto lines = compute_cluster_ratios({sys("strata-rf3", 60, 5, std::nullopt, 2)}, machine_report{});
  EXPECT_FALSE(by_label(lines, "produce MB/s, Strata RF3 / JetStream R3").value);
  EXPECT_EQ(by_label(lines, "produce MB/s, Strata RF3 / JetStream R3").met, std::nullopt);
  const auto& fo = by_label(lines, "failover after kill -9 of the leader, Strata RF3");
  EXPECT_FALSE(fo.value);
  EXPECT_EQ(fo.met, std::nullopt);
  EXPECT_EQ(by_label(lines, "acknowledged then lost, Strata RF3").met, false);
}

TEST(ClusterReport, PrintsEverySystemAndVerdict) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  system_report failed;
  failed.name = "jetstream-r3";
  failed.failure = "nats: no leader\nmore";
  print_cluster_report(f, cluster_run_info{1024, 1000, 64, 9, 0.5, 1000, 0.2}, machine_report{},
                       {sys("strata-rf3", 60, 5, 1500, 0), failed, sys("strata-single", 120, 2, {}, 0)});
  std::rewind(f);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  EXPECT_NE(text.find("strata-rf3"), std::string::npos);
  EXPECT_NE(text.find("FAILED: nats: no leader"), std::string::npos);
  EXPECT_EQ(text.find("more"), std::string::npos);
  EXPECT_NE(text.find("50.00 %"), std::string::npos);  // RF3 / single, under the 60% goal
  EXPECT_NE(text.find("MISSED"), std::string::npos);
  EXPECT_NE(text.find("1500.00 ms"), std::string::npos);
}

}  // namespace
}  // namespace strata::bench
