// strata_bench_cluster: three Strata nodes (etcd-coordinated, RF3, acks=all)
// against a three-server NATS JetStream cluster (R3) and one Strata node,
// with bench/streams' producer driver and client targets: the same records,
// window and single producer for every system. Per system it prints the
// produce rate and latency at max load, the failover time after kill -9 of
// the stream's leader under a paced load, and how many acknowledged records
// a full read-back did not find; then the ratios against the goals.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cluster_options.h"
#include "cluster_report.h"
#include "machine_limits.h"
#include "net_util.h"
#include "options.h"
#include "process.h"
#include "server_group.h"
#include "target.h"

namespace strata::bench {
namespace {

constexpr const char* max_stream = "bench-max";
constexpr const char* failover_stream = "bench-failover";
constexpr int64_t stop_grace_ms = 15'000;
constexpr size_t log_tail_bytes = 1500;
constexpr uint64_t failover_records_min = 1000;

// One system's servers (none for strata-single: its target starts its own).
struct system_servers {
  std::unique_ptr<server_group> coordinator;  // etcd, for strata-rf3
  std::unique_ptr<server_group> nodes;
  int stop_signal = SIGTERM;

  status stop() {
    status first;
    if (nodes) {
      auto s = nodes->stop(stop_grace_ms, stop_signal);
      if (!s) first = s;
    }
    if (coordinator) {
      auto s = coordinator->stop(stop_grace_ms, SIGTERM);
      if (!s && first.ok()) first = s;
    }
    return first;
  }
  std::string log_tails() const {
    return (coordinator ? coordinator->log_tails(log_tail_bytes) : std::string()) +
           (nodes ? nodes->log_tails(log_tail_bytes) : std::string());
  }
};

std::string port_url(uint16_t port) { return fmt::format("http://127.0.0.1:{}", port); }

status start_strata_cluster(const cluster_options& opt, const std::string& strata_bin, const std::string& etcd_bin,
                            const std::string& dir, system_servers& out) {
  auto client = free_loopback_port();
  auto peer = free_loopback_port();
  if (!client || !peer) {
    return make_error(errc::io_error, "no free loopback port for etcd");
  }
  const std::string client_url = port_url(*client);
  const std::string peer_url = port_url(*peer);
  std::filesystem::create_directories(dir + "/etcd");
  out.coordinator = std::make_unique<server_group>("etcd");
  out.coordinator->add(node_spec{"etcd",
                                 {etcd_bin, "--name", "e0", "--data-dir", dir + "/etcd/data", "--listen-client-urls",
                                  client_url, "--advertise-client-urls", client_url, "--listen-peer-urls", peer_url,
                                  "--initial-advertise-peer-urls", peer_url, "--initial-cluster", "e0=" + peer_url,
                                  "--heartbeat-interval=25", "--election-timeout=250"},
                                 dir + "/etcd/etcd.log",
                                 *client});
  STRATA_TRY(out.coordinator->start(opt.start_timeout_ms));

  out.nodes = std::make_unique<server_group>("strata node");
  out.stop_signal = SIGTERM;
  for (int id = 1; id <= 3; ++id) {
    auto kafka = free_loopback_port();
    auto http = free_loopback_port();
    if (!kafka || !http) {
      return make_error(errc::io_error, "no free loopback port for a strata node");
    }
    const std::string node_dir = fmt::format("{}/node{}", dir, id);
    std::filesystem::create_directories(node_dir + "/data");
    out.nodes->add(node_spec{fmt::format("{}", id),
                             {strata_bin, "server", "--data-dir", node_dir + "/data", "--kafka-listen",
                              fmt::format("127.0.0.1:{}", *kafka), "--pg-listen", "127.0.0.1:0", "--nbd-listen",
                              "127.0.0.1:0", "--http-listen", fmt::format("127.0.0.1:{}", *http), "--cluster-etcd",
                              client_url, "--node-id", fmt::format("{}", id), "--cluster-session-ttl-ms",
                              fmt::format("{}", opt.session_ttl_ms)},
                             node_dir + "/strata.log",
                             *kafka});
  }
  return out.nodes->start(opt.start_timeout_ms);
}

status start_nats_cluster(const cluster_options& opt, const std::string& nats_bin, const std::string& dir,
                          system_servers& out) {
  std::vector<uint16_t> client(3), route(3);
  for (int i = 0; i < 3; ++i) {
    auto c = free_loopback_port();
    auto r = free_loopback_port();
    if (!c || !r) {
      return make_error(errc::io_error, "no free loopback port for nats-server");
    }
    client[i] = *c;
    route[i] = *r;
  }
  out.nodes = std::make_unique<server_group>("nats-server");
  out.stop_signal = SIGINT;  // nats-server exits 0 on SIGINT
  for (int i = 0; i < 3; ++i) {
    std::string routes;
    for (int j = 0; j < 3; ++j) {
      if (j != i) {
        routes += fmt::format("{}nats://127.0.0.1:{}", routes.empty() ? "" : ",", route[j]);
      }
    }
    const std::string name = fmt::format("n{}", i + 1);
    const std::string node_dir = dir + "/" + name;
    std::filesystem::create_directories(node_dir + "/data");
    out.nodes->add(node_spec{name,
                             {nats_bin, "-a", "127.0.0.1", "-p", fmt::format("{}", client[i]), "-js", "-sd",
                              node_dir + "/data", "-n", name, "--cluster_name", "bench", "--cluster",
                              fmt::format("nats://127.0.0.1:{}", route[i]), "--routes", routes},
                             node_dir + "/nats-server.log",
                             client[i]});
  }
  return out.nodes->start(opt.start_timeout_ms);
}

// Retries `attempt` until it succeeds or timeout_ms passes (a cluster still
// forming answers "no leader", "not enough brokers", ...).
template <class Attempt>
auto retry_until(int64_t timeout_ms, Attempt attempt) -> decltype(attempt()) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto r = attempt();
    if (r.ok() || std::chrono::steady_clock::now() > deadline) {
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

struct produce_outcome {
  produce_stats stats;
  std::vector<int64_t> ack_times_ns;
  std::optional<cpu_usage> cpu;  // the whole machine's, from the first send to the last ack
};

result<produce_outcome> produce(target& t, const std::string& stream, const produce_plan& plan) {
  ack_tracker acks(plan.records);
  auto p = t.open_producer(stream, acks);
  if (!p) {
    return p.err();
  }
  const auto cpu_before = read_cpu_times();
  auto stats = run_produce(**p, acks, plan);
  const auto cpu_after = read_cpu_times();
  p->reset();
  if (!stats) {
    return stats.err();
  }
  return produce_outcome{*stats, acks.ack_times_ns(), cpu_between(cpu_before, cpu_after)};
}

// The failover run: paced produce; once a third of the records are acked, a
// thread kills the stream's leader (SIGKILL) and notes when.
status run_failover(target& t, server_group& nodes, const cluster_options& opt, double max_records_per_s,
                    system_report& rep, produce_outcome& out) {
  const double rate = opt.failover_rate_fraction * max_records_per_s;
  const uint64_t records = std::clamp<uint64_t>(static_cast<uint64_t>(rate * opt.failover_seconds),
                                                failover_records_min, opt.records);
  auto leader = t.stream_leader(failover_stream);
  if (!leader) {
    return leader.err();
  }
  auto pid = nodes.pid_of(*leader);
  if (!pid) {
    return pid.err();
  }
  rep.failover_run = true;
  progress(fmt::format("{}: failover run, {} records at {:.0f} records/s; kill -9 of the leader ({}) after {}",
                       rep.name, records, rate, *leader, records / 3));
  ack_tracker acks(records);
  auto p = t.open_producer(failover_stream, acks);
  if (!p) {
    return p.err();
  }
  std::atomic<bool> done{false};
  std::atomic<int64_t> kill_ns{0};
  std::thread killer([&, victim = *pid] {
    while (!done.load() && acks.acked() < records / 3) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!done.load()) {
      ::kill(victim, SIGKILL);
      kill_ns.store(now_ns());
    }
  });
  produce_plan plan{records, opt.record_bytes, opt.window, rate, opt.stall_timeout_ms};
  auto stats = run_produce(**p, acks, plan);
  done.store(true);
  killer.join();
  p->reset();
  if (kill_ns.load() != 0) {
    nodes.mark_killed(*leader);
  }
  if (!stats) {
    return make_error(stats.code(), fmt::format("failover run (leader {} killed: {}): {}", *leader,
                                                kill_ns.load() != 0 ? "yes" : "no", stats.err().message));
  }
  out = produce_outcome{*stats, acks.ack_times_ns(), std::nullopt};
  if (kill_ns.load() == 0) {
    rep.failover_note = "the run ended before the kill; no figure";
    return {};
  }
  rep.failover_ms = failover_ms(out.ack_times_ns, kill_ns.load());
  rep.failover_note = fmt::format("kill -9 of {} (the stream's leader) after {} of {} acks at {:.0f} records/s; "
                                  "worst ack latency {:.0f} ms",
                                  *leader, records / 3, records, rate, stats->latency.max_ms);
  return {};
}

// Reads `stream` back in full (any order, repeats counted) and counts the
// acknowledged records it did not find.
// A consumer that cannot even start (the cluster still elects a leader after
// the kill) is tried again with a new meter until retry_ms passes.
status count_losses(target& t, const std::string& stream, const produce_outcome& produced, uint32_t record_bytes,
                    int64_t retry_ms, loss_count& total) {
  const uint64_t records = produced.ack_times_ns.size();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(retry_ms);
  std::unique_ptr<consume_meter> meter;
  while (true) {
    meter = std::make_unique<consume_meter>(records, record_bytes, /*unordered=*/true);
    meter->start();
    auto consumed = t.consume(stream, *meter);
    // A stall means records are missing: that is what we count.
    if (consumed || consumed.code() == errc::timed_out) {
      break;
    }
    if (meter->seen() > 0 || std::chrono::steady_clock::now() > deadline) {
      return make_error(consumed.code(), fmt::format("read-back of {}: {}", stream, consumed.err().message));
    }
    progress(fmt::format("read-back of {} did not start ({}); trying again", stream, consumed.err().message));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  for (uint64_t i = 0; i < records; ++i) {
    if (produced.ack_times_ns[i] >= 0) {
      ++total.acked;
      if (!meter->saw(i)) {
        ++total.lost;
      }
    }
  }
  total.duplicates += meter->duplicates();
  return {};
}

// Three single nodes, each with its own producer, all at once. The row shows
// one stream's share: the mean MB/s and the worst percentiles of the three.
status run_single_x3(const cluster_options& opt, const std::string& dir, system_report& rep) {
  constexpr int copies = 3;
  const std::string bin = resolve_program(opt.strata_bin);
  if (bin.empty()) {
    rep.skipped = fmt::format("{} not found or not executable", opt.strata_bin);
    return {};
  }
  progress("strata-single-x3: starting three strata servers");
  std::vector<std::unique_ptr<target>> targets;
  for (int i = 0; i < copies; ++i) {
    targets.push_back(make_strata_target(target_env{fmt::format("{}/{}", dir, i), bin, opt.start_timeout_ms,
                                                    opt.stall_timeout_ms}));
    STRATA_TRY(targets.back()->start());
    STRATA_TRY(retry_until(opt.start_timeout_ms, [&] { return targets.back()->create_stream(max_stream); }));
  }
  rep.setup = "3 strata servers (not in cluster mode), one producer each, all at once; librdkafka acks=all, "
              "linger.ms=0";
  rep.durability = targets.front()->durability();
  progress(fmt::format("strata-single-x3: producing {} records to each server at once", opt.records));
  std::vector<result<produce_outcome>> outcomes(copies, make_error(errc::unavailable, "not run"));
  std::vector<std::thread> producers;
  const produce_plan plan{opt.records, opt.record_bytes, opt.window, 0, opt.stall_timeout_ms};
  for (int i = 0; i < copies; ++i) {
    producers.emplace_back([&, i] { outcomes[i] = produce(*targets[i], max_stream, plan); });
  }
  for (auto& t : producers) t.join();
  produce_stats share;
  loss_count loss;
  for (int i = 0; i < copies; ++i) {
    if (!outcomes[i]) return outcomes[i].err();
    const produce_stats& one = outcomes[i]->stats;
    share.records += one.records / copies;  // one stream's share, as the rest of the row
    share.payload_bytes += one.payload_bytes / copies;
    share.seconds = std::max(share.seconds, one.seconds);
    share.mb_per_s += one.mb_per_s / copies;
    share.records_per_s += one.records_per_s / copies;
    share.latency.p50_ms = std::max(share.latency.p50_ms, one.latency.p50_ms);
    share.latency.p99_ms = std::max(share.latency.p99_ms, one.latency.p99_ms);
    share.latency.max_ms = std::max(share.latency.max_ms, one.latency.max_ms);
    STRATA_TRY(count_losses(*targets[i], max_stream, *outcomes[i], opt.record_bytes, opt.start_timeout_ms, loss));
  }
  rep.produce = share;
  rep.produce_cpu = outcomes.front()->cpu;  // all three ran at once: any one saw the machine
  rep.loss = loss;
  for (auto& t : targets) STRATA_TRY(t->stop());
  return {};
}

status run_phases(const std::string& name, const cluster_options& opt, const std::string& dir, system_servers& servers,
                  system_report& rep) {
  if (name == "strata-single-x3") return run_single_x3(opt, dir, rep);
  const bool cluster = name != "strata-single";
  target_env env{dir, {}, opt.start_timeout_ms, opt.stall_timeout_ms};
  std::unique_ptr<target> t;
  std::unique_ptr<target> failover_t;  // JetStream: publishes with ids, resent until acked
  if (name == "strata-rf3") {
    env.server_bin = resolve_program(opt.strata_bin);
    const std::string etcd = resolve_program(opt.etcd_bin);
    if (env.server_bin.empty() || etcd.empty()) {
      rep.skipped =
          fmt::format("{} not found or not executable", env.server_bin.empty() ? opt.strata_bin : opt.etcd_bin);
      return {};
    }
    progress("strata-rf3: starting etcd and three strata nodes");
    STRATA_TRY(start_strata_cluster(opt, env.server_bin, etcd, dir, servers));
    env.endpoints = servers.nodes->endpoints();
    env.replicas = 3;
    t = make_strata_target(env);
    rep.setup = fmt::format("3 strata nodes + etcd (lease TTL {} ms), replication factor 3, librdkafka acks=all, "
                            "linger.ms=0, no idempotence (it retries by itself)",
                            opt.session_ttl_ms);
  } else if (name == "jetstream-r3") {
    env.server_bin = resolve_program(opt.nats_server_bin);
    if (env.server_bin.empty()) {
      rep.skipped = fmt::format("{} not found or not executable", opt.nats_server_bin);
      return {};
    }
    progress("jetstream-r3: starting three nats-servers");
    STRATA_TRY(start_nats_cluster(opt, env.server_bin, dir, servers));
    env.endpoints = servers.nodes->endpoints();
    env.replicas = 3;
    t = make_jetstream_target(env);
    target_env retrying = env;
    retrying.retry_until_acked = true;
    failover_t = make_jetstream_target(retrying);
    rep.setup = "3 nats-servers (routes, JetStream, file store), stream replicas 3; libnats async publish; in the "
                "failover run with Nats-Msg-Id, resent after an error or 2 s without an ack";
  } else {
    env.server_bin = resolve_program(opt.strata_bin);
    if (env.server_bin.empty()) {
      rep.skipped = fmt::format("{} not found or not executable", opt.strata_bin);
      return {};
    }
    progress("strata-single: starting one strata server");
    t = make_strata_target(env);
    rep.setup = "1 strata server (not in cluster mode), librdkafka acks=all, linger.ms=0, no idempotence";
  }
  rep.durability = t->durability();
  STRATA_TRY(t->start());
  if (failover_t) {
    STRATA_TRY(failover_t->start());
  }
  for (const char* stream : {max_stream, failover_stream}) {
    if (!cluster && std::string(stream) == failover_stream) {
      continue;
    }
    STRATA_TRY(retry_until(opt.start_timeout_ms, [&] { return t->create_stream(stream); }));
    if (cluster) {
      auto leader = retry_until(opt.start_timeout_ms, [&] { return t->stream_leader(stream); });
      if (!leader) {
        return leader.err();
      }
    }
  }

  progress(fmt::format("{}: producing {} records at max load", name, opt.records));
  auto max = produce(*t, max_stream, produce_plan{opt.records, opt.record_bytes, opt.window, 0, opt.stall_timeout_ms});
  if (!max) {
    return max.err();
  }
  rep.produce = max->stats;
  rep.produce_cpu = max->cpu;

  std::optional<produce_outcome> failover;
  if (cluster) {
    produce_outcome out;
    STRATA_TRY(run_failover(failover_t ? *failover_t : *t, *servers.nodes, opt, max->stats.records_per_s, rep, out));
    failover = std::move(out);
  }

  progress(fmt::format("{}: reading every stream back", name));
  loss_count loss;
  STRATA_TRY(count_losses(*t, max_stream, *max, opt.record_bytes, opt.start_timeout_ms, loss));
  if (failover) {
    STRATA_TRY(count_losses(*t, failover_stream, *failover, opt.record_bytes, opt.start_timeout_ms, loss));
  }
  rep.loss = loss;
  if (failover_t) {
    (void)failover_t->stop();
  }
  return t->stop();
}

system_report run_system(const std::string& name, const cluster_options& opt, const std::string& root) {
  system_report rep;
  rep.name = name;
  const std::string dir = root + "/" + name;
  std::filesystem::create_directories(dir);
  system_servers servers;
  auto ran = run_phases(name, opt, dir, servers, rep);
  if (!ran) {
    rep.failure = ran.err().message;
    fmt::print(stderr, "[bench] {} FAILED: {}\n--- end of the server logs ---\n{}\n---\n", name, rep.failure,
               servers.log_tails());
  }
  auto stopped = servers.stop();
  if (!stopped && rep.failure.empty()) {
    rep.failure = "shutdown: " + stopped.err().message;
    fmt::print(stderr, "[bench] {} did not stop cleanly: {}\n{}\n", name, stopped.err().message, servers.log_tails());
  }
  return rep;
}

// Runs every system in frame's temp dir and prints the report. Returns
// whether any failed.
bool run_systems(const cluster_options& opt, const bench_frame& frame) {
  std::vector<system_report> reports;
  for (const auto& name : opt.systems) {
    reports.push_back(run_system(name, opt, frame.root));
  }
  print_cluster_report(stdout,
                       cluster_run_info{opt.record_bytes, opt.records, opt.window, opt.failover_seconds,
                                        opt.failover_rate_fraction, opt.session_ttl_ms, frame.load_avg_1m},
                       frame.machine, reports);
  return any_failed(reports);
}

int run(const cluster_options& opt) {
  return run_bench(opt.tmp_parent, "strata-bench-cluster-", opt.keep_tmp, opt.disk_test_mib, opt.loopback_test_mib,
                   [&opt](const bench_frame& frame) { return run_systems(opt, frame); });
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  strata::bench::cluster_options opt;
  if (auto code = strata::bench::parse_cluster_options(argc, argv, opt)) {
    return *code;
  }
  return strata::bench::run(opt);
}
