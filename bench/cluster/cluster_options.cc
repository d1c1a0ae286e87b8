#include "cluster_options.h"

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "payload.h"

namespace strata::bench {
namespace {

constexpr uint64_t records_max = 20'000'000;
constexpr uint64_t in_flight_bytes_max = 256ULL << 20;

}  // namespace

std::optional<int> parse_cluster_options(int argc, char** argv, cluster_options& out) {
  CLI::App app{"Cluster benchmark: three Strata nodes (RF3, acks=all) vs a three-server NATS JetStream cluster "
               "(R3) vs one Strata node, same records and window; produce, failover after kill -9 of the "
               "leader, and acknowledged records lost."};
  app.add_option("--record-bytes", out.record_bytes, "payload bytes per record")
      ->check(CLI::Range(record_bytes_min, record_bytes_max))
      ->capture_default_str();
  app.add_option("--records", out.records, "records produced at max load, then read back")
      ->check(CLI::Range(uint64_t{1000}, records_max))
      ->capture_default_str();
  app.add_option("--window", out.window, "records in flight (sent, not acknowledged), same for all systems")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  app.add_option("--systems", out.systems, "systems to run, in order")
      ->delimiter(',')
      ->check(CLI::IsMember(cluster_systems_all))
      ->capture_default_str();
  app.add_option("--strata-bin", out.strata_bin, "strata server binary")->capture_default_str();
  app.add_option("--nats-server-bin", out.nats_server_bin, "nats-server binary")->capture_default_str();
  app.add_option("--etcd-bin", out.etcd_bin, "etcd binary (Strata's coordinator)")->capture_default_str();
  app.add_option("--tmp-dir", out.tmp_parent, "where the run's temp dir goes (data dirs and disk test)");
  app.add_flag("--keep-tmp", out.keep_tmp, "keep the temp dir (data and server logs) after the run");
  app.add_option("--failover-rate-fraction", out.failover_rate_fraction,
                 "rate of the failover run, as a fraction of the system's max")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  app.add_option("--failover-seconds", out.failover_seconds,
                 "length of the failover run (at most --records records); the leader is killed at a third")
      ->check(CLI::Range(1.0, 600.0))
      ->capture_default_str();
  app.add_option("--session-ttl-ms", out.session_ttl_ms, "Strata nodes' --cluster-session-ttl-ms (lease TTL)")
      ->check(CLI::Range(int64_t{1000}, int64_t{60'000}))
      ->capture_default_str();
  app.add_option("--disk-test-mib", out.disk_test_mib, "MiB written by the direct-write disk test")
      ->check(CLI::Range(uint64_t{1}, uint64_t{64 * 1024}))
      ->capture_default_str();
  app.add_option("--loopback-test-mib", out.loopback_test_mib, "MiB sent by the loopback TCP test")
      ->check(CLI::Range(uint64_t{1}, uint64_t{64 * 1024}))
      ->capture_default_str();
  app.add_option("--stall-timeout-ms", out.stall_timeout_ms, "fail a system that makes no progress this long")
      ->check(CLI::Range(int64_t{1000}, int64_t{600'000}))
      ->capture_default_str();
  app.add_option("--start-timeout-ms", out.start_timeout_ms, "how long a cluster may take to form")
      ->check(CLI::Range(int64_t{100}, int64_t{600'000}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (uint64_t{out.window} * out.record_bytes > in_flight_bytes_max) {
    std::fprintf(stderr, "--window x --record-bytes may be at most %llu bytes in flight\n",
                 static_cast<unsigned long long>(in_flight_bytes_max));
    return 2;
  }
  if (out.tmp_parent.empty()) {
    const char* env = std::getenv("TMPDIR");
    out.tmp_parent = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  return std::nullopt;
}

}  // namespace strata::bench
