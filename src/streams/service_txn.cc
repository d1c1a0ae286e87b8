// Transactions in the streams service: transactional batches and the
// markers that close them, the last stable offset, and the aborted ranges kept
// in meta::kv (docs/formats/kafka-transactions.md). The coordinator that
// decides commits and aborts is kafka/txn/.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "meta/kv.h"
#include "streams/record_batch.h"
#include "streams/service_impl.h"
#include "streams/txn_index.h"

namespace strata::streams::detail {

// Control batches come only from the transaction coordinator. A producer's
// batches are all transactional or none while its transaction is open.
std::optional<produce_result> service_impl::refuse_txn_batch(const partition& p, const batch_header& h) const {
  if (h.control()) {
    return produce_result{stream_error::invalid_record, "clients may not write control batches; end a transaction with EndTxn"};
  }
  if (h.transactional() && link_) {
    return produce_result{stream_error::invalid_txn_state, "transactions are not supported in cluster mode yet"};
  }
  if (h.transactional() && !h.idempotent()) {
    return produce_result{stream_error::corrupt_message, "a transactional batch needs a producer id"};
  }
  if (!h.transactional() && h.idempotent() && p.txns.open_first_offset(h.producer_id)) {
    return produce_result{stream_error::invalid_txn_state,
                          fmt::format("producer {} has a transaction open in {}-{}; end it before writing outside it",
                                      h.producer_id, p.topic, p.id)};
  }
  return std::nullopt;
}

// The first offset of the oldest open transaction, never above the high
// watermark nor below the log start (as Kafka's): DeleteRecords or retention
// may remove the first batches of a transaction still open, and a consumer
// told to read from below the log start would only be told it is out of range.
int64_t service_impl::last_stable_offset(const partition& p) const {
  const int64_t start = p.log ? p.log->start_offset().value : 0;
  return std::min(p.high_watermark, std::max(p.txns.first_unstable_offset(), start));
}

void service_impl::write_txn_marker(const std::string& topic, int32_t partition_id, const txn_marker& marker,
                                    std::function<void(stream_error)> done) {
  stream_error error = stream_error::none;
  auto p = led(topic, partition_id, error);
  if (!p) return done(error);
  if (p->failed) return done(stream_error::storage_error);
  const int64_t marker_offset = p->log->end_offset().value;
  std::optional<aborted_range> aborted;
  if (auto first = p->txns.open_first_offset(marker.producer_id); first && !marker.commit) {
    aborted = aborted_range{marker.producer_id, *first, marker_offset};
    // Durable before the marker: a read_committed consumer must never meet
    // an ABORT whose range it cannot learn, also after a crash.
    if (auto s = kv_.put(aborted_kv_key(p->aborted_prefix, *aborted), encode_aborted_value(*aborted)); !s.ok()) {
      spdlog::warn("recording an aborted transaction of {}-{}: {}", topic, partition_id, s.err().message);
      return done(stream_error::storage_error);
    }
  }
  append_buffer_ = encode_marker_batch(marker, wall_clock_ms());
  assign_batch_offset(append_buffer_, marker_offset, p->leader_epoch);
  auto appended = p->log->append(append_buffer_, 1, wall_clock_ms());
  if (!appended.ok()) {
    spdlog::warn("transaction marker for {}-{} failed: {}", topic, partition_id, appended.err().message);
    return done(storage_error_of(appended.err()));
  }
  (void)p->txns.end(marker.producer_id, marker.commit, marker_offset);
  if (aborted) p->txns.add_aborted(*aborted);
  p->producers.fence(marker.producer_id, marker.producer_epoch);
  answer_when_durable(p, appended->next_offset.value, produce_result{},
                      [done = std::move(done)](const produce_result& r) { done(r.error); });
}

// One batch's effect on producer and transaction state, as produce and
// write_txn_marker had it.
void service_impl::replay_batch(partition& p, std::span<const uint8_t> batch, int64_t base_offset) {
  auto h = read_batch_header(batch);
  if (!h || !h->idempotent()) return;
  if (h->control()) {
    if (auto marker = decode_marker_batch(batch)) {
      (void)p.txns.end(marker->producer_id, marker->commit, base_offset);
      p.producers.fence(marker->producer_id, marker->producer_epoch);
    }
    return;
  }
  if (h->base_sequence >= 0) p.producers.record(*h, base_offset);
  if (h->transactional()) p.txns.begin(h->producer_id, base_offset);
}

// The aborted ranges of a partition, from the kv; those wholly below the log
// start are dropped.
status service_impl::load_aborted_txns(partition& p) {
  std::vector<std::pair<std::string, std::optional<std::string>>> stale;
  const int64_t start = p.log->start_offset().value;
  status scanned = kv_.scan_prefix(p.aborted_prefix, [&](std::string_view key, std::string_view value) {
    auto r = decode_aborted_value(value);
    if (!r) {
      spdlog::warn("{}-{}: ignoring an unreadable aborted-transaction record {}", p.topic, p.id, key);
      return;
    }
    if (r->last_offset < start) {
      stale.emplace_back(std::string(key), std::nullopt);
    } else {
      p.txns.add_aborted(*r);
    }
  });
  STRATA_TRY(scanned);
  if (!stale.empty()) STRATA_TRY(kv_.write_batch(stale));
  return {};
}

// The partition's records in the kv: its cleaned offset, and every aborted
// range under its prefix, not only those in txns (a marker whose append
// failed left one that no range names).
void service_impl::forget_partition_state(partition& p) {
  if (p.aborted_prefix.empty()) return;
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  ops.emplace_back(p.cleaned_key, std::nullopt);
  auto scanned = kv_.scan_prefix(p.aborted_prefix, [&](std::string_view key, std::string_view) {
    ops.emplace_back(std::string(key), std::nullopt);
  });
  if (!scanned.ok()) {
    spdlog::warn("{}-{}: reading aborted transactions: {}", p.topic, p.id, scanned.err().message);
    for (const auto& r : p.txns.aborted()) ops.emplace_back(aborted_kv_key(p.aborted_prefix, r), std::nullopt);
  }
  if (auto s = kv_.write_batch(ops); !s.ok()) spdlog::warn("{}-{}: dropping its kv records: {}", p.topic, p.id, s.err().message);
}

// Drops the aborted ranges that retention or DeleteRecords left below the log start.
void service_impl::forget_aborted_below_start(partition& p) {
  auto gone = p.txns.forget_below(p.log->start_offset().value);
  if (gone.empty()) return;
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  for (const auto& r : gone) ops.emplace_back(aborted_kv_key(p.aborted_prefix, r), std::nullopt);
  if (auto s = kv_.write_batch(ops); !s.ok()) spdlog::warn("{}-{}: dropping old aborted transactions: {}", p.topic, p.id, s.err().message);
}

}  // namespace strata::streams::detail
