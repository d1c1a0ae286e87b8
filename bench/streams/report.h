// The benchmark's output: one table of every target's figures, the machine's
// limits, then Strata's ratios against the peers and the brief's targets.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "consume_meter.h"
#include "machine_limits.h"
#include "produce_driver.h"

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
};

struct machine_report {
  std::optional<disk_write_stats> disk;
  std::string disk_error;
  std::optional<loopback_stats> loopback;
  std::string loopback_error;
};

// One line under the table: a ratio or figure, and the brief's target for it.
struct ratio_line {
  std::string label;
  std::optional<double> value;  // nullopt: a side is missing
  std::string unit;             // "x", "%", "ms"
  std::string goal;             // "" when the brief sets none
  std::optional<bool> met;      // nullopt when there is no goal or no value
};

std::vector<ratio_line> compute_ratios(const std::vector<target_report>& targets, const machine_report& machine);

void print_report(std::FILE* out, const run_info& run, const machine_report& machine,
                  const std::vector<target_report>& targets);

}  // namespace strata::bench
