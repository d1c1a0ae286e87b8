// The Kafka wire side of transactions, through the handlers: every
// transaction API decoded and answered at its lowest and highest version,
// refused without a coordinator or by ACLs, malformed bodies rejected; Fetch
// and ListOffsets passing the isolation level to the streams service; Produce
// requiring WRITE on its transactional id.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "kafka/server/tests/txn_wire_calls.h"

namespace strata::kafka {
namespace {

using namespace testing;  // NOLINT: the harness and the transaction API codecs

class TransactionsWire : public ::testing::Test, protected txn_calls {
 protected:
  void SetUp() override {
    h.streams.add_topic("a", 2);
    h.streams.add_topic("b", 1);
  }
  handler_harness& harness() override { return h; }

  handler_harness h;
};

TEST_F(TransactionsWire, ApiTableAndDispatch) {
  struct expected {
    api_key key;
    int16_t min, max, flexible;
  };
  for (auto e : {expected{api_key::add_partitions_to_txn, 0, 3, 3}, expected{api_key::add_offsets_to_txn, 0, 3, 3},
                 expected{api_key::end_txn, 0, 3, 3}, expected{api_key::txn_offset_commit, 0, 3, 3},
                 expected{api_key::describe_transactions, 0, 0, 0}, expected{api_key::list_transactions, 0, 0, 0}}) {
    const api_info* a = find_api(static_cast<int16_t>(e.key));
    ASSERT_NE(a, nullptr) << static_cast<int>(e.key);
    EXPECT_EQ(a->min_version, e.min) << a->name;
    EXPECT_EQ(a->max_version, e.max) << a->name;
    EXPECT_EQ(a->first_flexible_version, e.flexible) << a->name;
    EXPECT_NE(find_handler(static_cast<int16_t>(e.key)), nullptr) << a->name;
  }
  EXPECT_STREQ(api_name(24), "AddPartitionsToTxn");
  EXPECT_STREQ(api_name(25), "AddOffsetsToTxn");
  EXPECT_STREQ(api_name(26), "EndTxn");
  EXPECT_STREQ(api_name(28), "TxnOffsetCommit");
  EXPECT_STREQ(api_name(65), "DescribeTransactions");
  EXPECT_STREQ(api_name(66), "ListTransactions");
}

// Without a coordinator every transactional request is refused with the
// fatal TRANSACTIONAL_ID_AUTHORIZATION_FAILED, at the oldest and newest version.
TEST_F(TransactionsWire, AddPartitionsWithoutCoordinatorRefusesEveryPartition) {
  const auto refused = code(error_code::transactional_id_authorization_failed);
  for (int16_t v : {0, 3}) {
    auto out = add_partitions(v, {{"a", {1, 0}}, {"b", {0}}});
    std::vector<partition_error> want{{"a", 1, refused}, {"a", 0, refused}, {"b", 0, refused}};
    EXPECT_EQ(out, want) << "v" << v;
  }
  EXPECT_TRUE(add_partitions(3, {}).empty());
}

TEST_F(TransactionsWire, AddOffsetsAndEndTxnWithoutCoordinatorAreRefused) {
  const auto refused = code(error_code::transactional_id_authorization_failed);
  for (int16_t v : {0, 3}) {
    EXPECT_EQ(add_offsets(v), refused) << "v" << v;
    EXPECT_EQ(end_txn(v, true), refused) << "v" << v;
    EXPECT_EQ(end_txn(v, false), refused) << "v" << v;
  }
}

TEST_F(TransactionsWire, TxnOffsetCommitWithoutCoordinator) {
  const auto refused = code(error_code::transactional_id_authorization_failed);
  for (int16_t v : {0, 2, 3}) {
    auto out = txn_offset_commit(v, {{"a", 0, 10}, {"a", 5, 1}, {"nope", 0, 1}});
    std::vector<partition_error> want{{"a", 0, refused},
                                      {"a", 5, code(error_code::unknown_topic_or_partition)},
                                      {"nope", 0, code(error_code::unknown_topic_or_partition)}};
    EXPECT_EQ(out, want) << "v" << v;
  }
}

TEST_F(TransactionsWire, InitProducerIdTransactionalWithoutCoordinator) {
  for (int16_t v : {0, 4}) {
    const bool flex = handler_harness::is_flexible(api_key::init_producer_id, v);
    writer w;
    w.nullable_string(std::string("tx"), flex);
    w.i32(60'000);
    if (v >= 3) {
      w.i64(-1);
      w.i16(-1);
    }
    if (flex) w.empty_tagged_fields();
    const auto body = call(handlers::init_producer_id, api_key::init_producer_id, v, w.buffer());
    reader r(body);
    EXPECT_EQ(r.i32(), 0);
    EXPECT_EQ(r.i16(), code(error_code::transactional_id_authorization_failed));
    EXPECT_EQ(r.i64(), -1);
    EXPECT_EQ(r.i16(), -1);
  }
  EXPECT_TRUE(h.streams.init_producer_calls.empty());
}

TEST_F(TransactionsWire, AddPartitionsNeedsWriteOnTransactionalIdAndTopics) {
  h.authorize_as("User:alice");
  const auto no_txn_id = code(error_code::transactional_id_authorization_failed);
  EXPECT_EQ(add_partitions(3, {{"a", {0}}, {"b", {0}}}),
            (std::vector<partition_error>{{"a", 0, no_txn_id}, {"b", 0, no_txn_id}}));

  h.allow(auth::resource_type::transactional_id, "tx", auth::operation::write);
  h.allow(auth::resource_type::topic, "a", auth::operation::write);
  // b is denied: it answers TOPIC_AUTHORIZATION_FAILED and a is not attempted.
  EXPECT_EQ(add_partitions(0, {{"a", {0, 1}}, {"b", {0}}}),
            (std::vector<partition_error>{{"a", 0, code(error_code::operation_not_attempted)},
                                          {"a", 1, code(error_code::operation_not_attempted)},
                                          {"b", 0, code(error_code::topic_authorization_failed)}}));
  // Everything authorized: only the missing coordinator is left.
  EXPECT_EQ(add_partitions(3, {{"a", {0}}}), (std::vector<partition_error>{{"a", 0, no_txn_id}}));
  // WRITE on another transactional id does not count.
  EXPECT_EQ(add_partitions(3, {{"a", {0}}}, "other"), (std::vector<partition_error>{{"a", 0, no_txn_id}}));
}

TEST_F(TransactionsWire, AddOffsetsNeedsReadOnTheGroup) {
  h.authorize_as("User:alice");
  EXPECT_EQ(add_offsets(3), code(error_code::transactional_id_authorization_failed));
  h.allow(auth::resource_type::transactional_id, "tx", auth::operation::write);
  EXPECT_EQ(add_offsets(0), code(error_code::group_authorization_failed));
  EXPECT_EQ(add_offsets(3), code(error_code::group_authorization_failed));
  h.allow(auth::resource_type::group, "g", auth::operation::read);
  EXPECT_EQ(add_offsets(3), code(error_code::transactional_id_authorization_failed));  // no coordinator
}

TEST_F(TransactionsWire, EndTxnNeedsWriteOnTransactionalId) {
  h.authorize_as("User:alice");
  h.allow(auth::resource_type::transactional_id, "tx", auth::operation::describe);  // not enough
  EXPECT_EQ(end_txn(3, true), code(error_code::transactional_id_authorization_failed));
}

TEST_F(TransactionsWire, TxnOffsetCommitAuthorization) {
  h.authorize_as("User:alice");
  const auto no_txn_id = code(error_code::transactional_id_authorization_failed);
  const auto no_group = code(error_code::group_authorization_failed);
  const auto no_topic = code(error_code::topic_authorization_failed);
  EXPECT_EQ(txn_offset_commit(3, {{"a", 0, 1}, {"b", 0, 1}}),
            (std::vector<partition_error>{{"a", 0, no_txn_id}, {"b", 0, no_txn_id}}));
  h.allow(auth::resource_type::transactional_id, "tx", auth::operation::write);
  EXPECT_EQ(txn_offset_commit(0, {{"a", 0, 1}, {"b", 0, 1}}),
            (std::vector<partition_error>{{"a", 0, no_group}, {"b", 0, no_group}}));
  h.allow(auth::resource_type::group, "g", auth::operation::read);
  h.allow(auth::resource_type::topic, "a", auth::operation::read);
  // b is denied on its own; a goes on (to the missing coordinator).
  EXPECT_EQ(txn_offset_commit(3, {{"a", 0, 1}, {"b", 0, 1}}),
            (std::vector<partition_error>{{"a", 0, no_txn_id}, {"b", 0, no_topic}}));
}

TEST_F(TransactionsWire, InitProducerIdNeedsWriteOnTransactionalId) {
  h.authorize_as("User:alice");
  writer w;
  w.nullable_string(std::string("tx"), true);
  w.i32(60'000);
  w.i64(-1);
  w.i16(-1);
  w.empty_tagged_fields();
  const auto body = call(handlers::init_producer_id, api_key::init_producer_id, 4, w.buffer());
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i16(), code(error_code::transactional_id_authorization_failed));
  EXPECT_TRUE(h.streams.init_producer_calls.empty());
}

TEST_F(TransactionsWire, DescribeTransactionsWithoutCoordinator) {
  h.authorize_as("User:alice");
  h.allow(auth::resource_type::transactional_id, "known", auth::operation::describe);
  auto out = decode_describe_transactions(call(handlers::describe_transactions, api_key::describe_transactions, 0,
                                               describe_transactions_request({"known", "secret"})));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, code(error_code::transactional_id_not_found));
  EXPECT_EQ(out[0].transactional_id, "known");
  EXPECT_EQ(out[0].state, "");
  EXPECT_EQ(out[0].producer_id, -1);
  EXPECT_EQ(out[0].producer_epoch, -1);
  EXPECT_TRUE(out[0].topics.empty());
  EXPECT_EQ(out[1].error, code(error_code::transactional_id_authorization_failed));
  EXPECT_EQ(out[1].transactional_id, "secret");
}

TEST_F(TransactionsWire, ListTransactionsReportsUnknownStateFilters) {
  auto body = call(handlers::list_transactions, api_key::list_transactions, 0,
                   list_transactions_request({"Ongoing", "Bogus", "Dead", "CompleteCommit"}, {7}));
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  EXPECT_EQ(r.i16(), 0);  // error_code
  ASSERT_EQ(r.array_length(true), 1);
  EXPECT_EQ(r.string(true), "Bogus");
  EXPECT_EQ(r.array_length(true), 0);  // no coordinator: no transactions
  r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST_F(TransactionsWire, MalformedBodiesAreRejected) {
  for (int16_t v : {0, 3}) {
    expect_prefixes_malformed(handlers::add_partitions_to_txn, api_key::add_partitions_to_txn, v,
                              add_partitions_request(v, "tx", {{"a", {0, 1}}}));
    expect_prefixes_malformed(handlers::add_offsets_to_txn, api_key::add_offsets_to_txn, v,
                              add_offsets_request(v, "tx", "g"));
    expect_prefixes_malformed(handlers::end_txn, api_key::end_txn, v, end_txn_request(v, "tx", true));
    expect_prefixes_malformed(handlers::txn_offset_commit, api_key::txn_offset_commit, v,
                              txn_offset_commit_request(v, "tx", "g", {{"a", 0, 1}}));
  }
  expect_prefixes_malformed(handlers::describe_transactions, api_key::describe_transactions, 0,
                            describe_transactions_request({"tx", "ty"}));
  expect_prefixes_malformed(handlers::list_transactions, api_key::list_transactions, 0,
                            list_transactions_request({"Ongoing"}, {1, 2}));
  // A null transactional id where the schema has a plain string.
  writer w;
  w.nullable_string(std::nullopt, true);
  w.i64(1);
  w.i16(0);
  w.boolean(true);
  w.empty_tagged_fields();
  expect_malformed(handlers::end_txn, api_key::end_txn, 3, w.buffer());
}

TEST_F(TransactionsWire, DescribeTransactionsLimitsItsIds) {
  std::vector<std::string> ids(10'001, "");
  expect_malformed(handlers::describe_transactions, api_key::describe_transactions, 0,
                   describe_transactions_request(ids));
  ids.pop_back();
  auto out = decode_describe_transactions(
      call(handlers::describe_transactions, api_key::describe_transactions, 0, describe_transactions_request(ids)));
  EXPECT_EQ(out.size(), 10'000u);
}

TEST_F(TransactionsWire, ErrorsAreCounted) {
  std::vector<std::pair<int16_t, error_code>> seen;
  h.svc().on_error = [&](int16_t key, error_code e) { seen.emplace_back(key, e); };
  add_partitions(3, {{"a", {0, 1}}});
  end_txn(3, true);
  const auto refused = error_code::transactional_id_authorization_failed;
  EXPECT_EQ(seen, (std::vector<std::pair<int16_t, error_code>>{{24, refused}, {24, refused}, {26, refused}}));
}

// ---- Produce with a transactional id ----

std::vector<uint8_t> produce_request(int16_t version, const std::optional<std::string>& txn_id) {
  const bool flex = handler_harness::is_flexible(api_key::produce, version);
  writer w;
  w.nullable_string(txn_id, flex);
  w.i16(-1);      // acks
  w.i32(1'000);   // timeout_ms
  w.array_length(1, flex);
  w.string("a", flex);
  w.array_length(2, flex);
  const std::vector<uint8_t> records{1, 2, 3};
  for (int32_t p : {0, 1}) {
    w.i32(p);
    w.bytes(records, flex);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

std::vector<int16_t> produce_errors(int16_t version, const std::vector<uint8_t>& body) {
  const bool flex = handler_harness::is_flexible(api_key::produce, version);
  reader r(body);
  std::vector<int16_t> out;
  int32_t topics = r.array_length(flex);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    (void)r.string(flex);
    int32_t parts = r.array_length(flex);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      (void)r.i32();
      out.push_back(r.i16());
      (void)r.i64();                   // base_offset
      (void)r.i64();                   // log_append_time_ms
      (void)r.i64();                   // log_start_offset (v5+)
      int32_t record_errors = r.array_length(flex);  // v8+
      for (int32_t k = 0; k < record_errors && r.ok(); ++k) {
        (void)r.i32();
        (void)r.nullable_string(flex);
        if (flex) r.skip_tagged_fields();
      }
      (void)r.nullable_string(flex);  // error_message
      if (flex) r.skip_tagged_fields();
    }
    if (flex) r.skip_tagged_fields();
  }
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST_F(TransactionsWire, ProduceNeedsWriteOnItsTransactionalId) {
  h.authorize_as("User:alice");
  h.allow(auth::resource_type::topic, "a", auth::operation::write);
  const auto refused = code(error_code::transactional_id_authorization_failed);
  for (int16_t v : {8, 9}) {
    auto body = call(handlers::produce, api_key::produce, v, produce_request(v, "tx"));
    EXPECT_EQ(produce_errors(v, body), (std::vector<int16_t>{refused, refused})) << "v" << v;
  }
  EXPECT_EQ(h.streams.produce_calls, 0);
  // Without a transactional id only the topic counts (the fake then fails the write).
  const auto storage = code(error_code::kafka_storage_error);
  auto plain = call(handlers::produce, api_key::produce, 9, produce_request(9, std::nullopt));
  EXPECT_EQ(produce_errors(9, plain), (std::vector<int16_t>{storage, storage}));
  EXPECT_EQ(h.streams.produce_calls, 2);
  h.allow(auth::resource_type::transactional_id, "tx", auth::operation::write);
  auto allowed = call(handlers::produce, api_key::produce, 9, produce_request(9, "tx"));
  EXPECT_EQ(produce_errors(9, allowed), (std::vector<int16_t>{storage, storage}));
  EXPECT_EQ(h.streams.produce_calls, 4);
}

// ---- Fetch and ListOffsets isolation ----

std::vector<uint8_t> fetch_request(int16_t version, int8_t isolation) {
  writer w;
  w.i32(-1);        // replica_id
  w.i32(0);         // max_wait_ms: answer at once
  w.i32(0);         // min_bytes
  w.i32(1 << 20);   // max_bytes
  w.i8(isolation);
  if (version >= 7) {
    w.i32(0);   // session_id
    w.i32(-1);  // session_epoch
  }
  w.array_length(1, false);
  w.string("a", false);
  w.array_length(1, false);
  w.i32(0);
  if (version >= 9) w.i32(-1);  // current_leader_epoch
  w.i64(0);                     // fetch_offset
  if (version >= 5) w.i64(-1);  // log_start_offset
  w.i32(1 << 20);               // partition_max_bytes
  if (version >= 7) w.array_length(0, false);  // forgotten_topics_data
  if (version >= 11) w.string("", false);      // rack_id
  return w.buffer();
}

struct fetched {
  int16_t error = 0;
  int64_t high_watermark = 0;
  int64_t last_stable_offset = 0;
  std::optional<std::vector<streams::aborted_txn>> aborted;
  std::vector<uint8_t> records;
};

fetched decode_fetch(int16_t version, const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  if (version >= 7) {
    EXPECT_EQ(r.i16(), 0);
    (void)r.i32();  // session_id
  }
  fetched out;
  EXPECT_EQ(r.array_length(false), 1);
  EXPECT_EQ(r.string(false), "a");
  EXPECT_EQ(r.array_length(false), 1);
  EXPECT_EQ(r.i32(), 0);
  out.error = r.i16();
  out.high_watermark = r.i64();
  out.last_stable_offset = r.i64();
  if (version >= 5) (void)r.i64();  // log_start_offset
  int32_t n = r.array_length(false);
  if (n >= 0) {
    out.aborted.emplace();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      streams::aborted_txn a;
      a.producer_id = r.i64();
      a.first_offset = r.i64();
      out.aborted->push_back(a);
    }
  }
  if (version >= 11) {
    EXPECT_EQ(r.i32(), -1);  // preferred_read_replica
  }
  auto records = r.bytes(false);
  out.records.assign(records.begin(), records.end());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST_F(TransactionsWire, FetchReadCommittedPassesIsolationAndAnswersLsoAndAborted) {
  h.streams.fetch_answer.high_watermark = 20;
  h.streams.fetch_answer.log_start_offset = 0;
  h.streams.fetch_answer.last_stable_offset = 12;
  h.streams.fetch_answer.records = {9, 9, 9};
  h.streams.fetch_answer.aborted = {{.producer_id = 5, .first_offset = 2}, {.producer_id = 6, .first_offset = 7}};
  for (int16_t v : {4, 11}) {
    h.streams.fetch_isolations.clear();
    auto out = decode_fetch(v, call(handlers::fetch, api_key::fetch, v, fetch_request(v, 1)));
    EXPECT_EQ(h.streams.fetch_isolations, std::vector<streams::isolation>{streams::isolation::read_committed});
    EXPECT_EQ(out.error, 0);
    EXPECT_EQ(out.high_watermark, 20);
    EXPECT_EQ(out.last_stable_offset, 12);
    ASSERT_TRUE(out.aborted.has_value()) << "v" << v;
    EXPECT_EQ(*out.aborted, h.streams.fetch_answer.aborted);
    EXPECT_EQ(out.records, (std::vector<uint8_t>{9, 9, 9}));
  }
}

TEST_F(TransactionsWire, FetchReadUncommittedSendsNullAbortedList) {
  h.streams.fetch_answer.high_watermark = 20;
  h.streams.fetch_answer.last_stable_offset = 12;
  h.streams.fetch_answer.aborted = {{.producer_id = 5, .first_offset = 2}};
  auto out = decode_fetch(11, call(handlers::fetch, api_key::fetch, 11, fetch_request(11, 0)));
  EXPECT_EQ(h.streams.fetch_isolations, std::vector<streams::isolation>{streams::isolation::read_uncommitted});
  EXPECT_EQ(out.last_stable_offset, 12);
  EXPECT_FALSE(out.aborted.has_value());
  // A service that knows no last stable offset: the high watermark stands in.
  h.streams.fetch_answer.last_stable_offset = -1;
  h.streams.fetch_answer.aborted.clear();
  out = decode_fetch(4, call(handlers::fetch, api_key::fetch, 4, fetch_request(4, 1)));
  EXPECT_EQ(out.last_stable_offset, 20);
  ASSERT_TRUE(out.aborted.has_value());
  EXPECT_TRUE(out.aborted->empty());
}

TEST_F(TransactionsWire, ListOffsetsPassesIsolation) {
  auto request = [](int16_t version, int8_t isolation) {
    const bool flex = handler_harness::is_flexible(api_key::list_offsets, version);
    writer w;
    w.i32(-1);  // replica_id
    if (version >= 2) w.i8(isolation);
    w.array_length(1, flex);
    w.string("a", flex);
    w.array_length(1, flex);
    w.i32(0);
    if (version >= 4) w.i32(-1);  // current_leader_epoch
    w.i64(-1);                    // latest
    if (flex) w.empty_tagged_fields();
    if (flex) w.empty_tagged_fields();
    if (flex) w.empty_tagged_fields();
    return w.buffer();
  };
  using streams::isolation;
  (void)call(handlers::list_offsets, api_key::list_offsets, 1, request(1, 0));
  (void)call(handlers::list_offsets, api_key::list_offsets, 2, request(2, 1));
  (void)call(handlers::list_offsets, api_key::list_offsets, 7, request(7, 0));
  (void)call(handlers::list_offsets, api_key::list_offsets, 7, request(7, 1));
  EXPECT_EQ(h.streams.list_offset_isolations,
            (std::vector<isolation>{isolation::read_uncommitted, isolation::read_committed,
                                    isolation::read_uncommitted, isolation::read_committed}));
}

}  // namespace
}  // namespace strata::kafka
