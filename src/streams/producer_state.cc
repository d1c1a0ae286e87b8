#include "streams/producer_state.h"

#include <algorithm>
#include <limits>

#include "streams/record_batch.h"

namespace strata::streams {

namespace {
int32_t next_sequence(int32_t seq) { return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1; }
}  // namespace

producer_state::check_result producer_state::check(const batch_header& batch) const {
  check_result out;
  auto it = producers_.find(batch.producer_id);
  if (it == producers_.end()) {
    // A producer we have no state for may only start from sequence 0.
    out.outcome = batch.base_sequence == 0 ? verdict::accept : verdict::unknown_producer;
    return out;
  }
  const entry& e = it->second;
  if (batch.producer_epoch < e.epoch) {
    out.outcome = verdict::invalid_epoch;
    return out;
  }
  if (batch.producer_epoch > e.epoch) {
    out.outcome = batch.base_sequence == 0 ? verdict::accept : verdict::out_of_order;
    return out;
  }
  for (const auto& r : e.recent) {
    if (r.first_sequence == batch.base_sequence && r.last_sequence == batch.last_sequence()) {
      out.outcome = verdict::duplicate;
      out.duplicate_base_offset = r.base_offset;
      out.duplicate_next_offset = r.next_offset;
      return out;
    }
  }
  if (e.recent.empty() || batch.base_sequence != next_sequence(e.recent.back().last_sequence)) {
    out.outcome = e.recent.empty() && batch.base_sequence == 0 ? verdict::accept : verdict::out_of_order;
  }
  return out;
}

void producer_state::record(const batch_header& batch, int64_t base_offset) {
  entry& e = producers_[batch.producer_id];
  if (batch.producer_epoch != e.epoch) {
    e.epoch = batch.producer_epoch;
    e.recent.clear();
  }
  e.recent.push_back(batch_range{batch.base_sequence, batch.last_sequence(), base_offset,
                                 base_offset + batch.offset_count()});
  while (e.recent.size() > producer_batches_remembered) e.recent.pop_front();
  e.last_write = ++writes_;
  e.last_timestamp_ms = batch.max_timestamp_ms;
  if (producers_.size() > producers_max) evict_oldest();
}

void producer_state::fence(int64_t producer_id, int16_t epoch) {
  entry& e = producers_[producer_id];
  if (epoch > e.epoch || e.recent.empty()) {
    if (epoch != e.epoch) e.recent.clear();
    e.epoch = std::max(e.epoch, epoch);
  }
  e.last_write = ++writes_;
  if (producers_.size() > producers_max) evict_oldest();
}

std::vector<active_producer> producer_state::active() const {
  std::vector<active_producer> out;
  out.reserve(producers_.size());
  for (const auto& [id, e] : producers_) {
    out.push_back({id, e.epoch, e.recent.empty() ? -1 : e.recent.back().last_sequence, e.last_timestamp_ms, -1});
  }
  std::sort(out.begin(), out.end(), [](const active_producer& a, const active_producer& b) { return a.producer_id < b.producer_id; });
  return out;
}

std::vector<int64_t> producer_state::last_batch_offsets() const {
  std::vector<int64_t> out;
  for (const auto& [id, e] : producers_) {
    if (!e.recent.empty()) out.push_back(e.recent.back().base_offset);
  }
  return out;
}

void producer_state::evict_oldest() {
  auto oldest = producers_.begin();
  for (auto it = producers_.begin(); it != producers_.end(); ++it) {
    if (it->second.last_write < oldest->second.last_write) oldest = it;
  }
  producers_.erase(oldest);
}

}  // namespace strata::streams
