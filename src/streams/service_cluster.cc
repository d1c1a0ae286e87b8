// Cluster mode of the streams service: roles by leader and epoch, the ISR and
// the high watermark on the leader, and the follower side of replication.
// See docs/cluster.md and docs/formats/replication.md.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "io/fs.h"
#include "streams/record_batch.h"
#include "streams/service_impl.h"

namespace strata::streams::detail {

namespace {

constexpr int64_t replication_tick_ms = 100;

bool contains(const std::vector<int32_t>& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

int32_t batch_leader_epoch(std::span<const uint8_t> batch) {
  constexpr size_t epoch_field_offset = 12;
  const uint8_t* b = batch.data() + epoch_field_offset;
  return static_cast<int32_t>((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
}

const char* replication_error_message(stream_error e) {
  switch (e) {
    case stream_error::not_leader_or_follower: return "leadership moved before the batch was replicated; retry";
    case stream_error::not_enough_replicas_after_append:
      return "written, but the in-sync replicas fell below min.insync.replicas before it was replicated";
    case stream_error::request_timed_out: return "the in-sync replicas did not confirm the batch within the request timeout";
    case stream_error::storage_error: return "the write could not be made durable";
    default: return "the batch was not replicated";
  }
}

std::string ids_text(const std::vector<int32_t>& ids) { return fmt::format("[{}]", fmt::join(ids, ",")); }

// A partition this node keeps no replica of (yet): known, offline, no leader.
std::shared_ptr<partition> unhosted_partition(const std::string& topic, int32_t id, std::string dir) {
  auto p = std::make_shared<partition>();
  p->topic = topic;
  p->id = id;
  p->dir = std::move(dir);
  p->role = replica_role::offline;
  p->leader_id = -1;
  return p;
}

}  // namespace

int32_t service_impl::min_insync(const topic_state& t) const {
  if (t.config.min_insync_replicas > 0) return t.config.min_insync_replicas;
  return t.replication_factor >= 3 ? 2 : 1;
}

void service_impl::attach_cluster(cluster_link& link, replication_config config) {
  STRATA_ASSERT(config_.cluster_mode, "attach_cluster needs service_config.cluster_mode");
  link_ = &link;
  replication_ = config;
  schedule_replication_tick();
}

void service_impl::apply_cluster(const cluster_snapshot& snapshot) {
  if (!link_ || snapshot.revision < applied_revision_) return;
  const bool first = applied_revision_ == 0;
  applied_revision_ = snapshot.revision;
  cluster_ = snapshot;
  catch_up_throttle_.set_rate(snapshot.catch_up_bytes_per_second, sched_.now_ms());
  apply_snapshot_topics(snapshot, /*remove_missing=*/true);
  if (first) {
    auto s = remove_orphan_dirs();
    if (!s.ok()) spdlog::warn("removing files of deleted topics: {}", s.err().message);
  }
}

const cluster_snapshot& service_impl::cluster_state() const { return cluster_; }

void service_impl::apply_snapshot_topics(const cluster_snapshot& snapshot, bool remove_missing) {
  for (auto& ct : snapshot.topics) apply_topic(ct);
  if (remove_missing) {
    std::vector<std::string> gone;
    for (auto& entry : topics_) {
      const std::string& name = entry.first;  // a plain name: clang 14 cannot capture structured bindings
      bool listed = std::any_of(snapshot.topics.begin(), snapshot.topics.end(), [&](const cluster_topic& c) { return c.name == name; });
      if (!listed) gone.push_back(name);
    }
    for (auto& name : gone) {
      auto it = topics_.find(name);
      for (auto& p : it->second.partitions) retire_partition(p);
      destroy_partitions(std::move(it->second.partitions), topic_dir(it->second.record));
      topics_.erase(it);
      spdlog::info("topic {} was deleted in the cluster; removed its replicas here", name);
    }
  }
  for (auto& a : snapshot.partitions) apply_assignment(a);
}

void service_impl::apply_topic(const cluster_topic& ct) {
  auto it = topics_.find(ct.name);
  if (it != topics_.end() && it->second.record.id != ct.id) {
    for (auto& p : it->second.partitions) retire_partition(p);
    destroy_partitions(std::move(it->second.partitions), topic_dir(it->second.record));
    topics_.erase(it);
    it = topics_.end();
  }
  if (it == topics_.end()) {
    topic_state t;
    t.record = topic_record{ct.name, ct.id, ct.partitions, ct.configs};
    t.replication_factor = ct.replication_factor;
    for (auto& [k, v] : ct.configs) {
      auto s = apply_topic_config(t.config, k, v);
      if (!s.ok()) spdlog::warn("topic {}: ignoring config {}: {}", ct.name, k, s.err().message);
    }
    it = topics_.emplace(ct.name, std::move(t)).first;
  }
  topic_state& t = it->second;
  if (t.record.configs != ct.configs) {
    topic_config cfg;
    for (auto& [k, v] : ct.configs) {
      auto s = apply_topic_config(cfg, k, v);
      if (!s.ok()) spdlog::warn("topic {}: ignoring config {}: {}", ct.name, k, s.err().message);
    }
    t.record.configs = ct.configs;
    apply_config(t, cfg);
    spdlog::info("topic {}: configs changed in the cluster; applied here", ct.name);
  }
  t.record.partitions = std::max(t.record.partitions, ct.partitions);
  for (int32_t i = static_cast<int32_t>(t.partitions.size()); i < t.record.partitions; ++i) {
    t.partitions.push_back(unhosted_partition(ct.name, i, io::join_path(topic_dir(t.record), std::to_string(i))));
  }
}

void service_impl::apply_assignment(const replica_assignment& a) {
  auto [p, t] = find(a.topic, a.partition);
  if (!p || (a.revision != 0 && a.revision < p->state_revision)) return;
  if (p->truncating) {
    p->deferred = a;
    return;
  }
  const int32_t self = cluster_.self;
  const bool replica_here = contains(a.replicas, self);
  if (!replica_here && a.revision != 0) p = drop_local_replica(*t, p);
  if (replica_here && !p->hosted()) {
    auto opened = open_partition(t->record, t->config, a.partition);
    if (!opened.ok()) {
      spdlog::error("cannot open the replica of {}-{} here: {}", a.topic, a.partition, opened.err().message);
      return;
    }
    auto epochs = replication::epoch_cache::open(fs_, (*opened)->dir);
    if (!epochs.ok()) {
      spdlog::error("cannot open the leader epochs of {}-{}: {}", a.topic, a.partition, epochs.err().message);
      return;
    }
    p->log = std::move((*opened)->log);
    p->producers = std::move((*opened)->producers);
    // What was committed before a restart is not known here (no watermark is
    // saved): start at the log start and let the leader's answers, or the
    // followers' fetches, bring it up. Never expose an uncommitted tail.
    p->high_watermark = p->log->start_offset().value;
    p->published_high_watermark = p->high_watermark;
    p->epochs.emplace(std::move(*epochs));
  }
  if (a.revision != 0) p->state_revision = a.revision;
  const bool replicas_changed = p->replicas != a.replicas;
  p->replicas = a.replicas;
  p->target_replicas = a.target_replicas;
  const bool epoch_changed = p->leader_epoch != a.leader_epoch || p->leader_id != a.leader;
  if (replica_here && a.leader == self) {
    if (p->role != replica_role::leader || epoch_changed) return become_leader(p, a);
  } else if (replica_here && a.leader >= 0) {
    if (p->role != replica_role::follower || epoch_changed) return become_follower(p, a);
  } else if (p->role != replica_role::offline) {
    fail_replicated_waiters(*p, stream_error::not_leader_or_follower);
    p->role = replica_role::offline;
    notify_watchers(*p);
  }
  p->leader_id = a.leader;
  p->leader_epoch = a.leader_epoch;
  p->isr = a.isr;
  if (p->role == replica_role::leader) {
    if (replicas_changed) p->replica_set.set_replicas(a.replicas, sched_.now_ms());
    p->replica_set.set_isr(a.isr);
    update_high_watermark(p);
  }
}

// This node is no longer a replica (a move finished without it, possibly
// while it was down): its copy goes, and the partition stays known here,
// unhosted, for the NOT_LEADER answers.
std::shared_ptr<partition> service_impl::drop_local_replica(topic_state& t, const std::shared_ptr<partition>& p) {
  if (!p->hosted()) {
    if (!p->stale_dir_checked) {
      p->stale_dir_checked = true;
      auto there = fs_.exists(p->dir);
      if (there.ok() && *there) {
        destroy_partitions({}, p->dir);
        spdlog::info("{}-{}: this node is not one of its replicas; removed the files left here", p->topic, p->id);
      }
    }
    return p;
  }
  retire_partition(p);
  auto fresh = unhosted_partition(p->topic, p->id, p->dir);
  fresh->stale_dir_checked = true;
  t.partitions[static_cast<size_t>(p->id)] = fresh;
  destroy_partitions({p}, p->dir);
  spdlog::info("{}-{}: this node is no longer one of its replicas; its copy is removed", p->topic, p->id);
  return fresh;
}

void service_impl::become_leader(const std::shared_ptr<partition>& p, const replica_assignment& a) {
  const int64_t end = p->log->end_offset().value;
  p->role = replica_role::leader;
  p->leader_id = cluster_.self;
  p->leader_epoch = a.leader_epoch;
  p->isr = a.isr;
  p->isr_change_pending = false;
  if (p->epochs) {
    auto s = p->epochs->assign(a.leader_epoch, end);
    if (!s.ok()) spdlog::error("{}-{}: recording leader epoch {}: {}", p->topic, p->id, a.leader_epoch, s.err().message);
  }
  p->replica_set.reset(cluster_.self, a.replicas, a.isr, sched_.now_ms());
  ++counters_.leadership_gained;
  spdlog::info("leading {}-{} at epoch {} from offset {} (isr {})", p->topic, p->id, a.leader_epoch, end, ids_text(a.isr));
  update_high_watermark(p);
  notify_watchers(*p);
}

void service_impl::become_follower(const std::shared_ptr<partition>& p, const replica_assignment& a) {
  fail_replicated_waiters(*p, stream_error::not_leader_or_follower);
  p->role = replica_role::follower;
  p->leader_id = a.leader;
  p->leader_epoch = a.leader_epoch;
  p->isr = a.isr;
  p->leader_high_watermark = p->high_watermark;
  spdlog::info("following {}-{} on node {} at epoch {}", p->topic, p->id, a.leader, a.leader_epoch);
  notify_watchers(*p);
}

void service_impl::update_high_watermark(const std::shared_ptr<partition>& p) {
  if (!p->hosted()) return;
  const int64_t durable = p->log->flushed_offset().value;
  int64_t hw = durable;
  if (link_ && p->role == replica_role::leader) {
    hw = std::max(p->high_watermark, p->replica_set.high_watermark(durable));
  } else if (link_) {
    // A follower's copy counts once it is in the log unless acknowledgements
    // wait for followers' syncs.
    const int64_t held = replication_.follower_sync_before_fetch ? durable : p->log->end_offset().value;
    hw = std::max(p->high_watermark, std::min(p->leader_high_watermark, held));
  }
  hw = std::min(hw, p->log->end_offset().value);
  p->high_watermark = hw;
  complete_replicated_waiters(*p);
  if (hw > p->published_high_watermark) {
    p->published_high_watermark = hw;
    notify_watchers(*p);
  }
}

void service_impl::answer_when_replicated(const std::shared_ptr<partition>& p, int64_t next_offset, int64_t deadline_ms,
                                          produce_result ok, std::function<void(produce_result)> done) {
  p->replicated_waiters.push_back({next_offset, deadline_ms, [ok = std::move(ok), done = std::move(done)](stream_error e) {
                                     done(e == stream_error::none ? ok : produce_result{e, replication_error_message(e)});
                                   }});
  request_flush(p, true);
  update_high_watermark(p);
}

void service_impl::complete_replicated_waiters(partition& p) {
  if (p.replicated_waiters.empty()) return;
  auto t = topics_.find(p.topic);
  const int32_t needed = t == topics_.end() ? 1 : min_insync(t->second);
  while (!p.replicated_waiters.empty() && p.replicated_waiters.front().next_offset <= p.high_watermark) {
    auto w = std::move(p.replicated_waiters.front());
    p.replicated_waiters.pop_front();
    w.done(static_cast<int32_t>(p.isr.size()) < needed ? stream_error::not_enough_replicas_after_append : stream_error::none);
  }
}

void service_impl::fail_replicated_waiters(partition& p, stream_error error) {
  auto waiters = std::move(p.replicated_waiters);
  p.replicated_waiters.clear();
  for (auto& w : waiters) w.done(error);
}

void service_impl::schedule_replication_tick() {
  replication_timer_ = sched_.after(replication_tick_ms, [this] {
    replication_timer_ = 0;
    sweep_replicated_deadlines();
    check_isr_lag();
    if (!stopped_) schedule_replication_tick();
  });
}

void service_impl::sweep_replicated_deadlines() {
  const int64_t now = sched_.now_ms();
  std::vector<std::function<void(stream_error)>> expired;  // answered after the walk: an answer may queue more
  for (auto& [name, t] : topics_) {
    for (auto& p : t.partitions) {
      auto& waiters = p->replicated_waiters;
      for (auto it = waiters.begin(); it != waiters.end();) {
        if (it->deadline_ms > now) {
          ++it;
          continue;
        }
        expired.push_back(std::move(it->done));
        it = waiters.erase(it);
      }
    }
  }
  for (auto& done : expired) done(stream_error::request_timed_out);
}

void service_impl::check_isr_lag() {
  const int64_t now = sched_.now_ms();
  for (auto& [name, t] : topics_) {
    for (auto& p : t.partitions) {
      if (p->role != replica_role::leader || !p->hosted()) continue;
      auto lagging = p->replica_set.lagging(now, replication_.replica_lag_time_max_ms);
      if (lagging.empty()) continue;
      std::vector<int32_t> isr;
      for (int32_t id : p->isr) {
        if (!contains(lagging, id)) isr.push_back(id);
      }
      propose_isr(p, std::move(isr), /*shrink=*/true);
    }
  }
}

void service_impl::maybe_expand_isr(const std::shared_ptr<partition>& p) {
  auto joining = p->replica_set.caught_up(p->high_watermark, epoch_start_offset(*p));
  if (joining.empty()) return;
  std::vector<int32_t> isr = p->isr;
  for (int32_t id : joining) isr.push_back(id);
  propose_isr(p, std::move(isr), /*shrink=*/false);
}

void service_impl::propose_isr(const std::shared_ptr<partition>& p, std::vector<int32_t> isr, bool shrink) {
  if (p->isr_change_pending || p->state_revision == 0) return;
  p->isr_change_pending = true;
  replica_assignment current{p->topic,       p->id,          p->replicas, p->leader_id, p->leader_epoch,
                             p->isr,         p->state_revision, p->target_replicas};
  std::weak_ptr<partition> weak = p;
  const int32_t epoch = p->leader_epoch;
  link_->propose_isr(current, isr, [this, weak, isr, shrink, epoch](status s) {
    auto p = weak.lock();
    if (!p) return;
    p->isr_change_pending = false;
    if (!s.ok()) {
      spdlog::info("{}-{}: ISR change to {} not applied: {}", p->topic, p->id, ids_text(isr), s.err().message);
      return;
    }
    spdlog::info("{}-{}: ISR {} -> {}", p->topic, p->id, ids_text(p->isr), ids_text(isr));
    if (p->role != replica_role::leader || p->leader_epoch != epoch) return;
    ++(shrink ? counters_.isr_shrinks : counters_.isr_expands);
    p->isr = isr;
    p->replica_set.set_isr(isr);
    update_high_watermark(p);
  });
}

int64_t service_impl::epoch_start_offset(const partition& p) const {
  if (!p.epochs || p.epochs->entries().empty()) return 0;
  return p.epochs->entries().back().start_offset;
}

result<topic_info> service_impl::create_topic_in_cluster(const std::string& name, int32_t partitions,
                                                         const std::map<std::string, std::string>& configs,
                                                         int32_t replication_factor,
                                                         const std::vector<std::vector<int32_t>>& assignment) {
  const auto live = static_cast<int32_t>(cluster_.brokers.size());
  int32_t factor = replication_factor > 0 ? replication_factor : std::min(replication_.default_replication_factor, live);
  if (!assignment.empty()) {
    if (static_cast<int32_t>(assignment.size()) != partitions) {
      return make_error(errc::invalid_argument, fmt::format("the assignment names {} partitions; the topic has {}",
                                                            assignment.size(), partitions));
    }
    factor = static_cast<int32_t>(assignment.front().size());
  }
  factor = std::max(factor, 1);
  cluster_topic topic{name, new_topic_id(), partitions, factor, configs, assignment};
  auto written = link_->create_topic(topic);
  STRATA_TRY(written);
  applied_revision_ = std::max(applied_revision_, written->revision);
  apply_snapshot_topics(*written, /*remove_missing=*/false);
  spdlog::info("created topic {} with {} partitions and {} replicas each", name, partitions, factor);
  return info_of(topics_.at(name));
}

fetch_result service_impl::fetch_for_replica(const std::string& topic, int32_t partition_id, int32_t replica_id,
                                             int32_t current_leader_epoch, int64_t offset, uint32_t max_bytes) {
  fetch_result out;
  auto p = led(topic, partition_id, out.error);
  if (!p) return out;
  if (current_leader_epoch >= 0 && current_leader_epoch != p->leader_epoch) {
    out.error = current_leader_epoch < p->leader_epoch ? stream_error::fenced_leader_epoch : stream_error::unknown_leader_epoch;
    return out;
  }
  const int64_t end = p->log->end_offset().value;
  out.log_start_offset = p->log->start_offset().value;
  if (offset < out.log_start_offset || offset > end) {
    out.high_watermark = p->high_watermark;
    out.error = stream_error::offset_out_of_range;
    return out;
  }
  if (!p->replica_set.on_fetch(replica_id, offset, end, sched_.now_ms())) {
    out.error = stream_error::not_leader_or_follower;
    return out;
  }
  update_high_watermark(p);
  maybe_expand_isr(p);
  out.high_watermark = p->high_watermark;
  if (offset == end) return out;
  // Only replicas outside the isr (catching up) are throttled.
  const bool catching_up = !p->replica_set.in_isr(replica_id);
  const uint32_t allowed_bytes =
      catching_up ? std::min(max_bytes, catch_up_throttle_.allowance(sched_.now_ms())) : max_bytes;
  if (allowed_bytes == 0) return out;  // throttled: nothing this time
  out.error = read_into(*p, offset, allowed_bytes, end, /*min_one=*/true, out.records);
  if (catching_up) catch_up_throttle_.spent(out.records.size());
  return out;
}

service::epoch_end service_impl::end_offset_for_epoch(const std::string& topic, int32_t partition_id,
                                                      int32_t current_leader_epoch, int32_t requested_epoch) {
  epoch_end out;
  auto [p, t] = find(topic, partition_id);
  if (!p) {
    out.error = stream_error::unknown_topic_or_partition;
    return out;
  }
  if (!link_ && p->hosted()) {  // a single node has led every partition at epoch 0
    out.leader_epoch = requested_epoch < 0 ? -1 : 0;
    out.end_offset = requested_epoch < 0 ? -1 : p->log->end_offset().value;
    return out;
  }
  if (p->role != replica_role::leader || !p->hosted() || !p->epochs) {
    out.error = stream_error::not_leader_or_follower;
    return out;
  }
  if (current_leader_epoch >= 0 && current_leader_epoch != p->leader_epoch) {
    out.error = current_leader_epoch < p->leader_epoch ? stream_error::fenced_leader_epoch : stream_error::unknown_leader_epoch;
    return out;
  }
  auto found = p->epochs->end_offset_for(requested_epoch, p->log->end_offset().value);
  out.leader_epoch = found.epoch;
  out.end_offset = found.end_offset;
  return out;
}

fetch_result service_impl::read_led(const std::string& topic, int32_t partition_id, int64_t offset, uint32_t max_bytes) {
  fetch_result out;
  auto p = led(topic, partition_id, out.error);
  if (!p) return out;
  const int64_t end = p->log->end_offset().value;
  out.high_watermark = p->high_watermark;
  out.log_start_offset = p->log->start_offset().value;
  if (offset < out.log_start_offset || offset > end) {
    out.error = stream_error::offset_out_of_range;
    return out;
  }
  if (offset == end) return out;
  out.error = read_into(*p, offset, max_bytes, end, /*min_one=*/true, out.records);
  return out;
}

void service_impl::fence_leadership() {
  size_t fenced = 0;
  for (auto& [name, t] : topics_) {
    for (auto& p : t.partitions) {
      if (p->role != replica_role::leader) continue;
      fail_replicated_waiters(*p, stream_error::not_leader_or_follower);
      p->role = replica_role::offline;
      p->leader_id = -1;
      notify_watchers(*p);
      ++fenced;
    }
  }
  if (fenced > 0) spdlog::warn("cluster: this node's lease is unconfirmed; it stopped leading {} partitions", fenced);
}

std::vector<followed_partition> service_impl::followed_partitions() const {
  std::vector<followed_partition> out;
  for (auto& [name, t] : topics_) {
    for (auto& p : t.partitions) {
      if (p->role != replica_role::follower || !p->hosted()) continue;
      out.push_back({p->topic, p->id, p->leader_id, p->leader_epoch, p->log->end_offset().value,
                     p->epochs ? p->epochs->latest_epoch() : -1, !p->truncating});
    }
  }
  return out;
}

void service_impl::append_replicated(const std::string& topic, int32_t partition_id, int32_t leader_epoch,
                                     std::span<const uint8_t> records, int64_t leader_high_watermark,
                                     std::function<void(result<int64_t>)> done) {
  auto [p, t] = find(topic, partition_id);
  if (!p || !p->hosted()) return done(make_error(errc::not_found, fmt::format("no replica of {}-{} here", topic, partition_id)));
  if (p->role != replica_role::follower || p->leader_epoch != leader_epoch || p->truncating) {
    return done(make_error(errc::unavailable, fmt::format("{}-{} is no longer followed at epoch {}", topic, partition_id, leader_epoch)));
  }
  size_t pos = 0;
  while (pos + batch_header_bytes <= records.size()) {
    auto h = read_batch_header(records.subspan(pos));
    if (!h || pos + h->total_bytes() > records.size()) break;  // a partial last batch is fetched again
    auto batch = records.subspan(pos, h->total_bytes());
    batch_check check = check_single_batch(batch);
    if (check.problem != batch_problem::none) return done(make_error(errc::corrupt, "leader sent a bad batch: " + check.message));
    const int64_t end = p->log->end_offset().value;
    if (h->base_offset != end) {
      return done(make_error(errc::invalid_argument,
                             fmt::format("{}-{}: leader's batch starts at {} but this log ends at {}", topic, partition_id, h->base_offset, end)));
    }
    const int32_t epoch = batch_leader_epoch(batch);
    if (p->epochs && epoch > p->epochs->latest_epoch()) {
      auto recorded = p->epochs->assign(epoch, end);
      if (!recorded.ok()) return done(recorded.err());
    }
    auto appended = p->log->append(batch, h->offset_count(), h->max_timestamp_ms);
    if (!appended.ok()) return done(appended.err());
    if (h->idempotent()) p->producers.record(*h, end);
    pos += h->total_bytes();
  }
  p->leader_high_watermark = leader_high_watermark;
  const int64_t end = p->log->end_offset().value;
  if (p->log->flushed_offset().value >= end) {
    update_high_watermark(p);
    return done(end);
  }
  if (!replication_.follower_sync_before_fetch) {
    request_flush(p, false);
    update_high_watermark(p);
    return done(end);
  }
  p->durable_waiters.push_back({end, [end, done = std::move(done)](bool flushed) {
                                  if (flushed) return done(end);
                                  done(make_error(errc::io_error, "the replica could not be made durable"));
                                }});
  request_flush(p, true);
}

// KIP-279: the leader's end of the largest epoch both have, and never past
// where that epoch ends here.
int64_t service_impl::truncation_offset(const partition& p, const truncation_point& point) const {
  const int64_t end = p.log->end_offset().value;
  if (point.leader_answer_epoch < 0 || point.leader_answer_end_offset < 0) return p.log->start_offset().value;
  int64_t at = std::min(point.leader_answer_end_offset, end);
  if (p.epochs) {
    auto local = p.epochs->end_offset_for(point.leader_answer_epoch, end);
    if (local.epoch == point.leader_answer_epoch && local.end_offset >= 0) at = std::min(at, local.end_offset);
  }
  return at;
}

void service_impl::truncate_replica(const std::string& topic, int32_t partition_id, int32_t leader_epoch,
                                    const truncation_point& point, std::function<void(status)> done) {
  std::shared_ptr<partition> p = find(topic, partition_id).first;  // captured below: not a structured binding
  if (!p || !p->hosted()) return done(make_error(errc::not_found, fmt::format("no replica of {}-{} here", topic, partition_id)));
  if (p->role != replica_role::follower || p->leader_epoch != leader_epoch || p->truncating) {
    return done(make_error(errc::unavailable, fmt::format("{}-{} is no longer followed at epoch {}", topic, partition_id, leader_epoch)));
  }
  const int64_t start = p->log->start_offset().value;
  const bool fully = point.restart_at >= 0;
  const int64_t end_offset = fully ? point.restart_at : truncation_offset(*p, point);
  if (!fully && end_offset >= p->log->end_offset().value) return done({});
  if (!fully && end_offset < start) {
    return done(make_error(errc::invalid_argument, fmt::format("{}-{}: cannot cut to {}, before the log start {}", topic,
                                                               partition_id, end_offset, start)));
  }
  p->truncating = true;
  ++counters_.truncations;
  spdlog::info("{}-{}: truncating this replica from {} to {}{}", topic, partition_id, p->log->end_offset().value, end_offset,
               fully ? " (all of it)" : "");
  flusher_.run_after_flushes([this, p, end_offset, fully, done = std::move(done)]() mutable {
    status s = fully ? p->log->truncate_fully(log_offset(end_offset)) : p->log->truncate(log_offset(end_offset));
    // The epoch file is the owner thread's (followed_partitions reads it), so
    // it is cut there; a crash in between leaves epochs past the log end,
    // which the next check against the leader cuts again.
    sched_.post([this, p, end_offset, fully, s = std::move(s), done = std::move(done)]() mutable {
      p->truncating = false;
      if (s.ok() && p->epochs) s = fully ? p->epochs->clear() : p->epochs->truncate_from_end(end_offset);
      if (s.ok()) {
        auto rebuilt = rebuild_producer_state(*p);
        if (!rebuilt.ok()) spdlog::warn("{}-{}: rebuilding producer state: {}", p->topic, p->id, rebuilt.err().message);
        p->high_watermark = std::min(p->high_watermark, end_offset);
        p->published_high_watermark = std::min(p->published_high_watermark, end_offset);
      } else {
        spdlog::error("{}-{}: truncation failed: {}", p->topic, p->id, s.err().message);
      }
      done(s);
      if (p->deferred) {
        auto a = std::move(*p->deferred);
        p->deferred.reset();
        apply_assignment(a);
      }
    });
  });
}

std::vector<replication_lag> service_impl::replication_lags() const {
  std::vector<replication_lag> out;
  const int64_t now = sched_.now_ms();
  for (auto& [name, t] : topics_) {
    for (auto& p : t.partitions) {
      if (p->role != replica_role::leader || !p->hosted() || !link_) continue;
      const int64_t end = p->log->end_offset().value;
      const int64_t offsets = std::max<int64_t>(end - p->log->start_offset().value, 1);
      const double bytes_per_offset = static_cast<double>(p->log->size_bytes()) / static_cast<double>(offsets);
      for (auto& f : p->replica_set.followers(now)) {
        const int64_t lag = f.log_end_offset < 0 ? end : std::max<int64_t>(end - f.log_end_offset, 0);
        out.push_back({p->topic, p->id, f.id, lag, static_cast<uint64_t>(static_cast<double>(lag) * bytes_per_offset),
                       lag == 0 ? 0.0 : static_cast<double>(f.lag_ms) / 1000.0, f.in_isr});
      }
    }
  }
  return out;
}

}  // namespace strata::streams::detail
