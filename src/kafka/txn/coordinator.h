// The transaction coordinator (KIP-98): the state of every transactional id,
// kept durably in meta::kv, and the two-phase commit that makes a
// transaction's records and consumer offsets visible together or not at all.
//
// A transaction moves Empty -> Ongoing (AddPartitionsToTxn / AddOffsetsToTxn)
// -> PrepareCommit or PrepareAbort (EndTxn, a timeout, or a new producer
// session) -> CompleteCommit or CompleteAbort once a marker is durable in
// every partition it touched and, on commit, its offsets are stored. A
// Prepare state is written before the first marker, so after a crash load()
// finishes the transaction the same way. docs/formats/kafka-transactions.md
// has the kv layout; docs/streams.md ("Transactions") the behaviour.
//
// Every method runs on the network thread. Callbacks run on it too, exactly
// once, and may run before the call returns.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/scheduler.h"
#include "kafka/groups/offset_store.h"
#include "kafka/protocol/api.h"

namespace strata::meta {
class kv;
}
namespace strata::streams {
class service;
}
namespace strata::kafka::groups {
class coordinator;
}

namespace strata::kafka::txn {

using groups::topic_partition;

enum class txn_state : uint8_t { empty, ongoing, prepare_commit, prepare_abort, complete_commit, complete_abort };

// Kafka's names for the states ("Empty", "Ongoing", "PrepareCommit", ...), as
// DescribeTransactions and ListTransactions report them.
const char* state_name(txn_state s);

struct txn_config {
  int32_t transaction_timeout_max_ms = 900'000;       // transaction.max.timeout.ms
  int64_t timeout_check_interval_ms = 1'000;           // how often open transactions are checked for their timeout
  int64_t marker_retry_interval_ms = 1'000;            // a marker that failed is written again after this
  size_t transactional_ids_max = 100'000;
  size_t partitions_per_txn_max = 10'000;
  size_t pending_offsets_per_txn_max = 10'000;
  size_t groups_per_txn_max = 100;
};

// An offset a transaction committed, stored in the group when it commits.
struct pending_offset {
  std::string group;
  topic_partition tp;
  groups::committed_offset value;
  bool operator==(const pending_offset&) const = default;
};

struct txn_metadata {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  // The epoch before the last bump: a producer retrying InitProducerId with
  // it after a lost answer gets the current epoch again (KIP-360). -1 after a
  // new session's bump, which fences the session before it for good.
  int16_t last_producer_epoch = -1;
  int32_t timeout_ms = 60'000;
  txn_state state = txn_state::empty;
  std::set<topic_partition> partitions;
  std::set<std::string> groups;  // AddOffsetsToTxn
  std::vector<pending_offset> pending_offsets;
  int64_t start_ms = -1;        // wall clock when it became Ongoing
  int64_t last_update_ms = 0;   // wall clock of the last change
  bool operator==(const txn_metadata&) const = default;
};

// The durable form (docs/formats/kafka-transactions.md); nullopt for bytes that
// are not a version-1 record.
std::string encode_txn_metadata(const txn_metadata& m);
std::optional<txn_metadata> decode_txn_metadata(std::string_view transactional_id, std::string_view bytes);

struct producer_identity {
  error_code error = error_code::none;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

// TxnOffsetCommit's request, decoded. generation_id -1 and an empty member id
// (v0-2) skip the group membership check (KIP-447).
struct txn_offset_commit_request {
  std::string transactional_id;
  std::string group_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<topic_partition, groups::committed_offset>> offsets;
};

// Where a transactional id's requests stand with the coordinator.
class coordinator {
 public:
  // The streams service writes the markers; the group coordinator checks
  // TxnOffsetCommit's membership and stores committed offsets.
  coordinator(scheduler& sched, meta::kv& kv, streams::service& streams, groups::coordinator& groups, txn_config cfg);
  ~coordinator();
  coordinator(const coordinator&) = delete;
  coordinator& operator=(const coordinator&) = delete;

  // Reads every transactional id, then finishes the transactions that were
  // preparing (writes their markers again). Ongoing ones keep running until
  // they end, time out, or their producer starts a new session. Call once.
  status load();

  // InitProducerId with a transactional id. A new id gets a producer id and
  // epoch 0; a known one an epoch bump (a new producer id when the epoch is
  // exhausted). An open transaction is aborted first: the answer is then
  // CONCURRENT_TRANSACTIONS and the client retries. producer_id/epoch -1: a
  // new session; else KIP-360's bump of the producer's own session, refused
  // with PRODUCER_FENCED if another session took over.
  void init_producer_id(const std::string& transactional_id, int32_t timeout_ms, int64_t producer_id,
                        int16_t producer_epoch, std::function<void(producer_identity)> done);

  // AddPartitionsToTxn: one error per partition, in request order. A
  // partition that does not exist fails the request: it gets
  // UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED.
  std::vector<error_code> add_partitions(const std::string& transactional_id, int64_t producer_id,
                                         int16_t producer_epoch, const std::vector<topic_partition>& partitions);

  // AddOffsetsToTxn: the transaction will commit offsets of this group.
  error_code add_offsets(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
                         const std::string& group_id);

  // EndTxn: answers once the transaction is complete (markers durable
  // everywhere, offsets stored). A retry of a finished EndTxn succeeds again.
  void end_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch, bool commit,
               std::function<void(error_code)> done);

  // TxnOffsetCommit: one error per offset, in request order. The offsets
  // become the group's committed offsets when the transaction commits.
  std::vector<error_code> commit_offsets(const txn_offset_commit_request& req);

  // Produce of a transactional batch (KIP-890's verification): none when the
  // producer's transaction is open and added this partition;
  // INVALID_PRODUCER_EPOCH for another epoch; INVALID_TXN_STATE when no open
  // transaction of this producer added it; INVALID_PRODUCER_ID_MAPPING for a
  // producer id no transactional id has.
  error_code check_write(int64_t producer_id, int16_t producer_epoch, const topic_partition& tp) const;

  // OffsetFetch with require_stable: a transaction holds an offset of this
  // group and partition that is not committed yet (UNSTABLE_OFFSET_COMMIT).
  bool offset_pending(std::string_view group, const topic_partition& tp) const;

  // DescribeTransactions and ListTransactions.
  const txn_metadata* find(std::string_view transactional_id) const;
  std::vector<const txn_metadata*> all() const;

  const txn_config& config() const { return cfg_; }

 private:
  struct entry;
  entry* find_entry(std::string_view transactional_id);
  error_code check_producer(const entry& e, int64_t producer_id, int16_t producer_epoch) const;
  status persist(const txn_metadata& m);
  error_code begin_end(entry& e, bool commit, bool bump_epoch);
  void write_markers(const std::string& transactional_id);
  void on_markers_written(const std::string& transactional_id);
  void finish_waiters(entry& e, error_code error);
  void check_timeouts();
  void schedule_timeout_check();
  result<int64_t> new_producer_id();

  scheduler& sched_;
  meta::kv& kv_;
  streams::service& streams_;
  groups::coordinator& groups_;
  txn_config cfg_;
  std::map<std::string, std::unique_ptr<entry>, std::less<>> entries_;
  std::unordered_map<int64_t, std::string> by_producer_;  // producer id -> transactional id
  scheduler::timer_id timeout_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace strata::kafka::txn
