// One system under test: it starts its server on a temp dir and a free
// loopback port, and gives the benchmark a producer and a cold consumer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/result.h"
#include "consume_meter.h"
#include "produce_driver.h"
#include "raw_fetch.h"

namespace strata::bench {

struct target_env {
  target_env() = default;
  target_env(std::string dir, std::string bin, int64_t start_ms, int64_t stall_ms)
      : work_dir(std::move(dir)), server_bin(std::move(bin)), start_timeout_ms(start_ms), stall_timeout_ms(stall_ms) {}

  std::string work_dir;    // the target's data dir and server log live here
  std::string server_bin;  // the server executable
  int64_t start_timeout_ms = 20'000;
  int64_t stall_timeout_ms = 30'000;
  // Cluster runs (bench/cluster): the caller starts the servers and the
  // target only connects to them ("host:port" each; start() and stop() then
  // just connect and disconnect). Empty: the target starts its own server.
  std::vector<std::string> endpoints;
  int replicas = 1;  // Kafka replication factor, JetStream stream replicas
  // A publish that fails or gets no ack (a leader died) is sent again, with
  // the same message id so the server drops a duplicate, until acknowledged
  // (JetStream; librdkafka retries by itself).
  bool retry_until_acked = false;
};

class target {
 public:
  virtual ~target() = default;  // kills a server still running

  virtual const char* name() const = 0;
  // What an acknowledgement means for this target in this run.
  virtual std::string durability() const = 0;

  // Starts the server (again, after stop(), on the same data) and waits until
  // it serves.
  virtual status start() = 0;
  virtual status stop() = 0;
  // The end of the server's log, for error reports.
  virtual std::string log_tail() const = 0;

  virtual status create_stream(const std::string& stream) = 0;
  virtual result<std::unique_ptr<producer>> open_producer(const std::string& stream, ack_tracker& acks) = 0;
  // A new consumer reads `stream` from its first record until meter.done();
  // the caller has started the meter.
  virtual status consume(const std::string& stream, consume_meter& meter) = 0;
  // Whether consume_raw works here: the same cold read without the client
  // library, by the benchmark's own raw protocol client, which parses only
  // the response framing, so its time is bound by the server and the socket
  // (strata: raw_fetch_read). Without one, consume_raw answers
  // errc::unsupported.
  virtual bool has_raw_consumer() const { return false; }
  virtual result<raw_fetch_stats> consume_raw(const std::string&, const raw_fetch_plan&) {
    return make_error(errc::unsupported, fmt::format("{} has no raw consumer", name()));
  }
  // The server leading `stream` now (Kafka broker id, JetStream server name),
  // for the failover run of bench/cluster.
  virtual result<std::string> stream_leader(const std::string&) {
    return make_error(errc::unsupported, fmt::format("{} cannot name a stream leader", name()));
  }
};

std::unique_ptr<target> make_strata_target(target_env env);
std::unique_ptr<target> make_jetstream_target(target_env env);
std::unique_ptr<target> make_redis_target(target_env env);

}  // namespace strata::bench
