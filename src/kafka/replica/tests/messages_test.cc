// The follower's wire messages (docs/formats/replication.md): the request
// frames it sends decode field by field and through the server's own Fetch and
// OffsetForLeaderEpoch handlers, and the response decoders accept what the
// server writes and refuse, without reading out of bounds, what it does not.
#include "kafka/replica/messages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/scheduler.h"
#include "kafka/groups/coordinator.h"
#include "kafka/protocol/api.h"
#include "kafka/protocol/wire.h"
#include "kafka/server/handler.h"
#include "meta/kv.h"
#include "streams/service.h"

namespace strata::kafka::replica {
namespace {

constexpr int32_t correlation = 7001;

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// The frame after its 4-byte size prefix, which must match the frame's size.
std::span<const uint8_t> after_size_prefix(const std::vector<uint8_t>& frame) {
  EXPECT_GE(frame.size(), 4u);
  reader r(frame);
  EXPECT_EQ(static_cast<size_t>(r.i32()), frame.size() - 4) << "size prefix";
  return std::span<const uint8_t>(frame).subspan(4);
}

fetch_request sample_fetch() {
  fetch_request req;
  req.replica_id = 2;
  req.max_wait_ms = 500;
  req.bytes_max = 8 << 20;
  // Interleaved topics: the encoder groups them, keeping first-seen order.
  req.partitions = {{"orders", 0, 5, 100, 1 << 20},
                    {"clicks", 3, 7, 42, 4096},
                    {"orders", 2, 5, 0, 1 << 20},
                    {"clicks", 1, 8, 9'000'000'000LL, 4096}};
  return req;
}

TEST(ReplicaMessages, FetchRequestDecodesFieldByField) {
  auto frame = encode_fetch(sample_fetch(), correlation);
  reader h(after_size_prefix(frame));
  EXPECT_EQ(h.i16(), static_cast<int16_t>(api_key::fetch));
  EXPECT_EQ(h.i16(), fetch_version);
  EXPECT_EQ(h.i32(), correlation);
  EXPECT_EQ(h.nullable_string(false), std::optional<std::string>("strata-replica"));
  EXPECT_EQ(h.i32(), 2) << "replica_id";
  EXPECT_EQ(h.i32(), 500) << "max_wait_ms";
  EXPECT_EQ(h.i32(), 1) << "min_bytes";
  EXPECT_EQ(h.i32(), 8 << 20) << "max_bytes";
  EXPECT_EQ(h.i8(), 0) << "isolation_level";
  EXPECT_EQ(h.i32(), 0) << "session_id";
  EXPECT_EQ(h.i32(), -1) << "session_epoch";
  ASSERT_EQ(h.array_length(false), 2) << "two topics";
  struct seen {
    int32_t partition, epoch;
    int64_t offset;
    int32_t bytes_max;
  };
  std::vector<std::pair<std::string, std::vector<seen>>> topics;
  for (int t = 0; t < 2; ++t) {
    std::string name = h.string(false);
    int32_t n = h.array_length(false);
    std::vector<seen> parts;
    for (int32_t i = 0; i < n; ++i) {
      seen s{};
      s.partition = h.i32();
      s.epoch = h.i32();
      s.offset = h.i64();
      EXPECT_EQ(h.i64(), -1) << "log_start_offset";
      s.bytes_max = h.i32();
      parts.push_back(s);
    }
    topics.emplace_back(name, parts);
  }
  EXPECT_EQ(h.array_length(false), 0) << "forgotten topics";
  EXPECT_EQ(h.string(false), "") << "rack_id";
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.remaining(), 0u);

  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].first, "orders");
  ASSERT_EQ(topics[0].second.size(), 2u);
  EXPECT_EQ(topics[0].second[0].partition, 0);
  EXPECT_EQ(topics[0].second[0].epoch, 5);
  EXPECT_EQ(topics[0].second[0].offset, 100);
  EXPECT_EQ(topics[0].second[0].bytes_max, 1 << 20);
  EXPECT_EQ(topics[0].second[1].partition, 2);
  EXPECT_EQ(topics[0].second[1].offset, 0);
  EXPECT_EQ(topics[1].first, "clicks");
  ASSERT_EQ(topics[1].second.size(), 2u);
  EXPECT_EQ(topics[1].second[0].partition, 3);
  EXPECT_EQ(topics[1].second[0].epoch, 7);
  EXPECT_EQ(topics[1].second[0].offset, 42);
  EXPECT_EQ(topics[1].second[0].bytes_max, 4096);
  EXPECT_EQ(topics[1].second[1].partition, 1);
  EXPECT_EQ(topics[1].second[1].epoch, 8);
  EXPECT_EQ(topics[1].second[1].offset, 9'000'000'000LL);
}

TEST(ReplicaMessages, EmptyFetchRequestIsWellFormed) {
  fetch_request req;
  req.replica_id = 3;
  auto frame = encode_fetch(req, 1);
  reader h(after_size_prefix(frame));
  auto header = decode_request_header(h);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->api_key, static_cast<int16_t>(api_key::fetch));
  (void)h.raw(4 * 4 + 1 + 4 + 4);
  EXPECT_EQ(h.array_length(false), 0);
  EXPECT_EQ(h.array_length(false), 0);
  EXPECT_EQ(h.string(false), "");
  EXPECT_TRUE(h.ok());
  EXPECT_EQ(h.remaining(), 0u);
}

TEST(ReplicaMessages, OffsetForLeaderEpochRequestDecodesFieldByField) {
  std::vector<epoch_request_partition> parts = {{"a", 0, 4, 3}, {"b", 1, 4, 2}, {"a", 5, 6, 6}};
  auto frame = encode_offset_for_leader_epoch(3, parts, correlation);
  reader h(after_size_prefix(frame));
  auto header = decode_request_header(h);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->api_key, static_cast<int16_t>(api_key::offset_for_leader_epoch));
  EXPECT_EQ(header->api_version, epoch_version);
  EXPECT_EQ(header->correlation_id, correlation);
  EXPECT_EQ(header->client_id, std::optional<std::string>("strata-replica"));
  EXPECT_FALSE(header->flexible);
  EXPECT_EQ(h.i32(), 3) << "replica_id";
  ASSERT_EQ(h.array_length(false), 2);
  EXPECT_EQ(h.string(false), "a");
  ASSERT_EQ(h.array_length(false), 2);
  EXPECT_EQ(h.i32(), 0);
  EXPECT_EQ(h.i32(), 4);
  EXPECT_EQ(h.i32(), 3);
  EXPECT_EQ(h.i32(), 5);
  EXPECT_EQ(h.i32(), 6);
  EXPECT_EQ(h.i32(), 6);
  EXPECT_EQ(h.string(false), "b");
  ASSERT_EQ(h.array_length(false), 1);
  EXPECT_EQ(h.i32(), 1);
  EXPECT_EQ(h.i32(), 4);
  EXPECT_EQ(h.i32(), 2);
  EXPECT_TRUE(h.ok());
  EXPECT_EQ(h.remaining(), 0u);
}

// ---- Through the server's own handlers ----

// A streams service that records the replica calls the handlers make and
// answers them from a table; everything else is unused here.
class replica_streams final : public streams::service {
 public:
  struct fetch_call {
    std::string topic;
    int32_t partition, replica_id, current_leader_epoch;
    int64_t offset;
    uint32_t max_bytes;
  };
  struct epoch_call {
    std::string topic;
    int32_t partition, current_leader_epoch, requested_epoch;
  };
  std::vector<fetch_call> fetches;
  std::vector<epoch_call> epoch_calls;
  std::map<std::pair<std::string, int32_t>, streams::fetch_result> fetch_answers;
  std::map<std::pair<std::string, int32_t>, epoch_end> epoch_answers;
  int consumer_fetches = 0;

  void shutdown() override {}
  const streams::service_config& config() const override { return config_; }
  result<streams::topic_info> create_topic(const std::string&, int32_t, const std::map<std::string, std::string>&,
                                           int32_t, const std::vector<std::vector<int32_t>>&) override {
    return make_error(errc::unsupported, "unused");
  }
  status delete_topic(const std::string&) override { return make_error(errc::unsupported, "unused"); }
  status create_partitions(const std::string&, int32_t) override { return make_error(errc::unsupported, "unused"); }
  std::vector<streams::topic_info> list_topics() const override { return {}; }
  result<streams::topic_info> describe_topic(const std::string&) const override {
    return make_error(errc::not_found, "unused");
  }
  void produce(const std::string&, int32_t, std::span<const uint8_t>, bool, std::function<void(streams::produce_result)> done,
               int32_t) override {
    done(streams::produce_result{streams::stream_error::storage_error, "unused"});
  }
  streams::fetch_result fetch(const std::string&, int32_t, int64_t, uint32_t, bool, streams::isolation) override {
    ++consumer_fetches;
    return {};
  }
  uint64_t watch(const std::string&, int32_t, std::function<void()>) override { return ++watch_ids_; }
  void unwatch(uint64_t) override {}
  offset_lookup list_offset(const std::string&, int32_t, int64_t, streams::isolation) override { return {}; }
  producer_identity init_producer_id(int64_t, int16_t) override { return {}; }
  void attach_cluster(streams::cluster_link&, streams::replication_config) override {}
  void apply_cluster(const streams::cluster_snapshot&) override {}
  const streams::cluster_snapshot& cluster_state() const override { return snapshot_; }
  bool clustered() const override { return true; }
  streams::fetch_result fetch_for_replica(const std::string& topic, int32_t partition, int32_t replica_id,
                                          int32_t current_leader_epoch, int64_t offset, uint32_t max_bytes) override {
    fetches.push_back({topic, partition, replica_id, current_leader_epoch, offset, max_bytes});
    auto it = fetch_answers.find({topic, partition});
    if (it == fetch_answers.end()) {
      streams::fetch_result r;
      r.error = streams::stream_error::unknown_topic_or_partition;
      return r;
    }
    return it->second;
  }
  epoch_end end_offset_for_epoch(const std::string& topic, int32_t partition, int32_t current_leader_epoch,
                                 int32_t requested_epoch) override {
    epoch_calls.push_back({topic, partition, current_leader_epoch, requested_epoch});
    auto it = epoch_answers.find({topic, partition});
    if (it == epoch_answers.end()) return epoch_end{streams::stream_error::unknown_topic_or_partition, -1, -1};
    return it->second;
  }
  std::vector<streams::followed_partition> followed_partitions() const override { return {}; }
  void append_replicated(const std::string&, int32_t, int32_t, std::span<const uint8_t>, int64_t,
                         std::function<void(result<int64_t>)> done) override {
    done(make_error(errc::unsupported, "unused"));
  }
  void truncate_replica(const std::string&, int32_t, int32_t, const streams::truncation_point&,
                        std::function<void(status)> done) override {
    done(make_error(errc::unsupported, "unused"));
  }
  std::vector<streams::replication_lag> replication_lags() const override { return {}; }
  streams::replication_counters counters() const override { return {}; }

 private:
  streams::service_config config_;
  streams::cluster_snapshot snapshot_;
  uint64_t watch_ids_ = 0;
};

// Runs a request frame (with its size prefix) through the server: header
// decode, then the API's handler. Returns the response as the follower reads
// it: response header, then body, without the size prefix.
class server_side {
 public:
  server_side() : groups_(sched, *kv_, groups::coordinator_config{}), svc_{streams, groups_, sched, broker} {}

  // `from_cluster_node`: the connection's peer proved with the cluster CA that it is a node.
  std::optional<std::vector<uint8_t>> serve(const std::vector<uint8_t>& frame, bool from_cluster_node = false) {
    reader r(after_size_prefix(frame));
    auto header = decode_request_header(r);
    if (!header) return std::nullopt;
    const api_info* api = find_api(header->api_key);
    EXPECT_NE(api, nullptr);
    if (!api) return std::nullopt;
    EXPECT_GE(header->api_version, api->min_version);
    EXPECT_LE(header->api_version, api->max_version);
    handler_fn handler = find_handler(header->api_key);
    EXPECT_NE(handler, nullptr);
    if (!handler) return std::nullopt;
    std::span<const uint8_t> whole = after_size_prefix(frame);
    request req{*header, whole.subspan(r.position()), "/127.0.0.1", from_cluster_node};
    std::optional<std::vector<uint8_t>> body;
    int responses = 0;
    status s = handler(svc_, req, [&](std::optional<std::vector<uint8_t>> b) {
      ++responses;
      body = std::move(b);
    });
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.err().message);
    for (int i = 0; i < 10 && responses == 0; ++i) sched.advance(1000);  // long polls end by their timer
    EXPECT_EQ(responses, 1);
    if (!body) return std::nullopt;
    std::vector<uint8_t> out;
    writer w(out);
    encode_response_header(w, *header);
    w.raw(*body);
    return out;
  }

  replica_streams streams;
  manual_scheduler sched;
  broker_config broker;

 private:
  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  groups::coordinator groups_;
  services svc_;
};

TEST(ReplicaMessages, FetchRoundTripsThroughTheServersFetchHandler) {
  server_side server;
  const auto batch = bytes_of("pretend-record-batch-bytes");
  streams::fetch_result orders0;
  orders0.high_watermark = 90;
  orders0.log_start_offset = 10;
  orders0.records = batch;
  server.streams.fetch_answers[{"orders", 0}] = orders0;
  streams::fetch_result orders2;
  orders2.high_watermark = 0;
  orders2.log_start_offset = 0;
  server.streams.fetch_answers[{"orders", 2}] = orders2;
  streams::fetch_result clicks3;
  clicks3.error = streams::stream_error::fenced_leader_epoch;
  server.streams.fetch_answers[{"clicks", 3}] = clicks3;
  streams::fetch_result clicks1;
  clicks1.error = streams::stream_error::unknown_leader_epoch;
  server.streams.fetch_answers[{"clicks", 1}] = clicks1;

  auto response = server.serve(encode_fetch(sample_fetch(), correlation));
  ASSERT_TRUE(response.has_value());

  // The handler took it as a follower's fetch, with every field in place.
  EXPECT_EQ(server.streams.consumer_fetches, 0);
  ASSERT_EQ(server.streams.fetches.size(), 4u);
  std::vector<std::tuple<std::string, int32_t, int32_t, int32_t, int64_t>> calls;
  for (auto& c : server.streams.fetches) {
    calls.emplace_back(c.topic, c.partition, c.replica_id, c.current_leader_epoch, c.offset);
    EXPECT_LE(c.max_bytes, c.topic == "orders" ? uint32_t{1 << 20} : 4096u);
  }
  using call = std::tuple<std::string, int32_t, int32_t, int32_t, int64_t>;
  EXPECT_EQ(calls, (std::vector<call>{{"orders", 0, 2, 5, 100},
                                      {"orders", 2, 2, 5, 0},
                                      {"clicks", 3, 2, 7, 42},
                                      {"clicks", 1, 2, 8, 9'000'000'000LL}}));

  // And the follower reads the server's answer back.
  auto decoded = decode_fetch(*response, correlation);
  ASSERT_TRUE(decoded.ok()) << decoded.err().message;
  ASSERT_EQ(decoded->size(), 4u);
  auto& d = *decoded;
  EXPECT_EQ(d[0].topic, "orders");
  EXPECT_EQ(d[0].partition, 0);
  EXPECT_EQ(d[0].error, 0);
  EXPECT_EQ(d[0].high_watermark, 90);
  EXPECT_EQ(d[0].log_start_offset, 10);
  EXPECT_EQ(std::vector<uint8_t>(d[0].records.begin(), d[0].records.end()), batch);
  EXPECT_EQ(d[1].partition, 2);
  EXPECT_TRUE(d[1].records.empty());
  EXPECT_EQ(d[2].topic, "clicks");
  EXPECT_EQ(d[2].partition, 3);
  EXPECT_EQ(d[2].error, static_cast<int16_t>(error_code::fenced_leader_epoch));
  EXPECT_EQ(d[3].partition, 1);
  EXPECT_EQ(d[3].error, static_cast<int16_t>(error_code::unknown_leader_epoch));

  EXPECT_EQ(decode_fetch(*response, correlation + 1).code(), errc::corrupt);
}

TEST(ReplicaMessages, WithClusterTlsOnlyAuthenticatedNodesFetchAsReplicas) {
  server_side server;
  server.broker.replica_fetch_needs_node = true;
  streams::fetch_result answer;
  answer.high_watermark = 90;
  answer.log_start_offset = 0;
  answer.records = bytes_of("records");
  for (auto key : {std::pair<std::string, int32_t>{"orders", 0}, {"orders", 2}, {"clicks", 3}, {"clicks", 1}}) {
    server.streams.fetch_answers[key] = answer;
  }

  // A client posing as replica 2 on a connection that is not a node's.
  auto refused = server.serve(encode_fetch(sample_fetch(), correlation));
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(server.streams.fetches.empty()) << "nothing was read for it";
  auto decoded = decode_fetch(*refused, correlation);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.err().message.find("CLUSTER_AUTHORIZATION_FAILED"), std::string::npos) << decoded.err().message;

  // The same fetch from an authenticated node is served.
  auto served = server.serve(encode_fetch(sample_fetch(), correlation), /*from_cluster_node=*/true);
  ASSERT_TRUE(served.has_value());
  auto records = decode_fetch(*served, correlation);
  ASSERT_TRUE(records.ok()) << records.err().message;
  ASSERT_EQ(records->size(), 4u);
  EXPECT_EQ((*records)[0].error, 0);
  EXPECT_EQ(std::vector<uint8_t>((*records)[0].records.begin(), (*records)[0].records.end()), bytes_of("records"));
  EXPECT_EQ(server.streams.fetches.size(), 4u);
}

TEST(ReplicaMessages, AnEmptyLongPollRoundTripsThroughTheServer) {
  server_side server;
  streams::fetch_result idle;
  idle.high_watermark = 5;
  idle.log_start_offset = 0;
  server.streams.fetch_answers[{"t", 0}] = idle;
  fetch_request req;
  req.replica_id = 3;
  req.max_wait_ms = 500;
  req.bytes_max = 1 << 20;
  req.partitions = {{"t", 0, 1, 5, 1 << 20}};
  auto response = server.serve(encode_fetch(req, 9));
  ASSERT_TRUE(response.has_value());
  EXPECT_GE(server.streams.fetches.size(), 2u) << "tried once at once and again when the wait ended";
  auto decoded = decode_fetch(*response, 9);
  ASSERT_TRUE(decoded.ok()) << decoded.err().message;
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0].high_watermark, 5);
  EXPECT_TRUE((*decoded)[0].records.empty());
}

TEST(ReplicaMessages, OffsetForLeaderEpochRoundTripsThroughTheServersHandler) {
  server_side server;
  server.streams.epoch_answers[{"a", 0}] = {streams::stream_error::none, 3, 120};
  server.streams.epoch_answers[{"a", 5}] = {streams::stream_error::fenced_leader_epoch, -1, -1};
  server.streams.epoch_answers[{"b", 1}] = {streams::stream_error::none, 1, 7'000'000'000LL};
  std::vector<epoch_request_partition> parts = {{"a", 0, 4, 3}, {"b", 1, 4, 2}, {"a", 5, 6, 6}};
  auto response = server.serve(encode_offset_for_leader_epoch(3, parts, correlation));
  ASSERT_TRUE(response.has_value());

  ASSERT_EQ(server.streams.epoch_calls.size(), 3u);
  EXPECT_EQ(server.streams.epoch_calls[0].topic, "a");
  EXPECT_EQ(server.streams.epoch_calls[0].partition, 0);
  EXPECT_EQ(server.streams.epoch_calls[0].current_leader_epoch, 4);
  EXPECT_EQ(server.streams.epoch_calls[0].requested_epoch, 3);
  EXPECT_EQ(server.streams.epoch_calls[1].partition, 5);
  EXPECT_EQ(server.streams.epoch_calls[1].current_leader_epoch, 6);
  EXPECT_EQ(server.streams.epoch_calls[2].topic, "b");
  EXPECT_EQ(server.streams.epoch_calls[2].requested_epoch, 2);

  auto decoded = decode_offset_for_leader_epoch(*response, correlation);
  ASSERT_TRUE(decoded.ok()) << decoded.err().message;
  ASSERT_EQ(decoded->size(), 3u);
  auto& d = *decoded;
  EXPECT_EQ(d[0].topic, "a");
  EXPECT_EQ(d[0].partition, 0);
  EXPECT_EQ(d[0].error, 0);
  EXPECT_EQ(d[0].leader_epoch, 3);
  EXPECT_EQ(d[0].end_offset, 120);
  EXPECT_EQ(d[1].topic, "a");
  EXPECT_EQ(d[1].partition, 5);
  EXPECT_EQ(d[1].error, static_cast<int16_t>(error_code::fenced_leader_epoch));
  EXPECT_EQ(d[1].leader_epoch, -1);
  EXPECT_EQ(d[2].topic, "b");
  EXPECT_EQ(d[2].end_offset, 7'000'000'000LL);

  EXPECT_EQ(decode_offset_for_leader_epoch(*response, correlation - 1).code(), errc::corrupt);
}

// ---- Hand-built responses ----

struct fetch_part_spec {
  int32_t partition = 0;
  int16_t error = 0;
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
  int32_t aborted = 0;
  std::optional<std::vector<uint8_t>> records;
};

std::vector<uint8_t> fetch_response(int32_t corr, int16_t top_error,
                                    const std::vector<std::pair<std::string, std::vector<fetch_part_spec>>>& topics) {
  std::vector<uint8_t> out;
  writer w(out);
  w.i32(corr);
  w.i32(0);  // throttle
  w.i16(top_error);
  w.i32(0);  // session id
  w.array_length(static_cast<int32_t>(topics.size()), false);
  for (auto& [name, parts] : topics) {
    w.string(name, false);
    w.array_length(static_cast<int32_t>(parts.size()), false);
    for (auto& p : parts) {
      w.i32(p.partition);
      w.i16(p.error);
      w.i64(p.high_watermark);
      w.i64(p.high_watermark);  // last stable offset
      w.i64(p.log_start_offset);
      w.array_length(p.aborted, false);
      for (int32_t i = 0; i < p.aborted; ++i) {
        w.i64(1000 + i);  // producer id
        w.i64(i);         // first offset
      }
      w.i32(-1);  // preferred read replica
      if (p.records) {
        w.nullable_bytes(std::span<const uint8_t>(*p.records), false);
      } else {
        w.nullable_bytes(std::nullopt, false);
      }
    }
  }
  return out;
}

struct epoch_part_spec {
  int16_t error = 0;
  int32_t partition = 0;
  int32_t leader_epoch = -1;
  int64_t end_offset = -1;
};

std::vector<uint8_t> epoch_response(int32_t corr,
                                    const std::vector<std::pair<std::string, std::vector<epoch_part_spec>>>& topics) {
  std::vector<uint8_t> out;
  writer w(out);
  w.i32(corr);
  w.i32(0);  // throttle
  w.array_length(static_cast<int32_t>(topics.size()), false);
  for (auto& [name, parts] : topics) {
    w.string(name, false);
    w.array_length(static_cast<int32_t>(parts.size()), false);
    for (auto& p : parts) {
      w.i16(p.error);
      w.i32(p.partition);
      w.i32(p.leader_epoch);
      w.i64(p.end_offset);
    }
  }
  return out;
}

std::vector<uint8_t> sample_fetch_response() {
  return fetch_response(correlation, 0,
                        {{"orders", {{0, 0, 50, 3, 2, bytes_of("batch-zero")}, {4, 6, -1, -1, 0, std::nullopt}}},
                         {"clicks", {{1, 0, 8, 0, 0, bytes_of("")}}}});
}

std::vector<uint8_t> sample_epoch_response() {
  return epoch_response(correlation, {{"orders", {{0, 0, 4, 77}, {74, 3, -1, -1}}}, {"clicks", {{0, 1, 0, 0}}}});
}

TEST(ReplicaMessages, DecodeFetchOfAHandBuiltResponse) {
  auto frame = sample_fetch_response();
  auto d = decode_fetch(frame, correlation);
  ASSERT_TRUE(d.ok()) << d.err().message;
  ASSERT_EQ(d->size(), 3u);
  auto& p0 = (*d)[0];
  EXPECT_EQ(p0.topic, "orders");
  EXPECT_EQ(p0.partition, 0);
  EXPECT_EQ(p0.error, 0);
  EXPECT_EQ(p0.high_watermark, 50);
  EXPECT_EQ(p0.log_start_offset, 3);
  EXPECT_EQ(std::string(p0.records.begin(), p0.records.end()), "batch-zero");
  // The records are a view into the response buffer, not a copy.
  EXPECT_GE(p0.records.data(), frame.data());
  EXPECT_LE(p0.records.data() + p0.records.size(), frame.data() + frame.size());
  auto& p1 = (*d)[1];
  EXPECT_EQ(p1.topic, "orders");
  EXPECT_EQ(p1.partition, 4);
  EXPECT_EQ(p1.error, 6);
  EXPECT_EQ(p1.high_watermark, -1);
  EXPECT_TRUE(p1.records.empty()) << "null records";
  EXPECT_EQ((*d)[2].topic, "clicks");
  EXPECT_EQ((*d)[2].high_watermark, 8);
  EXPECT_TRUE((*d)[2].records.empty());

  auto empty = decode_fetch(fetch_response(correlation, 0, {}), correlation);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ReplicaMessages, DecodeFetchReportsATopLevelError) {
  auto d = decode_fetch(fetch_response(correlation, 35, {}), correlation);  // UNSUPPORTED_VERSION
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.code(), errc::unavailable);
  EXPECT_NE(d.err().message.find("35"), std::string::npos) << d.err().message;
}

TEST(ReplicaMessages, DecodeOffsetForLeaderEpochOfAHandBuiltResponse) {
  auto d = decode_offset_for_leader_epoch(sample_epoch_response(), correlation);
  ASSERT_TRUE(d.ok()) << d.err().message;
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].topic, "orders");
  EXPECT_EQ((*d)[0].partition, 0);
  EXPECT_EQ((*d)[0].error, 0);
  EXPECT_EQ((*d)[0].leader_epoch, 4);
  EXPECT_EQ((*d)[0].end_offset, 77);
  EXPECT_EQ((*d)[1].partition, 3);
  EXPECT_EQ((*d)[1].error, 74);
  EXPECT_EQ((*d)[1].leader_epoch, -1);
  EXPECT_EQ((*d)[1].end_offset, -1);
  EXPECT_EQ((*d)[2].topic, "clicks");
  EXPECT_EQ((*d)[2].partition, 1);
  EXPECT_EQ((*d)[2].leader_epoch, 0);
  EXPECT_EQ((*d)[2].end_offset, 0);
}

TEST(ReplicaMessages, AWrongCorrelationIdIsAnError) {
  auto f = decode_fetch(sample_fetch_response(), correlation + 1);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.code(), errc::corrupt);
  EXPECT_NE(f.err().message.find(std::to_string(correlation)), std::string::npos) << f.err().message;
  auto e = decode_offset_for_leader_epoch(sample_epoch_response(), -correlation);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.code(), errc::corrupt);
  EXPECT_EQ(decode_fetch(std::vector<uint8_t>{}, correlation).code(), errc::corrupt);
}

// Every strict prefix of a well-formed response is an error. Each prefix is
// copied into a buffer of exactly its size, so a read past it would be a
// read past a heap allocation (caught by the sanitizer builds).
TEST(ReplicaMessages, EveryTruncationIsAnError) {
  for (const auto& frame : {sample_fetch_response(), fetch_response(correlation, 0, {})}) {
    ASSERT_TRUE(decode_fetch(frame, correlation).ok());
    for (size_t len = 0; len < frame.size(); ++len) {
      std::vector<uint8_t> cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(len));
      auto d = decode_fetch(cut, correlation);
      EXPECT_FALSE(d.ok()) << "Fetch response cut to " << len << " of " << frame.size() << " bytes";
    }
  }
  for (const auto& frame : {sample_epoch_response(), epoch_response(correlation, {})}) {
    ASSERT_TRUE(decode_offset_for_leader_epoch(frame, correlation).ok());
    for (size_t len = 0; len < frame.size(); ++len) {
      std::vector<uint8_t> cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(len));
      auto d = decode_offset_for_leader_epoch(cut, correlation);
      EXPECT_FALSE(d.ok()) << "OffsetForLeaderEpoch response cut to " << len << " of " << frame.size() << " bytes";
    }
  }
}

void put_be32(std::vector<uint8_t>& b, size_t at, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(u >> (8 * (3 - i)));
}

TEST(ReplicaMessages, GarbageArrayLengthsAreErrors) {
  // Fetch: topics count at byte 14 (correlation, throttle, error, session id).
  constexpr size_t fetch_topics_at = 4 + 4 + 2 + 4;
  for (int32_t garbage : {0x7fffffff, 1 << 20, -2, std::numeric_limits<int32_t>::min()}) {
    auto frame = sample_fetch_response();
    put_be32(frame, fetch_topics_at, garbage);
    EXPECT_FALSE(decode_fetch(frame, correlation).ok()) << "topics count " << garbage;
  }
  // The first topic's partition count, after its name ("orders": 2 + 6 bytes).
  constexpr size_t fetch_parts_at = fetch_topics_at + 4 + 2 + 6;
  for (int32_t garbage : {0x7fffffff, 1000, -7}) {
    auto frame = sample_fetch_response();
    put_be32(frame, fetch_parts_at, garbage);
    EXPECT_FALSE(decode_fetch(frame, correlation).ok()) << "partitions count " << garbage;
  }
  // The first partition's aborted-transactions count, and its records length.
  constexpr size_t aborted_at = fetch_parts_at + 4 + 4 + 2 + 8 + 8 + 8;
  for (int32_t garbage : {0x7fffffff, 3, -3}) {
    auto frame = sample_fetch_response();
    put_be32(frame, aborted_at, garbage);
    EXPECT_FALSE(decode_fetch(frame, correlation).ok()) << "aborted count " << garbage;
  }
  constexpr size_t records_len_at = aborted_at + 4 + 2 * 16 + 4;
  for (int32_t garbage : {0x7fffffff, 1 << 16, -2}) {
    auto frame = sample_fetch_response();
    put_be32(frame, records_len_at, garbage);
    EXPECT_FALSE(decode_fetch(frame, correlation).ok()) << "records length " << garbage;
  }
  {
    auto frame = sample_fetch_response();  // sanity: the offsets above are the fields meant
    reader r(std::span<const uint8_t>(frame).subspan(records_len_at));
    EXPECT_EQ(r.i32(), 10) << "\"batch-zero\" is 10 bytes";
  }

  // OffsetForLeaderEpoch: topics count after correlation and throttle.
  constexpr size_t epoch_topics_at = 4 + 4;
  constexpr size_t epoch_parts_at = epoch_topics_at + 4 + 2 + 6;
  for (int32_t garbage : {0x7fffffff, 1 << 20, -2, std::numeric_limits<int32_t>::min()}) {
    auto frame = sample_epoch_response();
    put_be32(frame, epoch_topics_at, garbage);
    EXPECT_FALSE(decode_offset_for_leader_epoch(frame, correlation).ok()) << "topics count " << garbage;
    frame = sample_epoch_response();
    put_be32(frame, epoch_parts_at, garbage);
    EXPECT_FALSE(decode_offset_for_leader_epoch(frame, correlation).ok()) << "partitions count " << garbage;
  }
}

TEST(ReplicaMessages, NullArraysAndAGarbageStringLengthDoNotCrash) {
  // Null topics (-1): nothing to read; no crash, no partitions.
  auto frame = fetch_response(correlation, 0, {});
  put_be32(frame, 14, -1);
  auto d = decode_fetch(frame, correlation);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
  // A topic name longer than the frame.
  auto named = sample_epoch_response();
  named[12] = 0x7f;
  named[13] = 0xff;
  EXPECT_FALSE(decode_offset_for_leader_epoch(named, correlation).ok());
}

}  // namespace
}  // namespace strata::kafka::replica
