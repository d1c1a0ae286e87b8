#include "raw_fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

namespace strata::bench {
namespace {

void put(std::vector<uint8_t>& out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint64_t get(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// A magic-2 RecordBatch header of `count` records at base_offset, followed by
// body_bytes of filler standing in for the records.
std::vector<uint8_t> batch(int64_t base_offset, int32_t count, size_t body_bytes, uint8_t magic = 2) {
  std::vector<uint8_t> b;
  put(b, static_cast<uint64_t>(base_offset), 8);
  put(b, 49 + body_bytes, 4);  // batch_length: the rest of the header + body
  put(b, 0, 4);                // partition_leader_epoch
  b.push_back(magic);
  put(b, 0, 4);  // crc (not checked)
  put(b, 0, 2);  // attributes
  put(b, static_cast<uint64_t>(count - 1), 4);
  put(b, 0, 8);
  put(b, 0, 8);
  put(b, static_cast<uint64_t>(-1), 8);
  put(b, static_cast<uint64_t>(-1), 2);
  put(b, static_cast<uint64_t>(-1), 4);
  put(b, static_cast<uint64_t>(count), 4);
  EXPECT_EQ(b.size(), 61u);
  b.insert(b.end(), body_bytes, 0xab);
  return b;
}

// A Fetch v11 response frame (after the size prefix) for one partition.
std::vector<uint8_t> response(int32_t correlation, int16_t error, int64_t hw, const std::vector<uint8_t>& records) {
  std::vector<uint8_t> r;
  put(r, static_cast<uint64_t>(correlation), 4);
  put(r, 0, 4);  // throttle
  put(r, 0, 2);  // error
  put(r, 0, 4);  // session
  put(r, 1, 4);  // topics
  put(r, 1, 2);
  r.push_back('t');
  put(r, 1, 4);  // partitions
  put(r, 0, 4);
  put(r, static_cast<uint16_t>(error), 2);
  put(r, static_cast<uint64_t>(hw), 8);
  put(r, static_cast<uint64_t>(hw), 8);
  put(r, 0, 8);
  put(r, 0xffffffff, 4);  // aborted: null
  put(r, 0xffffffff, 4);  // preferred_read_replica
  put(r, records.size(), 4);
  r.insert(r.end(), records.begin(), records.end());
  return r;
}

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The fields of an encoded Fetch v11 request the fake server needs.
struct decoded_request {
  int16_t api_key = 0, version = 0;
  int32_t correlation = 0, max_bytes = 0, partition_max_bytes = 0;
  std::string topic;
  int64_t fetch_offset = -1;
  size_t size = 0;  // after the prefix
  size_t parsed = 0;
};

decoded_request decode(const std::vector<uint8_t>& frame) {
  decoded_request d;
  const uint8_t* p = frame.data();
  d.size = get(p, 4);
  size_t at = 4;
  d.api_key = static_cast<int16_t>(get(p + at, 2));
  d.version = static_cast<int16_t>(get(p + at + 2, 2));
  d.correlation = static_cast<int32_t>(get(p + at + 4, 4));
  at += 8;
  at += 2 + get(p + at, 2);  // client id
  at += 12;                   // replica, max_wait, min_bytes
  d.max_bytes = static_cast<int32_t>(get(p + at, 4));
  at += 4 + 1 + 8 + 4;  // max_bytes, isolation, session id/epoch, topics count
  const size_t name_len = get(p + at, 2);
  d.topic.assign(reinterpret_cast<const char*>(p + at + 2), name_len);
  at += 2 + name_len + 4 + 4 + 4;  // name, partitions count, partition, leader epoch
  d.fetch_offset = static_cast<int64_t>(get(p + at, 8));
  at += 8 + 8;  // fetch_offset, log_start_offset
  d.partition_max_bytes = static_cast<int32_t>(get(p + at, 4));
  at += 4 + 4 + 2;  // partition max, forgotten topics, rack id
  d.parsed = at;
  return d;
}

TEST(RawFetch, EncodesFetchV11) {
  auto frame = encode_fetch_v11("bench-max", 0, 1234, 32 << 20, 500, 7);
  auto d = decode(frame);
  EXPECT_EQ(d.size + 4, frame.size());
  EXPECT_EQ(d.parsed, frame.size());
  EXPECT_EQ(d.api_key, 1);
  EXPECT_EQ(d.version, 11);
  EXPECT_EQ(d.correlation, 7);
  EXPECT_EQ(d.topic, "bench-max");
  EXPECT_EQ(d.fetch_offset, 1234);
  EXPECT_EQ(d.max_bytes, 32 << 20);
  EXPECT_EQ(d.partition_max_bytes, 32 << 20);
}

TEST(RawFetch, WalksBatchHeadersAndLeavesATruncatedOne) {
  auto b1 = batch(10, 5, 100);
  auto b2 = batch(15, 3, 40);
  auto partial = batch(18, 4, 80);
  partial.resize(70);
  auto s = parse_fetch_v11(response(3, 0, 22, concat({b1, b2, partial})), 3, 10);
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->error, 0);
  EXPECT_EQ(s->high_watermark, 22);
  EXPECT_EQ(s->batches, 2u);
  EXPECT_EQ(s->next_offset, 18);
  EXPECT_EQ(s->record_set_bytes, b1.size() + b2.size());
  EXPECT_EQ(s->truncated_bytes, 70u);
}

TEST(RawFetch, FirstBatchMayStartBeforeTheFetchOffset) {
  auto s = parse_fetch_v11(response(1, 0, 20, concat({batch(10, 5, 10), batch(15, 5, 10)})), 1, 12);
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->next_offset, 20);
}

TEST(RawFetch, RefusesGapsWrongMagicAndWrongCorrelation) {
  EXPECT_FALSE(parse_fetch_v11(response(1, 0, 30, concat({batch(0, 5, 10), batch(6, 5, 10)})), 1, 0));
  EXPECT_FALSE(parse_fetch_v11(response(1, 0, 30, batch(3, 5, 10)), 1, 0));
  EXPECT_FALSE(parse_fetch_v11(response(1, 0, 30, batch(0, 5, 10, 1)), 1, 0));
  EXPECT_FALSE(parse_fetch_v11(response(2, 0, 30, batch(0, 5, 10)), 1, 0));
  auto cut = response(1, 0, 30, batch(0, 5, 10));
  cut.resize(30);
  EXPECT_FALSE(parse_fetch_v11(cut, 1, 0));
}

TEST(RawFetch, ReportsThePartitionError) {
  auto s = parse_fetch_v11(response(1, 1, -1, {}), 1, 0);  // OFFSET_OUT_OF_RANGE
  ASSERT_TRUE(s);
  EXPECT_EQ(s->error, 1);
  EXPECT_EQ(s->next_offset, -1);
}

// A fake broker on a loopback port: answers each Fetch with up to
// `per_response` batches of `batch_records` records, the last one cut short
// when `cut_last` (so the client has to fetch it again).
class fake_broker {
 public:
  fake_broker(int64_t records, int32_t batch_records, int per_response, bool cut_last)
      : records_(records), batch_records_(batch_records), per_response_(per_response), cut_last_(cut_last) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_broker() {
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  static bool read_exact(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
      const ssize_t got = ::recv(fd, p, n, 0);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    for (;;) {
      std::vector<uint8_t> frame(4);
      if (!read_exact(c, frame.data(), 4)) break;
      frame.resize(4 + get(frame.data(), 4));
      if (!read_exact(c, frame.data() + 4, frame.size() - 4)) break;
      auto d = decode(frame);
      std::vector<uint8_t> records;
      int64_t offset = d.fetch_offset;
      for (int i = 0; i < per_response_ && offset < records_; ++i) {
        auto b = batch(offset, batch_records_, 8);
        if (cut_last_ && i == per_response_ - 1) b.resize(b.size() / 2);
        records.insert(records.end(), b.begin(), b.end());
        offset += batch_records_;
      }
      auto body = response(d.correlation, 0, records_, records);
      std::vector<uint8_t> out;
      put(out, body.size(), 4);
      out.insert(out.end(), body.begin(), body.end());
      if (::send(c, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) break;
    }
    ::close(c);
  }

  int64_t records_;
  int32_t batch_records_;
  int per_response_;
  bool cut_last_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST(RawFetch, ReadsToTheHighWatermark) {
  raw_fetch_stats s;
  {
    fake_broker broker(1000, 10, 7, /*cut_last=*/true);
    raw_fetch_plan plan{"t", 0, 1000, 8, 1 << 20, 5'000};
    auto got = raw_fetch_read(broker.port(), plan);
    ASSERT_TRUE(got) << got.err().message;
    s = *got;
  }
  EXPECT_EQ(s.records, 1000u);
  EXPECT_EQ(s.payload_bytes, 8000u);
  EXPECT_EQ(s.batches, 100u);
  EXPECT_EQ(s.requests, 17u);  // 6 whole batches per response: ceil(100 / 6)
  EXPECT_EQ(s.record_set_bytes, 100u * (61 + 8));
  EXPECT_EQ(s.first_response_records, 60u);
  EXPECT_GT(s.seconds, 0);
  EXPECT_NEAR(s.seconds, s.first_response_seconds + s.streaming_seconds, 1e-9);
}

TEST(RawFetch, FailsOnAnotherRecordCount) {
  fake_broker broker(100, 10, 20, false);
  raw_fetch_plan plan{"t", 0, 99, 8, 1 << 20, 5'000};
  auto got = raw_fetch_read(broker.port(), plan);
  ASSERT_FALSE(got);
  EXPECT_NE(got.err().message.find("high watermark 100"), std::string::npos) << got.err().message;
}

}  // namespace
}  // namespace strata::bench
