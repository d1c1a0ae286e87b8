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
};

// Per-topic settings, as Kafka topic configs (DescribeConfigs / CreateTopics).
struct topic_config {
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t retention_bytes = -1;
  uint64_t segment_bytes = 128ULL << 20;
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  uint32_t max_message_bytes = 1 << 20;
};

// Sets a Kafka-named config ("retention.ms", ...) on cfg; an error names the
// key or value at fault.
status apply_topic_config(topic_config& cfg, const std::string& name, const std::string& value);
// Every config as Kafka names and string values, in a stable order.
std::vector<std::pair<std::string, std::string>> describe_topic_config(const topic_config& cfg);

struct partition_info {
  int32_t id = 0;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;  // durable: every offset below survives a crash
  int64_t log_end_offset = 0;
  uint64_t size_bytes = 0;
};

struct topic_info {
  std::string name;
  std::array<uint8_t, 16> id{};
  topic_config config;
  std::vector<partition_info> partitions;
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
};

struct produce_result {
  stream_error error = stream_error::none;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_start_offset = -1;
};

struct fetch_result {
  stream_error error = stream_error::none;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::vector<uint8_t> records;  // whole Kafka RecordBatches, byte for byte as produced
};

class service {
 public:
  static result<std::unique_ptr<service>> open(service_config config, io::fs& fs, meta::kv& kv, scheduler& sched);
  virtual ~service() = default;

  // Stops the flusher after a final flush. Called before destruction.
  virtual void shutdown() = 0;

  virtual const service_config& config() const = 0;

  // Topic administration.
  virtual result<topic_info> create_topic(const std::string& name, int32_t partitions,
                                          const std::map<std::string, std::string>& configs) = 0;
  virtual status delete_topic(const std::string& name) = 0;
  virtual status create_partitions(const std::string& name, int32_t total_partitions) = 0;
  virtual std::vector<topic_info> list_topics() const = 0;
  virtual result<topic_info> describe_topic(const std::string& name) const = 0;
  // Validates a name by Kafka's rules: 1..249 of [a-zA-Z0-9._-], not "." or "..".
  static status validate_topic_name(const std::string& name);

  // Appends the RecordBatches in `records` to a partition. When `wait_durable`
  // (acks=-1, or the per_batch fsync policy) `done` runs once the batch is
  // flushed; otherwise once it is written. `done` always runs exactly once.
  virtual void produce(const std::string& topic, int32_t partition, std::span<const uint8_t> records,
                       bool wait_durable, std::function<void(produce_result)> done) = 0;

  // Reads whole batches at and after `offset`, up to the high watermark.
  virtual fetch_result fetch(const std::string& topic, int32_t partition, int64_t offset,
                             uint32_t max_bytes, bool min_one) = 0;

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
  virtual offset_lookup list_offset(const std::string& topic, int32_t partition, int64_t timestamp_ms) = 0;

  // Idempotent producers: a new producer id, or a bumped epoch for an existing one.
  struct producer_identity {
    stream_error error = stream_error::none;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
  };
  virtual producer_identity init_producer_id(int64_t producer_id, int16_t producer_epoch) = 0;
};

}  // namespace strata::streams
