// The transaction coordinator over a real streams service and group
// coordinator (one memory kv, a manual clock): producer ids and epochs
// (KIP-98, KIP-360), the two-phase commit of records and offsets, aborts by
// EndTxn, by a new session and by a timeout, every refusal, and the state
// kept durably in the kv (a restart finishes a prepared commit).
#include "kafka/txn/coordinator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "io/fault_fs.h"
#include "kafka/groups/coordinator.h"
#include "meta/kv.h"
#include "streams/record_batch.h"
#include "streams/service.h"
#include "streams/tests/batch_builder.h"

namespace strata::kafka::txn {
namespace {

using groups::committed_offset;
using streams::isolation;
using streams::stream_error;

constexpr int32_t timeout_ms = 60'000;

class TxnCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kv_ = meta::make_memory_kv();
    streams::service_config c;
    c.data_dir = "/data";
    auto s = streams::service::open(c, fs_, *kv_, sched_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    svc_ = std::move(*s);
    ASSERT_TRUE(svc_->create_topic("t", 2, {}).ok());
    ASSERT_TRUE(svc_->create_topic("in", 1, {}).ok());
    groups_ = std::make_unique<groups::coordinator>(sched_, *kv_, groups::coordinator_config{});
    ASSERT_TRUE(groups_->load().ok());
    cfg_.timeout_check_interval_ms = 1'000;
    coord_ = std::make_unique<coordinator>(sched_, *kv_, *svc_, *groups_, cfg_);
    ASSERT_TRUE(coord_->load().ok());
  }
  void TearDown() override {
    coord_.reset();
    groups_.reset();
    if (svc_) svc_->shutdown();
    sched_.run_pending();
  }

  template <class Pred>
  void pump(Pred done) {
    for (int i = 0; i < 3000 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      sched_.run_pending();
    }
  }

  producer_identity init(const std::string& id, int32_t timeout = timeout_ms, int64_t pid = -1, int16_t epoch = -1,
                         coordinator* c = nullptr) {
    std::optional<producer_identity> out;
    (c ? c : coord_.get())->init_producer_id(id, timeout, pid, epoch, [&](producer_identity r) { out = r; });
    pump([&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value()) << "InitProducerId never answered";
    return out.value_or(producer_identity{error_code::request_timed_out, -1, -1});
  }

  // EndTxn, waiting (pumping the scheduler) for its answer.
  error_code end(const std::string& id, int64_t pid, int16_t epoch, bool commit) {
    std::optional<error_code> out;
    coord_->end_txn(id, pid, epoch, commit, [&](error_code e) { out = e; });
    pump([&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value()) << "EndTxn never answered";
    return out.value_or(error_code::request_timed_out);
  }

  streams::produce_result produce_txn(const std::string& topic, int32_t partition, int64_t pid, int16_t epoch, int32_t seq,
                                      const std::vector<streams::testing::test_record>& records) {
    streams::testing::batch_options o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    o.attributes = 0x10;
    std::optional<streams::produce_result> out;
    svc_->produce(topic, partition, streams::testing::build_batch(records, o), true,
                  [&](streams::produce_result r) { out = std::move(r); });
    pump([&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value()) << "produce never completed";
    return out.value_or(streams::produce_result{stream_error::request_timed_out, "timeout"});
  }

  int64_t lso(const std::string& topic, int32_t partition) {
    return svc_->list_offset(topic, partition, -1, isolation::read_committed).offset;
  }
  int64_t hw(const std::string& topic, int32_t partition) {
    return svc_->list_offset(topic, partition, -1, isolation::read_uncommitted).offset;
  }

  // The group's committed offset of a partition, as OffsetFetch answers it (-1: none).
  int64_t committed(const groups::coordinator& g, const std::string& group, const std::string& topic, int32_t partition) {
    groups::offset_fetch_request req;
    req.group_id = group;
    req.topics = std::vector<groups::offset_fetch_topic>{{topic, {partition}}};
    auto resp = g.fetch_offsets(req);
    EXPECT_EQ(resp.error, error_code::none);
    if (resp.topics.size() != 1 || resp.topics[0].partitions.size() != 1) {
      ADD_FAILURE() << "unexpected OffsetFetch answer";
      return -2;
    }
    return resp.topics[0].partitions[0].offset;
  }

  txn_offset_commit_request offsets_req(const std::string& id, int64_t pid, int16_t epoch, const std::string& group,
                                        std::vector<std::pair<topic_partition, committed_offset>> offsets) {
    txn_offset_commit_request r;
    r.transactional_id = id;
    r.group_id = group;
    r.producer_id = pid;
    r.producer_epoch = epoch;
    r.offsets = std::move(offsets);
    return r;
  }

  txn_state state_of(const std::string& id) {
    const txn_metadata* m = coord_->find(id);
    EXPECT_NE(m, nullptr) << id;
    return m ? m->state : txn_state::empty;
  }

  void wait_for_state(const std::string& id, txn_state s) {
    pump([&] { return coord_->find(id) && coord_->find(id)->state == s; });
    EXPECT_EQ(state_of(id), s) << state_name(state_of(id)) << " instead of " << state_name(s);
  }

  io::fault_fs fs_;
  std::unique_ptr<meta::kv> kv_;
  manual_scheduler sched_;
  std::unique_ptr<streams::service> svc_;
  std::unique_ptr<groups::coordinator> groups_;
  txn_config cfg_;
  std::unique_ptr<coordinator> coord_;
};

const std::vector<topic_partition> t0{{"t", 0}};

}  // namespace

TEST_F(TxnCoordinatorTest, ANewTransactionalIdGetsAProducerIdAndEpochZero) {
  auto a = init("a");
  ASSERT_EQ(a.error, error_code::none);
  EXPECT_GE(a.producer_id, 0);
  EXPECT_EQ(a.producer_epoch, 0);
  const txn_metadata* m = coord_->find("a");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->producer_id, a.producer_id);
  EXPECT_EQ(m->producer_epoch, 0);
  EXPECT_EQ(m->last_producer_epoch, -1);
  EXPECT_EQ(m->timeout_ms, timeout_ms);
  EXPECT_EQ(m->state, txn_state::empty);
  EXPECT_STREQ(state_name(m->state), "Empty");

  auto b = init("b");
  ASSERT_EQ(b.error, error_code::none);
  EXPECT_NE(b.producer_id, a.producer_id);
  EXPECT_EQ(coord_->all().size(), 2u);
  EXPECT_EQ(coord_->find("c"), nullptr);
}

TEST_F(TxnCoordinatorTest, ReinitBumpsTheEpochAndLeavesTheStateEmpty) {
  auto first = init("a");
  auto again = init("a", 30'000);
  ASSERT_EQ(again.error, error_code::none);
  EXPECT_EQ(again.producer_id, first.producer_id);
  EXPECT_EQ(again.producer_epoch, 1);
  EXPECT_EQ(state_of("a"), txn_state::empty);
  EXPECT_EQ(coord_->find("a")->timeout_ms, 30'000) << "the new session's timeout";
  // After a committed transaction too.
  ASSERT_EQ(coord_->add_partitions("a", first.producer_id, 1, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(end("a", first.producer_id, 1, true), error_code::none);
  EXPECT_EQ(state_of("a"), txn_state::complete_commit);
  auto third = init("a");
  EXPECT_EQ(third.producer_epoch, 2);
  EXPECT_EQ(state_of("a"), txn_state::empty);
  EXPECT_TRUE(coord_->find("a")->partitions.empty());
}

TEST_F(TxnCoordinatorTest, BadInitRequestsAreRefused) {
  EXPECT_EQ(init("a", 0).error, error_code::invalid_transaction_timeout);
  EXPECT_EQ(init("a", -1).error, error_code::invalid_transaction_timeout);
  EXPECT_EQ(init("a", cfg_.transaction_timeout_max_ms + 1).error, error_code::invalid_transaction_timeout);
  EXPECT_EQ(coord_->find("a"), nullptr) << "nothing was created";
  EXPECT_EQ(init("a", cfg_.transaction_timeout_max_ms).error, error_code::none);
  EXPECT_EQ(init("", timeout_ms).error, error_code::invalid_request);
  // A producer id for a transactional id never seen.
  EXPECT_EQ(init("unknown", timeout_ms, 77, 0).error, error_code::invalid_producer_id_mapping);
  EXPECT_EQ(coord_->find("unknown"), nullptr);
}

TEST_F(TxnCoordinatorTest, CommitMakesRecordsAndOffsetsVisibleTogether) {
  auto p = init("tx");
  ASSERT_EQ(p.error, error_code::none);
  const int64_t pid = p.producer_id;
  EXPECT_EQ(coord_->add_partitions("tx", pid, 0, {{"t", 0}, {"t", 1}}),
            (std::vector<error_code>{error_code::none, error_code::none}));
  EXPECT_EQ(state_of("tx"), txn_state::ongoing);
  EXPECT_STREQ(state_name(txn_state::ongoing), "Ongoing");
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}, {"b", "2"}}).error, stream_error::none);
  EXPECT_EQ(lso("t", 0), 0) << "the transaction holds the LSO";
  EXPECT_EQ(hw("t", 0), 2);

  EXPECT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  const topic_partition in0{"in", 0};
  auto resp = coord_->commit_offsets(offsets_req("tx", pid, 0, "g", {{in0, committed_offset{17, 3, "m", 1234}}}));
  EXPECT_EQ(resp, std::vector<error_code>{error_code::none});
  EXPECT_TRUE(coord_->offset_pending("g", in0));
  EXPECT_FALSE(coord_->offset_pending("g", {"in", 1}));
  EXPECT_FALSE(coord_->offset_pending("other", in0));
  EXPECT_EQ(committed(*groups_, "g", "in", 0), -1) << "not committed before the transaction is";

  EXPECT_EQ(end("tx", pid, 0, /*commit=*/true), error_code::none);
  EXPECT_EQ(state_of("tx"), txn_state::complete_commit);
  EXPECT_TRUE(coord_->find("tx")->partitions.empty());
  EXPECT_TRUE(coord_->find("tx")->pending_offsets.empty());
  // Both partitions got a COMMIT marker; t-0's records are now stable.
  EXPECT_EQ(hw("t", 0), 3);
  EXPECT_EQ(lso("t", 0), hw("t", 0));
  EXPECT_EQ(hw("t", 1), 1) << "a marker in a partition the producer never wrote to";
  EXPECT_EQ(lso("t", 1), 1);
  auto f = svc_->fetch("t", 0, 0, 1 << 20, true, isolation::read_committed);
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_TRUE(f.aborted.empty());
  auto first = streams::read_batch_header(f.records);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->producer_id, pid);
  EXPECT_GT(f.records.size(), first->total_bytes()) << "the data and its marker";

  // The offsets were stored in the group, durably.
  EXPECT_FALSE(coord_->offset_pending("g", in0));
  EXPECT_EQ(committed(*groups_, "g", "in", 0), 17);
  groups::coordinator reloaded(sched_, *kv_, groups::coordinator_config{});
  ASSERT_TRUE(reloaded.load().ok());
  EXPECT_EQ(committed(reloaded, "g", "in", 0), 17);

  // The producer's next transaction.
  EXPECT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 2, {{"c", "3"}}).error, stream_error::none);
  EXPECT_EQ(lso("t", 0), 3);
  EXPECT_EQ(end("tx", pid, 0, true), error_code::none);
  EXPECT_EQ(lso("t", 0), 5);
}

TEST_F(TxnCoordinatorTest, AbortHidesTheRecordsAndDropsTheOffsets) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).base_offset, 0);
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 1, {{"b", "2"}}).base_offset, 1);
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  ASSERT_EQ(coord_->commit_offsets(offsets_req("tx", pid, 0, "g", {{{"in", 0}, committed_offset{5, -1, "", 0}}})),
            std::vector<error_code>{error_code::none});
  EXPECT_TRUE(coord_->offset_pending("g", {"in", 0}));

  EXPECT_EQ(end("tx", pid, 0, /*commit=*/false), error_code::none);
  EXPECT_EQ(state_of("tx"), txn_state::complete_abort);
  EXPECT_STREQ(state_name(txn_state::complete_abort), "CompleteAbort");
  EXPECT_EQ(lso("t", 0), 3);
  EXPECT_EQ(lso("t", 0), hw("t", 0));
  auto f = svc_->fetch("t", 0, 0, 1 << 20, true, isolation::read_committed);
  EXPECT_EQ(f.aborted, (std::vector<streams::aborted_txn>{{pid, 0}}));
  EXPECT_FALSE(coord_->offset_pending("g", {"in", 0}));
  EXPECT_EQ(committed(*groups_, "g", "in", 0), -1) << "an aborted transaction commits no offsets";
  // The same epoch goes on (an abort by EndTxn fences nobody).
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 0);
  EXPECT_EQ(produce_txn("t", 0, pid, 0, 2, {{"c", "3"}}).error, stream_error::none);
}

TEST_F(TxnCoordinatorTest, EndTxnIsIdempotentAndRefusesTheOtherDirection) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  EXPECT_EQ(end("tx", pid, 0, true), error_code::invalid_txn_state) << "Empty: nothing to end";
  EXPECT_EQ(end("tx", pid, 0, false), error_code::none) << "Empty: an abort of nothing succeeds (librdkafka #4849)";
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  EXPECT_EQ(end("tx", pid, 0, true), error_code::none);
  const int64_t end_after = hw("t", 0);
  EXPECT_EQ(end("tx", pid, 0, true), error_code::none) << "a retry whose first answer was lost";
  EXPECT_EQ(end("tx", pid, 0, false), error_code::invalid_txn_state);
  EXPECT_EQ(hw("t", 0), end_after) << "a retry writes no second marker";

  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  EXPECT_EQ(end("tx", pid, 0, false), error_code::none);
  EXPECT_EQ(end("tx", pid, 0, false), error_code::none);
  EXPECT_EQ(end("tx", pid, 0, true), error_code::invalid_txn_state);

  EXPECT_EQ(end("nope", pid, 0, true), error_code::invalid_producer_id_mapping);
  EXPECT_EQ(end("tx", pid + 1, 0, true), error_code::invalid_producer_id_mapping);
  EXPECT_EQ(end("tx", pid, 1, true), error_code::producer_fenced);
}

TEST_F(TxnCoordinatorTest, WhileMarkersAreWrittenTheTransactionRefusesChanges) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  std::optional<error_code> first;
  std::optional<error_code> second;
  coord_->end_txn("tx", pid, 0, true, [&](error_code e) { first = e; });
  // The marker is not durable until the scheduler runs the flush's completion.
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(state_of("tx"), txn_state::prepare_commit);
  EXPECT_STREQ(state_name(txn_state::prepare_commit), "PrepareCommit");
  coord_->end_txn("tx", pid, 0, true, [&](error_code e) { second = e; });
  std::optional<error_code> wrong;
  coord_->end_txn("tx", pid, 0, false, [&](error_code e) { wrong = e; });
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(*wrong, error_code::invalid_txn_state);
  EXPECT_EQ(coord_->add_partitions("tx", pid, 0, {{"t", 1}}), std::vector<error_code>{error_code::concurrent_transactions});
  EXPECT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::concurrent_transactions);
  EXPECT_EQ(coord_->commit_offsets(offsets_req("tx", pid, 0, "g", {{{"in", 0}, committed_offset{1, -1, "", 0}}})),
            std::vector<error_code>{error_code::concurrent_transactions});
  std::optional<producer_identity> during;
  coord_->init_producer_id("tx", timeout_ms, -1, -1, [&](producer_identity r) { during = r; });
  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(during->error, error_code::concurrent_transactions);
  pump([&] { return first.has_value() && second.has_value(); });
  EXPECT_EQ(first, std::optional<error_code>(error_code::none));
  EXPECT_EQ(second, std::optional<error_code>(error_code::none));
  EXPECT_EQ(state_of("tx"), txn_state::complete_commit);
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 0);
}

TEST_F(TxnCoordinatorTest, AFailedMarkerIsWrittenAgainLater) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  ASSERT_EQ(coord_->commit_offsets(offsets_req("tx", pid, 0, "g", {{{"in", 0}, committed_offset{6, -1, "", 0}}})),
            std::vector<error_code>{error_code::none});
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  fs_.set_disk_bytes_max(1);  // the marker's append fails
  std::optional<error_code> ended;
  coord_->end_txn("tx", pid, 0, true, [&](error_code e) { ended = e; });
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sched_.run_pending();
  }
  EXPECT_FALSE(ended.has_value()) << "EndTxn waits for the marker";
  EXPECT_EQ(state_of("tx"), txn_state::prepare_commit);
  EXPECT_TRUE(coord_->offset_pending("g", {"in", 0})) << "UNSTABLE_OFFSET_COMMIT until the commit completes";
  EXPECT_EQ(lso("t", 0), 0);
  EXPECT_EQ(committed(*groups_, "g", "in", 0), -1);
  fs_.set_disk_bytes_max(UINT64_MAX);
  sched_.advance(cfg_.marker_retry_interval_ms);
  pump([&] { return ended.has_value(); });
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(*ended, error_code::none);
  EXPECT_EQ(state_of("tx"), txn_state::complete_commit);
  EXPECT_EQ(lso("t", 0), hw("t", 0));
  EXPECT_EQ(hw("t", 0), 2);
  EXPECT_EQ(committed(*groups_, "g", "in", 0), 6);
}

TEST_F(TxnCoordinatorTest, ATransactionOfOffsetsOnlyCommitsThem) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  EXPECT_EQ(state_of("tx"), txn_state::ongoing);
  ASSERT_EQ(coord_->commit_offsets(offsets_req("tx", pid, 0, "g", {{{"in", 0}, committed_offset{11, -1, "", 0}}})),
            std::vector<error_code>{error_code::none});
  EXPECT_EQ(end("tx", pid, 0, true), error_code::none);
  EXPECT_EQ(committed(*groups_, "g", "in", 0), 11);
  EXPECT_EQ(hw("t", 0), 0) << "no partition, no marker";
  EXPECT_EQ(state_of("tx"), txn_state::complete_commit);
}

TEST_F(TxnCoordinatorTest, AddPartitionsRefusals) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  auto unknown = coord_->add_partitions("tx", pid, 0, {{"t", 0}, {"nope", 0}, {"t", 2}, {"t", -1}});
  EXPECT_EQ(unknown, (std::vector<error_code>{error_code::operation_not_attempted, error_code::unknown_topic_or_partition,
                                              error_code::unknown_topic_or_partition, error_code::unknown_topic_or_partition}));
  EXPECT_EQ(state_of("tx"), txn_state::empty) << "nothing was added";
  EXPECT_TRUE(coord_->find("tx")->partitions.empty());
  const std::vector<topic_partition> two{{"t", 0}, {"t", 1}};
  EXPECT_EQ(coord_->add_partitions("tx", pid, 1, two), std::vector<error_code>(2, error_code::producer_fenced));
  EXPECT_EQ(coord_->add_partitions("tx", pid + 1, 0, two), std::vector<error_code>(2, error_code::invalid_producer_id_mapping));
  EXPECT_EQ(coord_->add_partitions("nope", pid, 0, two), std::vector<error_code>(2, error_code::invalid_producer_id_mapping));
  EXPECT_EQ(coord_->add_offsets("tx", pid, 1, "g"), error_code::producer_fenced);
  EXPECT_EQ(coord_->add_offsets("tx", pid + 1, 0, "g"), error_code::invalid_producer_id_mapping);
  EXPECT_EQ(coord_->add_offsets("nope", pid, 0, "g"), error_code::invalid_producer_id_mapping);
  EXPECT_EQ(coord_->add_offsets("tx", pid, 0, ""), error_code::invalid_group_id);
  EXPECT_EQ(state_of("tx"), txn_state::empty);

  EXPECT_EQ(coord_->add_partitions("tx", pid, 0, two), std::vector<error_code>(2, error_code::none));
  EXPECT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none}) << "again: no change";
  EXPECT_EQ(coord_->find("tx")->partitions, (std::set<topic_partition>{{"t", 0}, {"t", 1}}));
  EXPECT_GT(coord_->find("tx")->start_ms, 0);
}

TEST_F(TxnCoordinatorTest, ATransactionalWriteNeedsItsPartitionAdded) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  EXPECT_EQ(coord_->check_write(pid, 0, {"t", 0}), error_code::invalid_txn_state) << "no open transaction";
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, {{"t", 0}}), std::vector<error_code>{error_code::none});
  EXPECT_EQ(coord_->check_write(pid, 0, {"t", 0}), error_code::none);
  EXPECT_EQ(coord_->check_write(pid, 0, {"t", 1}), error_code::invalid_txn_state) << "a partition it did not add";
  EXPECT_EQ(coord_->check_write(pid, 1, {"t", 0}), error_code::invalid_producer_epoch);
  EXPECT_EQ(coord_->check_write(pid + 1, 0, {"t", 0}), error_code::invalid_producer_id_mapping);
  std::optional<error_code> ended;
  coord_->end_txn("tx", pid, 0, true, [&](error_code e) { ended = e; });
  pump([&] { return ended.has_value(); });
  EXPECT_EQ(coord_->check_write(pid, 0, {"t", 0}), error_code::invalid_txn_state) << "the transaction ended";
}

TEST_F(TxnCoordinatorTest, AddPartitionsPastTheLimitIsRefused) {
  coord_.reset();
  cfg_.partitions_per_txn_max = 2;
  coord_ = std::make_unique<coordinator>(sched_, *kv_, *svc_, *groups_, cfg_);
  ASSERT_TRUE(coord_->load().ok());
  auto p = init("tx");
  EXPECT_EQ(coord_->add_partitions("tx", p.producer_id, 0, {{"t", 0}, {"t", 1}}), std::vector<error_code>(2, error_code::none));
  EXPECT_EQ(coord_->add_partitions("tx", p.producer_id, 0, {{"in", 0}}), std::vector<error_code>{error_code::invalid_request});
  EXPECT_EQ(coord_->find("tx")->partitions.size(), 2u);
}

TEST_F(TxnCoordinatorTest, TxnOffsetCommitNeedsAddOffsetsFirst) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  const topic_partition in0{"in", 0};
  auto one = [&](const std::string& group, std::optional<int16_t> epoch = std::nullopt) {
    return coord_->commit_offsets(offsets_req("tx", pid, epoch.value_or(0), group, {{in0, committed_offset{1, -1, "", 0}}}));
  };
  EXPECT_EQ(one("g"), std::vector<error_code>{error_code::invalid_txn_state}) << "Empty";
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  EXPECT_EQ(one("g"), std::vector<error_code>{error_code::invalid_txn_state}) << "Ongoing, but the group is not in it";
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  EXPECT_EQ(one("h"), std::vector<error_code>{error_code::invalid_txn_state}) << "another group";
  EXPECT_EQ(one("g", 1), std::vector<error_code>{error_code::producer_fenced});
  EXPECT_EQ(coord_->commit_offsets(offsets_req("nope", pid, 0, "g", {{in0, committed_offset{}}})),
            std::vector<error_code>{error_code::invalid_producer_id_mapping});
  EXPECT_EQ(one("g"), std::vector<error_code>{error_code::none});
  EXPECT_FALSE(coord_->offset_pending("h", in0));

  // Per-partition errors: an unknown partition and too much metadata.
  auto mixed = coord_->commit_offsets(offsets_req(
      "tx", pid, 0, "g",
      {{{"in", 0}, committed_offset{2, -1, "", 0}},
       {{"nope", 0}, committed_offset{2, -1, "", 0}},
       {{"t", 1}, committed_offset{2, -1, std::string(groups_->config().offset_metadata_bytes_max + 1, 'x'), 0}}}));
  EXPECT_EQ(mixed, (std::vector<error_code>{error_code::none, error_code::unknown_topic_or_partition,
                                            error_code::offset_metadata_too_large}));
  ASSERT_EQ(coord_->find("tx")->pending_offsets.size(), 1u) << "a partition's offset is replaced, not added";
  EXPECT_EQ(coord_->find("tx")->pending_offsets[0].value.offset, 2);
  // KIP-447: a generation names a member of the live group; there is none.
  auto with_member = offsets_req("tx", pid, 0, "g", {{in0, committed_offset{3, -1, "", 0}}});
  with_member.generation_id = 4;
  with_member.member_id = "m-1";
  EXPECT_EQ(coord_->commit_offsets(with_member), std::vector<error_code>{error_code::illegal_generation});
  EXPECT_EQ(coord_->find("tx")->pending_offsets[0].value.offset, 2);
  EXPECT_EQ(end("tx", pid, 0, true), error_code::none);
  EXPECT_EQ(committed(*groups_, "g", "in", 0), 2);
}

TEST_F(TxnCoordinatorTest, InitDuringAnOngoingTransactionAbortsItAndFencesTheOldEpoch) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  ASSERT_EQ(coord_->commit_offsets(offsets_req("tx", pid, 0, "g", {{{"in", 0}, committed_offset{9, -1, "", 0}}})),
            std::vector<error_code>{error_code::none});

  // A new producer instance with the same transactional id.
  EXPECT_EQ(init("tx").error, error_code::concurrent_transactions);
  const txn_metadata* m = coord_->find("tx");
  EXPECT_EQ(m->producer_epoch, 1) << "bumped so the old producer is fenced";
  EXPECT_TRUE(m->state == txn_state::prepare_abort || m->state == txn_state::complete_abort) << state_name(m->state);
  EXPECT_TRUE(m->pending_offsets.empty());
  EXPECT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::producer_fenced});
  wait_for_state("tx", txn_state::complete_abort);
  EXPECT_EQ(end("tx", pid, 0, true), error_code::producer_fenced);
  // In the partition: aborted, and the old epoch fenced by the marker.
  auto f = svc_->fetch("t", 0, 0, 1 << 20, true, isolation::read_committed);
  EXPECT_EQ(f.aborted, (std::vector<streams::aborted_txn>{{pid, 0}}));
  EXPECT_EQ(lso("t", 0), hw("t", 0));
  EXPECT_EQ(produce_txn("t", 0, pid, 0, 1, {{"b", "2"}}).error, stream_error::invalid_producer_epoch);
  EXPECT_EQ(committed(*groups_, "g", "in", 0), -1);

  // The new instance retries once the abort is done, and gets a fresh epoch.
  auto retry = init("tx");
  ASSERT_EQ(retry.error, error_code::none);
  EXPECT_EQ(retry.producer_id, pid);
  EXPECT_EQ(retry.producer_epoch, 2);
  EXPECT_EQ(state_of("tx"), txn_state::empty);
  EXPECT_EQ(coord_->add_partitions("tx", pid, 1, t0), std::vector<error_code>{error_code::producer_fenced})
      << "epoch 1 was only the abort's";
  ASSERT_EQ(coord_->add_partitions("tx", pid, 2, t0), std::vector<error_code>{error_code::none});
  EXPECT_EQ(produce_txn("t", 0, pid, 2, 0, {{"c", "3"}}).error, stream_error::none);
}

TEST_F(TxnCoordinatorTest, ATimedOutTransactionIsAbortedAndItsProducerFenced) {
  auto p = init("tx", /*timeout=*/500);
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  sched_.advance(cfg_.timeout_check_interval_ms - 1);
  sched_.run_pending();
  EXPECT_EQ(state_of("tx"), txn_state::ongoing) << "no check has run yet";
  // Past the timeout and the next check.
  sched_.advance(500 + cfg_.timeout_check_interval_ms);
  wait_for_state("tx", txn_state::complete_abort);
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 1);
  EXPECT_EQ(coord_->find("tx")->last_producer_epoch, 0);
  EXPECT_EQ(end("tx", pid, 0, true), error_code::producer_fenced);
  EXPECT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::producer_fenced});
  EXPECT_EQ(produce_txn("t", 0, pid, 0, 1, {{"b", "2"}}).error, stream_error::invalid_producer_epoch);
  auto f = svc_->fetch("t", 0, 0, 1 << 20, true, isolation::read_committed);
  EXPECT_EQ(f.aborted, (std::vector<streams::aborted_txn>{{pid, 0}}));
  EXPECT_EQ(lso("t", 0), hw("t", 0));
}

TEST_F(TxnCoordinatorTest, AnOngoingTransactionWithinItsTimeoutIsLeftAlone) {
  auto p = init("tx", /*timeout=*/10'000);
  ASSERT_EQ(coord_->add_partitions("tx", p.producer_id, 0, t0), std::vector<error_code>{error_code::none});
  sched_.advance(9'000);
  sched_.run_pending();
  EXPECT_EQ(state_of("tx"), txn_state::ongoing);
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 0);
  EXPECT_EQ(end("tx", p.producer_id, 0, true), error_code::none);
  sched_.advance(20'000);
  sched_.run_pending();
  EXPECT_EQ(state_of("tx"), txn_state::complete_commit) << "a finished transaction never times out";
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 0);
}

TEST_F(TxnCoordinatorTest, Kip360ProducersBumpTheirOwnEpoch) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  auto bumped = init("tx", timeout_ms, pid, 0);
  ASSERT_EQ(bumped.error, error_code::none);
  EXPECT_EQ(bumped.producer_id, pid);
  EXPECT_EQ(bumped.producer_epoch, 1);
  EXPECT_EQ(coord_->find("tx")->last_producer_epoch, 0);
  // The answer was lost: the retry with the old epoch gets the same epoch, no second bump.
  auto retried = init("tx", timeout_ms, pid, 0);
  ASSERT_EQ(retried.error, error_code::none);
  EXPECT_EQ(retried.producer_epoch, 1);
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 1);
  // The current epoch bumps again; an older one is fenced.
  EXPECT_EQ(init("tx", timeout_ms, pid, 1).producer_epoch, 2);
  EXPECT_EQ(init("tx", timeout_ms, pid, 0).error, error_code::producer_fenced);
  EXPECT_EQ(init("tx", timeout_ms, pid, 5).error, error_code::producer_fenced) << "a future epoch";
  EXPECT_EQ(init("tx", timeout_ms, pid + 1, 2).error, error_code::producer_fenced) << "another producer id";
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 2);
}

TEST_F(TxnCoordinatorTest, Kip360BumpDuringItsOwnTransactionAbortsItFirst) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, t0), std::vector<error_code>{error_code::none});
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  EXPECT_EQ(init("tx", timeout_ms, pid, 0).error, error_code::concurrent_transactions);
  wait_for_state("tx", txn_state::complete_abort);
  // The producer retries with the epoch it knows: the abort's bump is its answer.
  auto retry = init("tx", timeout_ms, pid, 0);
  ASSERT_EQ(retry.error, error_code::none);
  EXPECT_EQ(retry.producer_epoch, 1);
  EXPECT_EQ(lso("t", 0), hw("t", 0));
}

TEST_F(TxnCoordinatorTest, ANewSessionFencesTheOldOneAlsoForKip360Retries) {
  auto a = init("tx");
  const int64_t pid = a.producer_id;
  // Instance B starts a new session (no producer id of its own).
  auto b = init("tx");
  ASSERT_EQ(b.error, error_code::none);
  EXPECT_EQ(b.producer_epoch, 1);
  // Instance A, a zombie, tries to bump its own epoch 0: it must not be handed
  // B's epoch (Kafka clears the last epoch when a new session starts).
  auto zombie = init("tx", timeout_ms, pid, 0);
  EXPECT_EQ(zombie.error, error_code::producer_fenced);
  EXPECT_EQ(coord_->find("tx")->producer_epoch, 1);
  // B's own KIP-360 bump still works.
  EXPECT_EQ(init("tx", timeout_ms, pid, 1).producer_epoch, 2);
  EXPECT_EQ(init("tx", timeout_ms, pid, 1).producer_epoch, 2) << "its retry";
}

TEST_F(TxnCoordinatorTest, StateIsDurableInTheKv) {
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_partitions("tx", pid, 0, {{"t", 0}, {"t", 1}}), std::vector<error_code>(2, error_code::none));
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, "g"), error_code::none);
  ASSERT_EQ(coord_->commit_offsets(offsets_req("tx", pid, 0, "g", {{{"in", 0}, committed_offset{8, 2, "md", 99}}})),
            std::vector<error_code>{error_code::none});
  auto done = init("done");
  ASSERT_EQ(end("done", done.producer_id, 0, true), error_code::invalid_txn_state);

  coordinator second(sched_, *kv_, *svc_, *groups_, cfg_);
  ASSERT_TRUE(second.load().ok());
  ASSERT_EQ(second.all().size(), 2u);
  ASSERT_NE(second.find("tx"), nullptr);
  EXPECT_EQ(*second.find("tx"), *coord_->find("tx"));
  EXPECT_EQ(*second.find("done"), *coord_->find("done"));
  EXPECT_TRUE(second.offset_pending("g", {"in", 0}));
  // A new producer id is not handed out twice.
  auto fresh = init("other", timeout_ms, -1, -1, &second);
  EXPECT_NE(fresh.producer_id, pid);
  EXPECT_NE(fresh.producer_id, done.producer_id);
}

TEST_F(TxnCoordinatorTest, LoadFinishesAPreparedCommit) {
  // As a crash leaves it: PrepareCommit stored, the partition's transaction
  // still open, no marker written, the offsets not yet stored.
  auto id = svc_->init_producer_id(-1, -1);
  ASSERT_EQ(id.error, stream_error::none);
  const int64_t pid = id.producer_id;
  ASSERT_EQ(produce_txn("t", 0, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  ASSERT_EQ(lso("t", 0), 0);
  txn_metadata m;
  m.transactional_id = "crashed";
  m.producer_id = pid;
  m.producer_epoch = 0;
  m.timeout_ms = timeout_ms;
  m.state = txn_state::prepare_commit;
  m.partitions = {{"t", 0}};
  m.groups = {"g"};
  m.pending_offsets = {{"g", {"in", 0}, committed_offset{42, -1, "meta", 1000}}};
  m.start_ms = 1;
  m.last_update_ms = 2;
  ASSERT_TRUE(kv_->put("kafka/txn/crashed", encode_txn_metadata(m)).ok());

  coordinator restarted(sched_, *kv_, *svc_, *groups_, cfg_);
  ASSERT_TRUE(restarted.load().ok());
  pump([&] { return restarted.find("crashed")->state == txn_state::complete_commit; });
  ASSERT_EQ(restarted.find("crashed")->state, txn_state::complete_commit);
  EXPECT_EQ(lso("t", 0), hw("t", 0));
  EXPECT_EQ(hw("t", 0), 2) << "the COMMIT marker was written";
  EXPECT_TRUE(svc_->fetch("t", 0, 0, 1 << 20, true, isolation::read_committed).aborted.empty());
  EXPECT_EQ(committed(*groups_, "g", "in", 0), 42);
  EXPECT_FALSE(restarted.offset_pending("g", {"in", 0}));
  // Stored as complete: a further load has nothing to do.
  coordinator again(sched_, *kv_, *svc_, *groups_, cfg_);
  ASSERT_TRUE(again.load().ok());
  EXPECT_EQ(again.find("crashed")->state, txn_state::complete_commit);
  sched_.run_pending();
  EXPECT_EQ(hw("t", 0), 2) << "no second marker";
}

TEST_F(TxnCoordinatorTest, LoadFinishesAPreparedAbort) {
  auto id = svc_->init_producer_id(-1, -1);
  const int64_t pid = id.producer_id;
  ASSERT_EQ(produce_txn("t", 1, pid, 0, 0, {{"a", "1"}}).error, stream_error::none);
  txn_metadata m;
  m.transactional_id = "crashed";
  m.producer_id = pid;
  m.producer_epoch = 0;
  m.state = txn_state::prepare_abort;
  m.partitions = {{"t", 1}, {"gone", 0}};  // a topic deleted meanwhile has nothing to mark
  m.start_ms = 1;
  ASSERT_TRUE(kv_->put("kafka/txn/crashed", encode_txn_metadata(m)).ok());
  coordinator restarted(sched_, *kv_, *svc_, *groups_, cfg_);
  ASSERT_TRUE(restarted.load().ok());
  pump([&] { return restarted.find("crashed")->state == txn_state::complete_abort; });
  ASSERT_EQ(restarted.find("crashed")->state, txn_state::complete_abort);
  EXPECT_EQ(svc_->fetch("t", 1, 0, 1 << 20, true, isolation::read_committed).aborted,
            (std::vector<streams::aborted_txn>{{pid, 0}}));
}

TEST_F(TxnCoordinatorTest, AnUnreadableRecordFailsTheLoad) {
  ASSERT_TRUE(kv_->put("kafka/txn/bad", "not json").ok());
  coordinator c(sched_, *kv_, *svc_, *groups_, cfg_);
  auto s = c.load();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), errc::corrupt);
  EXPECT_NE(s.err().message.find("bad"), std::string::npos) << s.err().message;
  ASSERT_TRUE(kv_->put("kafka/txn/bad", R"({"version":"1"})").ok());
  coordinator c2(sched_, *kv_, *svc_, *groups_, cfg_);
  EXPECT_EQ(c2.load().code(), errc::corrupt) << "a wrongly typed field is unreadable too, not a crash";
}

TEST(TxnMetadataCodec, RoundTripsEveryField) {
  txn_metadata m;
  m.transactional_id = "my-id";
  m.producer_id = 1LL << 42;
  m.producer_epoch = 7;
  m.last_producer_epoch = 6;
  m.timeout_ms = 12'345;
  m.state = txn_state::prepare_commit;
  m.partitions = {{"a", 0}, {"a", 3}, {"b", 1}};
  m.groups = {"g1", "g2"};
  m.pending_offsets = {{"g1", {"a", 0}, committed_offset{100, 4, "meta \"quoted\"", 1'700'000'000'000}},
                       {"g2", {"b", 1}, committed_offset{-1, -1, "", 0}}};
  m.start_ms = 1'700'000'000'001;
  m.last_update_ms = 1'700'000'000'002;
  auto back = decode_txn_metadata("my-id", encode_txn_metadata(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, m);
  for (txn_state s : {txn_state::empty, txn_state::ongoing, txn_state::prepare_commit, txn_state::prepare_abort,
                      txn_state::complete_commit, txn_state::complete_abort}) {
    m.state = s;
    EXPECT_EQ(decode_txn_metadata("my-id", encode_txn_metadata(m))->state, s);
  }
  // The id comes from the key.
  EXPECT_EQ(decode_txn_metadata("other", encode_txn_metadata(m))->transactional_id, "other");
  txn_metadata defaults;
  defaults.transactional_id = "x";
  EXPECT_EQ(decode_txn_metadata("x", encode_txn_metadata(txn_metadata{})), defaults);
}

TEST(TxnMetadataCodec, GarbageIsRefused) {
  txn_metadata m;
  m.producer_id = 5;
  const std::string good = encode_txn_metadata(m);
  ASSERT_TRUE(decode_txn_metadata("x", good).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", "").has_value());
  EXPECT_FALSE(decode_txn_metadata("x", "not json").has_value());
  EXPECT_FALSE(decode_txn_metadata("x", "[1,2,3]").has_value());
  EXPECT_FALSE(decode_txn_metadata("x", good.substr(0, good.size() / 2)).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", R"({"version":2})").has_value());
  EXPECT_FALSE(decode_txn_metadata("x", R"({"version":1})").has_value()) << "fields missing";
  EXPECT_FALSE(decode_txn_metadata("x", R"({"version":"1"})").has_value()) << "a version that is not a number";
  EXPECT_FALSE(decode_txn_metadata("x", R"({"version":null})").has_value());
  auto with = [&](const std::string& field, const std::string& json) {
    std::string s = good;
    const std::string needle = "\"" + field + "\":";
    auto at = s.find(needle);
    EXPECT_NE(at, std::string::npos) << field;
    auto value_at = at + needle.size();
    auto end = value_at;
    int depth = 0;
    for (; end < s.size(); ++end) {
      char ch = s[end];
      if (ch == '[' || ch == '{') ++depth;
      if (ch == ']' || ch == '}') {
        if (depth == 0) break;
        --depth;
      }
      if (ch == ',' && depth == 0) break;
    }
    s.replace(value_at, end - value_at, json);
    return s;
  };
  EXPECT_TRUE(decode_txn_metadata("x", with("state", "5")).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", with("state", "6")).has_value()) << "no such state";
  EXPECT_FALSE(decode_txn_metadata("x", with("state", "-1")).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", with("producer_id", "\"5\"")).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", with("partitions", "[[\"t\"]]")).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", with("partitions", "{\"t\":0}")).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", with("pending_offsets", "[{\"group_hex\":\"67\"}]")).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", with("groups_hex", "[1]")).has_value());
  EXPECT_TRUE(decode_txn_metadata("x", with("groups_hex", "[\"67ff\"]")).has_value());
  EXPECT_FALSE(decode_txn_metadata("x", with("groups_hex", "[\"6\"]")).has_value()) << "odd length";
  EXPECT_FALSE(decode_txn_metadata("x", with("groups_hex", "[\"zz\"]")).has_value()) << "not hex";
  EXPECT_FALSE(decode_txn_metadata("x", with("groups_hex", "[\"6G\"]")).has_value()) << "not lowercase hex";
}

// Group ids and offset metadata are any bytes a client sent; JSON strings
// cannot hold invalid UTF-8 (found by fuzz_kafka_request: AddOffsetsToTxn with
// such a group id terminated the server from an exception in the encoder).
TEST(TxnMetadataCodec, KeepsAnyBytesInGroupIdsAndMetadata) {
  txn_metadata m;
  m.transactional_id = "x";
  m.state = txn_state::ongoing;
  const std::string odd_group("g\xf8\xff\0\"\\", 6);
  const std::string odd_metadata("\xc3(\0\x80", 4);
  m.groups = {odd_group, "plain"};
  m.pending_offsets = {{odd_group, {"t", 1}, committed_offset{3, -1, odd_metadata, 5}}};
  const std::string encoded = encode_txn_metadata(m);
  EXPECT_EQ(encoded.find(odd_group), std::string::npos) << "kept in hex";
  auto back = decode_txn_metadata("x", encoded);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, m);
}

TEST_F(TxnCoordinatorTest, GroupIdsAndMetadataThatAreNotUtf8AreCommitted) {
  const std::string group("g\xf8", 2);
  const std::string metadata("\xff\xfe", 2);
  auto p = init("tx");
  const int64_t pid = p.producer_id;
  ASSERT_EQ(coord_->add_offsets("tx", pid, 0, group), error_code::none);
  ASSERT_EQ(coord_->commit_offsets(offsets_req("tx", pid, 0, group, {{{"in", 0}, committed_offset{9, -1, metadata, 0}}})),
            std::vector<error_code>{error_code::none});
  coordinator second(sched_, *kv_, *svc_, *groups_, cfg_);
  ASSERT_TRUE(second.load().ok());
  ASSERT_NE(second.find("tx"), nullptr);
  EXPECT_EQ(*second.find("tx"), *coord_->find("tx")) << "the stored record has the same bytes";
  EXPECT_TRUE(second.offset_pending(group, {"in", 0}));
  EXPECT_EQ(end("tx", pid, 0, true), error_code::none);
  EXPECT_EQ(committed(*groups_, group, "in", 0), 9);
}

}  // namespace strata::kafka::txn
