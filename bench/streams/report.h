// The benchmark's output: one table of every target's figures, the machine's
// limits, then Strata's ratios against the peers and the brief's targets.
// Also what bench/cluster shares of it: the run's frame (temp dir, load
// average, machine tests) and the pieces of a report (ratio lines, cells,
// machine rows, notes).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "consume_meter.h"
#include "machine_limits.h"
#include "produce_driver.h"
#include "raw_fetch.h"

namespace strata::bench {

struct run_info {
  uint32_t record_bytes = 0;
  uint64_t records = 0;
  uint32_t window = 0;
  double half_load_seconds = 0;
  double half_load_fraction = 0;
  bool restart_before_consume = false;
  double load_avg_1m = -1;  // at the start of the run; < 0 if unknown
};

struct target_report {
  std::string name;  // "strata", "jetstream", "redis"
  std::string durability;
  std::string skipped;  // why the target did not run, if it did not
  std::string failure;  // what went wrong part-way, if anything
  std::optional<produce_stats> produce_max;
  double half_load_rate = 0;  // records/s asked for in the latency run
  std::optional<produce_stats> produce_half;
  std::optional<consume_stats> consume;
  // Strata only: the same cold read again by the benchmark's raw Fetch
  // client (server-bound), once per request size, smallest first.
  std::vector<raw_fetch_stats> raw_consumes;
};

struct machine_report {
  std::optional<disk_write_stats> disk;
  std::string disk_error;
  std::optional<loopback_stats> loopback;
  std::string loopback_error;
  // Group-commit disk tests (sync_write_mode order), when the run made them;
  // an empty error and no stats: not run.
  struct sync_result {
    sync_write_mode mode = sync_write_mode::buffered_append;
    std::optional<sync_write_stats> stats;
    std::string error;
  };
  std::vector<sync_result> sync_writes;
};

// What a benchmark's run works with: its temp dir, the load average at the
// start (< 0 if unknown) and the machine's limits.
struct bench_frame {
  std::string root;
  double load_avg_1m = -1;
  machine_report machine;
};

// A benchmark's run: makes the temp dir tmp_parent/<dir_prefix>XXXXXX (removed
// on an interrupt unless keep_tmp), reads the load average, measures the
// machine, calls body, which runs every system, prints the report and returns
// whether any failed; then removes or keeps the temp dir. Returns the exit
// code: 2 without a temp dir, 1 when body saw a failure, else 0.
// sync_chunk_bytes > 0 also measures the group-commit disk tests
// (measure_sync_writes, every mode, disk_test_mib in chunks of that size).
int run_bench(const std::string& tmp_parent, const std::string& dir_prefix, bool keep_tmp, uint64_t disk_test_mib,
              uint64_t loopback_test_mib, const std::function<bool(const bench_frame&)>& body,
              uint32_t sync_chunk_bytes = 0);

// Whether any report has a failure.
template <class Report>
bool any_failed(const std::vector<Report>& reports) {
  for (const auto& r : reports) {
    if (!r.failure.empty()) {
      return true;
    }
  }
  return false;
}

// A "[bench] ..." progress line on stderr.
void progress(const std::string& what);

// One line under the table: a ratio or figure, and the brief's target for it.
struct ratio_line {
  std::string label;
  std::optional<double> value;  // nullopt: a side is missing
  std::string unit;             // "x", "%", "ms"
  std::string goal;             // "" when the brief sets none
  std::optional<bool> met;      // nullopt when there is no goal or no value
};

// The pieces both benchmarks' reports (this one and bench/cluster's) are made of.

// The report named `name` in reports, or nullptr.
template <class Report>
const Report* find_report(const std::vector<Report>& reports, const std::string& name) {
  for (const auto& r : reports) {
    if (r.name == name) {
      return &r;
    }
  }
  return nullptr;
}

// a / b; nullopt when a side is missing or b is not positive.
std::optional<double> divide(std::optional<double> a, std::optional<double> b);

// A ratio in percent.
std::optional<double> percent(std::optional<double> ratio);

// at_least: the goal is value >= bound (else value <= bound); no bound: no goal.
ratio_line make_ratio_line(std::string label, std::optional<double> value, std::string unit, std::string goal,
                           std::optional<double> bound, bool at_least);

// A table cell: value with `precision` decimals, or "-" when absent.
std::string table_cell(std::optional<double> value, int precision);

// A table cell: get(*stats) with `precision` decimals, or "-" when absent.
template <class Stats, class Get>
std::string table_cell(const std::optional<Stats>& stats, Get get, int precision) {
  return table_cell(stats ? std::optional<double>(get(*stats)) : std::nullopt, precision);
}

// "Load average at start: ..." when it is known (load_avg_1m >= 0).
void print_load_average(std::FILE* out, double load_avg_1m);

// The disk and loopback rows under the table; name_width as the table's first column.
void print_machine_rows(std::FILE* out, const machine_report& machine, int name_width);

// One "Not measured:" note: the first line of why `name` was skipped or failed,
// nothing when neither. Prints the heading first unless heading_printed.
// Returns whether the heading is printed now.
bool print_not_measured_note(std::FILE* out, const std::string& name, const std::string& skipped,
                             const std::string& failure, int name_width, bool heading_printed);

// "Not measured:" and a note for every report skipped or failed, nothing when none.
template <class Report>
void print_not_measured(std::FILE* out, const std::vector<Report>& reports, int name_width) {
  bool heading_printed = false;
  for (const auto& r : reports) {
    heading_printed = print_not_measured_note(out, r.name, r.skipped, r.failure, name_width, heading_printed);
  }
}

// The ratio lines: label, value and unit, goal, verdict, in columns this wide.
void print_ratio_lines(std::FILE* out, const std::vector<ratio_line>& lines, int label_width, int value_width,
                       int goal_width);

std::vector<ratio_line> compute_ratios(const std::vector<target_report>& targets, const machine_report& machine);

void print_report(std::FILE* out, const run_info& run, const machine_report& machine,
                  const std::vector<target_report>& targets);

}  // namespace strata::bench
