// The fixture of the streams service's cluster-mode tests: a service in
// cluster mode on a temp dir, a fake cluster_link, and helpers for
// snapshots, batches and follower fetches.
#pragma once

#include <gtest/gtest.h>
#include <array>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>
#include "io/fault_fs.h"
#include "meta/kv.h"
#include "streams/record_batch.h"
#include "streams/service.h"
#include "streams/tests/batch_builder.h"

namespace strata::streams {


using testing::build_batch;
using ids = std::vector<int32_t>;

inline constexpr int32_t self = 1;
inline constexpr int64_t lag_max_ms = 1000;

inline std::array<uint8_t, 16> topic_id_of(const std::string& name) {
  std::array<uint8_t, 16> id{};
  for (size_t i = 0; i < name.size() && i < 15; ++i) id[i] = static_cast<uint8_t>(name[i]);
  id[15] = 0x5A;
  return id;
}

inline std::vector<broker> three_brokers() {
  return {{1, "n1", 9092, 0, {}}, {2, "n2", 9092, 0, {}}, {3, "n3", 9092, 0, {}}};
}

// The cluster as the tests write it: records what the service asks, answers
// create_topic at once and propose_isr when the test says so.
class fake_link final : public cluster_link {
 public:
  struct proposal {
    replica_assignment current;
    std::vector<int32_t> isr;
    std::function<void(status)> done;
    bool answered = false;
  };

  std::vector<cluster_topic> created;
  std::vector<std::string> deleted;
  std::vector<proposal> proposals;
  std::optional<status> answer_at_once;  // set: propose_isr calls done inside the call
  int64_t next_revision = 100;

  result<cluster_snapshot> create_topic(const cluster_topic& topic) override {
    created.push_back(topic);
    cluster_snapshot s;
    s.revision = next_revision++;
    s.self = self;
    s.controller = 1;
    s.brokers = three_brokers();
    s.topics = {topic};
    // Partition i is led by broker 1 + i % 3, its replicas the next ones round.
    for (int32_t i = 0; i < topic.partitions; ++i) {
      replica_assignment a;
      a.topic = topic.name;
      a.partition = i;
      for (int32_t r = 0; r < topic.replication_factor; ++r) a.replicas.push_back(1 + (i + r) % 3);
      a.leader = a.replicas.front();
      a.leader_epoch = 0;
      a.isr = a.replicas;
      a.revision = s.revision;
      s.partitions.push_back(a);
    }
    return s;
  }

  status delete_topic(const std::string& name) override {
    deleted.push_back(name);
    return {};
  }

  result<cluster_snapshot> add_partitions(const std::string&, int32_t) override {
    return make_error(errc::unsupported, "not in these tests");
  }

  void propose_isr(const replica_assignment& current, std::vector<int32_t> isr, std::function<void(status)> done) override {
    proposals.push_back({current, isr, std::move(done)});
    if (answer_at_once) answer(*answer_at_once);
  }

  size_t pending() const {
    size_t n = 0;
    for (auto& p : proposals) n += p.answered ? 0 : 1;
    return n;
  }

  // Answers the oldest proposal not yet answered, as the network thread would.
  void answer(status s) {
    for (auto& p : proposals) {
      if (p.answered) continue;
      p.answered = true;
      auto done = std::move(p.done);
      done(std::move(s));
      return;
    }
    ADD_FAILURE() << "no proposal to answer";
  }
};

struct topic_spec {
  std::string name = "t";
  ids replicas = {1, 2, 3};
  int32_t leader = 1;
  int32_t epoch = 1;
  ids isr = {1, 2, 3};
  std::map<std::string, std::string> configs = {};
  ids target = {};  // non-empty: the partition is moving there
};

inline cluster_snapshot snapshot(int64_t revision, const std::vector<topic_spec>& topics) {
  cluster_snapshot s;
  s.revision = revision;
  s.self = self;
  s.controller = 1;
  s.brokers = three_brokers();
  for (auto& t : topics) {
    s.topics.push_back({t.name, topic_id_of(t.name), 1, static_cast<int32_t>(t.replicas.size()), t.configs, {}});
    s.partitions.push_back({t.name, 0, t.replicas, t.leader, t.epoch, t.isr, revision, t.target});
  }
  return s;
}

inline cluster_snapshot snapshot(int64_t revision, const topic_spec& t) { return snapshot(revision, std::vector<topic_spec>{t}); }

inline std::vector<uint8_t> one(const std::string& key, testing::batch_options o = {}) { return build_batch({{key, "v"}}, o); }

inline testing::batch_options idempotent(int64_t pid, int32_t seq) {
  testing::batch_options o;
  o.producer_id = pid;
  o.producer_epoch = 0;
  o.base_sequence = seq;
  return o;
}

// A batch as the leader stored it: its base offset and leader epoch set.
inline std::vector<uint8_t> leader_batch(int64_t base, int32_t epoch, int records = 1, testing::batch_options o = {}) {
  std::vector<testing::test_record> rs;
  for (int i = 0; i < records; ++i) rs.push_back({"k" + std::to_string(base + i), "v"});
  auto b = build_batch(rs, o);
  assign_batch_offset(b, base, epoch);
  return b;
}

inline std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline int32_t stored_epoch(std::span<const uint8_t> batch) {
  return static_cast<int32_t>((uint32_t{batch[12]} << 24) | (uint32_t{batch[13]} << 16) | (uint32_t{batch[14]} << 8) |
                              batch[15]);
}

// The base offsets of the whole batches in `records`.
inline std::vector<int64_t> base_offsets(std::span<const uint8_t> records) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < records.size()) {
    auto h = read_batch_header(records.subspan(pos));
    if (!h) break;
    out.push_back(h->base_offset);
    pos += h->total_bytes();
  }
  return out;
}

class ServiceClusterTest : public ::testing::Test {
 protected:
  // Opens the service in cluster mode on the fixture's file system and kv.
  void open_service() {
    service_config c;
    c.data_dir = "/data";
    c.cluster_mode = true;
    c.retention_check_interval_ms = 3'600'000;
    auto s = service::open(c, fs_, *kv_, sched_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    svc_ = std::move(*s);
  }

  void SetUp() override {
    kv_ = meta::make_memory_kv();
    ASSERT_NO_FATAL_FAILURE(open_service());
    replication_config rc;
    rc.replica_lag_time_max_ms = lag_max_ms;
    rc.follower_sync_before_fetch = follower_sync_;
    svc_->attach_cluster(link_, rc);
  }

  void TearDown() override {
    if (svc_) svc_->shutdown();
    sched_.run_pending();
  }

  // Pumps posted completions (the flusher thread's) until pred holds, for at
  // most about two seconds. The clock does not move.
  template <class Pred>
  bool wait_for(Pred pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      sched_.run_pending();
    }
    return pred();
  }

  // Gives the flusher thread a moment to do anything it would do, for checks
  // that something does NOT happen.
  void settle() {
    for (int i = 0; i < 30; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      sched_.run_pending();
    }
  }

  using answer = std::shared_ptr<std::optional<produce_result>>;
  answer produce_async(const std::vector<uint8_t>& batch, bool acks_all, int32_t timeout_ms = 30'000,
                       const std::string& topic = "t") {
    auto out = std::make_shared<std::optional<produce_result>>();
    auto calls = std::make_shared<int>(0);
    calls_.push_back(calls);
    svc_->produce(topic, 0, batch, acks_all, [out, calls](produce_result r) {
      ++*calls;
      *out = std::move(r);
    }, timeout_ms);
    return out;
  }

  produce_result produce(const std::vector<uint8_t>& batch, bool acks_all, const std::string& topic = "t") {
    auto out = produce_async(batch, acks_all, 30'000, topic);
    EXPECT_TRUE(wait_for([&] { return out->has_value(); })) << "produce never completed";
    return out->value_or(produce_result{stream_error::storage_error, "never completed"});
  }

  fetch_result replica_fetch(int32_t replica, int32_t epoch, int64_t offset, const std::string& topic = "t") {
    return svc_->fetch_for_replica(topic, 0, replica, epoch, offset, 1 << 20);
  }

  partition_info info(const std::string& topic = "t") {
    auto d = svc_->describe_topic(topic);
    EXPECT_TRUE(d.ok());
    if (!d.ok() || d->partitions.empty()) return {};
    return d->partitions[0];
  }

  std::optional<followed_partition> followed(const std::string& topic = "t") {
    for (auto& f : svc_->followed_partitions()) {
      if (f.topic == topic && f.partition == 0) return f;
    }
    return std::nullopt;
  }

  result<int64_t> append_replicated(int32_t leader_epoch, const std::vector<uint8_t>& records, int64_t leader_hw) {
    std::optional<result<int64_t>> out;
    svc_->append_replicated("t", 0, leader_epoch, records, leader_hw, [&](result<int64_t> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(wait_for([&] { return out.has_value(); })) << "append_replicated never completed";
    if (!out) return make_error(errc::timed_out, "never completed");
    return std::move(*out);
  }

  status truncate(int32_t leader_epoch, truncation_point point) {
    std::optional<status> out;
    svc_->truncate_replica("t", 0, leader_epoch, point, [&](status s) { out.emplace(std::move(s)); });
    EXPECT_TRUE(wait_for([&] { return out.has_value(); })) << "truncate_replica never completed";
    if (!out) return make_error(errc::timed_out, "never completed");
    return std::move(*out);
  }

  // Every produce callback ran at most once.
  void expect_answered_at_most_once() {
    for (auto& c : calls_) EXPECT_LE(*c, 1);
  }

  bool follower_sync_ = false;  // replication_config::follower_sync_before_fetch
  io::fault_fs fs_;
  std::unique_ptr<meta::kv> kv_;
  manual_scheduler sched_;
  fake_link link_;
  std::unique_ptr<service> svc_;
  std::vector<std::shared_ptr<int>> calls_;
};

// Followers that fsync what they fetched before they fetch again.
class ServiceClusterSyncFollowerTest : public ServiceClusterTest {
 protected:
  ServiceClusterSyncFollowerTest() { follower_sync_ = true; }
};


}  // namespace strata::streams
