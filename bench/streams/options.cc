#include "options.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <CLI/CLI.hpp>

#include "payload.h"

namespace strata::bench {
namespace {

// The benchmark keeps 16 bytes of bookkeeping per record, and a client may
// buffer a whole window.
constexpr uint64_t records_max = 20'000'000;
constexpr uint64_t in_flight_bytes_max = 256ULL << 20;

}  // namespace

std::optional<int> parse_options(int argc, char** argv, bench_options& out) {
  CLI::App app{"Streams benchmark: Strata (Kafka API, librdkafka) vs NATS JetStream (libnats) vs "
               "Redis Streams (hiredis), same records, window and durability class."};
  add_record_options(app, out.record_bytes, out.records, 1, "records produced at max load, then consumed",
                     out.window, "records in flight (sent, not acknowledged), same for all targets");
  app.add_option("--targets", out.targets, "targets to run, in order")
      ->delimiter(',')
      ->check(CLI::IsMember({"strata", "jetstream", "redis"}))
      ->capture_default_str();
  app.add_option("--strata-bin", out.strata_bin, "strata server binary")->capture_default_str();
  app.add_option("--nats-server-bin", out.nats_server_bin, "nats-server binary")->capture_default_str();
  app.add_option("--redis-server-bin", out.redis_server_bin, "redis-server binary")->capture_default_str();
  add_tmp_dir_options(app, out.tmp_parent, out.keep_tmp);
  app.add_option("--half-load-fraction", out.half_load_fraction, "rate of the latency run, as a fraction of max")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  app.add_option("--half-load-seconds", out.half_load_seconds, "length of the latency run, at most --records records")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  add_machine_test_options(app, out.disk_test_mib, out.loopback_test_mib);
  add_timeout_options(app, out.stall_timeout_ms, 100, "fail a target that makes no progress this long",
                      out.start_timeout_ms, "how long a server may take to listen");
  app.add_flag("--restart-before-consume", out.restart_before_consume,
               "restart each server between producing and the cold consume");
  app.add_option("--raw-fetch-mib", out.raw_fetch_mib,
                 "Strata: after librdkafka's cold read, one raw (server-bound) Fetch read per size given, in MiB "
                 "per request (the server answers at most 64 MiB); 0 skips them")
      ->delimiter(',')
      ->check(CLI::Range(0u, 64u))
      ->capture_default_str();
  if (auto code = parse_app(app, argc, argv)) {
    return code;
  }
  return check_shared_options(out.window, out.record_bytes, out.tmp_parent);
}

void add_record_options(CLI::App& app, uint32_t& record_bytes, uint64_t& records, uint64_t records_min,
                        const std::string& records_help, uint32_t& window, const std::string& window_help) {
  app.add_option("--record-bytes", record_bytes, "payload bytes per record")
      ->check(CLI::Range(record_bytes_min, record_bytes_max))
      ->capture_default_str();
  app.add_option("--records", records, records_help)
      ->check(CLI::Range(records_min, records_max))
      ->capture_default_str();
  app.add_option("--window", window, window_help)->check(CLI::Range(1u, 1'000'000u))->capture_default_str();
}

void add_tmp_dir_options(CLI::App& app, std::string& tmp_parent, bool& keep_tmp) {
  app.add_option("--tmp-dir", tmp_parent, "where the run's temp dir goes (data dirs and disk test)");
  app.add_flag("--keep-tmp", keep_tmp, "keep the temp dir (data and server logs) after the run");
}

void add_machine_test_options(CLI::App& app, uint64_t& disk_test_mib, uint64_t& loopback_test_mib) {
  app.add_option("--disk-test-mib", disk_test_mib, "MiB written by the direct-write disk test")
      ->check(CLI::Range(uint64_t{1}, uint64_t{64 * 1024}))
      ->capture_default_str();
  app.add_option("--loopback-test-mib", loopback_test_mib, "MiB sent by the loopback TCP test")
      ->check(CLI::Range(uint64_t{1}, uint64_t{64 * 1024}))
      ->capture_default_str();
}

void add_timeout_options(CLI::App& app, int64_t& stall_timeout_ms, int64_t stall_timeout_ms_min,
                         const std::string& stall_help, int64_t& start_timeout_ms, const std::string& start_help) {
  app.add_option("--stall-timeout-ms", stall_timeout_ms, stall_help)
      ->check(CLI::Range(stall_timeout_ms_min, int64_t{600'000}))
      ->capture_default_str();
  app.add_option("--start-timeout-ms", start_timeout_ms, start_help)
      ->check(CLI::Range(int64_t{100}, int64_t{600'000}))
      ->capture_default_str();
}

std::optional<int> parse_app(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return std::nullopt;
}

std::optional<int> check_shared_options(uint32_t window, uint32_t record_bytes, std::string& tmp_parent) {
  if (uint64_t{window} * record_bytes > in_flight_bytes_max) {
    std::fprintf(stderr, "--window x --record-bytes may be at most %llu bytes in flight\n",
                 static_cast<unsigned long long>(in_flight_bytes_max));
    return 2;
  }
  if (tmp_parent.empty()) {
    const char* env = std::getenv("TMPDIR");
    tmp_parent = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  return std::nullopt;
}

std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
  }
  const char* path_env = std::getenv("PATH");
  std::string dirs = path_env != nullptr ? path_env : "";
  dirs += ":/usr/sbin:/usr/local/sbin";
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) {
      continue;
    }
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

}  // namespace strata::bench
