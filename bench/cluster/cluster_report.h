// The cluster benchmark's figures and output: per system the produce rate and
// latency, the failover time after kill -9 of the stream's leader, and the
// acknowledged records a full read-back did not find; then the ratios against
// the goals. Pure: no processes, no I/O besides the FILE* it prints to.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cpu_meter.h"
#include "machine_limits.h"
#include "produce_driver.h"
#include "report.h"

namespace strata::bench {

struct loss_count {
  uint64_t acked = 0;       // acknowledged records
  uint64_t lost = 0;        // acknowledged, then not found by the read-back
  uint64_t duplicates = 0;  // records the read-back found more than once
};

struct system_report {
  std::string name;   // "strata-rf3", "jetstream-r3", "strata-single"
  std::string setup;  // how it ran: nodes, replicas, flags
  std::string durability;
  std::string skipped;  // why it did not run
  std::string failure;  // what went wrong part-way
  std::optional<produce_stats> produce;
  std::optional<cpu_usage> produce_cpu;  // the whole machine's, during the max-load run
  bool failover_run = false;  // a failover was attempted (cluster systems)
  std::optional<double> failover_ms;
  std::string failover_note;  // which node was killed, when, or why no figure
  std::optional<loss_count> loss;  // over every stream it produced
};

struct cluster_run_info {
  uint32_t record_bytes = 0;
  uint64_t records = 0;
  uint32_t window = 0;
  double failover_seconds = 0;
  double failover_rate_fraction = 0;
  int64_t session_ttl_ms = 0;
  double load_avg_1m = -1;
};

// The producer's view of a failover: from the kill until acknowledgements
// resume, i.e. the end of the longest pause between consecutive acks after
// kill_ns (acks the old leader had sent may still arrive first). ack_times_ns
// holds one time per record, -1 for one never acknowledged. nullopt when no
// ack came after the kill.
std::optional<double> failover_ms(const std::vector<int64_t>& ack_times_ns, int64_t kill_ns);

std::vector<ratio_line> compute_cluster_ratios(const std::vector<system_report>& systems,
                                               const machine_report& machine);

void print_cluster_report(std::FILE* out, const cluster_run_info& run, const machine_report& machine,
                          const std::vector<system_report>& systems);

}  // namespace strata::bench
