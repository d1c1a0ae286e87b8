#include "cluster_options.h"

#include <CLI/CLI.hpp>

#include "options.h"

namespace strata::bench {

std::optional<int> parse_cluster_options(int argc, char** argv, cluster_options& out) {
  CLI::App app{"Cluster benchmark: three Strata nodes (RF3, acks=all) vs a three-server NATS JetStream cluster "
               "(R3) vs one Strata node, same records and window; produce, failover after kill -9 of the "
               "leader, and acknowledged records lost."};
  add_record_options(app, out.record_bytes, out.records, 1000, "records produced at max load, then read back",
                     out.window, "records in flight (sent, not acknowledged), same for all systems");
  app.add_option("--systems", out.systems, "systems to run, in order")
      ->delimiter(',')
      ->check(CLI::IsMember(cluster_systems_all))
      ->capture_default_str();
  app.add_option("--strata-bin", out.strata_bin, "strata server binary")->capture_default_str();
  app.add_option("--nats-server-bin", out.nats_server_bin, "nats-server binary")->capture_default_str();
  app.add_option("--etcd-bin", out.etcd_bin, "etcd binary (Strata's coordinator)")->capture_default_str();
  add_tmp_dir_options(app, out.tmp_parent, out.keep_tmp);
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
  add_machine_test_options(app, out.disk_test_mib, out.loopback_test_mib);
  add_timeout_options(app, out.stall_timeout_ms, 1000, "fail a system that makes no progress this long",
                      out.start_timeout_ms, "how long a cluster may take to form");
  if (auto code = parse_app(app, argc, argv)) {
    return code;
  }
  return check_shared_options(out.window, out.record_bytes, out.tmp_parent);
}

}  // namespace strata::bench
