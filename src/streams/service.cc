#include "streams/service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "io/fs.h"
#include "meta/kv.h"
#include "streams/catalog.h"
#include "streams/flusher.h"
#include "streams/partition.h"
#include "streams/record_batch.h"

namespace strata::streams {

namespace {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

storage::log_config log_config_for(const storage::log_config& defaults, const topic_config& cfg) {
  storage::log_config out = defaults;
  out.segment_bytes_max = cfg.segment_bytes;
  out.segment_age_ms_max = cfg.segment_ms;
  out.retention_ms = cfg.retention_ms;
  out.retention_bytes = cfg.retention_bytes;
  out.entry_bytes_max = cfg.max_message_bytes;
  return out;
}

stream_error storage_error_of(const error& e) {
  return e.code == errc::limit_exceeded ? stream_error::message_too_large : stream_error::storage_error;
}

struct topic_state {
  topic_record record;
  topic_config config;
  std::vector<std::shared_ptr<partition>> partitions;
};

class service_impl final : public service {
 public:
  service_impl(service_config config, io::fs& fs, meta::kv& kv, scheduler& sched)
      : config_(std::move(config)),
        fs_(fs),
        kv_(kv),
        sched_(sched),
        flusher_(sched, config_.fsync_interval_ms,
                 [this](const std::shared_ptr<partition>& p, result<log_offset> r) { on_flushed(p, std::move(r)); }) {}

  ~service_impl() override { shutdown(); }

  status open() {
    STRATA_TRY(fs_.create_dirs(topics_dir()));
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
    return {};
  }

  void shutdown() override {
    if (stopped_) return;
    stopped_ = true;
    if (retention_timer_) sched_.cancel(retention_timer_);
    flusher_.stop();
  }

  const service_config& config() const override { return config_; }

  result<topic_info> create_topic(const std::string& name, int32_t partitions,
                                  const std::map<std::string, std::string>& configs) override {
    STRATA_TRY(validate_topic_name(name));
    if (topics_.contains(name)) return make_error(errc::already_exists, fmt::format("topic {} already exists", name));
    if (partitions < 1 || partitions > config_.partitions_max) {
      return make_error(errc::invalid_argument,
                        fmt::format("partition count {} is out of range: use 1 to {}", partitions, config_.partitions_max));
    }
    topic_state t;
    for (auto& [k, v] : configs) STRATA_TRY(apply_topic_config(t.config, k, v));
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

  status delete_topic(const std::string& name) override {
    auto it = topics_.find(name);
    if (it == topics_.end()) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
    STRATA_TRY(remove_topic(kv_, name));
    std::string dir = topic_dir(it->second.record);
    for (auto& p : it->second.partitions) retire_partition(p);
    auto doomed = std::move(it->second.partitions);
    topics_.erase(it);
    flusher_.run_after_flushes([this, doomed = std::move(doomed), dir]() {
      for (auto& p : doomed) {
        auto s = p->log->destroy();
        if (!s.ok()) spdlog::warn("deleting partition files of {}-{}: {}", p->topic, p->id, s.err().message);
      }
      auto s = fs_.remove_all(dir);
      if (!s.ok()) spdlog::warn("deleting topic dir {}: {}", dir, s.err().message);
    });
    spdlog::info("deleted topic {}", name);
    return {};
  }

  status create_partitions(const std::string& name, int32_t total) override {
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

  std::vector<topic_info> list_topics() const override {
    std::vector<topic_info> out;
    for (auto& [name, t] : topics_) out.push_back(info_of(t));
    return out;
  }

  result<topic_info> describe_topic(const std::string& name) const override {
    auto it = topics_.find(name);
    if (it == topics_.end()) return make_error(errc::not_found, fmt::format("topic {} does not exist", name));
    return info_of(it->second);
  }

  void produce(const std::string& topic, int32_t partition_id, std::span<const uint8_t> records, bool wait_durable,
               std::function<void(produce_result)> done) override {
    auto [p, t] = find(topic, partition_id);
    if (!p) return done(produce_result{stream_error::unknown_topic_or_partition, "unknown topic or partition"});
    if (p->failed) {
      return done(produce_result{stream_error::storage_error, "the partition's disk failed a sync; restart the server after fixing the disk"});
    }
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
    if (h.transactional()) {
      return done(produce_result{stream_error::unsupported_for_message_format, "transactional produce is not supported yet"});
    }
    if (h.idempotent()) {
      auto verdict = p->producers.check(h);
      switch (verdict.outcome) {
        case producer_state::verdict::accept: break;
        case producer_state::verdict::duplicate:
          return answer_duplicate(p, verdict.duplicate_base_offset, verdict.duplicate_next_offset, std::move(done));
        case producer_state::verdict::out_of_order:
          return done(produce_result{stream_error::out_of_order_sequence, "sequence number gap for this producer"});
        case producer_state::verdict::invalid_epoch:
          return done(produce_result{stream_error::invalid_producer_epoch, "producer epoch is older than the current one"});
        case producer_state::verdict::unknown_producer:
          return done(produce_result{stream_error::unknown_producer_id, "no state for this producer id; reset the producer"});
      }
    }
    append_buffer_.assign(records.begin(), records.end());
    assign_batch_offset(append_buffer_, p->log->end_offset().value, 0);
    auto appended = p->log->append(append_buffer_, h.offset_count(), h.max_timestamp_ms);
    if (!appended.ok()) {
      spdlog::warn("append to {}-{} failed: {}", topic, partition_id, appended.err().message);
      return done(produce_result{storage_error_of(appended.err()), appended.err().message});
    }
    if (h.idempotent()) p->producers.record(h, appended->base_offset.value);
    produce_result ok{stream_error::none, {}, appended->base_offset.value, p->log->start_offset().value};
    if (wait_durable || config_.fsync == fsync_policy::per_batch) {
      answer_when_durable(p, appended->next_offset.value, ok, std::move(done));
    } else {
      request_flush(p, false);
      done(ok);
    }
  }

  fetch_result fetch(const std::string& topic, int32_t partition_id, int64_t offset, uint32_t max_bytes,
                     bool min_one) override {
    fetch_result out;
    auto [p, t] = find(topic, partition_id);
    if (!p) {
      out.error = stream_error::unknown_topic_or_partition;
      return out;
    }
    log_offset hw = p->log->flushed_offset();
    out.high_watermark = hw.value;
    out.log_start_offset = p->log->start_offset().value;
    if (offset < out.log_start_offset || offset > hw.value) {
      out.error = stream_error::offset_out_of_range;
      return out;
    }
    if (offset == hw.value) return out;
    auto read = p->log->read(log_offset(offset), max_bytes, hw, min_one);
    if (!read.ok()) {
      spdlog::warn("read of {}-{} at {} failed: {}", topic, partition_id, offset, read.err().message);
      out.error = stream_error::storage_error;
      return out;
    }
    size_t total = 0;
    for (auto& e : read->entries) total += e.payload.size();
    out.records.reserve(total);
    for (auto& e : read->entries) out.records.insert(out.records.end(), e.payload.begin(), e.payload.end());
    return out;
  }

  uint64_t watch(const std::string& topic, int32_t partition_id, std::function<void()> fn) override {
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

  void unwatch(uint64_t id) override {
    auto it = watch_owner_.find(id);
    if (it == watch_owner_.end()) return;
    it->second->watchers.erase(id);
    watch_owner_.erase(it);
  }

  offset_lookup list_offset(const std::string& topic, int32_t partition_id, int64_t timestamp_ms) override {
    offset_lookup out;
    auto [p, t] = find(topic, partition_id);
    if (!p) {
      out.error = stream_error::unknown_topic_or_partition;
      return out;
    }
    int64_t hw = p->log->flushed_offset().value;
    if (timestamp_ms == -1) {
      out.offset = hw;
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
    if (!found->has_value() || (*found)->base_offset.value >= hw) return out;  // offset -1: no such record
    auto pos = first_record_at_or_after((*found)->payload, timestamp_ms);
    out.offset = pos.offset;
    out.timestamp_ms = pos.timestamp_ms;
    return out;
  }

  producer_identity init_producer_id(int64_t producer_id, int16_t producer_epoch) override {
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
    out.producer_id = *id;
    out.producer_epoch = 0;
    return out;
  }

 private:
  std::string topics_dir() const { return io::join_path(config_.data_dir, "topics"); }
  std::string topic_dir(const topic_record& rec) const {
    return io::join_path(topics_dir(), rec.name + "-" + topic_id_hex(rec.id));
  }

  result<std::shared_ptr<partition>> open_partition(const topic_record& rec, const topic_config& cfg, int32_t id) {
    auto p = std::make_shared<partition>();
    p->topic = rec.name;
    p->id = id;
    p->dir = io::join_path(topic_dir(rec), std::to_string(id));
    auto log = storage::log::open(fs_, p->dir, log_config_for(config_.log_defaults, cfg));
    if (!log.ok()) {
      return make_error(log.err().code, fmt::format("opening partition {}-{}: {}", rec.name, id, log.err().message));
    }
    p->log = std::move(*log);
    p->published_high_watermark = p->log->flushed_offset().value;
    STRATA_TRY(rebuild_producer_state(*p));
    return p;
  }

  // Replays the batch headers of the newest part of the log so that a retried
  // batch sent before a restart is still recognised as a duplicate.
  status rebuild_producer_state(partition& p) {
    constexpr uint64_t chunk_bytes = 4 * MiB;
    log_offset at = replay_start(*p.log);
    const log_offset end = p.log->end_offset();
    while (at < end) {
      auto read = p.log->read(at, chunk_bytes, end, /*min_one=*/true);
      STRATA_TRY(read);
      if (read->entries.empty()) break;
      for (auto& e : read->entries) {
        auto h = read_batch_header(e.payload);
        if (h && h->idempotent() && h->base_sequence >= 0) p.producers.record(*h, e.base_offset.value);
        at = e.base_offset + e.record_count;
      }
    }
    return {};
  }

  // Where to start replaying so that about producer_state_replay_bytes_max
  // bytes remain, estimated from the log's average bytes per offset (the
  // replay starts at a whole entry, so the estimate only moves the bound).
  log_offset replay_start(const storage::log& log) const {
    const uint64_t size = log.size_bytes();
    const int64_t offsets = log.end_offset() - log.start_offset();
    if (size <= config_.producer_state_replay_bytes_max || offsets <= 0) return log.start_offset();
    const double bytes_per_offset = static_cast<double>(size) / static_cast<double>(offsets);
    const auto skipped = static_cast<int64_t>(static_cast<double>(size - config_.producer_state_replay_bytes_max) / bytes_per_offset);
    return log.start_offset() + std::clamp<int64_t>(skipped, 0, offsets);
  }

  status remove_orphan_dirs() {
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

  std::pair<std::shared_ptr<partition>, topic_state*> find(const std::string& topic, int32_t id) {
    auto it = topics_.find(topic);
    if (it == topics_.end() || id < 0 || id >= static_cast<int32_t>(it->second.partitions.size())) return {nullptr, nullptr};
    return {it->second.partitions[id], &it->second};
  }

  topic_info info_of(const topic_state& t) const {
    topic_info info{t.record.name, t.record.id, t.config, {}};
    for (auto& p : t.partitions) {
      info.partitions.push_back(partition_info{p->id, p->log->start_offset().value, p->log->flushed_offset().value,
                                               p->log->end_offset().value, p->log->size_bytes()});
    }
    return info;
  }

  void request_flush(const std::shared_ptr<partition>& p, bool urgent) {
    if (p->flush_requested && !urgent) return;
    p->flush_requested = true;
    flusher_.request(p, urgent || config_.fsync == fsync_policy::per_batch);
  }

  void answer_duplicate(const std::shared_ptr<partition>& p, int64_t base, int64_t next, std::function<void(produce_result)> done) {
    produce_result ok{stream_error::none, {}, base, p->log->start_offset().value};
    if (p->log->flushed_offset().value >= next) return done(ok);
    answer_when_durable(p, next, ok, std::move(done));
  }

  // Answers `ok` once the log is durable up to next_offset (an error if the
  // flush fails or the partition goes away), and asks for that flush now.
  void answer_when_durable(const std::shared_ptr<partition>& p, int64_t next_offset, produce_result ok,
                           std::function<void(produce_result)> done) {
    p->durable_waiters.push_back({next_offset, [ok = std::move(ok), done = std::move(done)](bool flushed) {
                                    done(flushed ? ok : produce_result{stream_error::storage_error, "the write could not be made durable"});
                                  }});
    request_flush(p, true);
  }

  void on_flushed(const std::shared_ptr<partition>& p, result<log_offset> flushed) {
    p->flush_requested = false;
    if (p->deleted) return;
    if (!flushed.ok()) {
      spdlog::error("sync of partition {}-{} failed: {}; refusing writes to it until restart", p->topic, p->id,
                    flushed.err().message);
      p->failed = true;
      auto waiters = std::move(p->durable_waiters);
      p->durable_waiters.clear();
      for (auto& w : waiters) w.done(false);
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
    if (durable > p->published_high_watermark) {
      p->published_high_watermark = durable;
      notify_watchers(*p);
    }
  }

  void notify_watchers(partition& p) {
    auto watchers = std::move(p.watchers);
    p.watchers.clear();
    for (auto& [id, fn] : watchers) {
      watch_owner_.erase(id);
      fn();
    }
  }

  void retire_partition(const std::shared_ptr<partition>& p) {
    p->deleted = true;
    auto waiters = std::move(p->durable_waiters);
    p->durable_waiters.clear();
    for (auto& w : waiters) w.done(false);
    notify_watchers(*p);
  }

  void schedule_retention() {
    retention_timer_ = sched_.after(config_.retention_check_interval_ms, [this] {
      retention_timer_ = 0;
      int64_t now = wall_clock_ms();
      for (auto& [name, t] : topics_) {
        for (auto& p : t.partitions) {
          auto removed = p->log->enforce_retention(now);
          if (!removed.ok()) spdlog::warn("retention on {}-{}: {}", name, p->id, removed.err().message);
        }
      }
      if (!stopped_) schedule_retention();
    });
  }

  service_config config_;
  io::fs& fs_;
  meta::kv& kv_;
  scheduler& sched_;
  flusher flusher_;
  std::map<std::string, topic_state> topics_;
  std::unordered_map<uint64_t, std::shared_ptr<partition>> watch_owner_;
  uint64_t next_watch_id_ = 1;
  std::vector<uint8_t> append_buffer_;
  scheduler::timer_id retention_timer_ = 0;
  bool stopped_ = false;
};

}  // namespace

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

result<std::unique_ptr<service>> service::open(service_config config, io::fs& fs, meta::kv& kv, scheduler& sched) {
  auto svc = std::make_unique<service_impl>(std::move(config), fs, kv, sched);
  STRATA_TRY(svc->open());
  return std::unique_ptr<service>(std::move(svc));
}

}  // namespace strata::streams
