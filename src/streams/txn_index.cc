#include "streams/txn_index.h"

#include <fmt/format.h>

#include <algorithm>

#include "kafka/protocol/wire.h"
#include "streams/record_batch.h"

namespace strata::streams {

void txn_index::begin(int64_t producer_id, int64_t offset) { open_.try_emplace(producer_id, offset); }

std::optional<aborted_range> txn_index::end(int64_t producer_id, bool commit, int64_t marker_offset) {
  auto it = open_.find(producer_id);
  if (it == open_.end()) return std::nullopt;
  const int64_t first = it->second;
  open_.erase(it);
  if (commit) return std::nullopt;
  return aborted_range{producer_id, first, marker_offset};
}

std::optional<int64_t> txn_index::open_first_offset(int64_t producer_id) const {
  auto it = open_.find(producer_id);
  if (it == open_.end()) return std::nullopt;
  return it->second;
}

int64_t txn_index::first_unstable_offset() const {
  int64_t first = no_open_txn;
  for (const auto& [id, offset] : open_) first = std::min(first, offset);
  return first;
}

void txn_index::add_aborted(const aborted_range& r) {
  auto same = std::find_if(aborted_.begin(), aborted_.end(), [&](const aborted_range& a) {
    return a.producer_id == r.producer_id && a.first_offset == r.first_offset;
  });
  if (same != aborted_.end()) {
    if (same->last_offset >= r.last_offset) return;
    aborted_.erase(same);
  }
  auto at = std::upper_bound(aborted_.begin(), aborted_.end(), r.last_offset,
                             [](int64_t last, const aborted_range& a) { return last < a.last_offset; });
  aborted_.insert(at, r);
}

std::vector<aborted_txn> txn_index::aborted_overlapping(int64_t from, int64_t to) const {
  std::vector<aborted_txn> out;
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), from,
                             [](const aborted_range& a, int64_t offset) { return a.last_offset < offset; });
  for (; it != aborted_.end(); ++it) {
    if (it->first_offset < to) out.push_back({it->producer_id, it->first_offset});
  }
  std::sort(out.begin(), out.end(), [](const aborted_txn& a, const aborted_txn& b) { return a.first_offset < b.first_offset; });
  return out;
}

bool txn_index::aborted_at(int64_t producer_id, int64_t offset) const {
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), offset,
                             [](const aborted_range& a, int64_t o) { return a.last_offset < o; });
  for (; it != aborted_.end(); ++it) {
    if (it->producer_id == producer_id && it->first_offset <= offset) return true;
  }
  return false;
}

std::vector<aborted_range> txn_index::forget_below(int64_t log_start_offset) {
  auto keep = std::lower_bound(aborted_.begin(), aborted_.end(), log_start_offset,
                               [](const aborted_range& a, int64_t offset) { return a.last_offset < offset; });
  std::vector<aborted_range> gone(aborted_.begin(), keep);
  aborted_.erase(aborted_.begin(), keep);
  return gone;
}

// Keys sort by partition, then by last offset (16 hex digits), so a prefix
// scan reads a partition's ranges in order.
std::string aborted_kv_prefix(std::string_view topic_id_hex, int32_t partition) {
  return fmt::format("streams/txn-aborted/{}/{:08x}/", topic_id_hex, static_cast<uint32_t>(partition));
}

std::string aborted_kv_key(std::string_view prefix, const aborted_range& r) {
  return fmt::format("{}{:016x}-{:016x}", prefix, static_cast<uint64_t>(r.last_offset), static_cast<uint64_t>(r.producer_id));
}

namespace {
constexpr int8_t aborted_value_version = 1;
constexpr int16_t marker_record_version = 0;
constexpr int16_t marker_type_abort = 0;
constexpr int16_t marker_type_commit = 1;
constexpr int16_t transactional_control_attributes = 0x10 | 0x20;
}  // namespace

std::string encode_aborted_value(const aborted_range& r) {
  std::vector<uint8_t> out;
  kafka::writer w(out);
  w.i8(aborted_value_version);
  w.i64(r.producer_id);
  w.i64(r.first_offset);
  w.i64(r.last_offset);
  return std::string(out.begin(), out.end());
}

std::optional<aborted_range> decode_aborted_value(std::string_view value) {
  kafka::reader r({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
  if (r.i8() != aborted_value_version) return std::nullopt;
  aborted_range out;
  out.producer_id = r.i64();
  out.first_offset = r.i64();
  out.last_offset = r.i64();
  if (!r.ok() || r.remaining() != 0 || out.first_offset < 0 || out.last_offset < out.first_offset) return std::nullopt;
  return out;
}

// Kafka's control record: key = version i16, type i16 (0 ABORT, 1 COMMIT);
// value = version i16, coordinator epoch i32.
std::vector<uint8_t> encode_marker_batch(const txn_marker& marker, int64_t timestamp_ms) {
  std::vector<uint8_t> key;
  kafka::writer kw(key);
  kw.i16(marker_record_version);
  kw.i16(marker.commit ? marker_type_commit : marker_type_abort);
  std::vector<uint8_t> value;
  kafka::writer vw(value);
  vw.i16(marker_record_version);
  vw.i32(marker.coordinator_epoch);
  plain_record record{std::string(key.begin(), key.end()), std::string(value.begin(), value.end())};
  return encode_plain_batch({record}, timestamp_ms,
                            batch_writer_identity{marker.producer_id, marker.producer_epoch, transactional_control_attributes});
}

std::optional<txn_marker> decode_marker_batch(std::span<const uint8_t> batch) {
  auto h = read_batch_header(batch);
  if (!h || !h->control() || !h->transactional()) return std::nullopt;
  auto records = decode_plain_batch(batch);
  if (!records || records->size() != 1) return std::nullopt;
  const std::string& key = (*records)[0].key;
  kafka::reader r({reinterpret_cast<const uint8_t*>(key.data()), key.size()});
  (void)r.i16();  // version
  const int16_t type = r.i16();
  if (!r.ok() || (type != marker_type_abort && type != marker_type_commit)) return std::nullopt;
  txn_marker out;
  out.producer_id = h->producer_id;
  out.producer_epoch = h->producer_epoch;
  out.commit = type == marker_type_commit;
  const std::string& value = (*records)[0].value;
  kafka::reader vr({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
  (void)vr.i16();
  const int32_t epoch = vr.i32();
  if (vr.ok()) out.coordinator_epoch = epoch;
  return out;
}

}  // namespace strata::streams
