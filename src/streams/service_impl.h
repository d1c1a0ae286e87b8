// The streams service's implementation, shared by service.cc (topics, produce,
// fetch, durability) and service_cluster.cc (cluster mode: roles, the ISR and
// the high watermark, the follower side of replication). Internal to streams/.
#pragma once

#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "streams/catalog.h"
#include "streams/compactor.h"
#include "streams/flusher.h"
#include "replication/catch_up_throttle.h"
#include "streams/partition.h"
#include "streams/record_batch.h"
#include "streams/service.h"

namespace strata::streams::detail {

struct topic_state {
  topic_record record;
  topic_config config;
  int32_t replication_factor = 1;
  std::vector<std::shared_ptr<partition>> partitions;
};

class service_impl final : public service {
 public:
  service_impl(service_config config, io::fs& fs, meta::kv& kv, scheduler& sched);
  ~service_impl() override { shutdown(); }

  status open();
  void shutdown() override;
  const service_config& config() const override { return config_; }

  result<topic_info> create_topic(const std::string& name, int32_t partitions,
                                  const std::map<std::string, std::string>& configs, int32_t replication_factor,
                                  const std::vector<std::vector<int32_t>>& assignment) override;
  status delete_topic(const std::string& name) override;
  status create_partitions(const std::string& name, int32_t total) override;
  std::vector<topic_info> list_topics() const override;
  result<topic_info> alter_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                                         bool validate_only) override;
  result<topic_info> describe_topic(const std::string& name) const override;
  void produce(const std::string& topic, int32_t partition_id, std::span<const uint8_t> records, bool wait_durable,
               std::function<void(produce_result)> done, int32_t timeout_ms) override;
  fetch_result fetch(const std::string& topic, int32_t partition_id, int64_t offset, uint32_t max_bytes,
                     bool min_one, isolation level) override;
  uint64_t watch(const std::string& topic, int32_t partition_id, std::function<void()> fn) override;
  void unwatch(uint64_t id) override;
  offset_lookup list_offset(const std::string& topic, int32_t partition_id, int64_t timestamp_ms, isolation level) override;
  void write_txn_marker(const std::string& topic, int32_t partition_id, const txn_marker& marker,
                        std::function<void(stream_error)> done) override;
  producer_identity init_producer_id(int64_t producer_id, int16_t producer_epoch) override;
  delete_records_result delete_records(const std::string& topic, int32_t partition_id, int64_t offset) override;
  producers_result describe_producers(const std::string& topic, int32_t partition_id) const override;
  disk_usage data_dir_usage() const override;

  // Cluster mode (service_cluster.cc).
  void attach_cluster(cluster_link& link, replication_config config) override;
  void apply_cluster(const cluster_snapshot& snapshot) override;
  const cluster_snapshot& cluster_state() const override;
  bool clustered() const override { return link_ != nullptr; }
  fetch_result fetch_for_replica(const std::string& topic, int32_t partition, int32_t replica_id,
                                 int32_t current_leader_epoch, int64_t offset, uint32_t max_bytes) override;
  epoch_end end_offset_for_epoch(const std::string& topic, int32_t partition, int32_t current_leader_epoch,
                                 int32_t requested_epoch) override;
  std::vector<followed_partition> followed_partitions() const override;
  void append_replicated(const std::string& topic, int32_t partition, int32_t leader_epoch, std::span<const uint8_t> records,
                         int64_t leader_high_watermark, std::function<void(result<int64_t>)> done) override;
  void truncate_replica(const std::string& topic, int32_t partition, int32_t leader_epoch, const truncation_point& point,
                        std::function<void(status)> done) override;
  std::vector<replication_lag> replication_lags() const override;
  void fence_leadership() override;
  fetch_result read_led(const std::string& topic, int32_t partition, int64_t offset, uint32_t max_bytes) override;
  replication_counters counters() const override { return counters_; }

 private:
  // service.cc
  std::string topics_dir() const;
  std::string topic_dir(const topic_record& rec) const;
  result<std::shared_ptr<partition>> open_partition(const topic_record& rec, const topic_config& cfg, int32_t id);
  status rebuild_producer_state(partition& p);
  log_offset replay_start(const storage::log& log) const;
  status remove_orphan_dirs();
  std::pair<std::shared_ptr<partition>, topic_state*> find(const std::string& topic, int32_t id) const;
  // The partition if this node leads it and keeps its log; else null, with
  // `error` set to what the client should hear.
  std::shared_ptr<partition> led(const std::string& topic, int32_t id, stream_error& error) const;
  // Copies whole batches at and after `offset`, below `upto`, into `out`.
  stream_error read_into(partition& p, int64_t offset, uint32_t max_bytes, int64_t upto, bool min_one,
                         std::vector<uint8_t>& out);
  topic_info info_of(const topic_state& t) const;
  void request_flush(const std::shared_ptr<partition>& p, bool urgent);
  void answer_duplicate(const std::shared_ptr<partition>& p, int64_t base, int64_t next, bool wait_replicated,
                        int64_t deadline_ms, std::function<void(produce_result)> done);
  void answer_when_durable(const std::shared_ptr<partition>& p, int64_t next_offset, produce_result ok,
                           std::function<void(produce_result)> done);
  void on_flushed(const std::shared_ptr<partition>& p, result<log_offset> flushed);
  void notify_watchers(partition& p);
  void retire_partition(const std::shared_ptr<partition>& p);
  void schedule_retention();
  // transactions (service_txn.cc)
  void replay_batch(partition& p, std::span<const uint8_t> batch, int64_t base_offset);
  status load_aborted_txns(partition& p);
  void forget_aborted_below_start(partition& p);
  void forget_partition_state(partition& p);
  int64_t last_stable_offset(const partition& p) const;
  std::optional<produce_result> refuse_txn_batch(const partition& p, const batch_header& h) const;
  // compaction (service_compaction.cc)
  status load_cleaned_offset(partition& p);
  void schedule_compaction();
  void start_compactions();
  void finish_compaction(const std::shared_ptr<partition>& p, result<compaction_outcome> outcome);
  void destroy_partitions(std::vector<std::shared_ptr<partition>> doomed, std::string dir);
  std::optional<produce_result> refuse_produce(const partition& p, const topic_state& t, bool wait_durable) const;
  std::optional<produce_result> stage_batch(const topic_config& cfg, std::span<const uint8_t> records, const batch_header& h,
                                            int64_t now_ms);
  void apply_config(topic_state& t, const topic_config& cfg);

  // service_cluster.cc
  int32_t min_insync(const topic_state& t) const;
  void answer_when_replicated(const std::shared_ptr<partition>& p, int64_t next_offset, int64_t deadline_ms,
                              produce_result ok, std::function<void(produce_result)> done);
  void update_high_watermark(const std::shared_ptr<partition>& p);
  void complete_replicated_waiters(partition& p);
  void fail_replicated_waiters(partition& p, stream_error error);
  void apply_topic(const cluster_topic& ct);
  void apply_assignment(const replica_assignment& a);
  void become_leader(const std::shared_ptr<partition>& p, const replica_assignment& a);
  std::shared_ptr<partition> drop_local_replica(topic_state& t, const std::shared_ptr<partition>& p);
  void become_follower(const std::shared_ptr<partition>& p, const replica_assignment& a);
  void maybe_expand_isr(const std::shared_ptr<partition>& p);
  void check_isr_lag();
  void propose_isr(const std::shared_ptr<partition>& p, std::vector<int32_t> isr, bool shrink);
  void sweep_replicated_deadlines();
  void schedule_replication_tick();
  result<topic_info> create_topic_in_cluster(const std::string& name, int32_t partitions,
                                             const std::map<std::string, std::string>& configs, int32_t replication_factor,
                                             const std::vector<std::vector<int32_t>>& assignment);
  void apply_snapshot_topics(const cluster_snapshot& snapshot, bool remove_missing);
  int64_t epoch_start_offset(const partition& p) const;
  int64_t truncation_offset(const partition& p, const truncation_point& point) const;

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
  compactor compactor_{fs_};
  std::shared_ptr<bool> compaction_alive_ = std::make_shared<bool>(true);  // false once shut down: late completions do nothing
  scheduler::timer_id compaction_timer_ = 0;
  bool stopped_ = false;

  cluster_link* link_ = nullptr;
  replication_config replication_;
  cluster_snapshot cluster_;
  int64_t applied_revision_ = 0;  // views older than this are stale (a topic this node just wrote)
  scheduler::timer_id replication_timer_ = 0;
  replication_counters counters_;
  replication::catch_up_throttle catch_up_throttle_;
};

int64_t wall_clock_ms();
// The error a failed append answers: message_too_large for an entry over the log's limit.
stream_error storage_error_of(const error& e);

}  // namespace strata::streams::detail
