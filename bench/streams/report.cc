#include "report.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "process.h"

namespace strata::bench {
namespace {

// Widths of the table's first column and of the ratio lines' label, value and goal.
constexpr int name_width = 10;
constexpr int ratio_label_width = 66;
constexpr int ratio_value_width = 12;
constexpr int ratio_goal_width = 8;

std::optional<double> produce_mbps(const target_report* t) {
  if (t == nullptr || !t->produce_max) return std::nullopt;
  return t->produce_max->mb_per_s;
}
std::optional<double> consume_mbps(const target_report* t) {
  if (t == nullptr || !t->consume) return std::nullopt;
  return t->consume->mb_per_s;
}
std::optional<double> consume_streaming_mbps(const target_report* t) {
  if (t == nullptr || !t->consume || t->consume->streaming_mb_per_s <= 0) return std::nullopt;
  return t->consume->streaming_mb_per_s;
}
std::optional<double> half_p99_ms(const target_report* t) {
  if (t == nullptr || !t->produce_half) return std::nullopt;
  return t->produce_half->latency.p99_ms;
}

void print_row(std::FILE* out, const target_report& t) {
  const auto& pm = t.produce_max;
  const auto& ph = t.produce_half;
  const auto& c = t.consume;
  fmt::print(out, "{:<10} {:>9} {:>9} {:>8} {:>8} | {:>9} {:>8} {:>8} | {:>9} {:>9}\n", t.name,
             table_cell(pm, [](const produce_stats& s) { return s.mb_per_s; }, 1),
             table_cell(pm, [](const produce_stats& s) { return s.records_per_s; }, 0),
             table_cell(pm, [](const produce_stats& s) { return s.latency.p50_ms; }, 2),
             table_cell(pm, [](const produce_stats& s) { return s.latency.p99_ms; }, 2),
             table_cell(ph, [](const produce_stats& s) { return s.records_per_s; }, 0),
             table_cell(ph, [](const produce_stats& s) { return s.latency.p99_ms; }, 2),
             table_cell(ph, [](const produce_stats& s) { return s.sender_lag_max_ms; }, 2),
             table_cell(c, [](const consume_stats& s) { return s.mb_per_s; }, 1),
             table_cell(c, [](const consume_stats& s) { return s.records_per_s; }, 0));
}

std::string mib_label(uint64_t bytes) {
  return bytes % (1 << 20) == 0 ? fmt::format("{} MiB", bytes >> 20) : fmt::format("{} KiB", bytes >> 10);
}

// A raw Fetch read's row name: "raw 32 MiB".
std::string raw_row_name(const raw_fetch_stats& r) {
  return "raw " + mib_label(static_cast<uint64_t>(r.max_bytes));
}

// A raw Fetch read's row: only the consume columns.
void print_raw_row(std::FILE* out, const raw_fetch_stats& r) {
  fmt::print(out, "{:>10} {:>9} {:>9} {:>8} {:>8} | {:>9} {:>8} {:>8} | {:>9.1f} {:>9.0f}\n", raw_row_name(r), "", "",
             "", "", "", "", "", r.mb_per_s, r.records_per_s);
}

// Short names of the group-commit disk tests, for the ratio lines.
const char* sync_label(sync_write_mode mode) {
  switch (mode) {
    case sync_write_mode::buffered_append:
      return "buffered append";
    case sync_write_mode::direct_fallocated:
      return "O_DIRECT fallocated";
    case sync_write_mode::direct_overwrite:
      return "O_DIRECT overwrite";
  }
  return "?";
}

// Which client read the stream cold, per target.
std::string consumer_label(const std::string& target) {
  if (target == "strata") return "librdkafka simple consumer";
  if (target == "jetstream") return "ordered push consumer";
  if (target == "redis") return "XRANGE, 1000 per call";
  return "";
}

// Where a raw Fetch read's time went.
void print_raw_detail(std::FILE* out, const std::string& target, const raw_fetch_stats& r) {
  const double overhead =
      r.payload_bytes > 0 ? 100.0 * (static_cast<double>(r.record_set_bytes) / static_cast<double>(r.payload_bytes) - 1)
                          : 0;
  fmt::print(out,
             "{} {}: {} Fetch requests, {} batches, {:.1f} MB of record sets ({:.1f}% over the payload).\n"
             "  Of its {:.3f} s: {:.3f} s from sending each request to its response's first byte (the server reads "
             "and\n  assembles), {:.3f} s from first byte to last (the response crosses the socket), the rest "
             "connecting and parsing.\n",
             target, raw_row_name(r), r.requests, r.batches, static_cast<double>(r.record_set_bytes) / 1e6, overhead,
             r.seconds, r.wait_seconds, r.transfer_seconds);
}

// The cold reads' time split: time to the first record (client start-up and
// the first fetch) and streaming time (first to last record); for Strata
// also the raw Fetch client's, and where its time went.
void print_consume_split(std::FILE* out, const std::vector<target_report>& targets) {
  bool any = false;
  for (const auto& t : targets) {
    any = any || t.consume || !t.raw_consumes.empty();
  }
  if (!any) return;
  fmt::print(out, "\nCold consume time = to the first record (client start-up: connect, metadata, offset lookup; "
                  "and the first fetch)\n                  + streaming (first record to last):\n");
  fmt::print(out, "{:<10} {:<34} {:>9} {:>9} {:>9} {:>9} {:>11}\n", "target", "client", "MB/s", "total s", "first s",
             "stream s", "stream MB/s");
  for (const auto& t : targets) {
    if (t.consume) {
      const auto& c = *t.consume;
      fmt::print(out, "{:<10} {:<34} {:>9.1f} {:>9.3f} {:>9.3f} {:>9.3f} {:>11.1f}\n", t.name, consumer_label(t.name),
                 c.mb_per_s, c.seconds, c.first_record_seconds, c.streaming_seconds, c.streaming_mb_per_s);
    }
    for (const auto& r : t.raw_consumes) {
      fmt::print(out, "{:>10} {:<34} {:>9.1f} {:>9.3f} {:>9.3f} {:>9.3f} {:>11}\n", raw_row_name(r),
                 fmt::format("raw Fetch v11, {} per request", mib_label(static_cast<uint64_t>(r.max_bytes))),
                 r.mb_per_s, r.seconds, r.first_response_seconds, r.streaming_seconds,
                 r.streaming_mb_per_s > 0 ? fmt::format("{:.1f}", r.streaming_mb_per_s) : "-");
    }
  }
  for (const auto& t : targets) {
    for (const auto& r : t.raw_consumes) {
      print_raw_detail(out, t.name, r);
    }
  }
}

// The 1-minute load average, or -1 when /proc/loadavg cannot be read.
double load_average_1m() {
  double load = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) {
      load = -1;
    }
    std::fclose(f);
  }
  return load;
}

// The machine's own limits for the benchmarks' work: direct sequential disk
// writes in root, and loopback TCP (sizes in MiB).
machine_report measure_machine(uint64_t disk_test_mib, uint64_t loopback_test_mib, const std::string& root,
                               uint32_t sync_chunk_bytes) {
  constexpr uint32_t disk_block_bytes = 1 << 20;
  constexpr uint32_t loopback_chunk_bytes = 1 << 20;
  machine_report m;
  progress(fmt::format("machine: direct sequential write, {} MiB", disk_test_mib));
  auto disk = measure_disk_write(root, disk_test_mib << 20, disk_block_bytes);
  if (disk) {
    m.disk = *disk;
  } else {
    m.disk_error = disk.err().message;
  }
  if (sync_chunk_bytes > 0) {
    for (auto mode : {sync_write_mode::buffered_append, sync_write_mode::direct_fallocated,
                      sync_write_mode::direct_overwrite}) {
      progress(fmt::format("machine: {}, fdatasync every {} bytes, {} MiB", describe(mode), sync_chunk_bytes,
                           disk_test_mib));
      machine_report::sync_result r;
      r.mode = mode;
      auto synced = measure_sync_writes(root, disk_test_mib << 20, sync_chunk_bytes, mode);
      if (synced) {
        r.stats = *synced;
      } else {
        r.error = synced.err().message;
      }
      m.sync_writes.push_back(std::move(r));
    }
  }
  progress(fmt::format("machine: loopback TCP, {} MiB", loopback_test_mib));
  auto lo = measure_loopback_tcp(loopback_test_mib << 20, loopback_chunk_bytes);
  if (lo) {
    m.loopback = *lo;
  } else {
    m.loopback_error = lo.err().message;
  }
  return m;
}

// The run's temp dir, tmp_parent/<prefix>XXXXXX: made, removed on an interrupt
// unless keep_tmp, and reported. "" when it cannot be made, after printing why.
std::string make_run_dir(const std::string& tmp_parent, const std::string& prefix, bool keep_tmp) {
  std::string root = tmp_parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(root.data()) == nullptr) {
    fmt::print(stderr, "bench: cannot create a temp dir under {} (set --tmp-dir)\n", tmp_parent);
    return {};
  }
  install_interrupt_guard(keep_tmp ? std::string() : root);
  progress(fmt::format("working in {}", root));
  return root;
}

// At the end of a run: removes root, or reports that it is kept.
void end_run_dir(const std::string& root, bool keep_tmp) {
  if (keep_tmp) {
    progress(fmt::format("kept {}", root));
  } else {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
}

// Strata's produce MB/s against a group-commit disk test; an empty label
// when the run did not make that test.
ratio_line sync_ratio(const target_report* strata, const machine_report& machine, sync_write_mode mode) {
  for (const auto& r : machine.sync_writes) {
    if (r.mode == mode) {
      return make_ratio_line(fmt::format("produce MB/s, Strata / {} + fdatasync per window", sync_label(mode)),
                             percent(divide(produce_mbps(strata), r.stats ? std::optional(r.stats->mb_per_s)
                                                                          : std::nullopt)),
                             "%", "", {}, true);
    }
  }
  return ratio_line{};
}

}  // namespace

std::vector<ratio_line> compute_ratios(const std::vector<target_report>& targets, const machine_report& machine) {
  const target_report* strata = find_report(targets, "strata");
  const target_report* js = find_report(targets, "jetstream");
  const target_report* redis = find_report(targets, "redis");
  const std::optional<double> disk = machine.disk ? std::optional(machine.disk->mb_per_s) : std::nullopt;
  const std::optional<double> lo = machine.loopback ? std::optional(machine.loopback->mb_per_s) : std::nullopt;
  std::vector<ratio_line> lines{
      make_ratio_line("produce MB/s, Strata / JetStream", divide(produce_mbps(strata), produce_mbps(js)), "x",
                      ">= 3x", 3.0, true),
      make_ratio_line("produce MB/s, Strata / Redis", divide(produce_mbps(strata), produce_mbps(redis)), "x",
                      ">= 1.5x", 1.5, true),
      make_ratio_line("produce MB/s, Strata / direct disk write", percent(divide(produce_mbps(strata), disk)), "%",
                      ">= 60%", 60.0, true),
      sync_ratio(strata, machine, sync_write_mode::buffered_append),
      sync_ratio(strata, machine, sync_write_mode::direct_fallocated),
      sync_ratio(strata, machine, sync_write_mode::direct_overwrite),
      make_ratio_line("cold consume MB/s, Strata / JetStream", divide(consume_mbps(strata), consume_mbps(js)), "x",
                      "", {}, true),
      make_ratio_line("cold consume MB/s, Strata / Redis", divide(consume_mbps(strata), consume_mbps(redis)), "x",
                      "", {}, true),
      make_ratio_line("cold consume MB/s, Strata / loopback TCP", percent(divide(consume_mbps(strata), lo)), "%",
                      ">= 70%", 70.0, true),
      make_ratio_line("p99 produce latency at half load, Strata", half_p99_ms(strata), "ms", "<= 5 ms", 5.0, false),
      make_ratio_line("p99 at half load, Strata / JetStream (lower is better)",
                      divide(half_p99_ms(strata), half_p99_ms(js)), "x", "", {}, true),
      make_ratio_line("p99 at half load, Strata / Redis (lower is better)",
                      divide(half_p99_ms(strata), half_p99_ms(redis)), "x", "", {}, true),
  };
  // The server-bound reads, after Strata's cold consume line.
  auto at = std::find_if(lines.begin(), lines.end(), [](const ratio_line& l) {
    return l.label == "cold consume MB/s, Strata / loopback TCP";
  });
  std::vector<ratio_line> raw_lines{
      make_ratio_line("cold consume, librdkafka first-to-last-record MB/s / loopback",
                      percent(divide(consume_streaming_mbps(strata), lo)), "%", "", {}, true)};
  if (strata != nullptr) {
    for (const auto& r : strata->raw_consumes) {
      const std::string size = mib_label(static_cast<uint64_t>(r.max_bytes));
      raw_lines.push_back(make_ratio_line(
          fmt::format("cold consume MB/s, raw Fetch {} (server-bound) / loopback", size),
          percent(divide(r.mb_per_s, lo)), "%", ">= 70%", 70.0, true));
      raw_lines.push_back(make_ratio_line(fmt::format("cold consume MB/s, librdkafka / raw Fetch {}", size),
                                          divide(consume_mbps(strata), r.mb_per_s), "x", "", {}, true));
    }
  }
  lines.insert(at == lines.end() ? at : at + 1, raw_lines.begin(), raw_lines.end());
  // The group-commit disk tests only when the run made them.
  std::erase_if(lines, [](const ratio_line& l) { return l.label.empty(); });
  return lines;
}

void print_report(std::FILE* out, const run_info& run, const machine_report& machine,
                  const std::vector<target_report>& targets) {
  fmt::print(out, "\nStreams benchmark: {} records x {} B, window {} in flight, 1 partition/stream, 1 producer\n",
             run.records, run.record_bytes, run.window);
  fmt::print(out, "MB = 10^6 bytes of record payload. Latency: send to ack, per record.\n");
  print_load_average(out, run.load_avg_1m);
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
    for (const auto& r : t.raw_consumes) {
      print_raw_row(out, r);
    }
  }
  print_machine_rows(out, machine, name_width);
  for (const auto& t : targets) {
    if (!t.raw_consumes.empty()) {
      fmt::print(out, "raw N MiB: {}'s stream read again by the benchmark's raw Fetch client, N MiB per request (no "
                      "client library,\n  no record decoding): server-bound. librdkafka's consumer asks for 1 MiB per "
                      "partition.\n", t.name);
    }
  }
  print_consume_split(out, targets);

  fmt::print(out, "\nDurability of an acknowledgement:\n");
  for (const auto& t : targets) {
    fmt::print(out, "  {:<{}} {}\n", t.name, name_width, t.durability);
  }
  print_not_measured(out, targets, name_width);

  fmt::print(out, "\nStrata against peers and the machine (goals from docs/performance.md):\n");
  print_ratio_lines(out, compute_ratios(targets, machine), ratio_label_width, ratio_value_width,
                    ratio_goal_width);
}

int run_bench(const std::string& tmp_parent, const std::string& dir_prefix, bool keep_tmp, uint64_t disk_test_mib,
              uint64_t loopback_test_mib, const std::function<bool(const bench_frame&)>& body,
              uint32_t sync_chunk_bytes) {
  bench_frame frame;
  frame.root = make_run_dir(tmp_parent, dir_prefix, keep_tmp);
  if (frame.root.empty()) {
    return 2;
  }
  frame.load_avg_1m = load_average_1m();
  frame.machine = measure_machine(disk_test_mib, loopback_test_mib, frame.root, sync_chunk_bytes);
  const bool failed = body(frame);
  std::fflush(stdout);
  end_run_dir(frame.root, keep_tmp);
  return failed ? 1 : 0;
}

void progress(const std::string& what) { fmt::print(stderr, "[bench] {}\n", what); }

std::optional<double> divide(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b <= 0) return std::nullopt;
  return *a / *b;
}

std::optional<double> percent(std::optional<double> ratio) {
  return ratio ? std::optional(*ratio * 100) : std::nullopt;
}

ratio_line make_ratio_line(std::string label, std::optional<double> value, std::string unit, std::string goal,
                           std::optional<double> bound, bool at_least) {
  ratio_line l{std::move(label), value, std::move(unit), std::move(goal), std::nullopt};
  if (value && bound) {
    l.met = at_least ? *value >= *bound : *value <= *bound;
  }
  return l;
}

std::string table_cell(std::optional<double> value, int precision) {
  return value ? fmt::format("{:.{}f}", *value, precision) : "-";
}

void print_load_average(std::FILE* out, double load_avg_1m) {
  if (load_avg_1m >= 0) {
    fmt::print(out, "Load average at start: {:.2f}{}\n", load_avg_1m,
               load_avg_1m >= 1.0 ? " (the machine was busy: figures are noisy; rerun when it is idle)" : "");
  }
}

void print_machine_rows(std::FILE* out, const machine_report& machine, int name_width) {
  if (machine.disk) {
    fmt::print(out, "{:<{}} {:>9.1f}   direct sequential write ({} MiB in 1 MiB writes{} + fdatasync)\n", "disk",
               name_width, machine.disk->mb_per_s, machine.disk->bytes >> 20,
               machine.disk->direct ? ", O_DIRECT" : ", buffered");
  } else {
    fmt::print(out, "{:<{}} {:>9}   disk test failed: {}\n", "disk", name_width, "-", machine.disk_error);
  }
  for (const auto& r : machine.sync_writes) {
    if (r.stats) {
      const auto& st = *r.stats;
      fmt::print(out,
                 "{:<{}} {:>9.1f}   {}{}, fdatasync every {} ({} rounds; a round's p50 {:.2f} ms, p99 {:.2f} ms)\n",
                 "disk", name_width, st.mb_per_s, describe(r.mode),
                 r.mode != sync_write_mode::buffered_append && !st.direct ? " (O_DIRECT refused: buffered)" : "",
                 mib_label(st.chunk_bytes), st.rounds, st.round_p50_ms, st.round_p99_ms);
    } else {
      fmt::print(out, "{:<{}} {:>9}   {} test failed: {}\n", "disk", name_width, "-", describe(r.mode), r.error);
    }
  }
  if (machine.loopback) {
    fmt::print(out, "{:<{}} {:>9.1f}   loopback TCP, one connection ({} MiB)\n", "loopback", name_width,
               machine.loopback->mb_per_s, machine.loopback->bytes >> 20);
  } else {
    fmt::print(out, "{:<{}} {:>9}   loopback test failed: {}\n", "loopback", name_width, "-",
               machine.loopback_error);
  }
}

bool print_not_measured_note(std::FILE* out, const std::string& name, const std::string& skipped,
                             const std::string& failure, int name_width, bool heading_printed) {
  const std::string& why = !skipped.empty() ? skipped : failure;
  if (why.empty()) {
    return heading_printed;
  }
  if (!heading_printed) {
    fmt::print(out, "\nNot measured:\n");
  }
  const std::string first_line = why.substr(0, why.find('\n'));
  fmt::print(out, "  {:<{}} {}\n", name, name_width,
             !skipped.empty() ? "skipped: " + first_line : "FAILED: " + first_line);
  return true;
}

void print_ratio_lines(std::FILE* out, const std::vector<ratio_line>& lines, int label_width, int value_width,
                       int goal_width) {
  for (const auto& l : lines) {
    const std::string value = l.value ? fmt::format("{:.2f} {}", *l.value, l.unit) : "n/a";
    const std::string verdict = !l.met ? "" : *l.met ? "met" : "MISSED";
    fmt::print(out, "  {:<{}} {:>{}}  {:<{}} {}\n", l.label, label_width, value, value_width, l.goal, goal_width,
               verdict);
  }
}

}  // namespace strata::bench
