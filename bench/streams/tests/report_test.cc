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

TEST(Ratios, ServerBoundConsumeAndGroupCommitDisk) {
  machine_report m;
  m.loopback = loopback_stats{2000, 1};
  machine_report::sync_result appended;
  appended.mode = sync_write_mode::buffered_append;
  appended.stats = sync_write_stats{sync_write_mode::buffered_append, 600, 1, 1 << 20, 1, 1, 2, false};
  machine_report::sync_result fallocated;  // failed: the line stays, with no value
  fallocated.mode = sync_write_mode::direct_fallocated;
  fallocated.error = "fallocate: not supported";
  m.sync_writes = {appended, fallocated};

  target_report strata = full("strata", 300, 4, 500);
  strata.consume->streaming_mb_per_s = 1000;
  raw_fetch_stats small;
  small.max_bytes = 1 << 20;
  small.mb_per_s = 1000;
  raw_fetch_stats large;
  large.max_bytes = 32 << 20;
  large.mb_per_s = 1600;
  strata.raw_consumes = {small, large};
  auto lines = compute_ratios({strata}, m);

  const auto& server_bound = by_label(lines, "cold consume MB/s, raw Fetch 32 MiB (server-bound) / loopback");
  EXPECT_DOUBLE_EQ(*server_bound.value, 80.0);
  EXPECT_EQ(server_bound.met, true);
  const auto& small_bound = by_label(lines, "cold consume MB/s, raw Fetch 1 MiB (server-bound) / loopback");
  EXPECT_DOUBLE_EQ(*small_bound.value, 50.0);
  EXPECT_EQ(small_bound.met, false);
  const auto& streaming = by_label(lines, "cold consume, librdkafka first-to-last-record MB/s / loopback");
  EXPECT_DOUBLE_EQ(*streaming.value, 50.0);
  EXPECT_FALSE(streaming.met.has_value());
  const auto& client = by_label(lines, "cold consume MB/s, librdkafka / raw Fetch 1 MiB");
  EXPECT_DOUBLE_EQ(*client.value, 0.5);
  EXPECT_FALSE(client.met.has_value());
  // Right after Strata's own consume line.
  size_t own = 0;
  while (own < lines.size() && lines[own].label != "cold consume MB/s, Strata / loopback TCP") ++own;
  ASSERT_LT(own + 2, lines.size());
  EXPECT_EQ(lines[own + 1].label, "cold consume, librdkafka first-to-last-record MB/s / loopback");
  EXPECT_EQ(lines[own + 2].label, "cold consume MB/s, raw Fetch 1 MiB (server-bound) / loopback");

  const auto& append = by_label(lines, "produce MB/s, Strata / buffered append + fdatasync per window");
  EXPECT_DOUBLE_EQ(*append.value, 50.0);
  EXPECT_FALSE(append.met.has_value());
  const auto& prealloc = by_label(lines, "produce MB/s, Strata / O_DIRECT fallocated + fdatasync per window");
  EXPECT_FALSE(prealloc.value.has_value());
  for (const auto& l : lines) {  // the overwrite test did not run: no line
    EXPECT_EQ(l.label.find("O_DIRECT overwrite"), std::string::npos);
  }
}

TEST(Report, PrintsRawReadsTimeSplitAndGroupCommitRows) {
  machine_report m;
  m.disk = disk_write_stats{400, 1 << 20, true};
  machine_report::sync_result appended;
  appended.mode = sync_write_mode::buffered_append;
  appended.stats = sync_write_stats{sync_write_mode::buffered_append, 600, 1 << 20, 1 << 20, 1, 1.5, 2.5, false};
  machine_report::sync_result failed;
  failed.mode = sync_write_mode::direct_overwrite;
  failed.error = "no space";
  m.sync_writes = {appended, failed};
  target_report strata = full("strata", 300, 4, 500);
  strata.consume->first_record_seconds = 0.5;
  strata.consume->streaming_seconds = 0.25;
  raw_fetch_stats raw;
  raw.max_bytes = 32 << 20;
  raw.mb_per_s = 1600;
  raw.requests = 7;
  strata.raw_consumes = {raw};

  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  print_report(f, run_info{1024, 1000, 64, 1, 0.5, false, 0.1}, m, {strata});
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) text.append(buf, n);
  std::fclose(f);
  EXPECT_NE(text.find("raw 32 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("librdkafka simple consumer"), std::string::npos) << text;
  EXPECT_NE(text.find("buffered append to a growing file, fdatasync every 1 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("O_DIRECT over a written file test failed: no space"), std::string::npos) << text;
  EXPECT_NE(text.find("7 Fetch requests"), std::string::npos) << text;
}

TEST(Ratios, NoRawClientGivesNoServerBoundLines) {
  auto lines = compute_ratios({full("strata", 300, 4, 500)}, machine_report{});
  for (const auto& l : lines) {
    EXPECT_EQ(l.label.find("raw Fetch"), std::string::npos) << l.label;
  }
  EXPECT_FALSE(by_label(lines, "cold consume, librdkafka first-to-last-record MB/s / loopback").value);
}

TEST(Ratios, LatencyGoalIsAnUpperBound) {
  auto lines = compute_ratios({full("strata", 300, 6, 1500)}, machine_report{});
  const auto& p99 = by_label(lines, "p99 produce latency at half load, Strata");
  EXPECT_EQ(p99.met, false);
}

}  // namespace
}  // namespace strata::bench
