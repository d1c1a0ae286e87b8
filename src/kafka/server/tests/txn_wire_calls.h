// Request encoders and response decoders of the transaction APIs for the
// handler tests (init_producer_id_test.cc, transactions_wire_test.cc,
// transactions_coordinator_test.cc), and txn_calls: each API called through a
// handler harness.
#pragma once

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

namespace strata::kafka::testing {

constexpr int16_t code(error_code e) { return static_cast<int16_t>(e); }

struct topic_parts {
  std::string name;
  std::vector<int32_t> partitions;
  bool operator==(const topic_parts&) const = default;
};

// ---- InitProducerId ----

inline std::vector<uint8_t> init_producer_id_request(int16_t version, const std::optional<std::string>& txn_id,
                                                     int32_t timeout_ms = 60'000, int64_t producer_id = -1,
                                                     int16_t producer_epoch = -1) {
  const bool flex = handler_harness::is_flexible(api_key::init_producer_id, version);
  writer w;
  w.nullable_string(txn_id, flex);
  w.i32(timeout_ms);
  if (version >= 3) {
    w.i64(producer_id);
    w.i16(producer_epoch);
  }
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct producer_identity {
  int16_t error = 0;
  int64_t id = 0;
  int16_t epoch = 0;
};

inline producer_identity decode_init_producer_id(int16_t version, const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  producer_identity out;
  out.error = r.i16();
  out.id = r.i64();
  out.epoch = r.i16();
  if (handler_harness::is_flexible(api_key::init_producer_id, version)) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

// ---- AddPartitionsToTxn ----

// The producer id and epoch the requests carry by default.
struct producer {
  int64_t id = 4000;
  int16_t epoch = 3;
};

inline std::vector<uint8_t> add_partitions_request(int16_t version, const std::string& txn_id,
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
inline std::vector<partition_error> decode_partition_errors(bool flex, const std::vector<uint8_t>& body) {
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

inline std::vector<uint8_t> add_offsets_request(int16_t version, const std::string& txn_id, const std::string& group,
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

inline std::vector<uint8_t> end_txn_request(int16_t version, const std::string& txn_id, bool commit, producer p = {}) {
  const bool flex = handler_harness::is_flexible(api_key::end_txn, version);
  writer w;
  w.string(txn_id, flex);
  w.i64(p.id);
  w.i16(p.epoch);
  w.boolean(commit);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

inline int16_t decode_error_only(bool flex, const std::vector<uint8_t>& body) {
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
inline std::vector<uint8_t> txn_offset_commit_request(int16_t version, const std::string& txn_id, const std::string& group,
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

inline std::vector<uint8_t> describe_transactions_request(const std::vector<std::string>& ids) {
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

inline std::vector<described> decode_describe_transactions(const std::vector<uint8_t>& body) {
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

inline std::vector<uint8_t> list_transactions_request(const std::vector<std::string>& states,
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
}  // namespace strata::kafka::testing
