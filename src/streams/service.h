// The streams service: Kafka topics and their partitions on the storage core.
// It owns the topic catalog (in meta::kv), one storage::log per partition, the
// flusher thread that makes appends durable, idempotent-producer state, and
// the waiters of long-polling fetches. Protocol code (kafka/, admin/) calls it;
// it calls storage/ and meta/.
//
// Threading: every method is called on the network thread. Completion
// callbacks run on the network thread too (posted through the scheduler).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/scheduler.h"
#include "base/strong.h"
#include "storage/log.h"
#include "streams/producer_state.h"

namespace strata::io {
class fs;
}
namespace strata::meta {
class kv;
}

namespace strata::streams {

enum class fsync_policy { per_batch, interval };

struct service_config {
  std::string data_dir;                 // partitions live in data_dir/topics/<topic>/<partition>
  fsync_policy fsync = fsync_policy::per_batch;
  int64_t fsync_interval_ms = 100;      // with fsync_policy::interval
  bool auto_create_topics = true;
  int32_t default_partitions = 1;
  int32_t partitions_max = 10'000;      // per topic
  storage::log_config log_defaults;
  int64_t retention_check_interval_ms = 60'000;
  // At start-up, idempotent-producer state is rebuilt from at most this many
  // of the newest bytes of each partition, so start-up time does not grow with
  // the data. A producer silent for longer is forgotten, as Kafka expires
  // producer ids: its next batch gets UNKNOWN_PRODUCER_ID and the client bumps
  // its epoch.
  uint64_t producer_state_replay_bytes_max = 256ULL << 20;
  // Cluster mode: topics come from the cluster's state (apply_cluster), not
  // the local catalog, and no directory is removed until that state is known.
  bool cluster_mode = false;
  // Log compaction (cleanup.policy=compact): how often partitions are checked
  // for cleanable segments, and the memory of one compaction's key map (a
  // larger dirty range is compacted in several passes).
  int64_t compaction_check_interval_ms = 5'000;
  uint64_t compaction_map_bytes_max = 64ULL << 20;
};

// compression.type: the codec a topic stores batches in (values 0-4 are the
// RecordBatch attribute's), or the producer's own.
enum class compression_type : int8_t { producer = -1, uncompressed, gzip, snappy, lz4, zstd };

// Per-topic settings, as Kafka topic configs (DescribeConfigs / CreateTopics).
// docs/kafka-topic-configs.md lists every Kafka topic config and what Strata
// does with it.
struct topic_config {
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t retention_bytes = -1;
  uint64_t segment_bytes = 128ULL << 20;
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  uint32_t max_message_bytes = 1 << 20;
  int32_t min_insync_replicas = -1;  // -1: 2 when the replication factor is 3 or more, else 1
  compression_type compression = compression_type::producer;  // another codec than the producer's: recompressed
  bool log_append_time = false;  // message.timestamp.type=LogAppendTime: batches take the broker's time
  int64_t timestamp_difference_max_ms = std::numeric_limits<int64_t>::max();  // CreateTime records further from now are refused
  // Accepted and shown, with no effect on Strata.
  bool preallocate = false;
  int64_t flush_messages = std::numeric_limits<int64_t>::max();  // every batch is synced per --fsync instead
  int64_t flush_ms = std::numeric_limits<int64_t>::max();
  std::string message_format_version = "3.0-IV1";
  bool message_downconversion_enable = true;
  int32_t segment_index_bytes = 10 << 20;
  int32_t index_interval_bytes = 4096;
  int64_t file_delete_delay_ms = 60'000;
  int64_t segment_jitter_ms = 0;
  // cleanup.policy: delete old segments by retention, compact (keep the
  // newest record per key), or both. docs/streams.md, "Log compaction".
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  int64_t delete_retention_ms = 86'400'000;  // compacted tombstones stay at least this long
  double min_cleanable_dirty_ratio = 0.5;
  int64_t min_compaction_lag_ms = 0;
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();
};

// Sets a Kafka-named config ("retention.ms", ...) on cfg; an error names the
// key or value at fault.
status apply_topic_config(topic_config& cfg, const std::string& name, const std::string& value);
// Every config as Kafka names and string values, in a stable order.
std::vector<std::pair<std::string, std::string>> describe_topic_config(const topic_config& cfg);

struct partition_info {
  int32_t id = 0;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;  // durable: every offset below survives a crash (on every ISR member)
  int64_t log_end_offset = 0;
  uint64_t size_bytes = 0;
  // Replication. A single node leads every partition with epoch 0.
  int32_t leader = 0;  // -1: no leader now
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> target_replicas;  // non-empty while the partition moves
  bool hosted = true;  // this node keeps a replica (the offsets above are its own)
};

struct topic_info {
  std::string name;
  std::array<uint8_t, 16> id{};
  topic_config config;
  std::vector<partition_info> partitions;
  int32_t replication_factor = 1;
  std::map<std::string, std::string> explicit_configs{};  // the configs set on the topic; others are defaults
};

// Errors of the streams face, mapped 1:1 onto Kafka error codes by kafka/.
enum class stream_error {
  none,
  unknown_topic_or_partition,
  topic_already_exists,
  invalid_topic,
  invalid_partitions,
  invalid_config,
  corrupt_message,          // a batch failed its CRC or framing checks
  message_too_large,
  offset_out_of_range,
  out_of_order_sequence,
  duplicate_sequence,       // reported as success with the original offset
  invalid_producer_epoch,
  unknown_producer_id,
  storage_error,            // disk full or io error; nothing was written
  invalid_timestamp,
  unsupported_for_message_format,
  not_leader_or_follower,   // this node does not lead the partition; the client refreshes metadata
  not_enough_replicas,      // acks=all with an ISR smaller than min.insync.replicas; nothing was written
  not_enough_replicas_after_append,  // written, but the ISR shrank below min.insync.replicas before it was replicated
  request_timed_out,        // acks=all not replicated within the request's timeout
  fenced_leader_epoch,      // the caller's leader epoch is older than this replica's
  unknown_leader_epoch,     // the caller's leader epoch is newer than this replica's
  invalid_record,           // a record breaks the topic's rules (a null key in a compacted topic); see record_errors
  invalid_txn_state,        // a transactional batch from a producer whose transaction this partition cannot take
};

struct produce_result {
  stream_error error = stream_error::none;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_start_offset = -1;
  int64_t log_append_time_ms = -1;  // the broker time given to the batch (message.timestamp.type=LogAppendTime)
  struct record_error {
    int32_t batch_index = 0;  // the record's index in the batch
    std::string message;
  };
  std::vector<record_error> record_errors{};  // with invalid_record: the records at fault (Produce v8+, KIP-467)
};

// Which records a consumer may see (Fetch and ListOffsets isolation_level).
// read_committed stops at the last stable offset, the first offset of the
// oldest open transaction, and learns which transactions were aborted.
enum class isolation : int8_t { read_uncommitted = 0, read_committed = 1 };

// A transaction of `producer_id` that began at `first_offset` and was aborted:
// a read_committed consumer drops that producer's transactional batches from
// there up to its ABORT marker.
struct aborted_txn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  bool operator==(const aborted_txn&) const = default;
};

struct fetch_result {
  stream_error error = stream_error::none;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::vector<uint8_t> records;  // whole Kafka RecordBatches, byte for byte as produced
  int64_t last_stable_offset = -1;  // the high watermark, or the first offset of the oldest open transaction
  std::vector<aborted_txn> aborted{};  // read_committed: aborted transactions within the records returned
};

// A transaction marker (a COMMIT or ABORT control batch), written by the
// transaction coordinator into every partition of a transaction.
struct txn_marker {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool commit = false;
  int32_t coordinator_epoch = 0;
};

// ---- Cluster mode types ----
struct broker {
  int32_t id = 0;
  std::string host;
  int32_t port = 0;              // Kafka clients'
  int32_t replication_port = 0;  // followers'; 0: they use `port`
  std::map<std::string, int32_t> listener_ports;  // Kafka listeners' ports by protocol name
};

struct replica_assignment {
  std::string topic;
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> isr;
  int64_t revision = 0;  // the coordinator's mod_revision; a proposal compares it
  std::vector<int32_t> target_replicas;  // non-empty while the partition moves (cluster/state.h)
};

struct cluster_topic {
  std::string name;
  std::array<uint8_t, 16> id{};
  int32_t partitions = 0;
  int32_t replication_factor = 1;
  std::map<std::string, std::string> configs;
  // CreateTopics' manual placement: each partition's replicas, the first the
  // preferred leader. Empty: placed on live nodes.
  std::vector<std::vector<int32_t>> assignment;
};

struct cluster_snapshot {
  int64_t revision = 0;
  int32_t self = 0;
  int32_t controller = -1;
  std::vector<broker> brokers;  // live nodes
  std::vector<cluster_topic> topics;
  std::vector<replica_assignment> partitions;
  int64_t catch_up_bytes_per_second = 0;  // leaders' rate to replicas outside the isr; 0: unlimited
};

struct replication_config {
  int64_t replica_lag_time_max_ms = 10'000;  // an ISR member that has not caught up for this long is dropped
  int32_t default_replication_factor = 3;    // capped by the live nodes
  // true: a follower fsyncs what it fetched before it fetches again, so the
  // high watermark counts only records on every ISR member's disk. false
  // (Kafka's way): it counts records in every ISR member's log, fsynced by
  // the leader and by each follower's own fsync policy; losing them then
  // takes every ISR member's machine failing at once (kill -9 of processes
  // loses nothing: the page cache survives).
  bool follower_sync_before_fetch = false;
};

// What the streams face asks of the cluster. app/ implements it over
// cluster::agent; tests implement it in memory.
class cluster_link {
 public:
  virtual ~cluster_link() = default;
  // Blocking: creates the topic and places its replicas on live nodes. Returns
  // the state as written, so the caller can serve it before the next read.
  virtual result<cluster_snapshot> create_topic(const cluster_topic& topic) = 0;
  virtual status delete_topic(const std::string& name) = 0;
  virtual result<cluster_snapshot> add_partitions(const std::string& name, int32_t total) = 0;
  // Blocking: replaces the topic's configs (those set explicitly; the rest
  // take their defaults). Returns the state as written.
  virtual result<cluster_snapshot> alter_topic_configs(const std::string& name,
                                                       const std::map<std::string, std::string>& configs);
  // Asynchronous: proposes a new ISR for `current` (compared by revision).
  // `done` runs on the network thread.
  virtual void propose_isr(const replica_assignment& current, std::vector<int32_t> isr, std::function<void(status)> done) = 0;
};

struct followed_partition {
  std::string topic;
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int64_t log_end_offset = 0;
  int32_t latest_local_epoch = -1;  // the newest epoch in this replica's log
  bool ready = false;               // false while a truncation is running
};

struct truncation_point {
  int32_t leader_answer_epoch = -1;    // the largest epoch <= ours the leader knows; -1: none
  int64_t leader_answer_end_offset = -1;  // where that epoch ends on the leader
  int64_t restart_at = -1;             // >= 0: drop everything and start the log here
};

struct replication_lag {
  std::string topic;
  int32_t partition = 0;
  int32_t replica = 0;
  int64_t lag_offsets = 0;
  uint64_t lag_bytes = 0;  // estimated from the log's bytes per offset
  double lag_seconds = 0;  // since the replica last caught up
  bool in_isr = false;
};

struct replication_counters {
  uint64_t isr_shrinks = 0;
  uint64_t isr_expands = 0;
  uint64_t leadership_gained = 0;
  uint64_t truncations = 0;
};

class service {
 public:
  static result<std::unique_ptr<service>> open(service_config config, io::fs& fs, meta::kv& kv, scheduler& sched);
  virtual ~service() = default;

  // Stops the flusher after a final flush. Called before destruction.
  virtual void shutdown() = 0;

  virtual const service_config& config() const = 0;

  // Topic administration.
  // replication_factor -1 takes the server's default (always 1 on a single node).
  // `assignment` (cluster mode only) places each partition's replicas by hand.
  virtual result<topic_info> create_topic(const std::string& name, int32_t partitions,
                                          const std::map<std::string, std::string>& configs,
                                          int32_t replication_factor = -1,
                                          const std::vector<std::vector<int32_t>>& assignment = {}) = 0;
  virtual status delete_topic(const std::string& name) = 0;
  virtual status create_partitions(const std::string& name, int32_t total_partitions) = 0;
  virtual std::vector<topic_info> list_topics() const = 0;
  // Replaces the configs set on a topic with `configs` (keys left out return
  // to their defaults), durably, and applies them to its partitions at once.
  // With validate_only nothing changes. errc::invalid_argument names a bad
  // key or value; errc::not_found an unknown topic.
  virtual result<topic_info> alter_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                                                 bool validate_only);
  virtual result<topic_info> describe_topic(const std::string& name) const = 0;
  // Validates a name by Kafka's rules: 1..249 of [a-zA-Z0-9._-], not "." or "..".
  static status validate_topic_name(const std::string& name);

  // Appends the RecordBatches in `records` to a partition. When `wait_durable`
  // (acks=-1, or the per_batch fsync policy) `done` runs once the batch is
  // flushed; otherwise once it is written. `done` always runs exactly once.
  // In cluster mode `wait_durable` (acks=-1) waits for the ISR instead: `done`
  // runs once the high watermark passes the batch, or with request_timed_out
  // after timeout_ms.
  virtual void produce(const std::string& topic, int32_t partition, std::span<const uint8_t> records,
                       bool wait_durable, std::function<void(produce_result)> done, int32_t timeout_ms = 30'000) = 0;

  // Reads whole batches at and after `offset`, up to the high watermark
  // (read_uncommitted) or the last stable offset (read_committed).
  virtual fetch_result fetch(const std::string& topic, int32_t partition, int64_t offset,
                             uint32_t max_bytes, bool min_one, isolation level = isolation::read_uncommitted) = 0;

  // Calls `fn` once when the partition's high watermark next moves (or the
  // partition is deleted). Returns an id for unwatch.
  virtual uint64_t watch(const std::string& topic, int32_t partition, std::function<void()> fn) = 0;
  virtual void unwatch(uint64_t id) = 0;

  // ListOffsets: -1 latest (high watermark), -2 earliest, else the first
  // offset whose record timestamp >= timestamp_ms (-1 if none).
  struct offset_lookup {
    stream_error error = stream_error::none;
    int64_t offset = -1;
    int64_t timestamp_ms = -1;
  };
  // read_committed answers "latest" with the last stable offset, and finds
  // timestamps only below it.
  virtual offset_lookup list_offset(const std::string& topic, int32_t partition, int64_t timestamp_ms,
                                    isolation level = isolation::read_uncommitted) = 0;

  // Appends a COMMIT or ABORT marker for the producer's open transaction in
  // this partition and runs `done` once it is durable (in cluster mode:
  // replicated). An ABORT records the aborted range durably first, so a
  // read_committed consumer skips it also after a restart. A marker for a
  // producer with no open transaction here is still written (a coordinator
  // that retries after a crash cannot know it landed). The marker's epoch
  // fences older epochs of the producer.
  virtual void write_txn_marker(const std::string& topic, int32_t partition, const txn_marker& marker,
                                std::function<void(stream_error)> done);

  // Idempotent producers: a new producer id, or a bumped epoch for an existing one.
  struct producer_identity {
    stream_error error = stream_error::none;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
  };
  virtual producer_identity init_producer_id(int64_t producer_id, int16_t producer_epoch) = 0;

  // ---- Partition administration. The base class answers as for an unknown
  // partition (and an unknown disk), so test doubles need not. ----

  // DeleteRecords: moves the log start offset of a partition this node leads
  // up to `offset` (-1: the high watermark), durably; never backwards.
  // offset_out_of_range past the high watermark.
  struct delete_records_result {
    stream_error error = stream_error::none;
    int64_t low_watermark = -1;  // the log start offset afterwards
  };
  virtual delete_records_result delete_records(const std::string& topic, int32_t partition, int64_t offset);
  // DescribeProducers: the idempotent producers the partition's leader remembers.
  struct producers_result {
    stream_error error = stream_error::none;
    std::vector<active_producer> producers;
  };
  virtual producers_result describe_producers(const std::string& topic, int32_t partition) const;
  // DescribeLogDirs: the file system of config().data_dir; -1 when unknown.
  struct disk_usage {
    int64_t total_bytes = -1;
    int64_t usable_bytes = -1;
  };
  virtual disk_usage data_dir_usage() const;

  // ---- Cluster mode (see docs/cluster.md). A service without attach_cluster
  // is a single node and none of the calls below change anything. The base
  // class answers as a single node does, so test doubles need not. ----

  // Switches to cluster mode before the first apply_cluster: topics then come
  // from the cluster's state, not the local catalog.
  virtual void attach_cluster(cluster_link& link, replication_config config);
  // Applies the cluster's state as last read: opens the replicas this node
  // keeps, and makes it leader or follower of each, by leader and epoch.
  virtual void apply_cluster(const cluster_snapshot& snapshot);
  virtual const cluster_snapshot& cluster_state() const;
  virtual bool clustered() const;

  // Leader side of replication: a follower's fetch. Reads up to the log end
  // (not the high watermark) and counts the fetch offset as the follower's
  // durable end.
  virtual fetch_result fetch_for_replica(const std::string& topic, int32_t partition, int32_t replica_id,
                                         int32_t current_leader_epoch, int64_t offset, uint32_t max_bytes);
  // OffsetForLeaderEpoch: the largest epoch <= requested_epoch this replica
  // knows, and where it ends here.
  struct epoch_end {
    stream_error error = stream_error::none;
    int32_t leader_epoch = -1;
    int64_t end_offset = -1;
  };
  virtual epoch_end end_offset_for_epoch(const std::string& topic, int32_t partition, int32_t current_leader_epoch,
                                         int32_t requested_epoch);

  // Follower side. The partitions this node follows, for the fetchers.
  virtual std::vector<followed_partition> followed_partitions() const;
  // Appends a leader's batches (offsets as the leader assigned them) and runs
  // `done` once they are durable here, with the new log end.
  virtual void append_replicated(const std::string& topic, int32_t partition, int32_t leader_epoch,
                                 std::span<const uint8_t> records, int64_t leader_high_watermark,
                                 std::function<void(result<int64_t>)> done);
  // Cuts this follower's divergent tail, given the leader's OffsetForLeaderEpoch
  // answer for this replica's latest epoch (KIP-279), or restarts the log at
  // the leader's log start when this replica ends before it. `done` runs on
  // the network thread once the cut is durable.
  virtual void truncate_replica(const std::string& topic, int32_t partition, int32_t leader_epoch,
                                const truncation_point& point, std::function<void(status)> done);
  // The partitions this node leads, and their followers' progress (for
  // /metrics and the admin API).
  virtual std::vector<replication_lag> replication_lags() const;
  // This node's session with the cluster may have lapsed (it could not renew
  // its lease in time): it stops leading every partition until the next
  // cluster state it reads says otherwise, so a node cut off from the others
  // never goes on serving as a leader.
  virtual void fence_leadership();
  // Reads whole batches of a partition this node leads, up to its log end
  // (not the high watermark): for a new leader loading an internal topic
  // (consumer-group offsets), which must see every batch it will serve.
  virtual fetch_result read_led(const std::string& topic, int32_t partition, int64_t offset, uint32_t max_bytes);
  virtual replication_counters counters() const;
};

}  // namespace strata::streams
