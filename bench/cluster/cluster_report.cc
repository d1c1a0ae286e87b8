#include "cluster_report.h"

#include <algorithm>

#include <fmt/format.h>

namespace strata::bench {
namespace {

const system_report* find(const std::vector<system_report>& systems, const std::string& name) {
  for (const auto& s : systems) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

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
std::optional<double> lost(const system_report* s) {
  if (s == nullptr || !s->loss) return std::nullopt;
  return static_cast<double>(s->loss->lost);
}

std::optional<double> divide(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b <= 0) return std::nullopt;
  return *a / *b;
}

// at_least: the goal is value >= bound (else value <= bound); no bound: no goal.
ratio_line line(std::string label, std::optional<double> value, std::string unit, std::string goal,
                std::optional<double> bound, bool at_least) {
  ratio_line l{std::move(label), value, std::move(unit), std::move(goal), std::nullopt};
  if (value && bound) {
    l.met = at_least ? *value >= *bound : *value <= *bound;
  }
  return l;
}

std::string num(const std::optional<double>& v, int precision) {
  return v ? fmt::format("{:.{}f}", *v, precision) : "-";
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
  const system_report* rf3 = find(systems, "strata-rf3");
  const system_report* js = find(systems, "jetstream-r3");
  const system_report* single = find(systems, "strata-single");
  const std::optional<double> disk = machine.disk ? std::optional(machine.disk->mb_per_s) : std::nullopt;
  auto percent = [](std::optional<double> r) { return r ? std::optional(*r * 100) : std::nullopt; };
  return {
      line("produce MB/s, Strata RF3 / JetStream R3", divide(produce_mbps(rf3), produce_mbps(js)), "x", ">= 2x",
           2.0, true),
      line("produce MB/s, Strata RF3 / Strata single node", percent(divide(produce_mbps(rf3), produce_mbps(single))),
           "%", ">= 60%", 60.0, true),
      line("produce MB/s, Strata RF3 / direct disk write", percent(divide(produce_mbps(rf3), disk)), "%", "", {},
           true),
      line("p99 produce latency, Strata RF3 / JetStream R3 (lower is better)", divide(p99_ms(rf3), p99_ms(js)), "x",
           "", {}, true),
      line("failover after kill -9 of the leader, Strata RF3", failover(rf3), "ms", "< 2000 ms", 2000.0, false),
      line("failover after kill -9 of the leader, JetStream R3", failover(js), "ms", "", {}, false),
      line("acknowledged then lost, Strata RF3", lost(rf3), "records", "0", 0.0, false),
      line("acknowledged then lost, Strata single node", lost(single), "records", "0", 0.0, false),
      line("acknowledged then lost, JetStream R3", lost(js), "records", "", {}, false),
  };
}

void print_cluster_report(std::FILE* out, const cluster_run_info& run, const machine_report& machine,
                          const std::vector<system_report>& systems) {
  fmt::print(out, "\nCluster benchmark: {} records x {} B at max load, window {} in flight, 1 partition/stream, "
                  "1 producer\n",
             run.records, run.record_bytes, run.window);
  fmt::print(out, "MB = 10^6 bytes of record payload. Latency: send to ack, per record.\n");
  if (run.load_avg_1m >= 0) {
    fmt::print(out, "Load average at start: {:.2f}{}\n", run.load_avg_1m,
               run.load_avg_1m >= 1.0 ? " (the machine was busy: figures are noisy; rerun when it is idle)" : "");
  }
  fmt::print(out,
             "Failover: a {:.0f} s run paced at {:.0f}% of the system's own max; kill -9 of the stream's leader at a "
             "third; failover = kill until acks resume.\n",
             run.failover_seconds, run.failover_rate_fraction * 100);
  fmt::print(out, "Lost: acknowledged records a full read-back (every stream, after the kill) did not find. "
                  "Strata lease TTL {} ms.\n\n",
             run.session_ttl_ms);

  fmt::print(out, "{:<14} {:>9} {:>9} {:>8} {:>8} | {:>11} | {:>9} {:>6} {:>6}\n", "system", "MB/s", "rec/s",
             "p50 ms", "p99 ms", "failover ms", "acked", "lost", "dup");
  for (const auto& s : systems) {
    const auto& p = s.produce;
    fmt::print(out, "{:<14} {:>9} {:>9} {:>8} {:>8} | {:>11} | {:>9} {:>6} {:>6}\n", s.name,
               num(p ? std::optional(p->mb_per_s) : std::nullopt, 1),
               num(p ? std::optional(p->records_per_s) : std::nullopt, 0),
               num(p ? std::optional(p->latency.p50_ms) : std::nullopt, 2),
               num(p ? std::optional(p->latency.p99_ms) : std::nullopt, 2),
               s.failover_run ? num(s.failover_ms, 0) : "n/a",
               s.loss ? fmt::format("{}", s.loss->acked) : "-", s.loss ? fmt::format("{}", s.loss->lost) : "-",
               s.loss ? fmt::format("{}", s.loss->duplicates) : "-");
  }
  if (machine.disk) {
    fmt::print(out, "{:<14} {:>9.1f}   direct sequential write ({} MiB in 1 MiB writes{} + fdatasync)\n", "disk",
               machine.disk->mb_per_s, machine.disk->bytes >> 20, machine.disk->direct ? ", O_DIRECT" : ", buffered");
  } else {
    fmt::print(out, "{:<14} {:>9}   disk test failed: {}\n", "disk", "-", machine.disk_error);
  }
  if (machine.loopback) {
    fmt::print(out, "{:<14} {:>9.1f}   loopback TCP, one connection ({} MiB)\n", "loopback",
               machine.loopback->mb_per_s, machine.loopback->bytes >> 20);
  } else {
    fmt::print(out, "{:<14} {:>9}   loopback test failed: {}\n", "loopback", "-", machine.loopback_error);
  }

  fmt::print(out, "\nSetup and durability of an acknowledgement:\n");
  for (const auto& s : systems) {
    fmt::print(out, "  {:<14} {}\n  {:<14} {}\n", s.name, s.setup, "", s.durability);
    if (!s.failover_note.empty()) {
      fmt::print(out, "  {:<14} failover: {}\n", "", s.failover_note);
    }
  }
  bool notes = false;
  for (const auto& s : systems) {
    const std::string& why = !s.skipped.empty() ? s.skipped : s.failure;
    if (!why.empty()) {
      if (!notes) fmt::print(out, "\nNot measured:\n");
      notes = true;
      const std::string first_line = why.substr(0, why.find('\n'));
      fmt::print(out, "  {:<14} {}\n", s.name, !s.skipped.empty() ? "skipped: " + first_line : "FAILED: " + first_line);
    }
  }

  fmt::print(out, "\nStrata RF3 against JetStream R3, one Strata node and the goals:\n");
  for (const auto& l : compute_cluster_ratios(systems, machine)) {
    const std::string value = l.value ? fmt::format("{:.2f} {}", *l.value, l.unit) : "n/a";
    const std::string verdict = !l.met ? "" : *l.met ? "met" : "MISSED";
    fmt::print(out, "  {:<66} {:>16}  {:<10} {}\n", l.label, value, l.goal, verdict);
  }
}

}  // namespace strata::bench
