#include "tables/table_state.h"

#include <algorithm>
#include <map>
#include <cstring>

namespace strata::tables {

void encode_entry_header(const entry_header& h, uint8_t* out) {
  std::memcpy(out, h.group ? &entry_magic_group : &entry_magic, 4);
  std::memcpy(out + 4, &h.txn_id, 8);
  std::memcpy(out + 12, &h.part_index, 4);
  std::memcpy(out + 16, &h.part_count, 4);
}

result<entry_header> decode_entry_header(std::span<const uint8_t> entry) {
  uint32_t magic = 0;
  if (entry.size() >= 4) std::memcpy(&magic, entry.data(), 4);
  entry_header h;
  if (entry.size() < entry_header_bytes || (magic != entry_magic && magic != entry_magic_group)) {
    return make_error(errc::corrupt, "a table bucket-log entry has no valid entry header; the log is damaged or "
                                     "was not written by the tables service");
  }
  h.group = magic == entry_magic_group;
  std::memcpy(&h.txn_id, entry.data() + 4, 8);
  std::memcpy(&h.part_index, entry.data() + 12, 4);
  std::memcpy(&h.part_count, entry.data() + 16, 4);
  if (h.part_count == 0 || h.part_index >= h.part_count) {
    return make_error(errc::corrupt, "a table bucket-log entry header has an impossible part number");
  }
  return h;
}

ptrdiff_t bucket_rt::find_batch_locked(int64_t offset) const {
  auto it = std::upper_bound(batches.begin(), batches.end(), offset,
                             [](int64_t o, const batch_meta& b) { return o < b.base_offset; });
  if (it == batches.begin()) return -1;
  --it;
  if (offset >= it->base_offset + int64_t(it->row_count)) return -1;
  return it - batches.begin();
}

void bucket_rt::clear_live_locked(const std::vector<int64_t>& offsets) {
  // Scans share the bitmaps they captured: a changed bitmap is always a new
  // copy (one per batch per call), never modified in place.
  std::map<size_t, std::shared_ptr<std::vector<uint64_t>>> copies;
  for (int64_t offset : offsets) {
    ptrdiff_t i = find_batch_locked(offset);
    if (i < 0) continue;
    batch_meta& b = batches[size_t(i)];
    auto row = uint32_t(offset - b.base_offset);
    if (!b.live || !bit_is_set(*b.live, row)) continue;
    auto& copy = copies[size_t(i)];
    if (!copy) {
      copy = std::make_shared<std::vector<uint64_t>>(*b.live);
      b.live = copy;
    }
    (*copy)[row / 64] &= ~(uint64_t(1) << (row % 64));
    --b.live_count;
  }
}

bool bucket_rt::set_live_recovering(int64_t offset) {
  ptrdiff_t i = find_batch_locked(offset);
  if (i < 0) return false;
  batch_meta& b = batches[size_t(i)];
  auto row = uint32_t(offset - b.base_offset);
  if (!b.live) b.live = std::make_shared<std::vector<uint64_t>>(bitmap_words(b.row_count), 0);
  if (bit_is_set(*b.live, row)) return false;
  auto& bits = const_cast<std::vector<uint64_t>&>(*b.live);  // no scan exists yet during recovery
  bits[row / 64] |= uint64_t(1) << (row % 64);
  ++b.live_count;
  return true;
}

status bucket_rt::ensure_durable(storage::log& l, int64_t upto) {
  std::unique_lock lock(flush_mu);
  while (true) {
    if (flush_error) return *flush_error;
    if (l.flushed_offset().value >= upto) return {};
    if (flushing) {
      flush_cv.wait(lock);
      continue;
    }
    flushing = true;
    lock.unlock();
    auto r = l.flush();
    lock.lock();
    flushing = false;
    if (!r.ok()) {
      failed = true;
      flush_error = make_error(r.code(), "fsync of " + dir + " failed (" + r.err().message +
                                             "); restart the server to recover this table");
    }
    flush_cv.notify_all();
  }
}

void bucket_rt::wait_turn(uint64_t ticket) {
  std::unique_lock lock(flush_mu);
  flush_cv.wait(lock, [&] { return published_ticket == ticket; });
}

void bucket_rt::wait_idle() {
  std::unique_lock lock(flush_mu);
  flush_cv.wait(lock, [&] { return published_ticket == next_ticket; });
}

void bucket_rt::end_turn() {
  std::lock_guard lock(flush_mu);
  ++published_ticket;
  flush_cv.notify_all();
}

std::vector<batch_meta> bucket_rt::snapshot() const {
  std::lock_guard lock(meta_mu);
  return batches;
}

result<storage::read_result> bucket_rt::read_entry(const batch_meta& batch) {
  std::lock_guard lock(log_mu);
  if (dropped || !log) {
    return make_error(errc::not_found, "the table was dropped while a scan was reading it; run the query again");
  }
  auto r = log->read(log_offset(batch.base_offset), batch.stored_bytes, log_offset(batch.base_offset + batch.row_count),
                     /*min_one=*/true);
  if (!r.ok()) return r.err();
  if (r->entries.empty() || r->entries[0].base_offset.value != batch.base_offset) {
    return make_error(errc::corrupt, "a table batch expected at log offset " + std::to_string(batch.base_offset) +
                                         " in " + dir + " is missing; the bucket log is damaged");
  }
  return r;
}

std::vector<std::shared_ptr<partition_rt>> table_rt::partition_list() {
  std::lock_guard lock(mu);
  std::vector<std::shared_ptr<partition_rt>> out;
  out.reserve(partitions.size());
  for (auto& [k, p] : partitions) out.push_back(p);
  return out;
}

std::vector<std::shared_ptr<bucket_rt>> table_rt::buckets_of(const partition_rt& partition) {
  std::lock_guard lock(mu);
  std::vector<std::shared_ptr<bucket_rt>> out;
  for (const auto& b : partition.buckets) {
    if (b) out.push_back(b);
  }
  return out;
}

}  // namespace strata::tables
