#include "cluster_report.h"

#include <algorithm>

#include <fmt/format.h>

namespace strata::bench {
namespace {

// Widths of the table's first column and of the ratio lines' label, value and goal.
constexpr int name_width = 16;
constexpr int ratio_label_width = 66;
constexpr int ratio_value_width = 16;
constexpr int ratio_goal_width = 10;

std::optional<double> produce_mbps(const system_report* s) {
  if (s == nullptr || !s->produce) return std::nullopt;
  return s->produce->mb_per_s;
}
std::optional<double> p99_ms(const system_report* s) {
  if (s == nullptr || !s->produce) return std::nullopt;
  return s->produce->latency.p99_ms;
}
std::optional<double> failover(const system_report* s) {
  if (s == nullptr) return std::nullopt;
  return s->failover_ms;
}
// Core-seconds the whole machine spent per GB (10^9 bytes) of payload produced.
std::optional<double> cpu_per_gb(const system_report* s) {
  if (s == nullptr || !s->produce || !s->produce_cpu || s->produce->payload_bytes == 0) return std::nullopt;
  return s->produce_cpu->busy_core_seconds / (static_cast<double>(s->produce->payload_bytes) / 1e9);
}
std::optional<double> lost(const system_report* s) {
  if (s == nullptr || !s->loss) return std::nullopt;
  return static_cast<double>(s->loss->lost);
}

}  // namespace

std::optional<double> failover_ms(const std::vector<int64_t>& ack_times_ns, int64_t kill_ns) {
  std::vector<int64_t> after;
  for (int64_t t : ack_times_ns) {
    if (t >= 0 && t > kill_ns) {
      after.push_back(t);
    }
  }
  if (after.empty()) {
    return std::nullopt;
  }
  std::sort(after.begin(), after.end());
  int64_t prev = kill_ns;
  int64_t best_gap = -1;
  int64_t resumed = after.front();
  for (int64_t t : after) {
    if (t - prev > best_gap) {
      best_gap = t - prev;
      resumed = t;
    }
    prev = t;
  }
  return static_cast<double>(resumed - kill_ns) / 1e6;
}

std::vector<ratio_line> compute_cluster_ratios(const std::vector<system_report>& systems,
                                               const machine_report& machine) {
  const system_report* rf3 = find_report(systems, "strata-rf3");
  const system_report* js = find_report(systems, "jetstream-r3");
  const system_report* single = find_report(systems, "strata-single");
  const system_report* single_x3 = find_report(systems, "strata-single-x3");
  const std::optional<double> disk = machine.disk ? std::optional(machine.disk->mb_per_s) : std::nullopt;
  return {
      make_ratio_line("produce MB/s, Strata RF3 / JetStream R3", divide(produce_mbps(rf3), produce_mbps(js)), "x",
                      ">= 2x", 2.0, true),
      make_ratio_line("produce MB/s, Strata RF3 / Strata single node",
                      percent(divide(produce_mbps(rf3), produce_mbps(single))), "%", ">= 60%", 60.0, true),
      make_ratio_line("produce MB/s, Strata RF3 / three single nodes at once (machine limit)",
                      percent(divide(produce_mbps(rf3), produce_mbps(single_x3))), "%", "", {}, true),
      make_ratio_line("produce MB/s, three single nodes at once / one single node",
                      percent(divide(produce_mbps(single_x3), produce_mbps(single))), "%", "", {}, true),
      make_ratio_line("CPU per MB, Strata single node / Strata RF3 (RF3's share of single-node MB/s on a busy machine)",
                      percent(divide(cpu_per_gb(single), cpu_per_gb(rf3))), "%", "", {}, true),
      make_ratio_line("produce MB/s, Strata RF3 / direct disk write", percent(divide(produce_mbps(rf3), disk)), "%",
                      "", {}, true),
      make_ratio_line("p99 produce latency, Strata RF3 / JetStream R3 (lower is better)",
                      divide(p99_ms(rf3), p99_ms(js)), "x", "", {}, true),
      make_ratio_line("failover after kill -9 of the leader, Strata RF3", failover(rf3), "ms", "< 2000 ms", 2000.0,
                      false),
      make_ratio_line("failover after kill -9 of the leader, JetStream R3", failover(js), "ms", "", {}, false),
      make_ratio_line("acknowledged then lost, Strata RF3", lost(rf3), "records", "0", 0.0, false),
      make_ratio_line("acknowledged then lost, Strata single node", lost(single), "records", "0", 0.0, false),
      make_ratio_line("acknowledged then lost, JetStream R3", lost(js), "records", "", {}, false),
  };
}

void print_cluster_report(std::FILE* out, const cluster_run_info& run, const machine_report& machine,
                          const std::vector<system_report>& systems) {
  fmt::print(out, "\nCluster benchmark: {} records x {} B at max load, window {} in flight, 1 partition/stream, "
                  "1 producer\n",
             run.records, run.record_bytes, run.window);
  fmt::print(out, "MB = 10^6 bytes of record payload. Latency: send to ack, per record. busy%: every core of the "
                  "machine during the max-load run; core-s/GB: the CPU seconds all processes spent per GB produced.\n");
  print_load_average(out, run.load_avg_1m);
  fmt::print(out,
             "Failover: a {:.0f} s run paced at {:.0f}% of the system's own max; kill -9 of the stream's leader at a "
             "third; failover = kill until acks resume.\n",
             run.failover_seconds, run.failover_rate_fraction * 100);
  fmt::print(out, "Lost: acknowledged records a full read-back (every stream, after the kill) did not find. "
                  "Strata lease TTL {} ms.\n\n",
             run.session_ttl_ms);

  fmt::print(out, "{:<16} {:>9} {:>9} {:>8} {:>8} {:>6} {:>9} | {:>11} | {:>9} {:>6} {:>6}\n", "system", "MB/s",
             "rec/s", "p50 ms", "p99 ms", "busy%", "core-s/GB", "failover ms", "acked", "lost", "dup");
  for (const auto& s : systems) {
    const auto& p = s.produce;
    fmt::print(out, "{:<16} {:>9} {:>9} {:>8} {:>8} {:>6} {:>9} | {:>11} | {:>9} {:>6} {:>6}\n", s.name,
               table_cell(p, [](const produce_stats& ps) { return ps.mb_per_s; }, 1),
               table_cell(p, [](const produce_stats& ps) { return ps.records_per_s; }, 0),
               table_cell(p, [](const produce_stats& ps) { return ps.latency.p50_ms; }, 2),
               table_cell(p, [](const produce_stats& ps) { return ps.latency.p99_ms; }, 2),
               table_cell(s.produce_cpu, [](const cpu_usage& c) { return c.busy_fraction * 100; }, 0),
               table_cell(cpu_per_gb(&s), 1),
               s.failover_run ? table_cell(s.failover_ms, 0) : "n/a",
               s.loss ? fmt::format("{}", s.loss->acked) : "-", s.loss ? fmt::format("{}", s.loss->lost) : "-",
               s.loss ? fmt::format("{}", s.loss->duplicates) : "-");
  }
  print_machine_rows(out, machine, name_width);

  fmt::print(out, "\nSetup and durability of an acknowledgement:\n");
  for (const auto& s : systems) {
    fmt::print(out, "  {:<16} {}\n  {:<16} {}\n", s.name, s.setup, "", s.durability);
    if (!s.failover_note.empty()) {
      fmt::print(out, "  {:<16} failover: {}\n", "", s.failover_note);
    }
  }
  print_not_measured(out, systems, name_width);

  fmt::print(out, "\nStrata RF3 against JetStream R3, one Strata node and the goals:\n");
  print_ratio_lines(out, compute_cluster_ratios(systems, machine), ratio_label_width, ratio_value_width,
                    ratio_goal_width);
}

}  // namespace strata::bench
