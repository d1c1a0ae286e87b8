#include "metrics/registry.h"

#include <array>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace strata::metrics {
namespace {

const std::string dropped_zero =
    "# HELP strata_metrics_dropped_total Series or samples the metrics registry discarded: past its limits, or "
    "with an invalid or conflicting name. Each one is a bug or a cardinality problem to fix.\n"
    "# TYPE strata_metrics_dropped_total counter\n"
    "strata_metrics_dropped_total 0\n";

std::string dropped_line(uint64_t n) { return "strata_metrics_dropped_total " + std::to_string(n) + "\n"; }

TEST(Registry, RendersCountersAndGaugesExactly) {
  registry r;
  r.counter("strata_requests_total", "Requests handled.", {{"api", "Produce"}}).inc(3);
  r.counter("strata_requests_total", "ignored: the first help wins", {{"api", "Fetch"}}).inc();
  r.gauge("strata_connections", "Open connections.\nPer listener.", {{"face", "kafka"}}).set(2.5);
  r.counter("strata_boots_total", "Starts.").inc();

  EXPECT_EQ(r.render(),
            "# HELP strata_boots_total Starts.\n"
            "# TYPE strata_boots_total counter\n"
            "strata_boots_total 1\n"
            "# HELP strata_connections Open connections.\\nPer listener.\n"
            "# TYPE strata_connections gauge\n"
            "strata_connections{face=\"kafka\"} 2.5\n" +
                dropped_zero +
                "# HELP strata_requests_total Requests handled.\n"
                "# TYPE strata_requests_total counter\n"
                "strata_requests_total{api=\"Fetch\"} 1\n"
                "strata_requests_total{api=\"Produce\"} 3\n");
}

TEST(Registry, EscapesLabelValuesInOutput) {
  registry r;
  r.gauge("g", "h", {{"topic", "a\"b\\c\nd"}}).set(1);
  EXPECT_NE(r.render().find("g{topic=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

TEST(Registry, SameLabelsInAnyOrderGiveTheSameChild) {
  registry r;
  counter& a = r.counter("c_total", "h", {{"x", "1"}, {"y", "2"}});
  counter& b = r.counter("c_total", "h", {{"y", "2"}, {"x", "1"}});
  counter& other = r.counter("c_total", "h", {{"x", "1"}, {"y", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.inc();
  b.inc();
  EXPECT_EQ(a.value(), 2u);
  EXPECT_EQ(other.value(), 0u);
}

TEST(Registry, HistogramBucketsAreCumulativeAndInclusive) {
  registry r;
  const std::array<double, 2> bounds = {1, 5};
  histogram& h = r.histogram("lat_ms", "Latency.", {{"api", "Produce"}}, bounds);
  for (double v : {0.5, 1.0, 3.0, 10.0}) h.observe(v);

  EXPECT_EQ(r.render(),
            "# HELP lat_ms Latency.\n"
            "# TYPE lat_ms histogram\n"
            "lat_ms_bucket{api=\"Produce\",le=\"1\"} 2\n"
            "lat_ms_bucket{api=\"Produce\",le=\"5\"} 3\n"
            "lat_ms_bucket{api=\"Produce\",le=\"+Inf\"} 4\n"
            "lat_ms_sum{api=\"Produce\"} 14.5\n"
            "lat_ms_count{api=\"Produce\"} 4\n" +
                dropped_zero);
}

TEST(Registry, DefaultHistogramUsesLatencyBuckets) {
  registry r;
  histogram& h = r.histogram("rt_ms", "Round trip.");
  h.observe(0.1);
  h.observe(7000);
  std::string text = r.render();
  EXPECT_NE(text.find("rt_ms_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rt_ms_bucket{le=\"5000\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rt_ms_bucket{le=\"+Inf\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rt_ms_count 2\n"), std::string::npos) << text;
  auto snap = h.read();
  ASSERT_EQ(snap.cumulative_counts.size(), latency_ms_buckets.size() + 1);
  EXPECT_EQ(snap.cumulative_counts.front(), 1u);
}

TEST(Registry, CollectorsAddSamplesAtScrapeTime) {
  registry r;
  int calls = 0;
  auto id = r.add_collector([&](collector_sink& sink) {
    ++calls;
    sink.gauge("strata_log_size_bytes", "Bytes in the log.", {{"topic", "t"}, {"partition", "0"}}, 4096);
    sink.gauge("strata_log_size_bytes", "Bytes in the log.", {{"topic", "t"}, {"partition", "1"}}, 0);
    sink.counter("strata_log_appends_total", "Appends.", {}, 12);
  });
  std::string text = r.render();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(text,
            "# HELP strata_log_appends_total Appends.\n"
            "# TYPE strata_log_appends_total counter\n"
            "strata_log_appends_total 12\n"
            "# HELP strata_log_size_bytes Bytes in the log.\n"
            "# TYPE strata_log_size_bytes gauge\n"
            "strata_log_size_bytes{partition=\"0\",topic=\"t\"} 4096\n"
            "strata_log_size_bytes{partition=\"1\",topic=\"t\"} 0\n" +
                dropped_zero);
  r.remove_collector(id);
  EXPECT_EQ(r.render(), dropped_zero);
  EXPECT_EQ(calls, 1);
}

TEST(Registry, CollectorConflictsAreDroppedAndCounted) {
  registry r;
  r.counter("taken_total", "h").inc();
  r.gauge("g", "h", {{"a", "1"}}).set(1);
  r.add_collector([](collector_sink& sink) {
    sink.gauge("taken_total", "h", {}, 5);          // type conflict with a registered family
    sink.gauge("g", "h", {{"a", "1"}}, 7);          // repeats a registered series
    sink.gauge("g", "h", {{"a", "2"}}, 8);          // fine: a new series of the same family
    sink.gauge("bad-name", "h", {}, 1);             // invalid name
    sink.counter("dup", "h", {}, 1);
    sink.gauge("dup", "h", {{"x", "1"}}, 1);        // type conflict within collectors
  });
  std::string text = r.render();
  EXPECT_NE(text.find("g{a=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g{a=\"2\"} 8\n"), std::string::npos) << text;
  EXPECT_NE(text.find("taken_total 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("taken_total 5"), std::string::npos) << text;
  EXPECT_EQ(text.find("bad-name"), std::string::npos) << text;
  EXPECT_NE(text.find("dup 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("dup{x=\"1\"}"), std::string::npos) << text;
  EXPECT_NE(text.find(dropped_line(4)), std::string::npos) << text;
}

TEST(Registry, CollectorSamplesAreBounded) {
  registry r(registry_limits{.series_max = 100, .collector_samples_max = 2});
  r.add_collector([](collector_sink& sink) {
    for (int i = 0; i < 5; ++i) sink.gauge("many", "h", {{"i", std::to_string(i)}}, i);
  });
  std::string text = r.render();
  EXPECT_NE(text.find("many{i=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("many{i=\"2\"}"), std::string::npos) << text;
  EXPECT_NE(text.find(dropped_line(3)), std::string::npos) << text;
}

TEST(Registry, SeriesPastTheLimitAreDetached) {
  registry r(registry_limits{.series_max = 3, .collector_samples_max = 10});  // the dropped counter is one
  r.counter("c_total", "h", {{"i", "0"}}).inc();
  r.counter("c_total", "h", {{"i", "1"}}).inc();
  counter& over = r.counter("c_total", "h", {{"i", "2"}});
  over.inc(5);  // must be safe to use, but is not rendered
  EXPECT_EQ(&r.counter("c_total", "h", {{"i", "1"}}), &r.counter("c_total", "h", {{"i", "1"}}));
  std::string text = r.render();
  EXPECT_NE(text.find("c_total{i=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("i=\"2\""), std::string::npos) << text;
  EXPECT_NE(text.find(dropped_line(1)), std::string::npos) << text;
}

TEST(Registry, ConcurrentLookupsAndIncrementsAreCounted) {
  registry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < 5000; ++i) {
        r.counter("hits_total", "h", {{"kind", i % 2 ? "odd" : "even"}}).inc();
        r.gauge("level", "h").add(1);
        r.histogram("lat_ms", "h").observe(t);
      }
    });
  }
  threads.emplace_back([&r] {
    for (int i = 0; i < 50; ++i) (void)r.render();
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(r.counter("hits_total", "h", {{"kind", "odd"}}).value(), 10000u);
  EXPECT_EQ(r.counter("hits_total", "h", {{"kind", "even"}}).value(), 10000u);
  EXPECT_EQ(r.gauge("level", "h").value(), 20000);
  EXPECT_EQ(r.histogram("lat_ms", "h").read().count, 20000u);
}

TEST(RegistryDeathTest, SameNameWithAnotherTypeIsABug) {
  registry r;
  r.counter("x_total", "h");
  EXPECT_DEATH(r.gauge("x_total", "h"), "different types");
}

TEST(RegistryDeathTest, HistogramsMayNotUseTheLeLabel) {
  registry r;
  EXPECT_DEATH(r.histogram("h_ms", "h", {{"le", "1"}}), "reserved");
}

}  // namespace
}  // namespace strata::metrics
