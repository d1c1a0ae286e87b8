// One system under test: it starts its server on a temp dir and a free
// loopback port, and gives the benchmark a producer and a cold consumer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "consume_meter.h"
#include "produce_driver.h"

namespace strata::bench {

struct target_env {
  std::string work_dir;    // the target's data dir and server log live here
  std::string server_bin;  // the server executable
  int64_t start_timeout_ms = 20'000;
  int64_t stall_timeout_ms = 30'000;
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
};

std::unique_ptr<target> make_strata_target(target_env env);
std::unique_ptr<target> make_jetstream_target(target_env env);
std::unique_ptr<target> make_redis_target(target_env env);

}  // namespace strata::bench
