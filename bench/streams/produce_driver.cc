#include "produce_driver.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "payload.h"

namespace strata::bench {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ack_tracker::ack_tracker(uint64_t records) : send_ns_(records, 0), latency_ns_(records, -1) {}

void ack_tracker::on_send(uint64_t index, int64_t send_ns) {
  std::lock_guard lock(mu_);
  STRATA_ASSERT(index < send_ns_.size(), "record index beyond the plan");
  send_ns_[index] = send_ns;
  ++sent_;
  in_flight_max_ = std::max(in_flight_max_, sent_ - acked_);
}

void ack_tracker::on_ack(uint64_t index) {
  const int64_t t = now_ns();
  std::lock_guard lock(mu_);
  if (index >= latency_ns_.size() || latency_ns_[index] != -1) {
    if (!error_) {
      error_ = fmt::format("acknowledgement for record {} that is unknown or already acknowledged", index);
    }
  } else {
    latency_ns_[index] = std::max<int64_t>(0, t - send_ns_[index]);
    ++acked_;
  }
  cv_.notify_all();
}

void ack_tracker::on_error(uint64_t index, const std::string& what) {
  std::lock_guard lock(mu_);
  if (!error_) {
    error_ = fmt::format("record {} failed: {}", index, what);
  }
  cv_.notify_all();
}

status ack_tracker::wait_until_in_flight_below(uint64_t limit, int64_t stall_timeout_ms) {
  std::unique_lock lock(mu_);
  while (!error_ && sent_ - acked_ >= limit) {
    const uint64_t acked_before = acked_;
    cv_.wait_for(lock, std::chrono::milliseconds(stall_timeout_ms),
                 [&] { return error_ || acked_ != acked_before; });
    if (!error_ && acked_ == acked_before) {
      return make_error(errc::timed_out,
                        fmt::format("no acknowledgement for {} ms with {} records in flight; "
                                    "the server is stuck or down (see its log)",
                                    stall_timeout_ms, sent_ - acked_));
    }
  }
  if (error_) {
    return make_error(errc::io_error, *error_);
  }
  return {};
}

status ack_tracker::wait_for_room(uint32_t window, int64_t stall_timeout_ms) {
  return wait_until_in_flight_below(window, stall_timeout_ms);
}

status ack_tracker::wait_all(int64_t stall_timeout_ms) { return wait_until_in_flight_below(1, stall_timeout_ms); }

uint64_t ack_tracker::in_flight() {
  std::lock_guard lock(mu_);
  return sent_ - acked_;
}

uint64_t ack_tracker::in_flight_max() {
  std::lock_guard lock(mu_);
  return in_flight_max_;
}

uint64_t ack_tracker::acked() {
  std::lock_guard lock(mu_);
  return acked_;
}

std::vector<int64_t> ack_tracker::ack_times_ns() {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out(latency_ns_.size(), -1);
  for (size_t i = 0; i < out.size(); ++i) {
    if (latency_ns_[i] >= 0) {
      out[i] = send_ns_[i] + latency_ns_[i];
    }
  }
  return out;
}

std::vector<int64_t> ack_tracker::latencies_ns() {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out;
  out.reserve(acked_);
  for (int64_t l : latency_ns_) {
    if (l >= 0) {
      out.push_back(l);
    }
  }
  return out;
}

latency_summary summarize(std::vector<int64_t>& latencies_ns) {
  latency_summary s;
  if (latencies_ns.empty()) {
    return s;
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto rank = [&](double q) {
    size_t k = static_cast<size_t>(q * static_cast<double>(latencies_ns.size()) + 0.999999);
    k = std::clamp<size_t>(k, 1, latencies_ns.size());
    return static_cast<double>(latencies_ns[k - 1]) / 1e6;
  };
  s.p50_ms = rank(0.50);
  s.p99_ms = rank(0.99);
  s.max_ms = static_cast<double>(latencies_ns.back()) / 1e6;
  return s;
}

namespace {

// Waits until record `index` is due under the plan's rate; returns its due
// time (or now, when unpaced). Flushes first so nothing sits in a buffer.
result<int64_t> wait_until_due(producer& p, const produce_plan& plan, int64_t start_ns, uint64_t index) {
  const int64_t now = now_ns();
  if (plan.rate_records_per_s <= 0) {
    return now;
  }
  const int64_t due = start_ns + static_cast<int64_t>(static_cast<double>(index) * 1e9 / plan.rate_records_per_s);
  if (due > now) {
    STRATA_TRY(p.flush());
    std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
  }
  return due;
}

}  // namespace

result<produce_stats> run_produce(producer& p, ack_tracker& acks, const produce_plan& plan) {
  if (plan.window == 0 || plan.records == 0 || plan.record_bytes < record_bytes_min) {
    return make_error(errc::invalid_argument, "produce plan needs records, a window and record_bytes >= 16");
  }
  std::vector<uint8_t> payload(plan.record_bytes);
  int64_t lag_max_ns = 0;
  const int64_t start_ns = now_ns();
  for (uint64_t i = 0; i < plan.records; ++i) {
    if (acks.in_flight() >= plan.window) {
      STRATA_TRY(p.flush());
      STRATA_TRY(acks.wait_for_room(plan.window, plan.stall_timeout_ms));
    }
    auto due = wait_until_due(p, plan, start_ns, i);
    if (!due) {
      return due.err();
    }
    fill_payload(payload, i);
    lag_max_ns = std::max(lag_max_ns, now_ns() - *due);
    acks.on_send(i, *due);
    STRATA_TRY(p.send(i, payload));
  }
  STRATA_TRY(p.flush());
  STRATA_TRY(acks.wait_all(plan.stall_timeout_ms));
  const double seconds = static_cast<double>(now_ns() - start_ns) / 1e9;

  produce_stats s;
  s.records = plan.records;
  s.payload_bytes = plan.records * plan.record_bytes;
  s.seconds = seconds;
  s.mb_per_s = static_cast<double>(s.payload_bytes) / 1e6 / seconds;
  s.records_per_s = static_cast<double>(s.records) / seconds;
  auto lat = acks.latencies_ns();
  s.latency = summarize(lat);
  s.in_flight_max = acks.in_flight_max();
  s.sender_lag_max_ms = plan.rate_records_per_s > 0 ? static_cast<double>(lag_max_ns) / 1e6 : 0;
  return s;
}

}  // namespace strata::bench
