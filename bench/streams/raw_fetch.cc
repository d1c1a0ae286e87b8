#include "raw_fetch.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "net_util.h"
#include "produce_driver.h"

namespace strata::bench {
namespace {

constexpr int16_t fetch_api_key = 1;
constexpr int16_t fetch_version = 11;
constexpr const char* client_id = "strata-bench-raw";
constexpr int32_t max_wait_ms = 500;  // a long poll, in case the end is not there yet (it always is here)

// RecordBatch (magic 2) header: where its fields sit, from the batch's first byte.
constexpr size_t batch_length_at = 8;      // i32: bytes after this field
constexpr size_t batch_magic_at = 16;      // i8
constexpr size_t batch_last_delta_at = 23;  // i32: last_offset_delta
constexpr size_t batch_header_bytes = 61;  // up to and including the record count
constexpr size_t batch_log_overhead = 12;  // base_offset + batch_length

class be_writer {
 public:
  void i8(int8_t v) { out_.push_back(static_cast<uint8_t>(v)); }
  void i16(int16_t v) { put(static_cast<uint16_t>(v), 2); }
  void i32(int32_t v) { put(static_cast<uint32_t>(v), 4); }
  void i64(int64_t v) { put(static_cast<uint64_t>(v), 8); }
  void string(const std::string& s) {
    i16(static_cast<int16_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  void put(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  std::vector<uint8_t> out_;
};

uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

// Reads big-endian fields from a span; the first read past the end makes
// ok() false and every later read return 0.
class be_reader {
 public:
  explicit be_reader(std::span<const uint8_t> b) : b_(b) {}
  int16_t i16() { return static_cast<int16_t>(take(2)); }
  int32_t i32() { return static_cast<int32_t>(take(4)); }
  int64_t i64() { return static_cast<int64_t>(take(8)); }
  void skip(size_t n) {
    if (!need(n)) return;
    pos_ += n;
  }
  std::span<const uint8_t> raw(size_t n) {
    if (!need(n)) return {};
    auto out = b_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  bool ok() const { return ok_; }

 private:
  bool need(size_t n) {
    if (!ok_ || b_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint64_t take(int n) {
    if (!need(static_cast<size_t>(n))) return 0;
    const uint64_t v = be(b_.data() + pos_, n);
    pos_ += static_cast<size_t>(n);
    return v;
  }
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

status write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(errc::io_error, fmt::format("raw fetch: send: {}", std::strerror(errno)));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

status read_exact(int fd, uint8_t* data, size_t size, int64_t stall_timeout_ms) {
  while (size > 0) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return make_error(errc::timed_out,
                        fmt::format("raw fetch: no bytes from the server for {} ms", stall_timeout_ms));
    }
    if (n < 0) {
      return make_error(errc::io_error, fmt::format("raw fetch: recv: {}", std::strerror(errno)));
    }
    if (n == 0) {
      return make_error(errc::io_error, "raw fetch: the server closed the connection");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

struct fd_closer {
  int fd;
  ~fd_closer() { ::close(fd); }
};

}  // namespace

std::vector<uint8_t> encode_fetch_v11(const std::string& topic, int32_t partition, int64_t fetch_offset,
                                      int32_t max_bytes, int32_t max_wait, int32_t correlation_id) {
  be_writer w;
  w.i32(0);  // size, patched below
  w.i16(fetch_api_key);
  w.i16(fetch_version);
  w.i32(correlation_id);
  w.string(client_id);
  w.i32(-1);  // replica_id: a consumer
  w.i32(max_wait);
  w.i32(1);  // min_bytes
  w.i32(max_bytes);
  w.i8(0);    // isolation_level: read_uncommitted
  w.i32(0);   // session_id: none
  w.i32(-1);  // session_epoch: a full fetch without a session
  w.i32(1);   // topics
  w.string(topic);
  w.i32(1);  // partitions
  w.i32(partition);
  w.i32(-1);  // current_leader_epoch: not checked
  w.i64(fetch_offset);
  w.i64(-1);  // log_start_offset (followers only)
  w.i32(max_bytes);
  w.i32(0);  // forgotten_topics_data
  w.string("");  // rack_id
  auto& out = w.bytes();
  const auto size = static_cast<uint32_t>(out.size() - 4);
  for (int i = 0; i < 4; ++i) {
    out[static_cast<size_t>(i)] = static_cast<uint8_t>(size >> (8 * (3 - i)));
  }
  return std::move(out);
}

result<fetch_summary> parse_fetch_v11(std::span<const uint8_t> frame, int32_t correlation_id, int64_t fetch_offset) {
  be_reader r(frame);
  const int32_t correlation = r.i32();
  (void)r.i32();  // throttle_time_ms
  fetch_summary s;
  s.error = r.i16();
  (void)r.i32();  // session_id
  const int32_t topics = r.i32();
  if (!r.ok()) {
    return make_error(errc::corrupt, "raw fetch: truncated response header");
  }
  if (correlation != correlation_id) {
    return make_error(errc::corrupt,
                      fmt::format("raw fetch: correlation id {}, expected {}", correlation, correlation_id));
  }
  if (s.error != 0) {
    return s;
  }
  if (topics != 1) {
    return make_error(errc::corrupt, fmt::format("raw fetch: {} topics in the response, expected 1", topics));
  }
  r.skip(static_cast<size_t>(std::max<int16_t>(0, r.i16())));  // topic name
  const int32_t partitions = r.i32();
  if (r.ok() && partitions != 1) {
    return make_error(errc::corrupt, fmt::format("raw fetch: {} partitions in the response, expected 1", partitions));
  }
  (void)r.i32();  // partition_index
  s.error = r.i16();
  s.high_watermark = r.i64();
  (void)r.i64();  // last_stable_offset
  (void)r.i64();  // log_start_offset
  const int32_t aborted = r.i32();
  if (aborted > 0) {
    r.skip(static_cast<size_t>(aborted) * 16);  // producer_id, first_offset
  }
  (void)r.i32();  // preferred_read_replica
  const int32_t records_len = r.i32();
  auto records = r.raw(static_cast<size_t>(std::max(0, records_len)));
  if (!r.ok()) {
    return make_error(errc::corrupt, "raw fetch: truncated partition response");
  }
  // Walk the batch headers; the records inside are never looked at.
  size_t pos = 0;
  int64_t expected = fetch_offset;
  while (records.size() - pos >= batch_header_bytes) {
    const uint8_t* b = records.data() + pos;
    const auto base_offset = static_cast<int64_t>(be(b, 8));
    const auto length = static_cast<int32_t>(be(b + batch_length_at, 4));
    const size_t total = batch_log_overhead + static_cast<size_t>(std::max(0, length));
    if (length < static_cast<int32_t>(batch_header_bytes - batch_log_overhead)) {
      return make_error(errc::corrupt, fmt::format("raw fetch: batch at offset {} has length {}", base_offset, length));
    }
    if (records.size() - pos < total) {
      break;  // truncated at the end of the response: fetched again next time
    }
    if (b[batch_magic_at] != 2) {
      return make_error(errc::corrupt, fmt::format("raw fetch: batch at offset {} has magic {}", base_offset,
                                                   static_cast<int>(b[batch_magic_at])));
    }
    const auto last_delta = static_cast<int32_t>(be(b + batch_last_delta_at, 4));
    const int64_t last = base_offset + last_delta;
    const bool first_may_overlap = s.batches == 0 && base_offset <= expected;
    if (last_delta < 0 || last < expected || (!first_may_overlap && base_offset != expected)) {
      return make_error(errc::corrupt, fmt::format("raw fetch: batch {}..{} where offset {} was expected", base_offset,
                                                   last, expected));
    }
    expected = last + 1;
    s.next_offset = expected;
    ++s.batches;
    pos += total;
  }
  s.record_set_bytes = pos;
  s.truncated_bytes = records.size() - pos;
  return s;
}

result<raw_fetch_stats> raw_fetch_read(uint16_t port, const raw_fetch_plan& plan) {
  const int64_t start = now_ns();
  auto fd = connect_loopback(port);
  if (!fd) {
    return fd.err();
  }
  fd_closer closer{*fd};
  timeval tv{};
  tv.tv_sec = plan.stall_timeout_ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((plan.stall_timeout_ms % 1000) * 1000);
  ::setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

  raw_fetch_stats s;
  s.max_bytes = plan.max_bytes;
  // The largest response: the records plus a few hundred bytes of framing.
  const uint64_t frame_max = static_cast<uint64_t>(plan.max_bytes) + (1 << 20);
  std::vector<uint8_t> buf;
  int64_t offset = 0;
  int64_t high_watermark = -1;
  int64_t last_progress = start;
  int64_t last_byte = start;
  int32_t correlation = 0;
  while (high_watermark < 0 || offset < high_watermark) {
    ++correlation;
    const auto request = encode_fetch_v11(plan.topic, plan.partition, offset, plan.max_bytes, max_wait_ms, correlation);
    STRATA_TRY(write_all(*fd, request.data(), request.size()));
    const int64_t sent = now_ns();
    uint8_t size_prefix[4];
    STRATA_TRY(read_exact(*fd, size_prefix, sizeof(size_prefix), plan.stall_timeout_ms));
    const int64_t first_byte = now_ns();
    const uint64_t size = be(size_prefix, 4);
    if (size < 8 || size > frame_max) {
      return make_error(errc::corrupt, fmt::format("raw fetch: response of {} bytes", size));
    }
    if (buf.size() < size) {
      buf.resize(size);  // grows only: no zeroing once it is big enough
    }
    STRATA_TRY(read_exact(*fd, buf.data(), size, plan.stall_timeout_ms));
    last_byte = now_ns();
    ++s.requests;
    s.response_bytes += 4 + size;
    s.wait_seconds += static_cast<double>(first_byte - sent) / 1e9;
    s.transfer_seconds += static_cast<double>(last_byte - first_byte) / 1e9;

    auto summary = parse_fetch_v11({buf.data(), size}, correlation, offset);
    if (!summary) {
      return summary.err();
    }
    if (summary->error != 0) {
      return make_error(errc::io_error, fmt::format("raw fetch of {}/{} at offset {}: Kafka error code {}", plan.topic,
                                                    plan.partition, offset, summary->error));
    }
    if (high_watermark < 0) {
      high_watermark = summary->high_watermark;
      s.first_response_seconds = static_cast<double>(last_byte - start) / 1e9;
      if (high_watermark != static_cast<int64_t>(plan.records)) {
        return make_error(errc::corrupt, fmt::format("raw fetch: {}/{} has high watermark {}, expected {} records",
                                                     plan.topic, plan.partition, high_watermark, plan.records));
      }
    }
    s.record_set_bytes += summary->record_set_bytes;
    s.batches += summary->batches;
    if (summary->next_offset > offset) {
      offset = summary->next_offset;
      last_progress = last_byte;
      if (s.requests == 1) {
        s.first_response_records = static_cast<uint64_t>(offset);
      }
    } else if (summary->truncated_bytes > 0) {
      return make_error(errc::limit_exceeded, fmt::format("raw fetch: the batch at offset {} is larger than the "
                                                          "{} bytes asked for",
                                                          offset, plan.max_bytes));
    } else if (last_byte - last_progress > plan.stall_timeout_ms * 1'000'000) {
      return make_error(errc::timed_out, fmt::format("raw fetch: no records for {} ms at offset {} of {}",
                                                     plan.stall_timeout_ms, offset, high_watermark));
    }
  }
  if (offset != high_watermark) {
    return make_error(errc::corrupt, fmt::format("raw fetch: read to offset {}, past the high watermark {}", offset,
                                                 high_watermark));
  }
  s.records = static_cast<uint64_t>(offset);
  s.payload_bytes = s.records * plan.record_bytes;
  s.seconds = static_cast<double>(last_byte - start) / 1e9;
  s.streaming_seconds = s.seconds - s.first_response_seconds;
  s.mb_per_s = static_cast<double>(s.payload_bytes) / 1e6 / s.seconds;
  s.records_per_s = static_cast<double>(s.records) / s.seconds;
  s.record_set_mb_per_s = static_cast<double>(s.record_set_bytes) / 1e6 / s.seconds;
  if (s.streaming_seconds > 0 && s.records > s.first_response_records) {
    s.streaming_mb_per_s =
        static_cast<double>((s.records - s.first_response_records) * plan.record_bytes) / 1e6 / s.streaming_seconds;
  }
  return s;
}

}  // namespace strata::bench
