#include "consume_meter.h"

#include <fmt/format.h>

#include "payload.h"
#include "produce_driver.h"

namespace strata::bench {

consume_meter::consume_meter(uint64_t records, uint32_t record_bytes, bool unordered)
    : records_(records),
      record_bytes_(record_bytes),
      unordered_(unordered),
      seen_mask_(unordered ? records : 0, false) {}

void consume_meter::start() {
  start_ns_ = now_ns();
  seen_.store(0, std::memory_order_release);
}

status consume_meter::observe(std::span<const uint8_t> payload) {
  if (unordered_) {
    auto index = payload.size() == record_bytes_ ? check_payload(payload) : std::nullopt;
    if (!index || *index >= records_) {
      return make_error(errc::corrupt, fmt::format("a damaged record, or one beyond the {} produced ({} bytes)",
                                                   records_, payload.size()));
    }
    if (seen_mask_[*index]) {
      ++duplicates_;
    } else {
      seen_mask_[*index] = true;
      last_ns_ = now_ns();
      if (seen() == 0) {
        first_ns_ = last_ns_;
      }
      seen_.fetch_add(1, std::memory_order_acq_rel);
    }
    return {};
  }
  const uint64_t expected = seen();
  if (expected >= records_) {
    return make_error(errc::corrupt, fmt::format("record beyond the {} produced", records_));
  }
  if (payload.size() != record_bytes_) {
    return make_error(errc::corrupt, fmt::format("record {} has {} bytes, expected {}", expected,
                                                 payload.size(), record_bytes_));
  }
  auto index = check_payload(payload);
  if (!index || *index != expected) {
    return make_error(errc::corrupt, fmt::format("record {} is damaged or out of order (carries {})", expected,
                                                 index ? fmt::format("{}", *index) : "garbage"));
  }
  last_ns_ = now_ns();
  if (expected == 0) {
    first_ns_ = last_ns_;
  }
  seen_.store(expected + 1, std::memory_order_release);
  return {};
}

result<consume_stats> consume_meter::finish() {
  if (seen() != records_) {
    return make_error(errc::corrupt, fmt::format("consumer saw {} of {} records", seen(), records_));
  }
  consume_stats s;
  s.records = records_;
  s.payload_bytes = records_ * record_bytes_;
  s.seconds = static_cast<double>(last_ns_ - start_ns_) / 1e9;
  s.mb_per_s = static_cast<double>(s.payload_bytes) / 1e6 / s.seconds;
  s.records_per_s = static_cast<double>(s.records) / s.seconds;
  s.first_record_seconds = static_cast<double>(first_ns_ - start_ns_) / 1e9;
  s.streaming_seconds = static_cast<double>(last_ns_ - first_ns_) / 1e9;
  if (s.streaming_seconds > 0) {
    s.streaming_mb_per_s = static_cast<double>((records_ - 1) * record_bytes_) / 1e6 / s.streaming_seconds;
  }
  return s;
}

}  // namespace strata::bench
