// Command-line options of strata_bench_cluster.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strata::bench {

// strata-single-x3: three single nodes at once, each fed the same stream by
// its own producer: three copies of every byte on this machine, the work RF3
// does without the replication between nodes (the machine's own limit).
inline const std::vector<std::string> cluster_systems_all = {"strata-rf3", "jetstream-r3", "strata-single",
                                                             "strata-single-x3"};

struct cluster_options {
  uint32_t record_bytes = 1024;
  uint64_t records = 100'000;  // produced at max load, then read back
  uint32_t window = 1024;      // records in flight, the same for every system
  std::vector<std::string> systems = cluster_systems_all;
  std::string strata_bin = "build/strata";
  std::string nats_server_bin = "nats-server";
  std::string etcd_bin = "etcd";
  std::string tmp_parent;  // default: $TMPDIR, else /tmp
  bool keep_tmp = false;
  double failover_rate_fraction = 0.5;  // the failover run's rate, of the system's own max
  double failover_seconds = 9;          // its length; the kill comes at a third
  int64_t session_ttl_ms = 1000;        // Strata's --cluster-session-ttl-ms
  uint64_t disk_test_mib = 512;
  uint64_t loopback_test_mib = 1024;
  int64_t stall_timeout_ms = 30'000;
  int64_t start_timeout_ms = 30'000;
};

// Parses argv into out. Returns an exit code when the program should stop
// (--help, or a bad option after printing why).
std::optional<int> parse_cluster_options(int argc, char** argv, cluster_options& out);

}  // namespace strata::bench
