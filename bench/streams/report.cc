#include "report.h"

#include <fmt/format.h>

namespace strata::bench {
namespace {

const target_report* find(const std::vector<target_report>& targets, const std::string& name) {
  for (const auto& t : targets) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

std::optional<double> produce_mbps(const target_report* t) {
  if (t == nullptr || !t->produce_max) return std::nullopt;
  return t->produce_max->mb_per_s;
}
std::optional<double> consume_mbps(const target_report* t) {
  if (t == nullptr || !t->consume) return std::nullopt;
  return t->consume->mb_per_s;
}
std::optional<double> half_p99_ms(const target_report* t) {
  if (t == nullptr || !t->produce_half) return std::nullopt;
  return t->produce_half->latency.p99_ms;
}

std::optional<double> divide(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b <= 0) return std::nullopt;
  return *a / *b;
}

// at_least: the goal is value >= bound (else value <= bound).
ratio_line line(std::string label, std::optional<double> value, std::string unit, std::string goal,
                std::optional<double> bound, bool at_least) {
  ratio_line l{std::move(label), value, std::move(unit), std::move(goal), std::nullopt};
  if (value && bound) {
    l.met = at_least ? *value >= *bound : *value <= *bound;
  }
  return l;
}

// A table cell: get(*stats) with `precision` decimals, or "-" when absent.
template <class Stats, class Get>
std::string cell(const std::optional<Stats>& stats, Get get, int precision) {
  return stats ? fmt::format("{:.{}f}", get(*stats), precision) : "-";
}

void print_row(std::FILE* out, const target_report& t) {
  const auto& pm = t.produce_max;
  const auto& ph = t.produce_half;
  const auto& c = t.consume;
  fmt::print(out, "{:<10} {:>9} {:>9} {:>8} {:>8} | {:>9} {:>8} {:>8} | {:>9} {:>9}\n", t.name,
             cell(pm, [](const produce_stats& s) { return s.mb_per_s; }, 1),
             cell(pm, [](const produce_stats& s) { return s.records_per_s; }, 0),
             cell(pm, [](const produce_stats& s) { return s.latency.p50_ms; }, 2),
             cell(pm, [](const produce_stats& s) { return s.latency.p99_ms; }, 2),
             cell(ph, [](const produce_stats& s) { return s.records_per_s; }, 0),
             cell(ph, [](const produce_stats& s) { return s.latency.p99_ms; }, 2),
             cell(ph, [](const produce_stats& s) { return s.sender_lag_max_ms; }, 2),
             cell(c, [](const consume_stats& s) { return s.mb_per_s; }, 1),
             cell(c, [](const consume_stats& s) { return s.records_per_s; }, 0));
}

}  // namespace

std::vector<ratio_line> compute_ratios(const std::vector<target_report>& targets, const machine_report& machine) {
  const target_report* strata = find(targets, "strata");
  const target_report* js = find(targets, "jetstream");
  const target_report* redis = find(targets, "redis");
  const std::optional<double> disk = machine.disk ? std::optional(machine.disk->mb_per_s) : std::nullopt;
  const std::optional<double> lo = machine.loopback ? std::optional(machine.loopback->mb_per_s) : std::nullopt;
  auto percent = [](std::optional<double> r) { return r ? std::optional(*r * 100) : std::nullopt; };
  return {
      line("produce MB/s, Strata / JetStream", divide(produce_mbps(strata), produce_mbps(js)), "x", ">= 3x", 3.0, true),
      line("produce MB/s, Strata / Redis", divide(produce_mbps(strata), produce_mbps(redis)), "x", ">= 1.5x", 1.5, true),
      line("produce MB/s, Strata / direct disk write", percent(divide(produce_mbps(strata), disk)), "%", ">= 60%",
           60.0, true),
      line("cold consume MB/s, Strata / JetStream", divide(consume_mbps(strata), consume_mbps(js)), "x", "", {}, true),
      line("cold consume MB/s, Strata / Redis", divide(consume_mbps(strata), consume_mbps(redis)), "x", "", {}, true),
      line("cold consume MB/s, Strata / loopback TCP", percent(divide(consume_mbps(strata), lo)), "%", ">= 70%", 70.0,
           true),
      line("p99 produce latency at half load, Strata", half_p99_ms(strata), "ms", "<= 5 ms", 5.0, false),
      line("p99 at half load, Strata / JetStream (lower is better)", divide(half_p99_ms(strata), half_p99_ms(js)), "x",
           "", {}, true),
      line("p99 at half load, Strata / Redis (lower is better)", divide(half_p99_ms(strata), half_p99_ms(redis)), "x",
           "", {}, true),
  };
}

void print_report(std::FILE* out, const run_info& run, const machine_report& machine,
                  const std::vector<target_report>& targets) {
  fmt::print(out, "\nStreams benchmark: {} records x {} B, window {} in flight, 1 partition/stream, 1 producer\n",
             run.records, run.record_bytes, run.window);
  fmt::print(out, "MB = 10^6 bytes of record payload. Latency: send to ack, per record.\n");
  if (run.load_avg_1m >= 0) {
    fmt::print(out, "Load average at start: {:.2f}{}\n", run.load_avg_1m,
               run.load_avg_1m >= 1.0 ? " (the machine was busy: figures are noisy; rerun when it is idle)" : "");
  }
  fmt::print(out, "Half load: {:.0f} s (at most {} records) paced at {:.0f}% of each target's own max records/s.\n",
             run.half_load_seconds, run.records, run.half_load_fraction * 100);
  fmt::print(out, "lag ms: how far the paced sender fell behind schedule at worst (counted in the latency).\n");
  fmt::print(out, "Cold consume: a new consumer reads all {} records from the start{}.\n\n", run.records,
             run.restart_before_consume ? ", after a server restart" : "");

  fmt::print(out, "{:<10} {:>9} {:>9} {:>8} {:>8} | {:>9} {:>8} {:>8} | {:>9} {:>9}\n", "", "produce", "", "", "",
             "half load", "", "", "consume", "");
  fmt::print(out, "{:<10} {:>9} {:>9} {:>8} {:>8} | {:>9} {:>8} {:>8} | {:>9} {:>9}\n", "target", "MB/s", "rec/s",
             "p50 ms", "p99 ms", "rec/s", "p99 ms", "lag ms", "MB/s", "rec/s");
  for (const auto& t : targets) {
    print_row(out, t);
  }
  if (machine.disk) {
    fmt::print(out, "{:<10} {:>9.1f}   direct sequential write ({} MiB in 1 MiB writes{} + fdatasync)\n", "disk",
               machine.disk->mb_per_s, machine.disk->bytes >> 20, machine.disk->direct ? ", O_DIRECT" : ", buffered");
  } else {
    fmt::print(out, "{:<10} {:>9}   disk test failed: {}\n", "disk", "-", machine.disk_error);
  }
  if (machine.loopback) {
    fmt::print(out, "{:<10} {:>9.1f}   loopback TCP, one connection ({} MiB)\n", "loopback",
               machine.loopback->mb_per_s, machine.loopback->bytes >> 20);
  } else {
    fmt::print(out, "{:<10} {:>9}   loopback test failed: {}\n", "loopback", "-", machine.loopback_error);
  }

  fmt::print(out, "\nDurability of an acknowledgement:\n");
  for (const auto& t : targets) {
    fmt::print(out, "  {:<10} {}\n", t.name, t.durability);
  }
  bool notes = false;
  for (const auto& t : targets) {
    const std::string& why = !t.skipped.empty() ? t.skipped : t.failure;
    if (!why.empty()) {
      if (!notes) fmt::print(out, "\nNot measured:\n");
      notes = true;
      const std::string first_line = why.substr(0, why.find('\n'));
      fmt::print(out, "  {:<10} {}\n", t.name, !t.skipped.empty() ? "skipped: " + first_line : "FAILED: " + first_line);
    }
  }

  fmt::print(out, "\nStrata against peers and the machine (goals from docs/performance.md):\n");
  for (const auto& l : compute_ratios(targets, machine)) {
    const std::string value = l.value ? fmt::format("{:.2f} {}", *l.value, l.unit) : "n/a";
    const std::string verdict = !l.met ? "" : *l.met ? "met" : "MISSED";
    fmt::print(out, "  {:<56} {:>12}  {:<8} {}\n", l.label, value, l.goal, verdict);
  }
}

}  // namespace strata::bench
