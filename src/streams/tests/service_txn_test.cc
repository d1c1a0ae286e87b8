// Transactions as a partition sees them (KIP-98): transactional produce opens
// a transaction and holds the last stable offset, COMMIT and ABORT markers
// close it, read_committed fetches stop at the LSO and learn the aborted
// ranges (kept in meta::kv), markers fence older producer epochs, and all of
// it survives a crash. Also the txn_index and its kv encoding, the marker
// control batches, and compaction's handling of aborted and open transactions.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "io/fault_fs.h"
#include "kafka/protocol/wire.h"
#include "meta/kv.h"
#include "storage/log.h"
#include "streams/catalog.h"
#include "streams/compaction.h"
#include "streams/record_batch.h"
#include "streams/service.h"
#include "streams/tests/batch_builder.h"
#include "streams/tests/service_fixture.h"
#include "streams/txn_index.h"

namespace strata::streams {

namespace {

using testing::build_batch;

constexpr int16_t transactional_bit = 0x10;
constexpr int16_t control_bit = 0x20;
constexpr std::string_view aborted_root = "streams/txn-aborted/";

testing::batch_options txn_opts(int64_t pid, int16_t epoch, int32_t seq) {
  testing::batch_options o;
  o.producer_id = pid;
  o.producer_epoch = epoch;
  o.base_sequence = seq;
  o.attributes = transactional_bit;
  return o;
}

testing::batch_options idem_opts(int64_t pid, int16_t epoch, int32_t seq) {
  testing::batch_options o;
  o.producer_id = pid;
  o.producer_epoch = epoch;
  o.base_sequence = seq;
  return o;
}

// One record of a fetch or a log, with its batch's kind.
struct seen {
  int64_t offset = 0;
  std::string key;
  std::optional<std::string> value;
  bool operator==(const seen&) const = default;
};

std::optional<std::string> value_of(const record_ref& r) {
  kafka::reader rd(r.bytes);
  (void)rd.varint();  // length
  (void)rd.i8();      // attributes
  (void)rd.varlong();
  (void)rd.varint();
  const int32_t k = rd.varint();
  if (k > 0) (void)rd.raw(static_cast<size_t>(k));
  const int32_t v = rd.varint();
  if (v < 0) return std::nullopt;
  auto raw = rd.raw(static_cast<size_t>(v));
  return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
}

struct batch_view {
  batch_header header;
  std::vector<uint8_t> bytes;
};

std::vector<batch_view> batches_in(std::span<const uint8_t> bytes) {
  std::vector<batch_view> out;
  size_t at = 0;
  while (at < bytes.size()) {
    auto h = read_batch_header(bytes.subspan(at));
    EXPECT_TRUE(h.has_value());
    if (!h || at + h->total_bytes() > bytes.size()) break;
    auto one = bytes.subspan(at, h->total_bytes());
    out.push_back({*h, {one.begin(), one.end()}});
    at += h->total_bytes();
  }
  return out;
}

// The data records (control batches left out).
std::vector<seen> data_records(std::span<const uint8_t> bytes) {
  std::vector<seen> out;
  for (auto& b : batches_in(bytes)) {
    if (b.header.control()) continue;
    std::vector<uint8_t> inflated;
    std::vector<record_ref> refs;
    auto s = parse_records(b.bytes, b.header, inflated, refs);
    EXPECT_TRUE(s.ok()) << s.err().message;
    for (auto& r : refs) out.push_back({r.offset, std::string(r.key), value_of(r)});
  }
  return out;
}

std::vector<int64_t> base_offsets(std::span<const uint8_t> bytes) {
  std::vector<int64_t> out;
  for (auto& b : batches_in(bytes)) out.push_back(b.header.base_offset);
  return out;
}

class ServiceTxnTest : public testing::service_fixture {
 protected:
  void configure(service_config& c) override { c.retention_check_interval_ms = 1000; }

  produce_result produce(const std::string& topic, int32_t partition, const std::vector<uint8_t>& batch) {
    return produce_batch(topic, partition, batch);
  }

  stream_error marker(const std::string& topic, int32_t partition, int64_t pid, int16_t epoch, bool commit) {
    return write_marker(topic, partition, txn_marker{pid, epoch, commit, 0});
  }

  fetch_result fetch(const std::string& topic, int32_t partition, int64_t offset, isolation level) {
    return svc_->fetch(topic, partition, offset, 1 << 20, true, level);
  }

  int64_t lso(const std::string& topic = "t", int32_t partition = 0) {
    return svc_->list_offset(topic, partition, -1, isolation::read_committed).offset;
  }
  int64_t hw(const std::string& topic = "t", int32_t partition = 0) {
    return svc_->list_offset(topic, partition, -1, isolation::read_uncommitted).offset;
  }

  std::map<std::string, std::string> aborted_kv() {
    std::map<std::string, std::string> out;
    auto s = kv_->scan_prefix(aborted_root, [&](std::string_view k, std::string_view v) { out.emplace(k, v); });
    EXPECT_TRUE(s.ok());
    return out;
  }

  int64_t txn_start_of(int64_t pid, const std::string& topic = "t", int32_t partition = 0) {
    auto r = svc_->describe_producers(topic, partition);
    EXPECT_EQ(r.error, stream_error::none);
    for (auto& p : r.producers) {
      if (p.producer_id == pid) return p.current_txn_start_offset;
    }
    ADD_FAILURE() << "producer " << pid << " unknown";
    return -2;
  }
};

}  // namespace

TEST_F(ServiceTxnTest, TransactionalProduceHoldsTheLastStableOffset) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  auto plain = build_batch({{"a", "1"}, {"b", "2"}});
  ASSERT_EQ(produce("t", 0, plain).base_offset, 0);
  EXPECT_EQ(lso(), 2) << "no transaction: the LSO is the high watermark";

  auto r = produce("t", 0, build_batch({{"c", "3"}, {"d", "4"}}, txn_opts(5, 0, 0)));
  ASSERT_EQ(r.error, stream_error::none) << r.message;
  EXPECT_EQ(r.base_offset, 2);
  // Another writer's plain records after the open transaction.
  ASSERT_EQ(produce("t", 0, build_batch({{"e", "5"}})).base_offset, 4);
  // The transaction's second batch does not move its first offset.
  ASSERT_EQ(produce("t", 0, build_batch({{"f", "6"}}, txn_opts(5, 0, 2))).base_offset, 5);

  EXPECT_EQ(hw(), 6);
  EXPECT_EQ(lso(), 2);
  EXPECT_EQ(txn_start_of(5), 2);

  auto uncommitted = fetch("t", 0, 0, isolation::read_uncommitted);
  EXPECT_EQ(uncommitted.error, stream_error::none);
  EXPECT_EQ(uncommitted.high_watermark, 6);
  EXPECT_EQ(uncommitted.last_stable_offset, 2);
  EXPECT_EQ(base_offsets(uncommitted.records), (std::vector<int64_t>{0, 2, 4, 5}));
  EXPECT_TRUE(uncommitted.aborted.empty());

  auto committed = fetch("t", 0, 0, isolation::read_committed);
  EXPECT_EQ(committed.error, stream_error::none);
  EXPECT_EQ(committed.high_watermark, 6);
  EXPECT_EQ(committed.last_stable_offset, 2);
  EXPECT_EQ(base_offsets(committed.records), (std::vector<int64_t>{0})) << "read_committed stops at the LSO";
  EXPECT_TRUE(committed.aborted.empty());

  // At the LSO (or past it, below the high watermark) there is nothing yet for read_committed.
  for (int64_t at : {2, 4, 6}) {
    auto at_lso = fetch("t", 0, at, isolation::read_committed);
    EXPECT_EQ(at_lso.error, stream_error::none) << at;
    EXPECT_TRUE(at_lso.records.empty()) << at;
    EXPECT_EQ(at_lso.last_stable_offset, 2) << at;
  }
  EXPECT_FALSE(fetch("t", 0, 4, isolation::read_uncommitted).records.empty());
}

TEST_F(ServiceTxnTest, ListOffsetsByTimestampUnderReadCommittedStopsAtTheLastStableOffset) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  testing::batch_options plain;
  plain.base_timestamp_ms = 1000;
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, plain)).base_offset, 0);
  auto o = txn_opts(5, 0, 0);
  o.base_timestamp_ms = 2000;
  ASSERT_EQ(produce("t", 0, build_batch({{"b", "2"}}, o)).base_offset, 1);
  EXPECT_EQ(svc_->list_offset("t", 0, 500, isolation::read_committed).offset, 0);
  EXPECT_EQ(svc_->list_offset("t", 0, 1500, isolation::read_uncommitted).offset, 1);
  // Kafka answers read_committed lookups only below the LSO: offset 1 is not
  // readable by such a consumer yet.
  EXPECT_EQ(svc_->list_offset("t", 0, 1500, isolation::read_committed).offset, -1);
  ASSERT_EQ(marker("t", 0, 5, 0, true), stream_error::none);
  EXPECT_EQ(svc_->list_offset("t", 0, 1500, isolation::read_committed).offset, 1);
}

TEST_F(ServiceTxnTest, CommitMarkerMakesTheTransactionVisible) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}, {"b", "2"}}, txn_opts(5, 0, 0))).base_offset, 0);
  EXPECT_EQ(lso(), 0);
  ASSERT_EQ(marker("t", 0, 5, 0, /*commit=*/true), stream_error::none);
  EXPECT_EQ(hw(), 3) << "the marker takes an offset";
  EXPECT_EQ(lso(), 3);
  EXPECT_EQ(txn_start_of(5), -1);

  auto f = fetch("t", 0, 0, isolation::read_committed);
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_EQ(f.last_stable_offset, 3);
  EXPECT_TRUE(f.aborted.empty());
  auto batches = batches_in(f.records);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(data_records(f.records), (std::vector<seen>{{0, "a", "1"}, {1, "b", "2"}}));
  // The marker is a transactional control batch at offset 2.
  const batch_header& mh = batches[1].header;
  EXPECT_EQ(mh.base_offset, 2);
  EXPECT_TRUE(mh.control());
  EXPECT_TRUE(mh.transactional());
  EXPECT_EQ(mh.producer_id, 5);
  EXPECT_EQ(mh.producer_epoch, 0);
  auto m = decode_marker_batch(batches[1].bytes);
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->commit);
  EXPECT_EQ(m->producer_id, 5);

  // The producer's sequence goes on in the same epoch; its next transaction
  // opens where its next batch lands.
  auto next = produce("t", 0, build_batch({{"c", "3"}}, txn_opts(5, 0, 2)));
  ASSERT_EQ(next.error, stream_error::none) << next.message;
  EXPECT_EQ(next.base_offset, 3);
  EXPECT_EQ(lso(), 3);
  EXPECT_EQ(txn_start_of(5), 3);
}

TEST_F(ServiceTxnTest, AbortMarkerReportsTheAbortedRangeToReadCommitted) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"p", "0"}})).base_offset, 0);
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}, {"b", "2"}}, txn_opts(5, 0, 0))).base_offset, 1);
  ASSERT_EQ(produce("t", 0, build_batch({{"q", "3"}})).base_offset, 3);
  ASSERT_EQ(marker("t", 0, 5, 0, /*commit=*/false), stream_error::none);  // offset 4
  ASSERT_EQ(produce("t", 0, build_batch({{"r", "5"}})).base_offset, 5);
  EXPECT_EQ(hw(), 6);
  EXPECT_EQ(lso(), 6);

  const std::vector<aborted_txn> expected{{5, 1}};
  for (int64_t from : {0, 1, 2, 3, 4}) {
    auto f = fetch("t", 0, from, isolation::read_committed);
    EXPECT_EQ(f.error, stream_error::none) << from;
    EXPECT_FALSE(f.records.empty()) << from;
    EXPECT_EQ(f.aborted, expected) << "a fetch from " << from << " meets the range or its marker";
  }
  auto after = fetch("t", 0, 5, isolation::read_committed);
  EXPECT_EQ(after.error, stream_error::none);
  EXPECT_EQ(base_offsets(after.records), (std::vector<int64_t>{5}));
  EXPECT_TRUE(after.aborted.empty()) << "the range ended before the fetch";
  EXPECT_TRUE(fetch("t", 0, 0, isolation::read_uncommitted).aborted.empty()) << "only read_committed learns of aborts";

  // Durably in the kv, before the marker.
  auto kv = aborted_kv();
  ASSERT_EQ(kv.size(), 1u);
  auto range = decode_aborted_value(kv.begin()->second);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(*range, (aborted_range{5, 1, 4}));
  auto topic = svc_->describe_topic("t");
  ASSERT_TRUE(topic.ok());
  EXPECT_TRUE(kv.begin()->first.starts_with(std::string(aborted_root)));
  EXPECT_TRUE(kv.begin()->first.ends_with("0000000000000004-0000000000000005")) << kv.begin()->first;
}

TEST_F(ServiceTxnTest, AFetchReportsOnlyTheAbortedRangesItsBatchesMeet) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"p", std::string(2000, 'x')}})).base_offset, 0);
  // Three aborted transactions of producers 5, 6 and 7 after it: offsets 1-2, 3-4, 5-6.
  for (int64_t pid = 5; pid <= 7; ++pid) {
    ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, txn_opts(pid, 0, 0))).error, stream_error::none);
    ASSERT_EQ(marker("t", 0, pid, 0, /*commit=*/false), stream_error::none);
  }
  auto first_only = svc_->fetch("t", 0, 0, 100, /*min_one=*/true, isolation::read_committed);
  ASSERT_EQ(first_only.error, stream_error::none);
  EXPECT_EQ(base_offsets(first_only.records), (std::vector<int64_t>{0})) << "the budget holds one batch";
  EXPECT_TRUE(first_only.aborted.empty()) << "no aborted range begins in the batch returned";
  auto two = svc_->fetch("t", 0, 3, 1 << 20, true, isolation::read_committed);
  EXPECT_EQ(two.aborted, (std::vector<aborted_txn>{{6, 3}, {7, 5}}));
}

TEST_F(ServiceTxnTest, MarkerEpochFencesOlderEpochs) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).error, stream_error::none);
  // The coordinator aborted it with a bumped epoch (a timeout, a new session).
  ASSERT_EQ(marker("t", 0, 5, 1, /*commit=*/false), stream_error::none);
  auto fenced = produce("t", 0, build_batch({{"b", "2"}}, txn_opts(5, 0, 1)));
  EXPECT_EQ(fenced.error, stream_error::invalid_producer_epoch);
  EXPECT_EQ(produce("t", 0, build_batch({{"b", "2"}}, idem_opts(5, 0, 1))).error, stream_error::invalid_producer_epoch);
  EXPECT_EQ(svc_->describe_topic("t")->partitions[0].log_end_offset, 2) << "nothing of the fenced epoch was written";
  auto producers = svc_->describe_producers("t", 0);
  ASSERT_EQ(producers.producers.size(), 1u);
  EXPECT_EQ(producers.producers[0].producer_epoch, 1);
  // A newer epoch starts its sequences again.
  auto next = produce("t", 0, build_batch({{"c", "3"}}, txn_opts(5, 2, 0)));
  EXPECT_EQ(next.error, stream_error::none) << next.message;
  EXPECT_EQ(next.base_offset, 2);
  // The fence survives a restart: the marker is replayed.
  ASSERT_EQ(marker("t", 0, 5, 2, /*commit=*/true), stream_error::none);
  restart_after_crash();
  EXPECT_EQ(produce("t", 0, build_batch({{"d", "4"}}, txn_opts(5, 1, 0))).error, stream_error::invalid_producer_epoch);
  EXPECT_EQ(produce("t", 0, build_batch({{"d", "4"}}, txn_opts(5, 2, 1))).error, stream_error::none);
}

TEST_F(ServiceTxnTest, ClientControlBatchesAreRefused) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  auto o = txn_opts(5, 0, 0);
  o.attributes = transactional_bit | control_bit;
  auto r = produce("t", 0, build_batch({{std::string("\0\0\0\1", 4), std::string("\0\0\0\0\0\0", 6)}}, o));
  EXPECT_EQ(r.error, stream_error::invalid_record);
  EXPECT_FALSE(r.message.empty());
  // A client's own COMMIT marker, byte for byte as the coordinator's, too.
  auto forged = encode_marker_batch(txn_marker{5, 0, true, 0}, 1'700'000'000'000);
  EXPECT_EQ(produce("t", 0, forged).error, stream_error::invalid_record);
  auto non_txn_control = idem_opts(5, 0, 0);
  non_txn_control.attributes = control_bit;
  EXPECT_EQ(produce("t", 0, build_batch({{"k", "v"}}, non_txn_control)).error, stream_error::invalid_record);
  // A transactional batch without a producer id is malformed.
  testing::batch_options no_pid;
  no_pid.attributes = transactional_bit;
  EXPECT_EQ(produce("t", 0, build_batch({{"k", "v"}}, no_pid)).error, stream_error::corrupt_message);
  EXPECT_EQ(svc_->describe_topic("t")->partitions[0].log_end_offset, 0) << "nothing was written";
  EXPECT_EQ(svc_->describe_producers("t", 0).producers.size(), 0u);
}

TEST_F(ServiceTxnTest, NonTransactionalBatchWhileTheProducersTransactionIsOpenIsRefused) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).error, stream_error::none);
  auto r = produce("t", 0, build_batch({{"b", "2"}}, idem_opts(5, 0, 1)));
  EXPECT_EQ(r.error, stream_error::invalid_txn_state);
  EXPECT_NE(r.message.find("5"), std::string::npos) << r.message;
  // Other producers and plain batches are not affected.
  EXPECT_EQ(produce("t", 0, build_batch({{"c", "3"}}, idem_opts(6, 0, 0))).error, stream_error::none);
  EXPECT_EQ(produce("t", 0, build_batch({{"d", "4"}})).error, stream_error::none);
  ASSERT_EQ(marker("t", 0, 5, 0, true), stream_error::none);
  auto after = produce("t", 0, build_batch({{"b", "2"}}, idem_opts(5, 0, 1)));
  EXPECT_EQ(after.error, stream_error::none) << after.message;
  EXPECT_EQ(lso(), hw()) << "an idempotent batch opens no transaction";
}

TEST_F(ServiceTxnTest, OpenTransactionsAndAbortedRangesSurviveACrash) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).base_offset, 0);
  ASSERT_EQ(marker("t", 0, 5, 0, false), stream_error::none);  // 1
  ASSERT_EQ(produce("t", 0, build_batch({{"b", "2"}})).base_offset, 2);
  ASSERT_EQ(produce("t", 0, build_batch({{"c", "3"}}, txn_opts(7, 0, 0))).base_offset, 3);  // open
  ASSERT_EQ(produce("t", 0, build_batch({{"d", "4"}})).base_offset, 4);
  ASSERT_EQ(lso(), 3);
  auto before = fetch("t", 0, 0, isolation::read_committed);

  restart_after_crash();
  EXPECT_EQ(hw(), 5);
  EXPECT_EQ(lso(), 3) << "the open transaction is rebuilt from the log";
  EXPECT_EQ(txn_start_of(7), 3);
  auto f = fetch("t", 0, 0, isolation::read_committed);
  EXPECT_EQ(f.records, before.records);
  EXPECT_EQ(f.aborted, (std::vector<aborted_txn>{{5, 0}})) << "the aborted range comes from the kv";
  EXPECT_EQ(f.last_stable_offset, 3);

  // Producer 7 carries on after the restart and commits.
  EXPECT_EQ(produce("t", 0, build_batch({{"e", "5"}}, txn_opts(7, 0, 1))).base_offset, 5);
  EXPECT_EQ(lso(), 3);
  ASSERT_EQ(marker("t", 0, 7, 0, true), stream_error::none);
  EXPECT_EQ(lso(), 7);
  EXPECT_EQ(lso(), hw());

  restart_after_crash();
  EXPECT_EQ(lso(), 7) << "the COMMIT marker closes the transaction when replayed";
  EXPECT_EQ(fetch("t", 0, 0, isolation::read_committed).aborted, (std::vector<aborted_txn>{{5, 0}}));
}

TEST_F(ServiceTxnTest, MarkerWithoutAnOpenTransactionIsWrittenAndHarmless) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}})).base_offset, 0);
  ASSERT_EQ(marker("t", 0, 42, 0, true), stream_error::none);
  ASSERT_EQ(marker("t", 0, 43, 3, false), stream_error::none);
  EXPECT_EQ(hw(), 3) << "both markers were appended";
  EXPECT_EQ(lso(), 3);
  EXPECT_TRUE(aborted_kv().empty()) << "an ABORT of no transaction aborts no range";
  auto f = fetch("t", 0, 0, isolation::read_committed);
  EXPECT_TRUE(f.aborted.empty());
  EXPECT_EQ(data_records(f.records), (std::vector<seen>{{0, "a", "1"}}));

  // A coordinator retrying a marker that already landed: written again, no effect.
  ASSERT_EQ(produce("t", 0, build_batch({{"b", "2"}}, txn_opts(44, 0, 0))).base_offset, 3);
  ASSERT_EQ(marker("t", 0, 44, 0, false), stream_error::none);  // 4
  ASSERT_EQ(marker("t", 0, 44, 0, false), stream_error::none);  // 5
  EXPECT_EQ(aborted_kv().size(), 1u);
  EXPECT_EQ(fetch("t", 0, 0, isolation::read_committed).aborted, (std::vector<aborted_txn>{{44, 3}}));
  EXPECT_EQ(lso(), 6);
  // The marker's producer may write with that epoch from sequence 0.
  EXPECT_EQ(produce("t", 0, build_batch({{"c", "3"}}, idem_opts(43, 3, 0))).error, stream_error::none);
  // Unknown partitions are reported.
  EXPECT_EQ(marker("t", 9, 42, 0, true), stream_error::unknown_topic_or_partition);
  EXPECT_EQ(marker("nope", 0, 42, 0, true), stream_error::unknown_topic_or_partition);
}

TEST_F(ServiceTxnTest, DeleteRecordsPastAnAbortedRangeForgetsIt) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).base_offset, 0);
  ASSERT_EQ(marker("t", 0, 5, 0, false), stream_error::none);  // range [0, 1]
  ASSERT_EQ(produce("t", 0, build_batch({{"b", "2"}})).base_offset, 2);
  ASSERT_EQ(produce("t", 0, build_batch({{"c", "3"}}, txn_opts(6, 0, 0))).base_offset, 3);
  ASSERT_EQ(marker("t", 0, 6, 0, false), stream_error::none);  // range [3, 4]
  ASSERT_EQ(produce("t", 0, build_batch({{"d", "4"}})).base_offset, 5);
  ASSERT_EQ(aborted_kv().size(), 2u);

  EXPECT_EQ(svc_->delete_records("t", 0, 1).low_watermark, 1);
  EXPECT_EQ(aborted_kv().size(), 2u) << "the first range's marker is still in the log";
  EXPECT_EQ(fetch("t", 0, 1, isolation::read_committed).aborted, (std::vector<aborted_txn>{{5, 0}, {6, 3}}));

  EXPECT_EQ(svc_->delete_records("t", 0, 2).low_watermark, 2);
  auto kv = aborted_kv();
  ASSERT_EQ(kv.size(), 1u);
  EXPECT_EQ(*decode_aborted_value(kv.begin()->second), (aborted_range{6, 3, 4}));
  EXPECT_EQ(fetch("t", 0, 2, isolation::read_committed).aborted, (std::vector<aborted_txn>{{6, 3}}));

  restart_after_crash();
  EXPECT_EQ(aborted_kv().size(), 1u);
  EXPECT_EQ(fetch("t", 0, 2, isolation::read_committed).aborted, (std::vector<aborted_txn>{{6, 3}}));
  EXPECT_EQ(svc_->delete_records("t", 0, -1).low_watermark, 6);
  EXPECT_TRUE(aborted_kv().empty());
}

TEST_F(ServiceTxnTest, TheLastStableOffsetNeverFallsBelowTheLogStart) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).base_offset, 0);
  ASSERT_EQ(produce("t", 0, build_batch({{"b", "2"}})).base_offset, 1);
  ASSERT_EQ(produce("t", 0, build_batch({{"c", "3"}})).base_offset, 2);
  ASSERT_EQ(lso(), 0);
  // DeleteRecords past the first batch of a transaction that is still open.
  ASSERT_EQ(svc_->delete_records("t", 0, 2).low_watermark, 2);
  EXPECT_EQ(lso(), 2) << "latest for read_committed is never below earliest";
  EXPECT_EQ(svc_->list_offset("t", 0, -2).offset, 2);
  auto f = fetch("t", 0, 2, isolation::read_committed);
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_EQ(f.last_stable_offset, 2);
  EXPECT_TRUE(f.records.empty()) << "the transaction is still open";
  // Its ABORT still hides it and moves the LSO on.
  ASSERT_EQ(marker("t", 0, 5, 0, false), stream_error::none);
  EXPECT_EQ(lso(), 4);
  auto after = fetch("t", 0, 2, isolation::read_committed);
  EXPECT_EQ(base_offsets(after.records), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(after.aborted, (std::vector<aborted_txn>{{5, 0}}));
}

TEST_F(ServiceTxnTest, RetentionPastAnAbortedRangeForgetsIt) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {{"segment.bytes", "100"}}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", std::string(60, 'x')}}, txn_opts(5, 0, 0))).base_offset, 0);
  ASSERT_EQ(marker("t", 0, 5, 0, false), stream_error::none);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(produce("t", 0, build_batch({{"k", std::string(60, 'y')}})).error, stream_error::none);
  ASSERT_EQ(aborted_kv().size(), 1u);
  // Keep only the newest bytes: the segments holding the transaction and its marker go.
  ASSERT_TRUE(svc_->alter_topic_configs("t", {{"segment.bytes", "100"}, {"retention.bytes", "150"}}, false).ok());
  ASSERT_GT(svc_->describe_topic("t")->partitions[0].log_start_offset, 1);
  sched_.advance(1000);  // the retention check
  sched_.run_pending();
  EXPECT_TRUE(aborted_kv().empty());
  restart_after_crash();
  EXPECT_TRUE(aborted_kv().empty());
  EXPECT_TRUE(fetch("t", 0, svc_->list_offset("t", 0, -2).offset, isolation::read_committed).aborted.empty());
}

TEST_F(ServiceTxnTest, AStaleAbortedRecordBelowTheLogStartIsDroppedAtStartUp) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}})).base_offset, 0);
  ASSERT_EQ(produce("t", 0, build_batch({{"b", "2"}})).base_offset, 1);
  ASSERT_EQ(svc_->delete_records("t", 0, 2).low_watermark, 2);
  // A record left behind (say, written just before a crash that lost the
  // DeleteRecords cleanup): the next start-up deletes it.
  auto topic = svc_->describe_topic("t");
  ASSERT_TRUE(topic.ok());
  const std::string prefix = aborted_kv_prefix(topic_id_hex(topic->id), 0);
  const aborted_range stale{9, 0, 1};
  ASSERT_TRUE(kv_->put(aborted_kv_key(prefix, stale), encode_aborted_value(stale)).ok());
  ASSERT_TRUE(kv_->put(prefix + "garbage", "not a range").ok());
  restart_after_crash();
  auto kv = aborted_kv();
  EXPECT_EQ(kv.count(aborted_kv_key(prefix, stale)), 0u);
  EXPECT_EQ(kv.count(prefix + "garbage"), 1u) << "an unreadable record is ignored, not deleted";
  EXPECT_EQ(lso(), 2);
}

TEST_F(ServiceTxnTest, DeletingTheTopicRemovesItsAbortedRanges) {
  ASSERT_TRUE(svc_->create_topic("t", 2, {}).ok());
  ASSERT_TRUE(svc_->create_topic("keep", 1, {}).ok());
  for (int32_t p = 0; p < 2; ++p) {
    ASSERT_EQ(produce("t", p, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).error, stream_error::none);
  }
  ASSERT_EQ(produce("keep", 0, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).error, stream_error::none);
  for (int32_t p = 0; p < 2; ++p) ASSERT_EQ(marker("t", p, 5, 0, false), stream_error::none);
  ASSERT_EQ(marker("keep", 0, 5, 0, false), stream_error::none);
  ASSERT_EQ(aborted_kv().size(), 3u);
  ASSERT_TRUE(svc_->delete_topic("t").ok());
  pump([] { return false; });
  auto kv = aborted_kv();
  ASSERT_EQ(kv.size(), 1u) << "only the other topic's range is left";
  EXPECT_EQ(*decode_aborted_value(kv.begin()->second), (aborted_range{5, 0, 1}));
  // A topic created again with the same name starts with none.
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}})).error, stream_error::none);
  EXPECT_TRUE(fetch("t", 0, 0, isolation::read_committed).aborted.empty());
  restart_after_crash();
  EXPECT_EQ(aborted_kv().size(), 1u);
  EXPECT_EQ(fetch("keep", 0, 0, isolation::read_committed).aborted, (std::vector<aborted_txn>{{5, 0}}));
}

TEST_F(ServiceTxnTest, AMarkerThatFailedToAppendLeavesNoRecordBehindOnTopicDeletion) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}}, txn_opts(5, 0, 0))).error, stream_error::none);
  // The ABORT's range is recorded first, then the marker's append fails.
  fs_.set_disk_bytes_max(1);
  EXPECT_NE(marker("t", 0, 5, 0, false), stream_error::none);
  fs_.set_disk_bytes_max(UINT64_MAX);
  EXPECT_EQ(lso(), 0) << "the transaction is still open";
  ASSERT_EQ(produce("t", 0, build_batch({{"b", "2"}})).error, stream_error::none);
  // The coordinator retries; the marker lands later.
  ASSERT_EQ(marker("t", 0, 5, 0, false), stream_error::none);
  EXPECT_EQ(fetch("t", 0, 0, isolation::read_committed).aborted, (std::vector<aborted_txn>{{5, 0}}));
  ASSERT_TRUE(svc_->delete_topic("t").ok());
  pump([] { return false; });
  EXPECT_TRUE(aborted_kv().empty()) << "every record of the topic goes, also that of the failed attempt";
}

// ---- txn_index ----

TEST(TxnIndex, OpenTransactionsAndTheFirstUnstableOffset) {
  txn_index idx;
  EXPECT_EQ(idx.first_unstable_offset(), txn_index::no_open_txn);
  idx.begin(5, 10);
  idx.begin(5, 12);  // a later batch of the same transaction
  idx.begin(6, 11);
  EXPECT_EQ(idx.open_first_offset(5), std::optional<int64_t>(10));
  EXPECT_EQ(idx.open_first_offset(7), std::nullopt);
  EXPECT_EQ(idx.open_count(), 2u);
  EXPECT_EQ(idx.first_unstable_offset(), 10);
  EXPECT_EQ(idx.end(5, /*commit=*/true, 13), std::nullopt) << "a commit aborts nothing";
  EXPECT_EQ(idx.first_unstable_offset(), 11);
  EXPECT_EQ(idx.end(6, /*commit=*/false, 14), (std::optional<aborted_range>(aborted_range{6, 11, 14})));
  EXPECT_EQ(idx.first_unstable_offset(), txn_index::no_open_txn);
  EXPECT_EQ(idx.end(7, false, 15), std::nullopt) << "no open transaction: no range";
  EXPECT_EQ(idx.end(6, false, 16), std::nullopt) << "a retried marker";
  EXPECT_TRUE(idx.aborted().empty()) << "end() only reports the range; add_aborted keeps it";
}

TEST(TxnIndex, AddAbortedKeepsTheLaterEndOfTheSameTransaction) {
  txn_index idx;
  idx.add_aborted({5, 10, 20});
  idx.add_aborted({5, 10, 25});
  EXPECT_EQ(idx.aborted(), (std::vector<aborted_range>{{5, 10, 25}}));
  idx.add_aborted({5, 10, 22});
  EXPECT_EQ(idx.aborted(), (std::vector<aborted_range>{{5, 10, 25}})) << "an earlier end never replaces a later one";
  idx.add_aborted({6, 0, 15});
  idx.add_aborted({5, 30, 40});
  idx.add_aborted({7, 10, 21});  // same first offset, another producer
  EXPECT_EQ(idx.aborted(), (std::vector<aborted_range>{{6, 0, 15}, {7, 10, 21}, {5, 10, 25}, {5, 30, 40}}))
      << "ordered by last offset";
}

TEST(TxnIndex, AbortedOverlappingBounds) {
  txn_index idx;
  idx.add_aborted({1, 0, 5});
  idx.add_aborted({2, 3, 8});
  idx.add_aborted({3, 10, 12});
  using v = std::vector<aborted_txn>;
  EXPECT_EQ(idx.aborted_overlapping(0, 100), (v{{1, 0}, {2, 3}, {3, 10}}));
  EXPECT_EQ(idx.aborted_overlapping(5, 100), (v{{1, 0}, {2, 3}, {3, 10}})) << "a range ending at `from` counts";
  EXPECT_EQ(idx.aborted_overlapping(6, 100), (v{{2, 3}, {3, 10}}));
  EXPECT_EQ(idx.aborted_overlapping(0, 3), (v{{1, 0}})) << "a range beginning at `to` does not";
  EXPECT_EQ(idx.aborted_overlapping(0, 4), (v{{1, 0}, {2, 3}}));
  EXPECT_EQ(idx.aborted_overlapping(9, 10), v{});
  EXPECT_EQ(idx.aborted_overlapping(12, 13), (v{{3, 10}}));
  EXPECT_EQ(idx.aborted_overlapping(13, 100), v{});
  // Ordered by first offset even when the last offsets are in another order.
  txn_index nested;
  nested.add_aborted({1, 0, 20});
  nested.add_aborted({2, 5, 10});
  EXPECT_EQ(nested.aborted_overlapping(0, 100), (v{{1, 0}, {2, 5}}));
}

TEST(TxnIndex, AbortedAtAndForgetBelow) {
  txn_index idx;
  idx.add_aborted({1, 0, 5});
  idx.add_aborted({2, 3, 8});
  idx.add_aborted({1, 10, 12});
  EXPECT_TRUE(idx.aborted_at(1, 0));
  EXPECT_TRUE(idx.aborted_at(1, 3));
  EXPECT_TRUE(idx.aborted_at(1, 5)) << "up to and including the marker";
  EXPECT_FALSE(idx.aborted_at(1, 6));
  EXPECT_FALSE(idx.aborted_at(1, 9));
  EXPECT_TRUE(idx.aborted_at(1, 11));
  EXPECT_FALSE(idx.aborted_at(2, 2)) << "before its first offset";
  EXPECT_TRUE(idx.aborted_at(2, 3));
  EXPECT_TRUE(idx.aborted_at(2, 8));
  EXPECT_FALSE(idx.aborted_at(3, 4)) << "another producer";
  EXPECT_FALSE(idx.aborted_at(1, 13));

  EXPECT_TRUE(idx.forget_below(5).empty()) << "a range ending at the log start stays";
  EXPECT_EQ(idx.forget_below(6), (std::vector<aborted_range>{{1, 0, 5}}));
  EXPECT_TRUE(idx.forget_below(6).empty());
  EXPECT_EQ(idx.aborted(), (std::vector<aborted_range>{{2, 3, 8}, {1, 10, 12}}));
  EXPECT_FALSE(idx.aborted_at(1, 3));
  EXPECT_EQ(idx.forget_below(100), (std::vector<aborted_range>{{2, 3, 8}, {1, 10, 12}}));
  EXPECT_TRUE(idx.aborted().empty());
  EXPECT_TRUE(idx.aborted_overlapping(0, 100).empty());
}

// ---- kv records and marker batches ----

TEST(TxnRecords, AbortedValueRoundTripsAndGarbageIsRefused) {
  for (aborted_range r : {aborted_range{0, 0, 0}, aborted_range{7, 1, 4}, aborted_range{INT64_MAX, 1LL << 40, (1LL << 40) + 9}}) {
    auto back = decode_aborted_value(encode_aborted_value(r));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, r);
  }
  const std::string good = encode_aborted_value({7, 1, 4});
  EXPECT_EQ(good.size(), 25u);
  EXPECT_FALSE(decode_aborted_value("").has_value());
  EXPECT_FALSE(decode_aborted_value(good.substr(0, 24)).has_value()) << "truncated";
  EXPECT_FALSE(decode_aborted_value(good + "x").has_value()) << "trailing bytes";
  std::string other_version = good;
  other_version[0] = 2;
  EXPECT_FALSE(decode_aborted_value(other_version).has_value());
  EXPECT_FALSE(decode_aborted_value(encode_aborted_value({7, 5, 4})).has_value()) << "ends before it begins";
  EXPECT_FALSE(decode_aborted_value(encode_aborted_value({7, -1, 4})).has_value()) << "negative first offset";
  EXPECT_FALSE(decode_aborted_value("not a range at all, really").has_value());
}

TEST(TxnRecords, AbortedKeysSortByPartitionThenLastOffset) {
  const std::string prefix = aborted_kv_prefix("00112233445566778899aabbccddeeff", 3);
  EXPECT_EQ(prefix, "streams/txn-aborted/00112233445566778899aabbccddeeff/00000003/");
  EXPECT_EQ(aborted_kv_key(prefix, {7, 1, 0x1234}), prefix + "0000000000001234-0000000000000007");
  EXPECT_LT(aborted_kv_key(prefix, {9, 1, 9}), aborted_kv_key(prefix, {1, 1, 10}));
  EXPECT_LT(aborted_kv_key(prefix, {1, 1, 255}), aborted_kv_key(prefix, {1, 1, 256}));
  EXPECT_NE(aborted_kv_key(prefix, {1, 1, 10}), aborted_kv_key(prefix, {2, 1, 10}));
  const std::string p3 = aborted_kv_prefix("ab", 3);
  const std::string p30 = aborted_kv_prefix("ab", 30);
  EXPECT_FALSE(p30.starts_with(p3)) << "one partition's prefix never covers another's";
}

TEST(TxnRecords, MarkerBatchesRoundTrip) {
  for (bool commit : {true, false}) {
    const txn_marker m{123456789, 42, commit, 7};
    auto bytes = encode_marker_batch(m, 1'700'000'000'123);
    auto check = check_single_batch(bytes);
    ASSERT_EQ(check.problem, batch_problem::none) << check.message;
    const batch_header& h = check.header;
    EXPECT_TRUE(h.control());
    EXPECT_TRUE(h.transactional());
    EXPECT_EQ(h.compression(), 0);
    EXPECT_EQ(h.producer_id, 123456789);
    EXPECT_EQ(h.producer_epoch, 42);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.record_count, 1);
    EXPECT_EQ(h.offset_count(), 1u);
    EXPECT_EQ(h.base_timestamp_ms, 1'700'000'000'123);
    auto back = decode_marker_batch(bytes);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->producer_id, m.producer_id);
    EXPECT_EQ(back->producer_epoch, m.producer_epoch);
    EXPECT_EQ(back->commit, commit);
    EXPECT_EQ(back->coordinator_epoch, 7);
    // Kafka's control record: key = version 0, type (0 ABORT, 1 COMMIT).
    auto records = decode_plain_batch(bytes);
    ASSERT_TRUE(records.has_value());
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ((*records)[0].key, std::string("\0\0\0", 3) + (commit ? '\1' : '\0'));
    EXPECT_EQ((*records)[0].value, std::string("\0\0\0\0\0\7", 6));
    // Offsets assigned at append do not change what it says.
    assign_batch_offset(bytes, 99, 3);
    EXPECT_EQ(decode_marker_batch(bytes)->commit, commit);
  }
}

TEST(TxnRecords, OnlyTransactionalControlBatchesAreMarkers) {
  EXPECT_FALSE(decode_marker_batch(build_batch({{"k", "v"}})).has_value());
  EXPECT_FALSE(decode_marker_batch(build_batch({{"k", "v"}}, txn_opts(5, 0, 0))).has_value()) << "data, not control";
  const std::string commit_key("\0\0\0\1", 4);
  const std::string value("\0\0\0\0\0\0", 6);
  auto control_only = idem_opts(5, 0, -1);
  control_only.attributes = control_bit;
  EXPECT_FALSE(decode_marker_batch(build_batch({{commit_key, value}}, control_only)).has_value()) << "not transactional";
  auto both = idem_opts(5, 0, -1);
  both.attributes = control_bit | transactional_bit;
  auto good = decode_marker_batch(build_batch({{commit_key, value}}, both));
  ASSERT_TRUE(good.has_value()) << "a client-built marker of the same shape decodes";
  EXPECT_TRUE(good->commit);
  EXPECT_FALSE(decode_marker_batch(build_batch({{std::string("\0\0\0\2", 4), value}}, both)).has_value()) << "unknown type";
  EXPECT_FALSE(decode_marker_batch(build_batch({{std::string("\0\0", 2), value}}, both)).has_value()) << "short key";
  EXPECT_FALSE(decode_marker_batch(build_batch({{commit_key, value}, {commit_key, value}}, both)).has_value())
      << "a marker holds one record";
  auto bytes = encode_marker_batch(txn_marker{5, 0, true, 0}, 1);
  EXPECT_FALSE(decode_marker_batch(std::span<const uint8_t>(bytes).first(30)).has_value()) << "shorter than a header";
  EXPECT_FALSE(decode_marker_batch(std::span<const uint8_t>(bytes).first(bytes.size() - 3)).has_value()) << "torn";
}

// ---- compaction ----

namespace {

class TxnCompactLogTest : public ::testing::Test {
 protected:
  TxnCompactLogTest() {
    cfg_.segment_bytes_max = 400;
    auto l = storage::log::open(fs_, dir_, cfg_);
    EXPECT_TRUE(l.ok());
    log_ = std::move(l).value();
  }
  int64_t append(std::vector<uint8_t> b) {
    auto h = read_batch_header(b);
    const int64_t at = log_->end_offset().value;
    assign_batch_offset(b, at, 0);
    EXPECT_TRUE(log_->append(b, h->offset_count(), h->max_timestamp_ms).ok());
    return at;
  }
  void run(const std::vector<aborted_range>& aborted) {
    compaction_job job;
    job.dir = dir_;
    job.segments = log_->closed_segments();
    ASSERT_FALSE(job.segments.empty());
    job.now_ms = 1'700'000'000'000;
    job.aborted = aborted;
    job.map_bytes_max = 1 << 20;
    job.segment_bytes_max = cfg_.segment_bytes_max;
    job.index_interval_bytes = cfg_.index_interval_bytes;
    std::atomic<bool> cancel{false};
    auto out = compact(fs_, job, cancel);
    ASSERT_TRUE(out.ok()) << out.err().message;
    ASSERT_TRUE(log_->replace_segments(out->staged).ok());
  }
  std::vector<uint8_t> everything() {
    auto r = log_->read(log_->start_offset(), 1 << 24, log_->end_offset(), true);
    EXPECT_TRUE(r.ok());
    std::vector<uint8_t> out;
    for (auto& e : r->entries) out.insert(out.end(), e.payload.begin(), e.payload.end());
    return out;
  }
  std::vector<seen> values_of(const std::string& key) {
    std::vector<seen> out;
    for (auto& r : data_records(everything())) {
      if (r.key == key) out.push_back(r);
    }
    return out;
  }

  io::fault_fs fs_;
  std::string dir_ = "/data/p";
  storage::log_config cfg_;
  std::unique_ptr<storage::log> log_;
};

}  // namespace

TEST_F(TxnCompactLogTest, AnAbortedRecordNeverWinsAsAKeysNewestValue) {
  append(build_batch({{"k", "v0"}}));                          // 0
  append(build_batch({{"k", "aborted"}}, txn_opts(5, 0, 0)));  // 1
  append(build_batch({{"j", "aborted"}}, txn_opts(5, 0, 1)));  // 2
  append(encode_marker_batch(txn_marker{5, 0, false, 0}, 1'700'000'000'000));  // 3
  for (int i = 0; i < 20; ++i) append(build_batch({{"x" + std::to_string(i % 3), std::to_string(i)}}));
  ASSERT_GE(log_->closed_segments().back().next.value, 10);
  run({{5, 1, 3}});
  EXPECT_EQ(values_of("k"), (std::vector<seen>{{0, "k", "v0"}})) << "the committed value stays the newest";
  EXPECT_TRUE(values_of("j").empty()) << "an aborted record is removed";
  // The ABORT marker stays, so read_committed consumers still see the range end.
  bool marker_kept = false;
  for (auto& b : batches_in(everything())) marker_kept = marker_kept || (b.header.control() && b.header.base_offset == 3);
  EXPECT_TRUE(marker_kept);
}

TEST_F(TxnCompactLogTest, WithoutTheAbortedRangeTheSameLogWouldLoseTheCommittedValue) {
  // The control: what the range above protects against.
  append(build_batch({{"k", "v0"}}));
  append(build_batch({{"k", "aborted"}}, txn_opts(5, 0, 0)));
  append(encode_marker_batch(txn_marker{5, 0, false, 0}, 1'700'000'000'000));
  for (int i = 0; i < 20; ++i) append(build_batch({{"x" + std::to_string(i % 3), std::to_string(i)}}));
  run({});
  EXPECT_EQ(values_of("k"), (std::vector<seen>{{1, "k", "aborted"}}));
}

TEST_F(TxnCompactLogTest, ACommittedTransactionalRecordCompactsLikeAnyOther) {
  append(build_batch({{"k", "v0"}}));                            // 0
  append(build_batch({{"k", "committed"}}, txn_opts(5, 0, 0)));  // 1
  append(encode_marker_batch(txn_marker{5, 0, true, 0}, 1'700'000'000'000));  // 2
  append(build_batch({{"k", "aborted"}}, txn_opts(5, 0, 1)));    // 3
  append(encode_marker_batch(txn_marker{5, 0, false, 0}, 1'700'000'000'000));  // 4
  for (int i = 0; i < 20; ++i) append(build_batch({{"x" + std::to_string(i % 3), std::to_string(i)}}));
  run({{5, 3, 4}});
  EXPECT_EQ(values_of("k"), (std::vector<seen>{{1, "k", "committed"}}));
}

namespace {

class TxnCompactServiceTest : public testing::service_fixture {
 protected:
  void configure(service_config& c) override { c.compaction_check_interval_ms = 100; }
  void SetUp() override {
    service_fixture::SetUp();
    ASSERT_TRUE(svc_->create_topic("c", 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "400"}}).ok());
  }
  produce_result produce(const std::vector<uint8_t>& batch) { return produce_batch("c", 0, batch); }
  stream_error marker(int64_t pid, bool commit) { return write_marker("c", 0, txn_marker{pid, 0, commit, 0}); }
  // Runs compaction checks until `done` or `rounds` run out.
  template <class Pred>
  void compact_until(Pred done, int rounds = 100) {
    for (int i = 0; i < rounds && !done(); ++i) {
      sched_.advance(100);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      sched_.run_pending();
    }
  }
  uint64_t size() { return svc_->describe_topic("c")->partitions[0].size_bytes; }
  std::vector<seen> all_records() {
    auto f = svc_->fetch("c", 0, 0, 1 << 24, true, isolation::read_uncommitted);
    EXPECT_EQ(f.error, stream_error::none);
    return data_records(f.records);
  }
};

}  // namespace

TEST_F(TxnCompactServiceTest, NothingAtOrAboveTheLastStableOffsetIsCompacted) {
  for (int v = 0; v < 20; ++v) ASSERT_EQ(produce(build_batch({{"k" + std::to_string(v % 4), std::to_string(v)}})).error, stream_error::none);
  ASSERT_EQ(produce(build_batch({{"k0", "txn"}}, txn_opts(5, 0, 0))).base_offset, 20);
  for (int v = 21; v < 41; ++v) ASSERT_EQ(produce(build_batch({{"k" + std::to_string(v % 4), std::to_string(v)}})).error, stream_error::none);
  ASSERT_EQ(svc_->list_offset("c", 0, -1, isolation::read_committed).offset, 20);
  const uint64_t before = size();
  compact_until([&] { return size() < before; });
  ASSERT_LT(size(), before) << "the stable part was compacted";
  compact_until([] { return false; }, 20);  // and nothing more happens while the transaction is open
  auto records = all_records();
  std::vector<int64_t> at_or_above;
  for (auto& r : records) {
    if (r.offset >= 20) at_or_above.push_back(r.offset);
  }
  std::vector<int64_t> expected;
  for (int64_t o = 20; o < 41; ++o) expected.push_back(o);
  EXPECT_EQ(at_or_above, expected) << "every record from the LSO on is still there";
  size_t below = 0;
  for (auto& r : records) below += r.offset < 20 ? 1 : 0;
  EXPECT_LT(below, 20u);

  // Once it commits the rest may be compacted too; the transaction's record
  // is then an ordinary older value of k0.
  ASSERT_EQ(marker(5, true), stream_error::none);
  const uint64_t committed = size();
  compact_until([&] { return size() < committed; }, 200);
  EXPECT_LT(size(), committed);
  std::map<std::string, std::string> last;
  for (auto& r : all_records()) last[r.key] = *r.value;
  EXPECT_EQ(last, (std::map<std::string, std::string>{{"k0", "40"}, {"k1", "37"}, {"k2", "38"}, {"k3", "39"}}));
}

TEST_F(TxnCompactServiceTest, AnAbortedRecordIsDroppedAndNeverWins) {
  ASSERT_EQ(produce(build_batch({{"k", "v0"}})).base_offset, 0);
  ASSERT_EQ(produce(build_batch({{"k", "aborted"}, {"only", "aborted"}}, txn_opts(5, 0, 0))).base_offset, 1);
  ASSERT_EQ(marker(5, false), stream_error::none);  // 3
  for (int v = 0; v < 40; ++v) ASSERT_EQ(produce(build_batch({{"x" + std::to_string(v % 4), std::to_string(v)}})).error, stream_error::none);
  auto has_aborted = [&] {
    for (auto& r : all_records()) {
      if (r.value == "aborted") return true;
    }
    return false;
  };
  ASSERT_TRUE(has_aborted());
  compact_until([&] { return !has_aborted(); });
  EXPECT_FALSE(has_aborted());
  std::vector<seen> k;
  for (auto& r : all_records()) {
    if (r.key == "k") k.push_back(r);
  }
  EXPECT_EQ(k, (std::vector<seen>{{0, "k", "v0"}}));
  // A read_committed consumer still learns of the range (its marker stays).
  auto f = svc_->fetch("c", 0, 0, 1 << 24, true, isolation::read_committed);
  EXPECT_EQ(f.aborted, (std::vector<aborted_txn>{{5, 1}}));
}

}  // namespace strata::streams
