// Log compaction in the streams service: a timer on the network thread picks
// the partitions of compacted topics that are due (plan_cleaning), the
// compactor thread rewrites their closed segments, and the swap runs back on
// the network thread, the logs' owner. docs/streams.md, "Log compaction".
#include <spdlog/spdlog.h>

#include "meta/kv.h"
#include "streams/service_impl.h"

namespace strata::streams::detail {

namespace {

compaction_policy policy_of(const topic_config& cfg) {
  return compaction_policy{cfg.delete_retention_ms, cfg.min_cleanable_dirty_ratio, cfg.min_compaction_lag_ms,
                           cfg.max_compaction_lag_ms};
}

}  // namespace

void service_impl::schedule_compaction() {
  compaction_timer_ = sched_.after(config_.compaction_check_interval_ms, [this] {
    compaction_timer_ = 0;
    start_compactions();
    if (!stopped_) schedule_compaction();
  });
}

void service_impl::start_compactions() {
  if (link_) return;  // compacted topics are refused in cluster mode
  const int64_t now = wall_clock_ms();
  for (auto& [name, t] : topics_) {
    if (!t.config.cleanup_compact) continue;
    const compaction_policy policy = policy_of(t.config);
    for (auto& p : t.partitions) {
      if (!p->log || p->compacting || p->truncating || p->failed || p->role != replica_role::leader) continue;
      auto closed = p->log->closed_segments();
      // Records of open transactions are not cleaned: they may yet abort.
      const int64_t stable = last_stable_offset(*p);
      std::erase_if(closed, [&](const storage::closed_segment& seg) { return seg.next.value > stable; });
      cleaning_plan plan = plan_cleaning(closed, log_offset(p->cleaned_offset), policy, now);
      if (!plan.due) continue;
      closed.resize(plan.segments);
      compaction_job job;
      job.dir = p->dir;
      job.segments = std::move(closed);
      job.cleaned_offset = log_offset(p->cleaned_offset);
      job.policy = policy;
      job.now_ms = now;
      for (int64_t base : p->producers.last_batch_offsets()) job.retained_batches.insert(base);
      job.aborted = p->txns.aborted();
      job.map_bytes_max = config_.compaction_map_bytes_max;
      job.segment_bytes_max = t.config.segment_bytes;
      job.index_interval_bytes = config_.log_defaults.index_interval_bytes;
      p->compacting = true;
      spdlog::debug("compacting {}-{}: {} segments, dirty ratio {:.2f}", p->topic, p->id, plan.segments, plan.dirty_ratio);
      compactor_.submit(std::move(job), [this, p, alive = compaction_alive_](result<compaction_outcome> outcome) {
        sched_.post([this, p, alive, outcome = std::move(outcome)]() mutable {
          if (*alive) finish_compaction(p, std::move(outcome));
        });
      });
    }
  }
}

void service_impl::finish_compaction(const std::shared_ptr<partition>& p, result<compaction_outcome> outcome) {
  p->compacting = false;
  if (!outcome.ok()) {
    if (outcome.code() != errc::unavailable && outcome.code() != errc::not_found) {  // not_found: retention went first
      spdlog::warn("compaction of {}-{} failed: {}; it is tried again later", p->topic, p->id, outcome.err().message);
    }
    return;
  }
  if (p->deleted || !p->log || p->truncating) {
    (void)storage::discard_staged(fs_, p->dir, outcome->staged);
    return;
  }
  const uint64_t before = p->log->size_bytes();
  auto swapped = p->log->replace_segments(outcome->staged);
  if (!swapped.ok()) {
    if (swapped.code() != errc::unavailable) {
      spdlog::error("compaction swap of {}-{} failed: {}", p->topic, p->id, swapped.err().message);
    }
    return;
  }
  p->cleaned_offset = outcome->cleaned_offset.value;
  // Not needed for safety (a lower cleaned offset only means more work), so
  // a failed write is only logged.
  if (auto s = kv_.put(p->cleaned_key, encode_cleaned_offset(outcome->cleaned_offset)); !s.ok()) {
    spdlog::warn("{}-{}: storing the cleaned offset: {}", p->topic, p->id, s.err().message);
  }
  spdlog::info("compacted {}-{} below offset {}: {} records removed, {} -> {} bytes", p->topic, p->id,
               outcome->cleaned_offset.value, outcome->records_removed, before, p->log->size_bytes());
}

status service_impl::load_cleaned_offset(partition& p) {
  auto stored = kv_.get(p.cleaned_key);
  STRATA_TRY(stored);
  if (!*stored) return {};
  auto cleaned = decode_cleaned_offset(**stored);
  if (!cleaned) {
    spdlog::warn("{}-{}: ignoring an unreadable cleaned offset; the next compaction reads the whole partition", p.topic, p.id);
    return {};
  }
  p.cleaned_offset = cleaned->value;
  return {};
}

}  // namespace strata::streams::detail
