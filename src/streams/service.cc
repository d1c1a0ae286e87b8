#include "streams/service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "io/fs.h"
#include "meta/kv.h"
#include "streams/compaction.h"
#include "streams/record_batch.h"
#include "streams/service_impl.h"

namespace strata::streams {

namespace detail {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

storage::log_config log_config_for(const storage::log_config& defaults, const topic_config& cfg) {
  storage::log_config out = defaults;
  out.segment_bytes_max = cfg.segment_bytes;
  out.segment_age_ms_max = cfg.segment_ms;
  out.retention_ms = cfg.retention_ms;
  out.retention_bytes = cfg.retention_bytes;
  out.entry_bytes_max = cfg.max_message_bytes;
  if (!cfg.cleanup_delete) {  // cleanup.policy=compact: records go only by compaction
    out.retention_ms = -1;
    out.retention_bytes = -1;
  }
  return out;
}

status refuse_compaction_in_cluster(const topic_config& cfg, bool clustered) {
  if (!cfg.cleanup_compact || !clustered) return {};
  return make_error(errc::invalid_argument,
                    "cleanup.policy=compact is not supported in cluster mode yet; use cleanup.policy=delete");
}

stream_error producer_error(producer_state::verdict outcome) {
  switch (outcome) {
    case producer_state::verdict::out_of_order: return stream_error::out_of_order_sequence;
    case producer_state::verdict::invalid_epoch: return stream_error::invalid_producer_epoch;
    case producer_state::verdict::unknown_producer: return stream_error::unknown_producer_id;
    default: return stream_error::none;
  }
}

const char* producer_error_message(producer_state::verdict outcome) {
  switch (outcome) {
    case producer_state::verdict::out_of_order: return "sequence number gap for this producer";
    case producer_state::verdict::invalid_epoch: return "producer epoch is older than the current one";
    case producer_state::verdict::unknown_producer: return "no state for this producer id; reset the producer";
    default: return "";
  }
}

}  // namespace

stream_error storage_error_of(const error& e) {
  return e.code == errc::limit_exceeded ? stream_error::message_too_large : stream_error::storage_error;
}

service_impl::service_impl(service_config config, io::fs& fs, meta::kv& kv, scheduler& sched)
    : config_(std::move(config)),
      fs_(fs),
      kv_(kv),
      sched_(sched),
      flusher_(sched, config_.fsync_interval_ms,
               [this](const std::shared_ptr<partition>& p, result<log_offset> r) { on_flushed(p, std::move(r)); }) {}

status service_impl::open() {
  STRATA_TRY(fs_.create_dirs(topics_dir()));
  if (config_.cluster_mode) {
    flusher_.start();
    schedule_retention();
    return {};
  }
  auto records = load_topics(kv_);
  STRATA_TRY(records);
  for (auto& rec : *records) {
    topic_state t;
    t.record = rec;
    for (auto& [k, v] : rec.configs) STRATA_TRY(apply_topic_config(t.config, k, v));
    for (int32_t i = 0; i < rec.partitions; ++i) {
      auto p = open_partition(rec, t.config, i);
      STRATA_TRY(p);
      t.partitions.push_back(std::move(*p));
    }
    topics_.emplace(rec.name, std::move(t));
  }
  STRATA_TRY(remove_orphan_dirs());
  flusher_.start();
  schedule_retention();
  compactor_.start();
  schedule_compaction();
  return {};
}

void service_impl::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (retention_timer_) sched_.cancel(retention_timer_);
  if (replication_timer_) sched_.cancel(replication_timer_);
  if (compaction_timer_) sched_.cancel(compaction_timer_);
  *compaction_alive_ = false;
  compactor_.stop();
  flusher_.stop();
}

result<topic_info> service_impl::create_topic(const std::string& name, int32_t partitions,
                                              const std::map<std::string, std::string>& configs, int32_t replication_factor,
                                              const std::vector<std::vector<int32_t>>& assignment) {
  STRATA_TRY(validate_topic_name(name));
  if (topics_.contains(name)) return make_error(errc::already_exists, fmt::format("topic {} already exists", name));
  if (partitions < 1 || partitions > config_.partitions_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("partition count {} is out of range: use 1 to {}", partitions, config_.partitions_max));
  }
  topic_state t;
  for (auto& [k, v] : configs) STRATA_TRY(apply_topic_config(t.config, k, v));
  STRATA_TRY(refuse_compaction_in_cluster(t.config, link_ != nullptr || config_.cluster_mode));
  if (link_) return create_topic_in_cluster(name, partitions, configs, replication_factor, assignment);
  if (!assignment.empty()) {
    return make_error(errc::invalid_argument,
                      "a replica assignment needs cluster mode; a single node keeps one replica of each partition");
  }
  if (replication_factor > 1) {
    return make_error(errc::invalid_argument,
                      fmt::format("replication factor {} needs cluster mode; a single node keeps one replica", replication_factor));
  }
  t.record = topic_record{name, new_topic_id(), partitions, configs};
  STRATA_TRY(save_topic(kv_, t.record));
  for (int32_t i = 0; i < partitions; ++i) {
    auto p = open_partition(t.record, t.config, i);
    STRATA_TRY(p);
    t.partitions.push_back(std::move(*p));
  }
  auto [it, inserted] = topics_.emplace(name, std::move(t));
  spdlog::info("created topic {} with {} partitions", name, partitions);
  return info_of(it->second);
}

status service_impl::delete_topic(const std::string& name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
  if (link_) {
    STRATA_TRY(link_->delete_topic(name));
  } else {
    STRATA_TRY(remove_topic(kv_, name));
  }
  std::string dir = topic_dir(it->second.record);
  for (auto& p : it->second.partitions) {
    retire_partition(p);
    if (!link_) forget_partition_state(*p);
  }
  auto doomed = std::move(it->second.partitions);
  topics_.erase(it);
  destroy_partitions(std::move(doomed), dir);
  spdlog::info("deleted topic {}", name);
  return {};
}

void service_impl::destroy_partitions(std::vector<std::shared_ptr<partition>> doomed, std::string dir) {
  flusher_.run_after_flushes([this, doomed = std::move(doomed), dir]() {
    for (auto& p : doomed) {
      if (!p->log) continue;
      auto s = p->log->destroy();
      if (!s.ok()) spdlog::warn("deleting partition files of {}-{}: {}", p->topic, p->id, s.err().message);
    }
    auto s = fs_.remove_all(dir);
    if (!s.ok()) spdlog::warn("deleting topic dir {}: {}", dir, s.err().message);
  });
}

status service_impl::create_partitions(const std::string& name, int32_t total) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
  topic_state& t = it->second;
  if (total <= t.record.partitions) {
    return make_error(errc::invalid_argument,
                      fmt::format("topic {} has {} partitions; the new count must be larger", name, t.record.partitions));
  }
  if (total > config_.partitions_max) {
    return make_error(errc::invalid_argument, fmt::format("partition count {} exceeds the limit {}", total, config_.partitions_max));
  }
  if (link_) {
    auto written = link_->add_partitions(name, total);
    STRATA_TRY(written);
    apply_snapshot_topics(*written, /*remove_missing=*/false);
    return {};
  }
  topic_record updated = t.record;
  updated.partitions = total;
  STRATA_TRY(save_topic(kv_, updated));
  t.record = updated;
  for (int32_t i = static_cast<int32_t>(t.partitions.size()); i < total; ++i) {
    auto p = open_partition(t.record, t.config, i);
    STRATA_TRY(p);
    t.partitions.push_back(std::move(*p));
  }
  return {};
}

std::vector<topic_info> service_impl::list_topics() const {
  std::vector<topic_info> out;
  for (auto& [name, t] : topics_) out.push_back(info_of(t));
  return out;
}

result<topic_info> service_impl::describe_topic(const std::string& name) const {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
  return info_of(it->second);
}

std::optional<produce_result> service_impl::refuse_produce(const partition& p, const topic_state& t, bool wait_durable) const {
  if (p.role != replica_role::leader || !p.hosted()) {
    return produce_result{stream_error::not_leader_or_follower,
                          fmt::format("node {} does not lead {}-{}; refresh metadata", cluster_.self, p.topic, p.id)};
  }
  if (p.failed) {
    return produce_result{stream_error::storage_error, "the partition's disk failed a sync; restart the server after fixing the disk"};
  }
  if (link_ && wait_durable && static_cast<int32_t>(p.isr.size()) < min_insync(t)) {
    return produce_result{stream_error::not_enough_replicas,
                          fmt::format("{}-{} has {} in-sync replicas; min.insync.replicas is {}", p.topic, p.id, p.isr.size(),
                                      min_insync(t))};
  }
  return std::nullopt;
}

void service_impl::produce(const std::string& topic, int32_t partition_id, std::span<const uint8_t> records, bool wait_durable,
                           std::function<void(produce_result)> done, int32_t timeout_ms) {
  auto [p, t] = find(topic, partition_id);
  if (!p) return done(produce_result{stream_error::unknown_topic_or_partition, "unknown topic or partition"});
  if (auto refused = refuse_produce(*p, *t, wait_durable)) return done(std::move(*refused));
  if (records.size() > t->config.max_message_bytes) {
    return done(produce_result{stream_error::message_too_large,
                               fmt::format("batch of {} bytes exceeds max.message.bytes {}", records.size(), t->config.max_message_bytes)});
  }
  batch_check check = check_single_batch(records);
  if (check.problem != batch_problem::none) {
    auto err = check.problem == batch_problem::unsupported_magic ? stream_error::unsupported_for_message_format
                                                                  : stream_error::corrupt_message;
    return done(produce_result{err, check.message});
  }
  const batch_header& h = check.header;
  if (auto refused = refuse_txn_batch(*p, h)) return done(std::move(*refused));
  if (t->config.cleanup_compact) {
    auto null_key = first_null_key(records, h);
    if (!null_key) return done(produce_result{stream_error::corrupt_message, null_key.err().message});
    if (*null_key) {
      produce_result refused;
      refused.error = stream_error::invalid_record;
      refused.message = fmt::format("topic {} is compacted (cleanup.policy=compact), so every record needs a key; record {} "
                                    "of the batch has none",
                                    topic, **null_key);
      refused.record_errors.push_back({**null_key, "a record in a compacted topic needs a non-null key"});
      return done(std::move(refused));
    }
  }
  const bool wait_replicated = link_ && wait_durable;
  const int64_t deadline_ms = sched_.now_ms() + std::max(timeout_ms, 0);
  if (h.idempotent()) {
    auto verdict = p->producers.check(h);
    if (verdict.outcome == producer_state::verdict::duplicate) {
      return answer_duplicate(p, verdict.duplicate_base_offset, verdict.duplicate_next_offset, wait_replicated, deadline_ms,
                              std::move(done));
    }
    if (verdict.outcome != producer_state::verdict::accept) {
      return done(produce_result{producer_error(verdict.outcome), producer_error_message(verdict.outcome)});
    }
  }
  const int64_t now_ms = wall_clock_ms();
  if (auto refused = stage_batch(t->config, records, h, now_ms)) return done(std::move(*refused));
  assign_batch_offset(append_buffer_, p->log->end_offset().value, p->leader_epoch);
  const int64_t log_append_time_ms = t->config.log_append_time ? now_ms : -1;
  auto appended = p->log->append(append_buffer_, h.offset_count(), t->config.log_append_time ? now_ms : h.max_timestamp_ms);
  if (!appended.ok()) {
    spdlog::warn("append to {}-{} failed: {}", topic, partition_id, appended.err().message);
    return done(produce_result{storage_error_of(appended.err()), appended.err().message});
  }
  if (h.idempotent()) p->producers.record(h, appended->base_offset.value);
  if (h.transactional()) p->txns.begin(h.producer_id, appended->base_offset.value);
  produce_result ok{stream_error::none, {}, appended->base_offset.value, p->log->start_offset().value, log_append_time_ms};
  if (link_) notify_watchers(*p);  // followers long-poll for the leader's new end
  if (wait_replicated) {
    answer_when_replicated(p, appended->next_offset.value, deadline_ms, std::move(ok), std::move(done));
  } else if (wait_durable || config_.fsync == fsync_policy::per_batch) {
    answer_when_durable(p, appended->next_offset.value, ok, std::move(done));
  } else {
    request_flush(p, false);
    done(ok);
  }
}

// Puts the batch in append_buffer_ as the topic stores it: recompressed to
// its compression.type, stamped with the broker's time under LogAppendTime.
std::optional<produce_result> service_impl::stage_batch(const topic_config& cfg, std::span<const uint8_t> records,
                                                        const batch_header& h, int64_t now_ms) {
  auto unreadable = [](const error& e) {
    return produce_result{e.code == errc::limit_exceeded ? stream_error::message_too_large : stream_error::corrupt_message,
                          e.message};
  };
  if (!cfg.log_append_time && cfg.timestamp_difference_max_ms != std::numeric_limits<int64_t>::max()) {
    auto outside = timestamp_out_of_range(records, now_ms, cfg.timestamp_difference_max_ms);
    if (!outside) return unreadable(outside.err());
    if (*outside) {
      return produce_result{stream_error::invalid_timestamp,
                            fmt::format("record timestamp {} is more than message.timestamp.difference.max.ms={} from the "
                                        "broker's time {}",
                                        **outside, cfg.timestamp_difference_max_ms, now_ms)};
    }
  }
  batch_rewrite how;
  if (cfg.compression != compression_type::producer) how.codec = static_cast<int>(cfg.compression);
  if (cfg.log_append_time) how.log_append_time_ms = now_ms;
  if (!rewrite_needed(h, how)) {
    append_buffer_.assign(records.begin(), records.end());
    return std::nullopt;
  }
  auto rewritten = rewrite_batch(records, how);
  if (!rewritten) return unreadable(rewritten.err());
  if (rewritten->size() > cfg.max_message_bytes) {
    return produce_result{stream_error::message_too_large,
                          fmt::format("batch of {} bytes after recompression exceeds max.message.bytes {}", rewritten->size(),
                                      cfg.max_message_bytes)};
  }
  append_buffer_ = std::move(*rewritten);
  return std::nullopt;
}

result<topic_info> service_impl::alter_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                                                     bool validate_only) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
  topic_config cfg;
  for (auto& [k, v] : configs) STRATA_TRY(apply_topic_config(cfg, k, v));
  STRATA_TRY(refuse_compaction_in_cluster(cfg, link_ != nullptr || config_.cluster_mode));
  if (validate_only) {
    topic_info info = info_of(it->second);
    info.config = cfg;
    info.explicit_configs = configs;
    return info;
  }
  if (link_) {
    auto written = link_->alter_topic_configs(name, configs);
    STRATA_TRY(written);
    applied_revision_ = std::max(applied_revision_, written->revision);
    apply_snapshot_topics(*written, /*remove_missing=*/false);
    auto now = topics_.find(name);
    if (now == topics_.end()) return make_error(errc::not_found, fmt::format("topic {} was deleted meanwhile", name));
    return info_of(now->second);
  }
  topic_record updated = it->second.record;
  updated.configs = configs;
  STRATA_TRY(save_topic(kv_, updated));
  it->second.record = std::move(updated);
  apply_config(it->second, cfg);
  spdlog::info("topic {}: configs changed", name);
  return info_of(it->second);
}

// Makes a topic's new configs take effect on its partitions now: produce
// reads them per batch, and the logs take their new limits (retention at once).
void service_impl::apply_config(topic_state& t, const topic_config& cfg) {
  t.config = cfg;
  const int64_t now = wall_clock_ms();
  for (auto& p : t.partitions) {
    if (!p->log || p->truncating) continue;
    auto s = p->log->reconfigure(log_config_for(config_.log_defaults, cfg));
    if (!s.ok()) spdlog::warn("{}-{}: the new configs do not fit its log: {}", p->topic, p->id, s.err().message);
    auto removed = p->log->enforce_retention(now);
    if (!removed.ok()) spdlog::warn("retention on {}-{}: {}", p->topic, p->id, removed.err().message);
  }
}

fetch_result service_impl::fetch(const std::string& topic, int32_t partition_id, int64_t offset, uint32_t max_bytes, bool min_one,
                                 isolation level) {
  fetch_result out;
  auto p = led(topic, partition_id, out.error);
  if (!p) return out;
  const int64_t hw = p->high_watermark;
  out.high_watermark = hw;
  out.log_start_offset = p->log->start_offset().value;
  out.last_stable_offset = last_stable_offset(*p);
  // Between the high watermark and the log end there is nothing to read yet
  // (a new leader's watermark may trail what the consumer saw before).
  if (offset > hw && offset <= p->log->end_offset().value) return out;
  if (offset < out.log_start_offset || offset > hw) {
    out.error = stream_error::offset_out_of_range;
    return out;
  }
  const int64_t upto = level == isolation::read_committed ? out.last_stable_offset : hw;
  if (offset >= upto) return out;
  out.error = read_into(*p, offset, max_bytes, upto, min_one, out.records);
  // Only the aborted transactions the returned batches can meet: a partition
  // may have many more below its last stable offset.
  if (level == isolation::read_committed && !out.records.empty()) {
    out.aborted = p->txns.aborted_overlapping(offset, offset_after_batches(out.records, upto));
  }
  return out;
}

uint64_t service_impl::watch(const std::string& topic, int32_t partition_id, std::function<void()> fn) {
  auto [p, t] = find(topic, partition_id);
  uint64_t id = next_watch_id_++;
  if (!p) {
    sched_.post(std::move(fn));
    return id;
  }
  p->watchers.emplace(id, std::move(fn));
  watch_owner_.emplace(id, p);
  return id;
}

void service_impl::unwatch(uint64_t id) {
  auto it = watch_owner_.find(id);
  if (it == watch_owner_.end()) return;
  it->second->watchers.erase(id);
  watch_owner_.erase(it);
}

service::offset_lookup service_impl::list_offset(const std::string& topic, int32_t partition_id, int64_t timestamp_ms,
                                                 isolation level) {
  offset_lookup out;
  auto p = led(topic, partition_id, out.error);
  if (!p) return out;
  // read_committed sees only below the last stable offset, also by timestamp
  // (as Kafka's ListOffsets): both bounds are batch boundaries.
  const int64_t readable = level == isolation::read_committed ? last_stable_offset(*p) : p->high_watermark;
  if (timestamp_ms == -1) {
    out.offset = readable;
    return out;
  }
  if (timestamp_ms == -2) {
    out.offset = p->log->start_offset().value;
    return out;
  }
  storage::read_result storage;
  auto found = p->log->find_by_timestamp(timestamp_ms, storage);
  if (!found.ok()) {
    out.error = stream_error::storage_error;
    return out;
  }
  if (!found->has_value() || (*found)->base_offset.value >= readable) return out;  // offset -1: no such record
  auto pos = first_record_at_or_after((*found)->payload, timestamp_ms);
  out.offset = std::max(pos.offset, p->log->start_offset().value);  // the entry may begin below a DeleteRecords start
  out.timestamp_ms = pos.timestamp_ms;
  return out;
}

service::producer_identity service_impl::init_producer_id(int64_t producer_id, int16_t producer_epoch) {
  producer_identity out;
  if (producer_id >= 0 && producer_epoch >= 0 && producer_epoch < std::numeric_limits<int16_t>::max() - 1) {
    out.producer_id = producer_id;
    out.producer_epoch = static_cast<int16_t>(producer_epoch + 1);
    return out;
  }
  auto id = allocate_producer_id(kv_);
  if (!id.ok()) {
    spdlog::warn("allocating a producer id failed: {}", id.err().message);
    out.error = stream_error::storage_error;
    return out;
  }
  // In a cluster the node id goes in the high bits, so ids handed out by
  // different nodes never collide (40 bits leave a trillion ids per node).
  constexpr int node_id_shift = 40;
  out.producer_id = link_ ? (static_cast<int64_t>(cluster_.self) << node_id_shift) | *id : *id;
  out.producer_epoch = 0;
  return out;
}

service::delete_records_result service_impl::delete_records(const std::string& topic, int32_t partition_id, int64_t offset) {
  delete_records_result out;
  auto p = led(topic, partition_id, out.error);
  if (!p) return out;
  const int64_t hw = p->high_watermark;
  const int64_t target = offset == -1 ? hw : offset;
  out.low_watermark = p->log->start_offset().value;
  if (target < 0 || target > hw) {
    out.error = stream_error::offset_out_of_range;
    return out;
  }
  if (auto s = p->log->advance_start(log_offset(target)); !s.ok()) {
    spdlog::warn("deleting records of {}-{} below {}: {}", topic, partition_id, target, s.err().message);
    out.error = stream_error::storage_error;
    return out;
  }
  const int64_t before = out.low_watermark;
  out.low_watermark = p->log->start_offset().value;
  forget_aborted_below_start(*p);
  if (out.low_watermark > before) spdlog::info("{}-{}: records below {} deleted", topic, partition_id, out.low_watermark);
  return out;
}

service::producers_result service_impl::describe_producers(const std::string& topic, int32_t partition_id) const {
  producers_result out;
  auto p = led(topic, partition_id, out.error);
  if (!p) return out;
  out.producers = p->producers.active();
  for (auto& a : out.producers) a.current_txn_start_offset = p->txns.open_first_offset(a.producer_id).value_or(-1);
  return out;
}

service::disk_usage service_impl::data_dir_usage() const {
  struct statvfs st{};
  if (::statvfs(config_.data_dir.c_str(), &st) != 0) return {};
  const auto block = static_cast<int64_t>(st.f_frsize);
  return {static_cast<int64_t>(st.f_blocks) * block, static_cast<int64_t>(st.f_bavail) * block};
}

std::string service_impl::topics_dir() const { return io::join_path(config_.data_dir, "topics"); }

std::string service_impl::topic_dir(const topic_record& rec) const {
  return io::join_path(topics_dir(), rec.name + "-" + topic_id_hex(rec.id));
}

result<std::shared_ptr<partition>> service_impl::open_partition(const topic_record& rec, const topic_config& cfg, int32_t id) {
  auto p = std::make_shared<partition>();
  p->topic = rec.name;
  p->id = id;
  p->dir = io::join_path(topic_dir(rec), std::to_string(id));
  auto log = storage::log::open(fs_, p->dir, log_config_for(config_.log_defaults, cfg));
  if (!log.ok()) {
    return make_error(log.err().code, fmt::format("opening partition {}-{}: {}", rec.name, id, log.err().message));
  }
  p->log = std::move(*log);
  p->high_watermark = p->log->flushed_offset().value;
  p->published_high_watermark = p->high_watermark;
  p->aborted_prefix = aborted_kv_prefix(topic_id_hex(rec.id), id);
  p->cleaned_key = cleaned_offset_kv_key(topic_id_hex(rec.id), id);
  STRATA_TRY(load_cleaned_offset(*p));
  STRATA_TRY(load_aborted_txns(*p));
  STRATA_TRY(rebuild_producer_state(*p));
  return p;
}

// Replays the batch headers of the newest part of the log so that a retried
// batch sent before a restart is still recognised as a duplicate.
status service_impl::rebuild_producer_state(partition& p) {
  constexpr uint64_t chunk_bytes = 4 * MiB;
  p.producers = producer_state{};
  log_offset at = replay_start(*p.log);
  const log_offset end = p.log->end_offset();
  while (at < end) {
    auto read = p.log->read(at, chunk_bytes, end, /*min_one=*/true);
    STRATA_TRY(read);
    if (read->entries.empty()) break;
    for (auto& e : read->entries) {
      replay_batch(p, e.payload, e.base_offset.value);
      at = e.base_offset + e.record_count;
    }
  }
  return {};
}

// Where to start replaying so that about producer_state_replay_bytes_max
// bytes remain, estimated from the log's average bytes per offset (the
// replay starts at a whole entry, so the estimate only moves the bound).
log_offset service_impl::replay_start(const storage::log& log) const {
  const uint64_t size = log.size_bytes();
  const int64_t offsets = log.end_offset() - log.start_offset();
  if (size <= config_.producer_state_replay_bytes_max || offsets <= 0) return log.start_offset();
  const double bytes_per_offset = static_cast<double>(size) / static_cast<double>(offsets);
  const auto skipped = static_cast<int64_t>(static_cast<double>(size - config_.producer_state_replay_bytes_max) / bytes_per_offset);
  return log.start_offset() + std::clamp<int64_t>(skipped, 0, offsets);
}

status service_impl::remove_orphan_dirs() {
  auto names = fs_.list(topics_dir());
  STRATA_TRY(names);
  for (auto& name : *names) {
    bool known = false;
    for (auto& [topic, t] : topics_) known = known || name == topic + "-" + topic_id_hex(t.record.id);
    if (!known) {
      spdlog::info("removing files of deleted topic {}", name);
      STRATA_TRY(fs_.remove_all(io::join_path(topics_dir(), name)));
    }
  }
  return {};
}

std::shared_ptr<partition> service_impl::led(const std::string& topic, int32_t id, stream_error& error) const {
  auto [p, t] = find(topic, id);
  if (!p) {
    error = stream_error::unknown_topic_or_partition;
  } else if (p->role != replica_role::leader || !p->hosted()) {
    error = stream_error::not_leader_or_follower;
    p = nullptr;
  }
  return p;
}

stream_error service_impl::read_into(partition& p, int64_t offset, uint32_t max_bytes, int64_t upto, bool min_one,
                                     std::vector<uint8_t>& out) {
  auto read = p.log->read(log_offset(offset), max_bytes, log_offset(upto), min_one);
  if (!read.ok()) {
    spdlog::warn("read of {}-{} at {} failed: {}", p.topic, p.id, offset, read.err().message);
    return stream_error::storage_error;
  }
  // The batches are the frames' payloads: they are moved together in the
  // read's own buffer, which then becomes `out`, so the bytes are not copied
  // into new memory a second time.
  std::vector<uint8_t>& buffer = read->buffer;
  size_t packed = 0;
  for (auto& e : read->entries) {
    const auto at = static_cast<size_t>(e.payload.data() - buffer.data());
    if (at != packed) std::memmove(buffer.data() + packed, e.payload.data(), e.payload.size());
    packed += e.payload.size();
  }
  buffer.resize(packed);
  if (out.empty()) {
    out = std::move(buffer);
  } else {
    out.insert(out.end(), buffer.begin(), buffer.end());
  }
  return stream_error::none;
}

std::pair<std::shared_ptr<partition>, topic_state*> service_impl::find(const std::string& topic, int32_t id) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || id < 0 || id >= static_cast<int32_t>(it->second.partitions.size())) return {nullptr, nullptr};
  return {it->second.partitions[id], const_cast<topic_state*>(&it->second)};
}

topic_info service_impl::info_of(const topic_state& t) const {
  topic_info info{t.record.name, t.record.id, t.config, {}, t.replication_factor, t.record.configs};
  for (auto& p : t.partitions) {
    partition_info pi;
    pi.id = p->id;
    pi.hosted = p->hosted();
    if (p->hosted()) {
      pi.log_start_offset = p->log->start_offset().value;
      pi.high_watermark = p->high_watermark;
      pi.log_end_offset = p->log->end_offset().value;
      pi.size_bytes = p->log->size_bytes();
    }
    pi.leader = p->leader_id;
    pi.leader_epoch = p->leader_epoch;
    pi.replicas = link_ ? p->replicas : std::vector<int32_t>{cluster_.self};
    pi.isr = link_ ? p->isr : std::vector<int32_t>{cluster_.self};
    pi.target_replicas = p->target_replicas;
    info.partitions.push_back(std::move(pi));
  }
  return info;
}

void service_impl::request_flush(const std::shared_ptr<partition>& p, bool urgent) {
  if (p->flush_requested && !urgent) return;
  p->flush_requested = true;
  // A follower whose fsyncs no acknowledgement waits for syncs on the
  // interval tick, leaving the disk to the leaders' per-batch syncs.
  const bool lazy_follower = link_ && p->role == replica_role::follower && !replication_.follower_sync_before_fetch;
  flusher_.request(p, urgent || (config_.fsync == fsync_policy::per_batch && !lazy_follower));
}

void service_impl::answer_duplicate(const std::shared_ptr<partition>& p, int64_t base, int64_t next, bool wait_replicated,
                                    int64_t deadline_ms, std::function<void(produce_result)> done) {
  produce_result ok{stream_error::none, {}, base, p->log->start_offset().value};
  if (wait_replicated) return answer_when_replicated(p, next, deadline_ms, std::move(ok), std::move(done));
  if (p->log->flushed_offset().value >= next) return done(ok);
  answer_when_durable(p, next, ok, std::move(done));
}

// Answers `ok` once the log is durable up to next_offset (an error if the
// flush fails or the partition goes away), and asks for that flush now.
void service_impl::answer_when_durable(const std::shared_ptr<partition>& p, int64_t next_offset, produce_result ok,
                                       std::function<void(produce_result)> done) {
  p->durable_waiters.push_back({next_offset, [ok = std::move(ok), done = std::move(done)](bool flushed) {
                                  done(flushed ? ok : produce_result{stream_error::storage_error, "the write could not be made durable"});
                                }});
  request_flush(p, true);
}

void service_impl::on_flushed(const std::shared_ptr<partition>& p, result<log_offset> flushed) {
  p->flush_requested = false;
  if (p->deleted || !p->log) return;
  if (!flushed.ok()) {
    spdlog::error("sync of partition {}-{} failed: {}; refusing writes to it until restart", p->topic, p->id,
                  flushed.err().message);
    p->failed = true;
    auto waiters = std::move(p->durable_waiters);
    p->durable_waiters.clear();
    for (auto& w : waiters) w.done(false);
    fail_replicated_waiters(*p, stream_error::storage_error);
    return;
  }
  int64_t durable = flushed->value;
  while (!p->durable_waiters.empty() && p->durable_waiters.front().next_offset <= durable) {
    auto w = std::move(p->durable_waiters.front());
    p->durable_waiters.pop_front();
    w.done(true);
  }
  // Producers still waiting need the next flush now; other unflushed data
  // waits for the policy (at once for per_batch, the next tick for interval).
  if (!p->durable_waiters.empty()) {
    request_flush(p, true);
  } else if (p->log->end_offset().value > durable) {
    request_flush(p, false);
  }
  update_high_watermark(p);
}

void service_impl::notify_watchers(partition& p) {
  auto watchers = std::move(p.watchers);
  p.watchers.clear();
  for (auto& [id, fn] : watchers) {
    watch_owner_.erase(id);
    fn();
  }
}

void service_impl::retire_partition(const std::shared_ptr<partition>& p) {
  p->deleted = true;
  auto waiters = std::move(p->durable_waiters);
  p->durable_waiters.clear();
  for (auto& w : waiters) w.done(false);
  fail_replicated_waiters(*p, stream_error::unknown_topic_or_partition);
  notify_watchers(*p);
}

void service_impl::schedule_retention() {
  retention_timer_ = sched_.after(config_.retention_check_interval_ms, [this] {
    retention_timer_ = 0;
    int64_t now = wall_clock_ms();
    for (auto& [name, t] : topics_) {
      for (auto& p : t.partitions) {
        if (!p->log || p->truncating) continue;
        auto removed = p->log->enforce_retention(now);
        if (!removed.ok()) spdlog::warn("retention on {}-{}: {}", name, p->id, removed.err().message);
        forget_aborted_below_start(*p);
      }
    }
    if (!stopped_) schedule_retention();
  });
}

}  // namespace detail

status service::validate_topic_name(const std::string& name) {
  constexpr size_t topic_name_bytes_max = 249;
  if (name.empty() || name.size() > topic_name_bytes_max || name == "." || name == "..") {
    return make_error(errc::invalid_argument,
                      fmt::format("topic name \"{}\" is invalid: use 1 to {} characters, not \".\" or \"..\"", name, topic_name_bytes_max));
  }
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) {
      return make_error(errc::invalid_argument,
                        fmt::format("topic name \"{}\" is invalid: use only letters, digits, '.', '_' and '-'", name));
    }
  }
  return {};
}

// The single-node answers of the cluster-mode calls (see service.h).
void service::attach_cluster(cluster_link&, replication_config) { STRATA_ASSERT(false, "this service has no cluster mode"); }
void service::apply_cluster(const cluster_snapshot&) {}
const cluster_snapshot& service::cluster_state() const {
  static const cluster_snapshot single_node;
  return single_node;
}
bool service::clustered() const { return false; }
fetch_result service::fetch_for_replica(const std::string&, int32_t, int32_t, int32_t, int64_t, uint32_t) {
  fetch_result out;
  out.error = stream_error::not_leader_or_follower;
  return out;
}
service::epoch_end service::end_offset_for_epoch(const std::string&, int32_t, int32_t, int32_t) {
  return {stream_error::not_leader_or_follower, -1, -1};
}
std::vector<followed_partition> service::followed_partitions() const { return {}; }
void service::append_replicated(const std::string&, int32_t, int32_t, std::span<const uint8_t>, int64_t,
                                std::function<void(result<int64_t>)> done) {
  done(make_error(errc::unsupported, "this node runs without cluster mode"));
}
void service::truncate_replica(const std::string&, int32_t, int32_t, const truncation_point&, std::function<void(status)> done) {
  done(make_error(errc::unsupported, "this node runs without cluster mode"));
}
std::vector<replication_lag> service::replication_lags() const { return {}; }
void service::fence_leadership() {}
fetch_result service::read_led(const std::string& topic, int32_t partition, int64_t offset, uint32_t max_bytes) {
  return fetch(topic, partition, offset, max_bytes, /*min_one=*/true);
}
replication_counters service::counters() const { return {}; }
result<topic_info> service::alter_topic_configs(const std::string&, const std::map<std::string, std::string>&, bool) {
  return make_error(errc::unsupported, "this service cannot change topic configs");
}
result<cluster_snapshot> cluster_link::alter_topic_configs(const std::string&, const std::map<std::string, std::string>&) {
  return make_error(errc::unsupported, "this cluster cannot change topic configs");
}
service::delete_records_result service::delete_records(const std::string&, int32_t, int64_t) {
  return {stream_error::unknown_topic_or_partition, -1};
}
void service::write_txn_marker(const std::string&, int32_t, const txn_marker&, std::function<void(stream_error)> done) {
  done(stream_error::unknown_topic_or_partition);
}
service::producers_result service::describe_producers(const std::string&, int32_t) const {
  return {stream_error::unknown_topic_or_partition, {}};
}
service::disk_usage service::data_dir_usage() const { return {}; }

result<std::unique_ptr<service>> service::open(service_config config, io::fs& fs, meta::kv& kv, scheduler& sched) {
  auto svc = std::make_unique<detail::service_impl>(std::move(config), fs, kv, sched);
  STRATA_TRY(svc->open());
  return std::unique_ptr<service>(std::move(svc));
}

}  // namespace strata::streams
