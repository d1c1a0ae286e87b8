// Command-line options of strata_bench_streams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strata::bench {

struct bench_options {
  uint32_t record_bytes = 1024;
  uint64_t records = 200'000;
  uint32_t window = 1024;  // records in flight, the same for every target
  std::vector<std::string> targets = {"strata", "jetstream", "redis"};
  std::string strata_bin = "build/strata";
  std::string nats_server_bin = "nats-server";
  std::string redis_server_bin = "redis-server";
  std::string tmp_parent;  // default: $TMPDIR, else /tmp
  bool keep_tmp = false;
  double half_load_fraction = 0.5;
  double half_load_seconds = 10;  // length of the latency run (capped at `records` records)
  uint64_t disk_test_mib = 512;
  uint64_t loopback_test_mib = 1024;
  int64_t stall_timeout_ms = 30'000;
  int64_t start_timeout_ms = 20'000;
  bool restart_before_consume = false;
};

// Parses argv into out. Returns an exit code when the program should stop
// (--help, or a bad option after printing why).
std::optional<int> parse_options(int argc, char** argv, bench_options& out);

// The path to run for a program name: names with a '/' as given, others
// looked up on PATH and then in /usr/sbin and /usr/local/sbin (Debian puts
// nats-server there). Empty if not found.
std::string resolve_program(const std::string& name);

}  // namespace strata::bench
