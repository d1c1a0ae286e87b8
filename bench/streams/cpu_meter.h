// The whole machine's CPU time over a phase of a benchmark, from /proc/stat:
// how busy every core was, and so how much CPU the phase's work took. A
// system that keeps the machine busy is CPU-bound here, and its CPU per MB
// says what throughput the machine can give that work.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace strata::bench {

struct cpu_times {
  uint64_t busy_ticks = 0;   // user, nice, system, irq, softirq, steal
  uint64_t total_ticks = 0;  // busy plus idle and iowait
};

// Parses the aggregate "cpu " line of /proc/stat; nullopt if it is missing or malformed.
std::optional<cpu_times> parse_proc_stat(std::string_view text);
std::optional<cpu_times> read_cpu_times();

struct cpu_usage {
  double busy_fraction = 0;   // of every core, 0..1
  double busy_core_seconds = 0;
};

// Between two readings; nullopt when either is missing or no time passed.
std::optional<cpu_usage> cpu_between(const std::optional<cpu_times>& before, const std::optional<cpu_times>& after);

}  // namespace strata::bench
