// The transaction APIs through the handlers with a real transaction
// coordinator (over the fake streams service, whose markers land nowhere) and
// a real group coordinator: InitProducerId's timeout and epoch bumps, a commit
// and an abort through the wire, and DescribeTransactions / ListTransactions
// showing only what the principal may describe.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "kafka/groups/coordinator.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "kafka/server/tests/txn_wire_calls.h"
#include "kafka/txn/coordinator.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

using namespace testing;  // NOLINT: the harness and the transaction API codecs

std::vector<uint8_t> list_transactions_body(handler_harness& h, const std::vector<std::string>& states,
                                            const std::vector<int64_t>& producer_ids) {
  return h.call(handlers::list_transactions, api_key::list_transactions, 0,
                list_transactions_request(states, producer_ids));
}

// The transactional ids a ListTransactions answer lists.
std::vector<std::string> listed_ids(const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i16(), 0);
  int32_t unknown = r.array_length(true);
  for (int32_t i = 0; i < unknown && r.ok(); ++i) (void)r.string(true);
  std::vector<std::string> out;
  int32_t n = r.array_length(true);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    out.push_back(r.string(true));
    (void)r.i64();
    (void)r.string(true);
    r.skip_tagged_fields();
  }
  r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

struct coordinators {
  manual_scheduler group_sched;
  std::unique_ptr<meta::kv> group_kv = meta::make_memory_kv();
  groups::coordinator groups{group_sched, *group_kv, groups::coordinator_config{}};
  handler_harness h{groups};
  std::unique_ptr<meta::kv> txn_kv = meta::make_memory_kv();
  txn::coordinator txns{h.sched, *txn_kv, h.streams, groups, txn::txn_config{}};
};

class TransactionsWithCoordinator : public ::testing::Test, protected coordinators, protected txn_calls {
 protected:
  void SetUp() override {
    ASSERT_TRUE(groups.load().ok());
    ASSERT_TRUE(txns.load().ok());
    h.svc().transactions = &txns;
    h.streams.add_topic("a", 2);
    h.streams.add_topic("b", 1);
  }
  handler_harness& harness() override { return h; }

  producer_identity init(int16_t version, int32_t timeout_ms = 60'000, producer p = {.id = -1, .epoch = -1}) {
    const auto request = init_producer_id_request(version, std::string("tx"), timeout_ms, p.id, p.epoch);
    return decode_init_producer_id(version, call(handlers::init_producer_id, api_key::init_producer_id, version, request));
  }

  // OffsetFetch v7 of group g, partition a-0: (offset, error).
  std::pair<int64_t, int16_t> fetch_offset(bool require_stable) {
    writer w;
    w.string("g", true);
    w.array_length(1, true);
    w.string("a", true);
    w.array_length(1, true);
    w.i32(0);
    w.empty_tagged_fields();
    w.boolean(require_stable);
    w.empty_tagged_fields();
    const auto body = call(handlers::offset_fetch, api_key::offset_fetch, 7, w.buffer());
    reader r(body);
    EXPECT_EQ(r.i32(), 0);
    EXPECT_EQ(r.array_length(true), 1);
    EXPECT_EQ(r.string(true), "a");
    EXPECT_EQ(r.array_length(true), 1);
    EXPECT_EQ(r.i32(), 0);
    const int64_t offset = r.i64();
    (void)r.i32();  // leader_epoch
    (void)r.nullable_string(true);
    const int16_t error = r.i16();
    EXPECT_TRUE(r.ok());
    return {offset, error};
  }

  described describe() {
    auto out = decode_describe_transactions(
        call(handlers::describe_transactions, api_key::describe_transactions, 0, describe_transactions_request({"tx"})));
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? described{} : out[0];
  }
};

TEST_F(TransactionsWithCoordinator, InitProducerIdValidatesTimeoutAndBumpsTheEpoch) {
  EXPECT_EQ(init(4, 0).error, code(error_code::invalid_transaction_timeout));
  EXPECT_EQ(init(4, txn::txn_config{}.transaction_timeout_max_ms + 1).error,
            code(error_code::invalid_transaction_timeout));
  auto first = init(0);
  EXPECT_EQ(first.error, 0);
  EXPECT_EQ(first.id, 7001);
  EXPECT_EQ(first.epoch, 0);
  auto second = init(4);
  EXPECT_EQ(second.error, 0);
  EXPECT_EQ(second.id, 7001);
  EXPECT_EQ(second.epoch, 1);
  described d = describe();
  EXPECT_EQ(d.error, 0);
  EXPECT_EQ(d.state, "Empty");
  EXPECT_EQ(d.producer_id, 7001);
  EXPECT_EQ(d.producer_epoch, 1);
  EXPECT_EQ(d.timeout_ms, 60'000);
  EXPECT_EQ(d.start_ms, -1);
  // Another session's producer id: PRODUCER_FENCED from v4, INVALID_PRODUCER_EPOCH before.
  EXPECT_EQ(init(4, 60'000, {.id = 9999, .epoch = 1}).error, code(error_code::producer_fenced));
  auto old = init(3, 60'000, {.id = 9999, .epoch = 1});
  EXPECT_EQ(old.error, code(error_code::invalid_producer_epoch));
  EXPECT_EQ(old.id, -1);
  EXPECT_EQ(old.epoch, -1);
}

TEST_F(TransactionsWithCoordinator, TransactionCommitsThroughTheWire) {
  auto id = init(4);
  ASSERT_EQ(id.error, 0);
  const producer p{.id = id.id, .epoch = id.epoch};
  const producer stale{.id = id.id, .epoch = static_cast<int16_t>(id.epoch + 5)};

  EXPECT_EQ(add_partitions(3, {{"a", {0, 1}}}, "tx", p), (std::vector<partition_error>{{"a", 0, 0}, {"a", 1, 0}}));
  EXPECT_EQ(add_partitions(0, {{"b", {0}}}, "tx", stale),
            (std::vector<partition_error>{{"b", 0, code(error_code::invalid_producer_epoch)}}));
  EXPECT_EQ(add_partitions(3, {{"b", {0}}}, "tx", stale),
            (std::vector<partition_error>{{"b", 0, code(error_code::producer_fenced)}}));
  EXPECT_EQ(add_partitions(3, {{"a", {7}}, {"b", {0}}}, "tx", p),
            (std::vector<partition_error>{{"a", 7, code(error_code::unknown_topic_or_partition)},
                                          {"b", 0, code(error_code::operation_not_attempted)}}));
  EXPECT_EQ(add_offsets(1, "g", stale), code(error_code::invalid_producer_epoch));
  EXPECT_EQ(add_offsets(3, "g", stale), code(error_code::producer_fenced));
  EXPECT_EQ(add_offsets(0, "g", p), 0);
  EXPECT_EQ(txn_offset_commit(0, {{"a", 0, 41}}, "g", p), (std::vector<partition_error>{{"a", 0, 0}}));
  EXPECT_EQ(txn_offset_commit(3, {{"a", 0, 42}}, "g", p), (std::vector<partition_error>{{"a", 0, 0}}));
  // TxnOffsetCommit never answers PRODUCER_FENCED, at any version.
  EXPECT_EQ(txn_offset_commit(3, {{"a", 0, 43}}, "g", stale),
            (std::vector<partition_error>{{"a", 0, code(error_code::invalid_producer_epoch)}}));

  // The offset is pending: a require_stable fetch is told to retry.
  EXPECT_EQ(fetch_offset(true), std::make_pair(int64_t{-1}, code(error_code::unstable_offset_commit)));
  EXPECT_EQ(fetch_offset(false), std::make_pair(int64_t{-1}, int16_t{0}));

  described d = describe();
  EXPECT_EQ(d.state, "Ongoing");
  EXPECT_GT(d.start_ms, 0);
  EXPECT_EQ(d.topics, (std::vector<topic_parts>{{"a", {0, 1}}}));
  EXPECT_EQ(listed_ids(list_transactions_body(h, {"Ongoing"}, {})), std::vector<std::string>{"tx"});
  EXPECT_EQ(listed_ids(list_transactions_body(h, {"Empty"}, {})), std::vector<std::string>{});
  EXPECT_EQ(listed_ids(list_transactions_body(h, {}, {p.id + 1})), std::vector<std::string>{});
  EXPECT_EQ(listed_ids(list_transactions_body(h, {}, {p.id})), std::vector<std::string>{"tx"});

  EXPECT_EQ(end_txn(1, true, stale), code(error_code::invalid_producer_epoch));
  EXPECT_EQ(end_txn(3, true, stale), code(error_code::producer_fenced));
  EXPECT_EQ(end_txn(3, true, p), 0);
  EXPECT_EQ(describe().state, "CompleteCommit");
  EXPECT_EQ(fetch_offset(true), std::make_pair(int64_t{42}, int16_t{0}));
  EXPECT_EQ(end_txn(0, true, p), 0);  // a retry of a finished EndTxn succeeds again
}

TEST_F(TransactionsWithCoordinator, AbortDropsThePendingOffsets) {
  auto id = init(4);
  const producer p{.id = id.id, .epoch = id.epoch};
  EXPECT_EQ(add_offsets(3, "g", p), 0);
  EXPECT_EQ(txn_offset_commit(2, {{"a", 0, 42}}, "g", p), (std::vector<partition_error>{{"a", 0, 0}}));
  EXPECT_EQ(end_txn(0, false, p), 0);
  EXPECT_EQ(describe().state, "CompleteAbort");
  EXPECT_EQ(fetch_offset(true), std::make_pair(int64_t{-1}, int16_t{0}));
}

TEST_F(TransactionsWithCoordinator, DescribeAndListShowOnlyWhatThePrincipalMayDescribe) {
  auto id = init(4);
  const producer p{.id = id.id, .epoch = id.epoch};
  ASSERT_EQ(add_partitions(3, {{"a", {1}}, {"b", {0}}}, "tx", p),
            (std::vector<partition_error>{{"a", 1, 0}, {"b", 0, 0}}));
  h.authorize_as("User:alice");
  EXPECT_EQ(listed_ids(list_transactions_body(h, {}, {})), std::vector<std::string>{});
  EXPECT_EQ(describe().error, code(error_code::transactional_id_authorization_failed));
  h.allow(auth::resource_type::transactional_id, "tx", auth::operation::describe);
  h.allow(auth::resource_type::topic, "b", auth::operation::describe);
  EXPECT_EQ(listed_ids(list_transactions_body(h, {}, {})), std::vector<std::string>{"tx"});
  described d = describe();
  EXPECT_EQ(d.error, 0);
  EXPECT_EQ(d.topics, (std::vector<topic_parts>{{"b", {0}}}));
  // DESCRIBE is not WRITE: the producer's own requests are still refused.
  EXPECT_EQ(end_txn(3, false, p), code(error_code::transactional_id_authorization_failed));
}

}  // namespace
}  // namespace strata::kafka
