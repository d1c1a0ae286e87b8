// The produce side of the benchmark, the same for every target: a fixed window
// of records in flight (sent, not yet acknowledged), optionally paced to a
// rate, and a per-record latency from send to acknowledgement.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::bench {

int64_t now_ns();  // steady clock

// Collects acknowledgements from whatever thread a client delivers them on.
class ack_tracker {
 public:
  explicit ack_tracker(uint64_t records);

  // Driver side: record `index` counts as sent at send_ns.
  void on_send(uint64_t index, int64_t send_ns);
  // Client side, any thread.
  void on_ack(uint64_t index);
  void on_error(uint64_t index, const std::string& what);

  // Blocks until fewer than `window` records are in flight. Fails on a client
  // error, or when no acknowledgement arrives for stall_timeout_ms.
  status wait_for_room(uint32_t window, int64_t stall_timeout_ms);
  // Blocks until every sent record is acknowledged (same failures).
  status wait_all(int64_t stall_timeout_ms);

  uint64_t in_flight();
  uint64_t in_flight_max();
  uint64_t acked();
  // When each record was acknowledged (steady clock, ns); -1 if it was not.
  std::vector<int64_t> ack_times_ns();
  // Latency of each acknowledged record, in ns; valid after wait_all succeeded.
  std::vector<int64_t> latencies_ns();

 private:
  status wait_until_in_flight_below(uint64_t limit, int64_t stall_timeout_ms);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> send_ns_;
  std::vector<int64_t> latency_ns_;  // -1 until acknowledged
  uint64_t sent_ = 0;
  uint64_t acked_ = 0;
  uint64_t in_flight_max_ = 0;
  std::optional<std::string> error_;
};

// One target's client, opened on one stream. Acks go to the ack_tracker the
// producer was opened with.
class producer {
 public:
  virtual ~producer() = default;
  virtual status send(uint64_t index, std::span<const uint8_t> payload) = 0;
  // Pushes sends the client buffered onto the wire; called before the driver
  // blocks. Clients with their own flusher do nothing here.
  virtual status flush() = 0;
};

struct produce_plan {
  uint64_t records = 0;
  uint32_t record_bytes = 0;
  uint32_t window = 0;                // records in flight at most
  double rate_records_per_s = 0;      // 0: as fast as the window allows
  int64_t stall_timeout_ms = 30'000;  // no ack for this long fails the run
};

struct latency_summary {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Nearest-rank percentiles; sorts the input.
latency_summary summarize(std::vector<int64_t>& latencies_ns);

struct produce_stats {
  uint64_t records = 0;
  uint64_t payload_bytes = 0;
  double seconds = 0;  // first send to last ack
  double mb_per_s = 0;  // 10^6 payload bytes per second
  double records_per_s = 0;
  latency_summary latency;
  uint64_t in_flight_max = 0;
  // Paced runs: how far behind schedule the sender got at worst (the window
  // was full, or the sender thread did not run); part of the latency.
  double sender_lag_max_ms = 0;
};

// Sends plan.records records through p. With a rate, record i is due at
// start + i / rate and its latency counts from when it was due, so a sender
// that falls behind (coordinated omission) shows up in the latency.
result<produce_stats> run_produce(producer& p, ack_tracker& acks, const produce_plan& plan);

}  // namespace strata::bench
