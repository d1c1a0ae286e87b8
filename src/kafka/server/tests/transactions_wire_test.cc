// The Kafka wire side of transactions, through the handlers: every
// transaction API decoded and answered at its lowest and highest version,
// refused without a coordinator or by ACLs, malformed bodies rejected; Fetch
// and ListOffsets passing the isolation level to the streams service; Produce
// requiring WRITE on its transactional id.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kafka/groups/coordinator.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "kafka/txn/coordinator.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

using testing::handler_harness;

constexpr int16_t code(error_code e) { return static_cast<int16_t>(e); }

struct topic_parts {
  std::string name;
  std::vector<int32_t> partitions;
  bool operator==(const topic_parts&) const = default;
};

// ---- AddPartitionsToTxn ----

// The producer id and epoch the requests carry by default.
struct producer {
  int64_t id = 4000;
  int16_t epoch = 3;
};

std::vector<uint8_t> add_partitions_request(int16_t version, const std::string& txn_id,
                                            const std::vector<topic_parts>& topics, producer p = {}) {
  const bool flex = handler_harness::is_flexible(api_key::add_partitions_to_txn, version);
  writer w;
  w.string(txn_id, flex);
  w.i64(p.id);
  w.i16(p.epoch);
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (int32_t p : t.partitions) w.i32(p);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

// (topic, partition, error) in response order.
struct partition_error {
  std::string topic;
  int32_t partition = 0;
  int16_t error = 0;
  bool operator==(const partition_error&) const = default;
};

// AddPartitionsToTxn and TxnOffsetCommit answer the same shape.
std::vector<partition_error> decode_partition_errors(bool flex, const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  std::vector<partition_error> out;
  int32_t topics = r.array_length(flex);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string name = r.string(flex);
    int32_t parts = r.array_length(flex);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      partition_error e;
      e.topic = name;
      e.partition = r.i32();
      e.error = r.i16();
      if (flex) r.skip_tagged_fields();
      out.push_back(e);
    }
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

// ---- AddOffsetsToTxn and EndTxn: throttle_time_ms, error_code ----

std::vector<uint8_t> add_offsets_request(int16_t version, const std::string& txn_id, const std::string& group,
                                         producer p = {}) {
  const bool flex = handler_harness::is_flexible(api_key::add_offsets_to_txn, version);
  writer w;
  w.string(txn_id, flex);
  w.i64(p.id);
  w.i16(p.epoch);
  w.string(group, flex);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

std::vector<uint8_t> end_txn_request(int16_t version, const std::string& txn_id, bool commit, producer p = {}) {
  const bool flex = handler_harness::is_flexible(api_key::end_txn, version);
  writer w;
  w.string(txn_id, flex);
  w.i64(p.id);
  w.i16(p.epoch);
  w.boolean(commit);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

int16_t decode_error_only(bool flex, const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  int16_t error = r.i16();
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return error;
}

// ---- TxnOffsetCommit ----

struct offset_entry {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// v3 carries generation -1 and no member: the group membership check is skipped.
std::vector<uint8_t> txn_offset_commit_request(int16_t version, const std::string& txn_id, const std::string& group,
                                               const std::vector<offset_entry>& offsets, producer p = {}) {
  const bool flex = handler_harness::is_flexible(api_key::txn_offset_commit, version);
  writer w;
  w.string(txn_id, flex);
  w.string(group, flex);
  w.i64(p.id);
  w.i16(p.epoch);
  if (version >= 3) {
    w.i32(-1);                              // generation_id
    w.string("", flex);                     // member_id
    w.nullable_string(std::nullopt, flex);  // group_instance_id
  }
  w.array_length(static_cast<int32_t>(offsets.size()), flex);  // one topic entry per offset
  for (const auto& o : offsets) {
    w.string(o.topic, flex);
    w.array_length(1, flex);
    w.i32(o.partition);
    w.i64(o.offset);
    if (version >= 2) w.i32(0);  // committed_leader_epoch
    w.nullable_string(std::string("meta"), flex);
    if (flex) w.empty_tagged_fields();
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

// ---- DescribeTransactions and ListTransactions (flexible from v0) ----

std::vector<uint8_t> describe_transactions_request(const std::vector<std::string>& ids) {
  writer w;
  w.array_length(static_cast<int32_t>(ids.size()), true);
  for (const auto& id : ids) w.string(id, true);
  w.empty_tagged_fields();
  return w.buffer();
}

struct described {
  int16_t error = 0;
  std::string transactional_id;
  std::string state;
  int32_t timeout_ms = 0;
  int64_t start_ms = 0;
  int64_t producer_id = 0;
  int32_t producer_epoch = 0;
  std::vector<topic_parts> topics;
};

std::vector<described> decode_describe_transactions(const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  std::vector<described> out;
  int32_t n = r.array_length(true);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    described d;
    d.error = r.i16();
    d.transactional_id = r.string(true);
    d.state = r.string(true);
    d.timeout_ms = r.i32();
    d.start_ms = r.i64();
    d.producer_id = r.i64();
    d.producer_epoch = r.i32();
    int32_t topics = r.array_length(true);
    for (int32_t t = 0; t < topics && r.ok(); ++t) {
      topic_parts& tp = d.topics.emplace_back();
      tp.name = r.string(true);
      int32_t parts = r.array_length(true);
      for (int32_t p = 0; p < parts && r.ok(); ++p) tp.partitions.push_back(r.i32());
      r.skip_tagged_fields();
    }
    r.skip_tagged_fields();
    out.push_back(d);
  }
  r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

std::vector<uint8_t> list_transactions_request(const std::vector<std::string>& states,
                                               const std::vector<int64_t>& producer_ids) {
  writer w;
  w.array_length(static_cast<int32_t>(states.size()), true);
  for (const auto& s : states) w.string(s, true);
  w.array_length(static_cast<int32_t>(producer_ids.size()), true);
  for (int64_t id : producer_ids) w.i64(id);
  w.empty_tagged_fields();
  return w.buffer();
}

// ---- The fixture ----

// The handler calls the tests make, on the fixture's harness, decoded.
class txn_calls {
 public:
  virtual ~txn_calls() = default;

 protected:
  virtual handler_harness& harness() = 0;

  std::vector<uint8_t> call(handler_fn fn, api_key key, int16_t version, const std::vector<uint8_t>& body) {
    return harness().call(fn, key, version, body);
  }
  // The handler refuses the body without responding.
  void expect_malformed(handler_fn fn, api_key key, int16_t version, const std::vector<uint8_t>& body) {
    int responded = 0;
    EXPECT_FALSE(harness().call_raw(fn, key, version, body, responded).ok()) << api_name(static_cast<int16_t>(key));
    EXPECT_EQ(responded, 0);
  }
  // Every proper prefix of a valid body is refused.
  void expect_prefixes_malformed(handler_fn fn, api_key key, int16_t version, const std::vector<uint8_t>& body) {
    for (size_t n = 0; n < body.size(); ++n) {
      expect_malformed(fn, key, version, std::vector<uint8_t>(body.begin(), body.begin() + static_cast<ptrdiff_t>(n)));
    }
  }
  std::vector<partition_error> add_partitions(int16_t version, const std::vector<topic_parts>& topics,
                                              const std::string& txn_id = "tx", producer p = {}) {
    auto body = call(handlers::add_partitions_to_txn, api_key::add_partitions_to_txn, version,
                     add_partitions_request(version, txn_id, topics, p));
    return decode_partition_errors(handler_harness::is_flexible(api_key::add_partitions_to_txn, version), body);
  }
  std::vector<partition_error> txn_offset_commit(int16_t version, const std::vector<offset_entry>& offsets,
                                                 const std::string& group = "g", producer p = {}) {
    auto body = call(handlers::txn_offset_commit, api_key::txn_offset_commit, version,
                     txn_offset_commit_request(version, "tx", group, offsets, p));
    return decode_partition_errors(handler_harness::is_flexible(api_key::txn_offset_commit, version), body);
  }
  int16_t add_offsets(int16_t version, const std::string& group = "g", producer p = {}) {
    auto body = call(handlers::add_offsets_to_txn, api_key::add_offsets_to_txn, version,
                     add_offsets_request(version, "tx", group, p));
    return decode_error_only(handler_harness::is_flexible(api_key::add_offsets_to_txn, version), body);
  }
  int16_t end_txn(int16_t version, bool commit, producer p = {}) {
    auto body = call(handlers::end_txn, api_key::end_txn, version, end_txn_request(version, "tx", commit, p));
    return decode_error_only(handler_harness::is_flexible(api_key::end_txn, version), body);
  }
};

// No transaction coordinator: services.transactions is null.
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

// ---- With a transaction coordinator (over the fake streams service, whose
// markers land nowhere) and a real group coordinator ----

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

  struct identity {
    int16_t error = 0;
    int64_t id = 0;
    int16_t epoch = 0;
  };
  identity init(int16_t version, int32_t timeout_ms = 60'000, producer p = {.id = -1, .epoch = -1}) {
    const bool flex = handler_harness::is_flexible(api_key::init_producer_id, version);
    writer w;
    w.nullable_string(std::string("tx"), flex);
    w.i32(timeout_ms);
    if (version >= 3) {
      w.i64(p.id);
      w.i16(p.epoch);
    }
    if (flex) w.empty_tagged_fields();
    const auto body = call(handlers::init_producer_id, api_key::init_producer_id, version, w.buffer());
    reader r(body);
    EXPECT_EQ(r.i32(), 0);
    identity out;
    out.error = r.i16();
    out.id = r.i64();
    out.epoch = r.i16();
    if (flex) r.skip_tagged_fields();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return out;
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
