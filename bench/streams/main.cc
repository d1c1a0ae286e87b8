// strata_bench_streams: runs the same produce / latency / cold-consume load
// against Strata, NATS JetStream and Redis Streams, each started here on a
// temp dir and free loopback ports, and prints one table plus the ratios.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "machine_limits.h"
#include "options.h"
#include "process.h"
#include "report.h"
#include "target.h"

namespace strata::bench {
namespace {

constexpr const char* max_stream = "bench-max";
constexpr const char* half_stream = "bench-half";

result<produce_stats> produce_once(target& t, const std::string& stream, const produce_plan& plan) {
  ack_tracker acks(plan.records);  // outlives the producer, whose client thread reports into it
  auto p = t.open_producer(stream, acks);
  if (!p) {
    return p.err();
  }
  return run_produce(**p, acks, plan);
}

// Enough records for the latency run to last half_load_seconds, but at least
// min_latency_samples (a p99 needs them) and at most the max-load count.
uint64_t half_load_records(const bench_options& opt, double rate) {
  constexpr uint64_t min_latency_samples = 1000;
  const auto wanted = static_cast<uint64_t>(rate * opt.half_load_seconds);
  return std::min(opt.records, std::max(wanted, min_latency_samples));
}

// The server-bound cold reads, for targets that have them (Strata): the same
// stream again by the benchmark's raw protocol client, once per request size.
status consume_raw(target& t, const bench_options& opt, target_report& rep) {
  if (!t.has_raw_consumer()) {
    return {};
  }
  std::vector<uint32_t> sizes_mib;
  for (uint32_t mib : opt.raw_fetch_mib) {
    if (mib > 0 && std::find(sizes_mib.begin(), sizes_mib.end(), mib) == sizes_mib.end()) {
      sizes_mib.push_back(mib);
    }
  }
  std::sort(sizes_mib.begin(), sizes_mib.end());
  for (uint32_t mib : sizes_mib) {
    raw_fetch_plan plan;
    plan.records = opt.records;
    plan.record_bytes = opt.record_bytes;
    plan.max_bytes = static_cast<int32_t>(mib << 20);
    plan.stall_timeout_ms = opt.stall_timeout_ms;
    if (opt.restart_before_consume) {
      progress(fmt::format("{}: restarting the server", t.name()));
      STRATA_TRY(t.stop());
      STRATA_TRY(t.start());
    }
    progress(fmt::format("{}: raw Fetch client reading {} records, {} MiB per request", t.name(), opt.records, mib));
    auto raw = t.consume_raw(max_stream, plan);
    if (!raw) {
      return raw.err();
    }
    rep.raw_consumes.push_back(*raw);
  }
  return {};
}

status run_phases(target& t, const bench_options& opt, target_report& rep) {
  progress(fmt::format("{}: starting the server", t.name()));
  STRATA_TRY(t.start());
  STRATA_TRY(t.create_stream(max_stream));
  STRATA_TRY(t.create_stream(half_stream));

  produce_plan plan{opt.records, opt.record_bytes, opt.window, 0, opt.stall_timeout_ms};
  progress(fmt::format("{}: producing {} records at max load", t.name(), plan.records));
  auto max = produce_once(t, max_stream, plan);
  if (!max) {
    return max.err();
  }
  rep.produce_max = *max;

  plan.rate_records_per_s = opt.half_load_fraction * max->records_per_s;
  plan.records = half_load_records(opt, plan.rate_records_per_s);
  rep.half_load_rate = plan.rate_records_per_s;
  progress(fmt::format("{}: producing {} records at {:.0f} records/s", t.name(), plan.records,
                       plan.rate_records_per_s));
  auto half = produce_once(t, half_stream, plan);
  if (!half) {
    return half.err();
  }
  rep.produce_half = *half;

  if (opt.restart_before_consume) {
    progress(fmt::format("{}: restarting the server", t.name()));
    STRATA_TRY(t.stop());
    STRATA_TRY(t.start());
  }
  progress(fmt::format("{}: cold consumer reading {} records", t.name(), opt.records));
  consume_meter meter(opt.records, opt.record_bytes);
  meter.start();
  STRATA_TRY(t.consume(max_stream, meter));
  auto consumed = meter.finish();
  if (!consumed) {
    return consumed.err();
  }
  rep.consume = *consumed;
  return consume_raw(t, opt, rep);
}

std::unique_ptr<target> make_target(const std::string& name, target_env env) {
  if (name == "strata") return make_strata_target(std::move(env));
  if (name == "jetstream") return make_jetstream_target(std::move(env));
  return make_redis_target(std::move(env));
}

std::string server_bin_option(const bench_options& opt, const std::string& name) {
  if (name == "strata") return opt.strata_bin;
  if (name == "jetstream") return opt.nats_server_bin;
  return opt.redis_server_bin;
}

target_report run_target(const std::string& name, const bench_options& opt, const std::string& root) {
  target_report rep;
  rep.name = name;
  target_env env{root + "/" + name, resolve_program(server_bin_option(opt, name)), opt.start_timeout_ms,
                 opt.stall_timeout_ms};
  auto t = make_target(name, env);
  rep.durability = t->durability();
  if (env.server_bin.empty()) {
    rep.skipped = fmt::format("{} not found or not executable", server_bin_option(opt, name));
    progress(fmt::format("{}: skipped, {}", name, rep.skipped));
    return rep;
  }
  std::filesystem::create_directories(env.work_dir);
  auto ran = run_phases(*t, opt, rep);
  if (!ran) {
    rep.failure = ran.err().message;
    fmt::print(stderr, "[bench] {} FAILED: {}\n--- end of the server log ---\n{}\n---\n", name, rep.failure,
               t->log_tail());
  }
  auto stopped = t->stop();
  if (!stopped && rep.failure.empty()) {
    rep.failure = "shutdown: " + stopped.err().message;
    fmt::print(stderr, "[bench] {} did not stop cleanly: {}\n", name, stopped.err().message);
  }
  return rep;
}

// Runs every target in frame's temp dir and prints the report. Returns
// whether any failed.
bool run_targets(const bench_options& opt, const bench_frame& frame) {
  std::vector<target_report> reports;
  for (const auto& name : opt.targets) {
    reports.push_back(run_target(name, opt, frame.root));
  }
  print_report(stdout, run_info{opt.record_bytes, opt.records, opt.window, opt.half_load_seconds,
                                opt.half_load_fraction, opt.restart_before_consume, frame.load_avg_1m},
               frame.machine, reports);
  return any_failed(reports);
}

int run(const bench_options& opt) {
  // The group-commit disk tests write one window of records per fdatasync.
  const auto window_bytes = static_cast<uint32_t>(uint64_t{opt.window} * opt.record_bytes);
  return run_bench(
      opt.tmp_parent, "strata-bench-", opt.keep_tmp, opt.disk_test_mib, opt.loopback_test_mib,
      [&opt](const bench_frame& frame) { return run_targets(opt, frame); }, window_bytes);
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  strata::bench::bench_options opt;
  if (auto code = strata::bench::parse_options(argc, argv, opt)) {
    return *code;
  }
  return strata::bench::run(opt);
}
