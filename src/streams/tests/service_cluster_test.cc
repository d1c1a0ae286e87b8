// The streams service in cluster mode (docs/formats/replication.md): the
// leader's high watermark over the ISR and acks=all, min.insync.replicas,
// request timeouts, ISR shrink and expand through the cluster link, leader
// epochs and fencing, leadership changes, and the follower side (appending
// the leader's batches, recording their epochs, truncating a divergent tail).
// Cluster state is applied by hand through a fake cluster_link; this node is
// broker 1 of brokers 1, 2 and 3.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "io/fault_fs.h"
#include "meta/kv.h"
#include "streams/record_batch.h"
#include "streams/service.h"
#include "streams/tests/batch_builder.h"

namespace strata::streams {

namespace {

using testing::build_batch;
using ids = std::vector<int32_t>;

constexpr int32_t self = 1;
constexpr int64_t lag_max_ms = 1000;

std::array<uint8_t, 16> topic_id_of(const std::string& name) {
  std::array<uint8_t, 16> id{};
  for (size_t i = 0; i < name.size() && i < 15; ++i) id[i] = static_cast<uint8_t>(name[i]);
  id[15] = 0x5A;
  return id;
}

std::vector<broker> three_brokers() { return {{1, "n1", 9092}, {2, "n2", 9092}, {3, "n3", 9092}}; }

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
};

cluster_snapshot snapshot(int64_t revision, const std::vector<topic_spec>& topics) {
  cluster_snapshot s;
  s.revision = revision;
  s.self = self;
  s.controller = 1;
  s.brokers = three_brokers();
  for (auto& t : topics) {
    s.topics.push_back({t.name, topic_id_of(t.name), 1, static_cast<int32_t>(t.replicas.size()), t.configs});
    s.partitions.push_back({t.name, 0, t.replicas, t.leader, t.epoch, t.isr, revision});
  }
  return s;
}

cluster_snapshot snapshot(int64_t revision, const topic_spec& t) { return snapshot(revision, std::vector<topic_spec>{t}); }

std::vector<uint8_t> one(const std::string& key, testing::batch_options o = {}) { return build_batch({{key, "v"}}, o); }

testing::batch_options idempotent(int64_t pid, int32_t seq) {
  testing::batch_options o;
  o.producer_id = pid;
  o.producer_epoch = 0;
  o.base_sequence = seq;
  return o;
}

// A batch as the leader stored it: its base offset and leader epoch set.
std::vector<uint8_t> leader_batch(int64_t base, int32_t epoch, int records = 1, testing::batch_options o = {}) {
  std::vector<testing::test_record> rs;
  for (int i = 0; i < records; ++i) rs.push_back({"k" + std::to_string(base + i), "v"});
  auto b = build_batch(rs, o);
  assign_batch_offset(b, base, epoch);
  return b;
}

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

int32_t stored_epoch(std::span<const uint8_t> batch) {
  return static_cast<int32_t>((uint32_t{batch[12]} << 24) | (uint32_t{batch[13]} << 16) | (uint32_t{batch[14]} << 8) |
                              batch[15]);
}

// The base offsets of the whole batches in `records`.
std::vector<int64_t> base_offsets(std::span<const uint8_t> records) {
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
  void SetUp() override {
    kv_ = meta::make_memory_kv();
    service_config c;
    c.data_dir = "/data";
    c.cluster_mode = true;
    c.retention_check_interval_ms = 3'600'000;
    auto s = service::open(c, fs_, *kv_, sched_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    svc_ = std::move(*s);
    replication_config rc;
    rc.replica_lag_time_max_ms = lag_max_ms;
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

  io::fault_fs fs_;
  std::unique_ptr<meta::kv> kv_;
  manual_scheduler sched_;
  fake_link link_;
  std::unique_ptr<service> svc_;
  std::vector<std::shared_ptr<int>> calls_;
};

}  // namespace

// ---- The leader ----

TEST_F(ServiceClusterTest, AppliesTheClusterStateAndLeads) {
  EXPECT_TRUE(svc_->clustered());
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  EXPECT_EQ(svc_->cluster_state().revision, 1);
  auto p = info();
  EXPECT_TRUE(p.hosted);
  EXPECT_EQ(p.leader, 1);
  EXPECT_EQ(p.leader_epoch, 1);
  EXPECT_EQ(p.replicas, (ids{1, 2, 3}));
  EXPECT_EQ(p.isr, (ids{1, 2, 3}));
  EXPECT_EQ(svc_->describe_topic("t")->replication_factor, 3);
  EXPECT_TRUE(svc_->followed_partitions().empty());
  EXPECT_EQ(svc_->counters().leadership_gained, 1u);
  // An older state is ignored.
  svc_->apply_cluster(snapshot(0, std::vector<topic_spec>{}));
  EXPECT_TRUE(svc_->describe_topic("t").ok());
  auto lags = svc_->replication_lags();
  ASSERT_EQ(lags.size(), 2u);
  EXPECT_EQ(lags[0].replica, 2);
  EXPECT_EQ(lags[1].replica, 3);
  EXPECT_TRUE(lags[0].in_isr);
}

TEST_F(ServiceClusterTest, AcksAllWaitsForTheIsrAndConsumersSeeOnlyTheHighWatermark) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));

  // acks=1: answered after the leader's own flush, followers silent.
  auto a = produce_async(one("a"), /*acks_all=*/false);
  EXPECT_FALSE(a->has_value()) << "per_batch fsync: not before the leader's flush";
  ASSERT_TRUE(wait_for([&] { return a->has_value(); }));
  EXPECT_EQ((*a)->error, stream_error::none);
  EXPECT_EQ((*a)->base_offset, 0);
  EXPECT_EQ(info().log_end_offset, 1);
  EXPECT_EQ(info().high_watermark, 0) << "no follower has it yet";
  auto nothing = svc_->fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(nothing.error, stream_error::none);
  EXPECT_EQ(nothing.high_watermark, 0);
  EXPECT_TRUE(nothing.records.empty());
  EXPECT_EQ(svc_->fetch("t", 0, 1, 1 << 20, true).error, stream_error::offset_out_of_range) << "above the high watermark";
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 0);

  // acks=all: waits for both followers.
  auto b = produce_async(one("b"), /*acks_all=*/true);
  EXPECT_FALSE(b->has_value());
  auto f2 = replica_fetch(2, 1, 1);  // 2 has a, asks for b
  EXPECT_EQ(f2.error, stream_error::none);
  EXPECT_EQ(base_offsets(f2.records), (std::vector<int64_t>{1})) << "followers read past the high watermark";
  EXPECT_EQ(stored_epoch(f2.records), 1) << "the leader writes its epoch into the batch";
  EXPECT_EQ(f2.high_watermark, 0) << "3 is in the ISR and not heard from";
  settle();
  EXPECT_FALSE(b->has_value());

  auto f3 = replica_fetch(3, 1, 1);
  EXPECT_EQ(f3.high_watermark, 1) << "a is on every ISR member";
  EXPECT_EQ(info().high_watermark, 1);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 1);
  auto only_a = svc_->fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(only_a.high_watermark, 1);
  EXPECT_EQ(base_offsets(only_a.records), (std::vector<int64_t>{0})) << "b is above the high watermark";
  settle();
  EXPECT_FALSE(b->has_value()) << "b is on the leader only";

  replica_fetch(2, 1, 2);
  settle();
  EXPECT_FALSE(b->has_value()) << "b is on 1 and 2; 3 is still in the ISR";
  EXPECT_EQ(info().high_watermark, 1);

  auto at_end = replica_fetch(3, 1, 2);
  EXPECT_TRUE(at_end.records.empty()) << "a fetch at the leader's end reads nothing";
  ASSERT_TRUE(wait_for([&] { return b->has_value(); })) << "on every ISR member once the leader's flush is done";
  EXPECT_EQ((*b)->error, stream_error::none) << (*b)->message;
  EXPECT_EQ((*b)->base_offset, 1);
  EXPECT_EQ(info().high_watermark, 2);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 2);
  EXPECT_EQ(base_offsets(svc_->fetch("t", 0, 0, 1 << 20, true).records), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(svc_->list_offset("t", 0, -2).offset, 0);

  for (auto& l : svc_->replication_lags()) {
    EXPECT_EQ(l.lag_offsets, 0) << "replica " << l.replica;
    EXPECT_TRUE(l.in_isr);
  }
  expect_answered_at_most_once();
}

TEST_F(ServiceClusterTest, AcksAllNeedsTheLeadersOwnFlushToo) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  fs_.fail_syncs(true);
  auto b = produce_async(one("b"), /*acks_all=*/true);
  replica_fetch(2, 1, 1);
  replica_fetch(3, 1, 1);  // both followers have it; the leader cannot make it durable
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::storage_error);
  EXPECT_EQ(info().high_watermark, 0);
  EXPECT_TRUE(svc_->fetch("t", 0, 0, 1 << 20, true).records.empty());
  fs_.fail_syncs(false);
}

TEST_F(ServiceClusterTest, MinInsyncReplicasRefusesAcksAllWithoutWriting) {
  // RF 3: min.insync.replicas defaults to 2; the ISR is the leader alone.
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{
                                      {"t", {1, 2, 3}, 1, 1, {1}, {}},
                                      {"one", {1, 2, 3}, 1, 1, {1}, {{"min.insync.replicas", "1"}}},
                                      {"three", {1, 2, 3}, 1, 1, {1, 2}, {{"min.insync.replicas", "3"}}},
                                  }));
  auto refused = produce_async(one("a"), /*acks_all=*/true);
  ASSERT_TRUE(refused->has_value()) << "refused at once";
  EXPECT_EQ((*refused)->error, stream_error::not_enough_replicas);
  EXPECT_EQ(info().log_end_offset, 0) << "nothing was written";

  auto acks1 = produce(one("a"), /*acks_all=*/false);
  EXPECT_EQ(acks1.error, stream_error::none) << "acks=1 does not need the ISR";
  EXPECT_EQ(acks1.base_offset, 0);
  EXPECT_EQ(info().log_end_offset, 1);

  // min.insync.replicas=1: the leader alone acknowledges once it is durable.
  auto alone = produce(one("a"), /*acks_all=*/true, "one");
  EXPECT_EQ(alone.error, stream_error::none) << alone.message;
  EXPECT_TRUE(wait_for([&] { return info("one").high_watermark == 1; }));

  // min.insync.replicas=3 with an ISR of 2.
  auto three = produce_async(one("a"), /*acks_all=*/true, 30'000, "three");
  ASSERT_TRUE(three->has_value());
  EXPECT_EQ((*three)->error, stream_error::not_enough_replicas);
  EXPECT_EQ(info("three").log_end_offset, 0);
}

TEST_F(ServiceClusterTest, AnIsrShrinkBelowMinInsyncWhileWaitingAnswersNotEnoughReplicasAfterAppend) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true);
  EXPECT_FALSE(b->has_value());
  svc_->apply_cluster(snapshot(2, topic_spec{.isr = {1}}));  // the controller shrank it
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::not_enough_replicas_after_append);
  EXPECT_EQ(info().log_end_offset, 1) << "it was written";
  EXPECT_EQ(info().high_watermark, 1);
}

TEST_F(ServiceClusterTest, AcksAllTimesOutWhenFollowersAreSilent) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true, /*timeout_ms=*/500);
  sched_.advance(400);
  EXPECT_FALSE(b->has_value());
  sched_.advance(150);
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->error, stream_error::request_timed_out);
  EXPECT_EQ(info().log_end_offset, 1) << "written; only the answer timed out";
  // The followers catching up later answers nothing twice.
  replica_fetch(2, 1, 1);
  replica_fetch(3, 1, 1);
  EXPECT_TRUE(wait_for([&] { return info().high_watermark == 1; }));
  expect_answered_at_most_once();
  EXPECT_TRUE(link_.proposals.empty()) << "within replica_lag_time_max_ms nobody is dropped";
}

TEST_F(ServiceClusterTest, ShrinksTheIsrWhenAFollowerStopsFetchingAndExpandsItWhenItCatchesUp) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).base_offset, 0);
  // 2 keeps fetching at the leader's end; 3 is silent.
  for (int i = 0; i < 12; ++i) {
    sched_.advance(100);
    replica_fetch(2, 1, 1);
  }
  ASSERT_EQ(link_.proposals.size(), 1u) << "one proposal, not one per tick while it is pending";
  EXPECT_EQ(link_.proposals[0].isr, (ids{1, 2}));
  EXPECT_EQ(link_.proposals[0].current.isr, (ids{1, 2, 3}));
  EXPECT_EQ(link_.proposals[0].current.revision, 1) << "compared against the state it was made from";
  EXPECT_EQ(link_.proposals[0].current.leader, 1);
  EXPECT_EQ(link_.proposals[0].current.leader_epoch, 1);

  // acks=all meanwhile: 3 is still in the ISR, so it holds the high watermark.
  auto b = produce_async(one("b"), /*acks_all=*/true);
  replica_fetch(2, 1, 2);
  settle();
  EXPECT_FALSE(b->has_value());
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));

  // The coordinator refuses (another change won): nothing changes, and the
  // next tick proposes again.
  link_.answer(make_error(errc::unavailable, "revision changed"));
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));
  EXPECT_EQ(svc_->counters().isr_shrinks, 0u);
  sched_.advance(100);
  replica_fetch(2, 1, 2);
  ASSERT_EQ(link_.proposals.size(), 2u);
  EXPECT_EQ(link_.proposals[1].isr, (ids{1, 2}));
  EXPECT_FALSE(b->has_value());

  // Accepted: the high watermark moves with the remaining ISR.
  link_.answer({});
  EXPECT_EQ(svc_->counters().isr_shrinks, 1u);
  EXPECT_EQ(info().isr, (ids{1, 2}));
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::none) << (*b)->message;
  EXPECT_EQ((*b)->base_offset, 1);
  EXPECT_EQ(info().high_watermark, 2);
  bool saw_3 = false;
  for (auto& l : svc_->replication_lags()) {
    if (l.replica != 3) continue;
    saw_3 = true;
    EXPECT_FALSE(l.in_isr);
    EXPECT_EQ(l.lag_offsets, 2);
    EXPECT_GT(l.lag_seconds, 1.0);
  }
  EXPECT_TRUE(saw_3);

  // The coordinator's state catches up with the change.
  svc_->apply_cluster(snapshot(2, topic_spec{.isr = {1, 2}}));
  EXPECT_EQ(link_.pending(), 0u);

  // 3 comes back: a fetch below the high watermark is not enough...
  replica_fetch(3, 1, 1);
  EXPECT_EQ(link_.proposals.size(), 2u);
  EXPECT_EQ(info().high_watermark, 2) << "a follower outside the ISR does not hold it";
  // ...one at the leader's end is.
  replica_fetch(3, 1, 2);
  ASSERT_EQ(link_.proposals.size(), 3u);
  EXPECT_EQ(link_.proposals[2].isr, (ids{1, 2, 3}));
  EXPECT_EQ(link_.proposals[2].current.isr, (ids{1, 2}));
  EXPECT_EQ(link_.proposals[2].current.revision, 2);
  link_.answer({});
  EXPECT_EQ(svc_->counters().isr_expands, 1u);
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));
  expect_answered_at_most_once();
}

TEST_F(ServiceClusterTest, AnIsrAnswerAfterLosingLeadershipChangesNothing) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  sched_.advance(lag_max_ms + 200);  // both followers silent
  ASSERT_EQ(link_.proposals.size(), 1u);
  EXPECT_EQ(link_.proposals[0].isr, (ids{1}));
  svc_->apply_cluster(snapshot(2, topic_spec{.leader = 2, .epoch = 2}));
  link_.answer({});
  auto p = info();
  EXPECT_EQ(p.leader, 2);
  EXPECT_EQ(p.isr, (ids{1, 2, 3})) << "the new leader's state, not the old proposal";
}

TEST_F(ServiceClusterTest, AnIsrChangeAnsweredInsideTheProposalIsApplied) {
  link_.answer_at_once = status{};
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).base_offset, 0);
  for (int i = 0; i < 12; ++i) {
    sched_.advance(100);
    replica_fetch(2, 1, 1);  // at the leader's end
  }
  ASSERT_EQ(link_.proposals.size(), 1u);
  EXPECT_EQ(link_.proposals[0].isr, (ids{1, 2}));
  EXPECT_EQ(info().isr, (ids{1, 2}));
  EXPECT_EQ(svc_->counters().isr_shrinks, 1u);
  auto b = produce_async(one("b"), /*acks_all=*/true);
  replica_fetch(2, 1, 2);
  ASSERT_TRUE(wait_for([&] { return b->has_value(); }));
  EXPECT_EQ((*b)->error, stream_error::none);
  replica_fetch(3, 1, 2);
  EXPECT_EQ(info().isr, (ids{1, 2, 3}));
  EXPECT_EQ(svc_->counters().isr_expands, 1u);
}

// ---- Not the leader; leader epochs ----

TEST_F(ServiceClusterTest, AFollowerRefusesClientsAndFollowersAsNotLeader) {
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{{.leader = 2}, {.name = "elsewhere", .replicas = {2, 3}, .leader = 2, .isr = {2, 3}}}));
  auto produced = produce_async(one("a"), /*acks_all=*/false);
  ASSERT_TRUE(produced->has_value());
  EXPECT_EQ((*produced)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->fetch("t", 0, 0, 1 << 20, true).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(replica_fetch(3, 1, 0).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->end_offset_for_epoch("t", 0, 1, 1).error, stream_error::not_leader_or_follower);
  EXPECT_EQ(info().log_end_offset, 0);

  // A partition with no replica here.
  auto elsewhere = info("elsewhere");
  EXPECT_FALSE(elsewhere.hosted);
  EXPECT_EQ(elsewhere.leader, 2);
  auto p = produce_async(one("a"), /*acks_all=*/true, 30'000, "elsewhere");
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(svc_->fetch("elsewhere", 0, 0, 1 << 20, true).error, stream_error::not_leader_or_follower);
  auto list = svc_->followed_partitions();
  ASSERT_EQ(list.size(), 1u) << "only t is followed here";
  EXPECT_EQ(list[0].topic, "t");

  EXPECT_EQ(svc_->fetch("nope", 0, 0, 1 << 20, true).error, stream_error::unknown_topic_or_partition);
  EXPECT_EQ(svc_->fetch_for_replica("nope", 0, 2, 1, 0, 1 << 20).error, stream_error::unknown_topic_or_partition);
}

TEST_F(ServiceClusterTest, ReplicaFetchesAndEpochQueriesAreFencedByLeaderEpoch) {
  svc_->apply_cluster(snapshot(1, topic_spec{.epoch = 5}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).error, stream_error::none);
  EXPECT_EQ(replica_fetch(2, 4, 0).error, stream_error::fenced_leader_epoch);
  EXPECT_EQ(replica_fetch(2, 6, 0).error, stream_error::unknown_leader_epoch);
  EXPECT_EQ(info().high_watermark, 0) << "a refused fetch counts for nothing";
  auto ok = replica_fetch(2, 5, 0);
  EXPECT_EQ(ok.error, stream_error::none);
  EXPECT_EQ(base_offsets(ok.records), (std::vector<int64_t>{0}));
  EXPECT_EQ(replica_fetch(2, -1, 0).error, stream_error::none) << "no epoch given: not checked";
  EXPECT_EQ(replica_fetch(4, 5, 0).error, stream_error::not_leader_or_follower) << "not a replica";
  EXPECT_EQ(replica_fetch(2, 5, 7).error, stream_error::offset_out_of_range) << "past the leader's end";

  EXPECT_EQ(svc_->end_offset_for_epoch("t", 0, 4, 5).error, stream_error::fenced_leader_epoch);
  EXPECT_EQ(svc_->end_offset_for_epoch("t", 0, 6, 5).error, stream_error::unknown_leader_epoch);
  auto e = svc_->end_offset_for_epoch("t", 0, 5, 5);
  EXPECT_EQ(e.error, stream_error::none);
  EXPECT_EQ(e.leader_epoch, 5);
  EXPECT_EQ(e.end_offset, 1);
}

TEST_F(ServiceClusterTest, LosingLeadershipAnswersWaitingProducersNotLeader) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true);
  auto c = produce_async(one("c"), /*acks_all=*/true);
  EXPECT_FALSE(b->has_value());
  svc_->apply_cluster(snapshot(2, topic_spec{.leader = 2, .epoch = 2}));
  ASSERT_TRUE(b->has_value());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*b)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ((*c)->error, stream_error::not_leader_or_follower);
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->leader, 2);
  EXPECT_EQ(f->leader_epoch, 2);
  EXPECT_EQ(replica_fetch(2, 2, 0).error, stream_error::not_leader_or_follower);
  settle();
  expect_answered_at_most_once();
}

TEST_F(ServiceClusterTest, NoLeaderAtAllAnswersWaitingProducersNotLeader) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  auto b = produce_async(one("b"), /*acks_all=*/true);
  svc_->apply_cluster(snapshot(2, topic_spec{.leader = -1, .epoch = 2}));
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->error, stream_error::not_leader_or_follower);
  EXPECT_EQ(info().leader, -1);
  EXPECT_TRUE(svc_->followed_partitions().empty());
  auto again = produce_async(one("c"), /*acks_all=*/false);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->error, stream_error::not_leader_or_follower);
}

TEST_F(ServiceClusterTest, EndOffsetForEpochOnTheLeader) {
  svc_->apply_cluster(snapshot(1, topic_spec{.isr = {1}}));
  ASSERT_EQ(produce(one("a"), false).base_offset, 0);
  ASSERT_EQ(produce(one("b"), false).base_offset, 1);
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 2, .isr = {1}}));  // re-elected at a new epoch
  EXPECT_EQ(svc_->counters().leadership_gained, 2u);
  ASSERT_EQ(produce(one("c"), false).base_offset, 2);

  auto latest = svc_->end_offset_for_epoch("t", 0, 2, 2);
  EXPECT_EQ(latest.error, stream_error::none);
  EXPECT_EQ(latest.leader_epoch, 2);
  EXPECT_EQ(latest.end_offset, 3) << "the latest epoch ends at the log end";
  auto older = svc_->end_offset_for_epoch("t", 0, 2, 1);
  EXPECT_EQ(older.leader_epoch, 1);
  EXPECT_EQ(older.end_offset, 2) << "an older epoch ends where the next starts";
  auto below = svc_->end_offset_for_epoch("t", 0, -1, 0);
  EXPECT_EQ(below.leader_epoch, 0);
  EXPECT_EQ(below.end_offset, 0) << "below the first epoch: where the known epochs begin";
  auto above = svc_->end_offset_for_epoch("t", 0, 2, 3);
  EXPECT_EQ(above.leader_epoch, -1);
  EXPECT_EQ(above.end_offset, -1);

  // Each batch carries the epoch it was written in.
  auto all = replica_fetch(2, 2, 0);
  std::vector<int32_t> epochs;
  std::span<const uint8_t> rest(all.records);
  while (auto h = read_batch_header(rest)) {
    epochs.push_back(stored_epoch(rest));
    rest = rest.subspan(h->total_bytes());
  }
  EXPECT_EQ(epochs, (std::vector<int32_t>{1, 1, 2}));
}

// ---- The follower ----

TEST_F(ServiceClusterTest, AFollowerAppendsTheLeadersBatchesAndRecordsTheirEpochs) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2}));
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->leader, 2);
  EXPECT_EQ(f->leader_epoch, 1);
  EXPECT_EQ(f->log_end_offset, 0);
  EXPECT_EQ(f->latest_local_epoch, -1);
  EXPECT_TRUE(f->ready);

  auto end = append_replicated(1, concat({leader_batch(0, 1), leader_batch(1, 1, 2)}), /*leader_hw=*/2);
  ASSERT_TRUE(end.ok()) << end.err().message;
  EXPECT_EQ(*end, 3);
  EXPECT_EQ(followed()->log_end_offset, 3);
  EXPECT_EQ(followed()->latest_local_epoch, 1);
  EXPECT_EQ(info().log_end_offset, 3);
  EXPECT_EQ(info().high_watermark, 2) << "the leader's, bounded by what is durable here";

  // A batch that does not continue the log.
  auto gap = append_replicated(1, leader_batch(5, 1), 3);
  EXPECT_EQ(gap.code(), errc::invalid_argument);
  auto overlap = append_replicated(1, leader_batch(2, 1), 3);
  EXPECT_EQ(overlap.code(), errc::invalid_argument);
  EXPECT_EQ(info().log_end_offset, 3);
  // A corrupt batch.
  auto bad = leader_batch(3, 1);
  bad.back() ^= 0xFF;
  EXPECT_EQ(append_replicated(1, bad, 3).code(), errc::corrupt);
  // The wrong leader epoch, or a partition this node does not follow.
  EXPECT_EQ(append_replicated(2, leader_batch(3, 1), 3).code(), errc::unavailable);
  EXPECT_EQ(info().log_end_offset, 3);

  // A partial last batch is left for the next fetch.
  auto next = leader_batch(4, 1);
  auto partial = concat({leader_batch(3, 1), std::vector<uint8_t>(next.begin(), next.begin() + 30)});
  auto cut = append_replicated(1, partial, 3);
  ASSERT_TRUE(cut.ok()) << cut.err().message;
  EXPECT_EQ(*cut, 4);

  // A batch from a newer leader epoch is recorded as that epoch's start.
  auto newer = append_replicated(1, leader_batch(4, 3), 4);
  ASSERT_TRUE(newer.ok()) << newer.err().message;
  EXPECT_EQ(*newer, 5);
  EXPECT_EQ(followed()->latest_local_epoch, 3);

  // Empty input: nothing appended, the end is answered.
  auto empty = append_replicated(1, {}, 5);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 5);
  EXPECT_EQ(info().high_watermark, 5);

  // Now this node leads at epoch 4: its epochs answer OffsetForLeaderEpoch.
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 4}));
  EXPECT_TRUE(svc_->followed_partitions().empty());
  auto e3 = svc_->end_offset_for_epoch("t", 0, 4, 3);
  EXPECT_EQ(e3.leader_epoch, 3);
  EXPECT_EQ(e3.end_offset, 5) << "epoch 3 ends where this node's epoch 4 starts";
  auto e2 = svc_->end_offset_for_epoch("t", 0, 4, 2);
  EXPECT_EQ(e2.leader_epoch, 1) << "the largest epoch <= 2 it knows";
  EXPECT_EQ(e2.end_offset, 4);
  auto e4 = svc_->end_offset_for_epoch("t", 0, 4, 4);
  EXPECT_EQ(e4.leader_epoch, 4);
  EXPECT_EQ(e4.end_offset, 5);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 5);
}

TEST_F(ServiceClusterTest, AppendReplicatedOnAPartitionNotFollowedIsRefused) {
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{{}, {.name = "elsewhere", .replicas = {2, 3}, .leader = 2, .isr = {2, 3}}}));
  EXPECT_EQ(append_replicated(1, leader_batch(0, 1), 1).code(), errc::unavailable) << "this node leads t";
  std::optional<result<int64_t>> out;
  svc_->append_replicated("elsewhere", 0, 1, leader_batch(0, 1), 1, [&](result<int64_t> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->code(), errc::not_found);
  std::optional<status> cut;
  svc_->truncate_replica("nope", 0, 1, {}, [&](status s) { cut.emplace(std::move(s)); });
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->code(), errc::not_found);
  EXPECT_EQ(info().log_end_offset, 0);
}

TEST_F(ServiceClusterTest, TruncateReplicaCutsTheDivergentTailAndRebuildsProducerState) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 3}));
  // Epoch 1: offsets 0 and 1; epoch 3: offsets 2 and 3. Producer 7 wrote seq 0
  // at offset 0 and seq 1 at offset 2.
  auto end = append_replicated(3, concat({leader_batch(0, 1, 1, idempotent(7, 0)), leader_batch(1, 1),
                                          leader_batch(2, 3, 1, idempotent(7, 1)), leader_batch(3, 3)}),
                               0);
  ASSERT_TRUE(end.ok()) << end.err().message;
  ASSERT_EQ(*end, 4);
  ASSERT_EQ(followed()->latest_local_epoch, 3);

  // Nothing to cut: the leader's epoch 3 ends at or past this log's end.
  ASSERT_TRUE(truncate(3, {3, 9, -1}).ok());
  EXPECT_EQ(followed()->log_end_offset, 4);
  EXPECT_EQ(svc_->counters().truncations, 0u);

  // The leader says: your epoch 3 is unknown to me; my largest epoch <= 3 is
  // 1 and it ends at 3. Epoch 1 ends at 2 here, so the cut is at 2 (KIP-279).
  std::optional<status> done;
  svc_->truncate_replica("t", 0, 3, {1, 3, -1}, [&](status s) { done.emplace(std::move(s)); });
  auto during = followed();
  ASSERT_TRUE(during.has_value());
  EXPECT_FALSE(during->ready) << "not ready while the cut runs";
  std::optional<result<int64_t>> refused;
  svc_->append_replicated("t", 0, 3, leader_batch(4, 3), 0, [&](result<int64_t> r) { refused.emplace(std::move(r)); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code(), errc::unavailable) << "no appends during a truncation";
  ASSERT_TRUE(wait_for([&] { return done.has_value(); }));
  ASSERT_TRUE(done->ok()) << done->err().message;
  auto after = followed();
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->ready);
  EXPECT_EQ(after->log_end_offset, 2);
  EXPECT_EQ(after->latest_local_epoch, 1) << "epoch 3 started at 2 and is gone";
  EXPECT_EQ(info().log_end_offset, 2);
  EXPECT_EQ(svc_->counters().truncations, 1u);

  // The follower continues from the cut.
  auto more = append_replicated(3, leader_batch(2, 2), 0);
  ASSERT_TRUE(more.ok()) << more.err().message;
  EXPECT_EQ(*more, 3);
  EXPECT_EQ(followed()->latest_local_epoch, 2);
  ASSERT_TRUE(truncate(3, {1, 2, -1}).ok());
  EXPECT_EQ(followed()->log_end_offset, 2);

  // Leading now: producer 7's seq 1 was cut, so it is new, not a duplicate.
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 4, .isr = {1}}));
  auto seq1 = produce(one("x", idempotent(7, 1)), /*acks_all=*/false);
  EXPECT_EQ(seq1.error, stream_error::none) << seq1.message;
  EXPECT_EQ(seq1.base_offset, 2);
  EXPECT_EQ(info().log_end_offset, 3) << "appended, not taken for the cut batch";
  auto retry0 = produce(one("x", idempotent(7, 0)), /*acks_all=*/false);
  EXPECT_EQ(retry0.error, stream_error::none);
  EXPECT_EQ(retry0.base_offset, 0) << "seq 0 survived the cut: still a duplicate";
  EXPECT_EQ(info().log_end_offset, 3);
}

TEST_F(ServiceClusterTest, TruncateReplicaWithoutACommonEpochCutsToTheLogStart) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 3}));
  ASSERT_TRUE(append_replicated(3, concat({leader_batch(0, 3), leader_batch(1, 3)}), 0).ok());
  ASSERT_TRUE(truncate(3, {-1, -1, -1}).ok());
  EXPECT_EQ(followed()->log_end_offset, 0);
  EXPECT_EQ(followed()->latest_local_epoch, -1);
  // And refused for a partition followed at another epoch.
  std::optional<status> stale;
  svc_->truncate_replica("t", 0, 2, {}, [&](status s) { stale.emplace(std::move(s)); });
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->code(), errc::unavailable);
}

TEST_F(ServiceClusterTest, TruncateReplicaRestartsTheLogAtTheLeadersStart) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 2}));
  ASSERT_TRUE(append_replicated(2, concat({leader_batch(0, 1), leader_batch(1, 2)}), 2).ok());
  EXPECT_EQ(info().high_watermark, 2);

  ASSERT_TRUE(truncate(2, {.restart_at = 10}).ok());
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->log_end_offset, 10);
  EXPECT_EQ(f->latest_local_epoch, -1) << "every epoch went with the data";
  auto p = info();
  EXPECT_EQ(p.log_start_offset, 10);
  EXPECT_EQ(p.log_end_offset, 10);
  EXPECT_LE(p.high_watermark, 10);
  EXPECT_EQ(svc_->counters().truncations, 1u);

  EXPECT_EQ(append_replicated(2, leader_batch(2, 2), 12).code(), errc::invalid_argument);
  auto end = append_replicated(2, leader_batch(10, 2), 11);
  ASSERT_TRUE(end.ok()) << end.err().message;
  EXPECT_EQ(*end, 11);
  EXPECT_EQ(followed()->latest_local_epoch, 2);
  EXPECT_EQ(info().high_watermark, 11);
}

// Kafka answers a consumer's fetch between the high watermark and the log end
// with no records, not OFFSET_OUT_OF_RANGE (which makes the consumer reset its
// position). A new leader's high watermark starts at what it last heard as a
// follower, which can be below what consumers already read from the old
// leader, so this matters right after a failover. Disabled: service.cc's
// fetch() refuses any offset above the high watermark; see the report.
TEST_F(ServiceClusterTest, DISABLED_AConsumerAheadOfANewLeadersHighWatermarkGetsNoRecordsNotOutOfRange) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2}));
  // The old leader had a high watermark of 3; this follower last heard 1.
  ASSERT_TRUE(append_replicated(1, concat({leader_batch(0, 1), leader_batch(1, 1), leader_batch(2, 1)}), 1).ok());
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 2}));
  ASSERT_EQ(info().high_watermark, 1);
  auto f = svc_->fetch("t", 0, 3, 1 << 20, true);  // a consumer that read 0..2 from the old leader
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_TRUE(f.records.empty());
  EXPECT_EQ(svc_->fetch("t", 0, 4, 1 << 20, true).error, stream_error::offset_out_of_range) << "past the log end";
}

TEST_F(ServiceClusterTest, AnAssignmentArrivingDuringATruncationWaitsForIt) {
  svc_->apply_cluster(snapshot(1, topic_spec{.leader = 2, .epoch = 3}));
  ASSERT_TRUE(append_replicated(3, concat({leader_batch(0, 1), leader_batch(1, 3), leader_batch(2, 3)}), 0).ok());
  std::optional<status> done;
  svc_->truncate_replica("t", 0, 3, {1, 5, -1}, [&](status s) { done.emplace(std::move(s)); });
  // Elected while the cut runs: it takes effect once the cut is done.
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 4, .isr = {1}}));
  auto early = produce_async(one("x"), /*acks_all=*/false);
  ASSERT_TRUE(early->has_value());
  EXPECT_EQ((*early)->error, stream_error::not_leader_or_follower) << "still following until the cut is done";
  ASSERT_TRUE(wait_for([&] { return done.has_value(); }));
  ASSERT_TRUE(done->ok()) << done->err().message;
  EXPECT_TRUE(svc_->followed_partitions().empty());
  EXPECT_EQ(info().leader, 1);
  EXPECT_EQ(info().leader_epoch, 4);
  EXPECT_EQ(info().log_end_offset, 1);
  auto e1 = svc_->end_offset_for_epoch("t", 0, 4, 1);
  EXPECT_EQ(e1.leader_epoch, 1);
  EXPECT_EQ(e1.end_offset, 1) << "epoch 4 starts at the cut";
  EXPECT_EQ(produce(one("y"), /*acks_all=*/false).base_offset, 1);
}

TEST_F(ServiceClusterTest, LeaderEpochsSurviveARestart) {
  svc_->apply_cluster(snapshot(1, topic_spec{.isr = {1}}));
  ASSERT_EQ(produce(one("a"), false).base_offset, 0);
  svc_->apply_cluster(snapshot(2, topic_spec{.epoch = 2, .isr = {1}}));
  ASSERT_EQ(produce(one("b"), false).base_offset, 1);
  svc_->shutdown();
  svc_.reset();
  sched_.run_pending();

  service_config c;
  c.data_dir = "/data";
  c.cluster_mode = true;
  c.retention_check_interval_ms = 3'600'000;
  auto s = service::open(c, fs_, *kv_, sched_);
  ASSERT_TRUE(s.ok()) << s.err().message;
  svc_ = std::move(*s);
  EXPECT_TRUE(svc_->list_topics().empty()) << "in cluster mode topics come from the cluster's state";
  svc_->attach_cluster(link_, replication_config{});
  svc_->apply_cluster(snapshot(3, topic_spec{.leader = 2, .epoch = 3, .isr = {1, 2}}));
  auto f = followed();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->log_end_offset, 2);
  EXPECT_EQ(f->latest_local_epoch, 2);
  svc_->apply_cluster(snapshot(4, topic_spec{.epoch = 4, .isr = {1}}));
  auto e1 = svc_->end_offset_for_epoch("t", 0, 4, 1);
  EXPECT_EQ(e1.leader_epoch, 1);
  EXPECT_EQ(e1.end_offset, 1);
  auto e2 = svc_->end_offset_for_epoch("t", 0, 4, 2);
  EXPECT_EQ(e2.leader_epoch, 2);
  EXPECT_EQ(e2.end_offset, 2);
}

// The high watermark is not kept across a restart: a leader that comes back
// takes its whole durable log as committed, records no follower has.
// Disabled: see the report (no high-watermark checkpoint in cluster mode).
TEST_F(ServiceClusterTest, DISABLED_ARestartedLeaderDoesNotExposeRecordsNoFollowerHas) {
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  ASSERT_EQ(produce(one("a"), /*acks_all=*/false).base_offset, 0);  // durable here only
  ASSERT_EQ(info().high_watermark, 0);
  svc_->shutdown();
  svc_.reset();
  sched_.run_pending();
  service_config c;
  c.data_dir = "/data";
  c.cluster_mode = true;
  auto s = service::open(c, fs_, *kv_, sched_);
  ASSERT_TRUE(s.ok()) << s.err().message;
  svc_ = std::move(*s);
  svc_->attach_cluster(link_, replication_config{});
  svc_->apply_cluster(snapshot(1, topic_spec{}));
  EXPECT_EQ(info().high_watermark, 0);
  EXPECT_TRUE(svc_->fetch("t", 0, 0, 1 << 20, true).records.empty());
}

// ---- Topics through the cluster ----

TEST_F(ServiceClusterTest, CreateTopicGoesThroughTheClusterAndServesWhatItWrote) {
  svc_->apply_cluster(snapshot(1, std::vector<topic_spec>{}));
  auto created = svc_->create_topic("new", 2, {{"min.insync.replicas", "1"}});
  ASSERT_TRUE(created.ok()) << created.err().message;
  ASSERT_EQ(link_.created.size(), 1u);
  EXPECT_EQ(link_.created[0].name, "new");
  EXPECT_EQ(link_.created[0].partitions, 2);
  EXPECT_EQ(link_.created[0].replication_factor, 3) << "the default, capped by 3 live brokers";
  EXPECT_EQ(link_.created[0].configs.at("min.insync.replicas"), "1");
  ASSERT_EQ(created->partitions.size(), 2u);
  EXPECT_EQ(created->partitions[0].leader, 1);
  EXPECT_EQ(created->partitions[1].leader, 2);
  EXPECT_EQ(created->replication_factor, 3);
  auto list = svc_->followed_partitions();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].topic, "new");
  EXPECT_EQ(list[0].partition, 1);
  EXPECT_EQ(produce(one("a"), /*acks_all=*/false, "new").base_offset, 0);

  EXPECT_EQ(svc_->create_topic("new", 1, {}).code(), errc::already_exists);
  EXPECT_EQ(svc_->create_topic("bad", 1, {{"no.such.config", "1"}}).code(), errc::invalid_argument);
  EXPECT_EQ(link_.created.size(), 1u) << "refused before asking the cluster";
  ASSERT_TRUE(svc_->create_topic("rf1", 1, {}, 1).ok());
  EXPECT_EQ(link_.created.back().replication_factor, 1);

  // A state read before the creation does not delete it.
  svc_->apply_cluster(snapshot(2, std::vector<topic_spec>{}));
  EXPECT_TRUE(svc_->describe_topic("new").ok());
  // A newer state without it does.
  svc_->apply_cluster(snapshot(500, std::vector<topic_spec>{}));
  EXPECT_EQ(svc_->describe_topic("new").code(), errc::not_found);
  EXPECT_TRUE(svc_->list_topics().empty());

  svc_->apply_cluster(snapshot(501, topic_spec{}));
  ASSERT_TRUE(svc_->delete_topic("t").ok());
  EXPECT_EQ(link_.deleted, (std::vector<std::string>{"t"}));
  EXPECT_EQ(svc_->describe_topic("t").code(), errc::not_found);
}

// ---- A single node ----

TEST(ServiceSingleNode, WithoutClusterModeNothingChanges) {
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  manual_scheduler sched;
  service_config c;
  c.data_dir = "/data";
  auto opened = service::open(c, fs, *kv, sched);
  ASSERT_TRUE(opened.ok());
  auto& svc = **opened;
  EXPECT_FALSE(svc.clustered());
  EXPECT_EQ(svc.create_topic("t", 1, {}, 3).code(), errc::invalid_argument) << "one replica on one node";
  ASSERT_TRUE(svc.create_topic("t", 1, {}).ok());
  auto produce = [&](const std::vector<uint8_t>& batch, bool acks_all) {
    std::optional<produce_result> out;
    svc.produce("t", 0, batch, acks_all, [&](produce_result r) { out = std::move(r); });
    for (int i = 0; i < 2000 && !out; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      sched.run_pending();
    }
    return out.value_or(produce_result{stream_error::storage_error, "never completed"});
  };
  EXPECT_EQ(produce(one("a"), true).base_offset, 0) << "acks=all: the node's own flush";
  EXPECT_EQ(produce(one("b"), false).base_offset, 1);
  auto f = svc.fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_EQ(f.high_watermark, 2) << "the flushed offset";
  EXPECT_EQ(base_offsets(f.records), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(stored_epoch(f.records), 0);
  EXPECT_EQ(svc.list_offset("t", 0, -1).offset, 2);

  auto e = svc.end_offset_for_epoch("t", 0, -1, 0);
  EXPECT_EQ(e.error, stream_error::none);
  EXPECT_EQ(e.leader_epoch, 0);
  EXPECT_EQ(e.end_offset, 2);
  auto none = svc.end_offset_for_epoch("t", 0, -1, -1);
  EXPECT_EQ(none.leader_epoch, -1);
  EXPECT_EQ(none.end_offset, -1);
  EXPECT_EQ(svc.end_offset_for_epoch("nope", 0, -1, 0).error, stream_error::unknown_topic_or_partition);

  auto p = svc.describe_topic("t")->partitions[0];
  EXPECT_EQ(p.leader, 0);
  EXPECT_EQ(p.leader_epoch, 0);
  EXPECT_EQ(p.replicas, (ids{0}));
  EXPECT_EQ(p.isr, (ids{0}));
  EXPECT_TRUE(svc.followed_partitions().empty());
  EXPECT_TRUE(svc.replication_lags().empty());
  EXPECT_EQ(svc.counters().leadership_gained, 0u);
  EXPECT_EQ(svc.fetch_for_replica("t", 0, 2, 0, 0, 1 << 20).error, stream_error::not_leader_or_follower)
      << "a single node has no followers";
  svc.apply_cluster(snapshot(5, std::vector<topic_spec>{}));  // ignored without attach_cluster
  EXPECT_TRUE(svc.describe_topic("t").ok());
  svc.shutdown();
  sched.run_pending();
}

}  // namespace strata::streams
