// Command-line options of strata_bench_streams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

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
  // Strata's further cold reads, by the raw Fetch client: one per size, in
  // MiB per Fetch request (and per partition in it); 1 MiB is what
  // librdkafka's consumer asks for. 0 skips them.
  std::vector<uint32_t> raw_fetch_mib = {1, 32};
};

// Parses argv into out. Returns an exit code when the program should stop
// (--help, or a bad option after printing why).
std::optional<int> parse_options(int argc, char** argv, bench_options& out);

// The options both benchmarks (this one and bench/cluster) share, added to
// app with the same names, checks and help. records_min and the help texts
// are the ones that differ.
void add_record_options(CLI::App& app, uint32_t& record_bytes, uint64_t& records, uint64_t records_min,
                        const std::string& records_help, uint32_t& window, const std::string& window_help);
void add_tmp_dir_options(CLI::App& app, std::string& tmp_parent, bool& keep_tmp);
void add_machine_test_options(CLI::App& app, uint64_t& disk_test_mib, uint64_t& loopback_test_mib);
void add_timeout_options(CLI::App& app, int64_t& stall_timeout_ms, int64_t stall_timeout_ms_min,
                         const std::string& stall_help, int64_t& start_timeout_ms, const std::string& start_help);

// Parses argv with app. Returns an exit code when the program should stop
// (--help, or a bad option after printing why).
std::optional<int> parse_app(CLI::App& app, int argc, char** argv);

// After parse_app: checks the bytes in flight and defaults tmp_parent to
// $TMPDIR, else /tmp. Returns an exit code, after printing why, when the
// options do not fit.
std::optional<int> check_shared_options(uint32_t window, uint32_t record_bytes, std::string& tmp_parent);

// The path to run for a program name: names with a '/' as given, others
// looked up on PATH and then in /usr/sbin and /usr/local/sbin (Debian puts
// nats-server there). Empty if not found.
std::string resolve_program(const std::string& name);

}  // namespace strata::bench
