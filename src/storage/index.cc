#include "storage/index.h"

#include <algorithm>
#include <string>

#include "base/crc32c.h"
#include "storage/frame.h"

namespace strata::storage {
namespace {

constexpr uint32_t offset_index_magic = 0x58525453;  // bytes "STRX"
constexpr uint32_t time_index_magic = 0x54525453;    // bytes "STRT"
constexpr uint16_t index_version = 1;
constexpr size_t index_header_bytes = 16;
constexpr size_t offset_entry_bytes = 8;
constexpr size_t time_entry_bytes = 12;

std::vector<uint8_t> encode_header_and(uint32_t magic, uint16_t entry_bytes, size_t count,
                                       const std::vector<uint8_t>& entries) {
  std::vector<uint8_t> out(index_header_bytes + entries.size());
  put_u32(out.data(), magic);
  put_u16(out.data() + 4, index_version);
  put_u16(out.data() + 6, entry_bytes);
  put_u32(out.data() + 8, static_cast<uint32_t>(count));
  put_u32(out.data() + 12, crc32c(entries.data(), entries.size()));
  std::copy(entries.begin(), entries.end(), out.begin() + index_header_bytes);
  return out;
}

// Checks the header and CRC; returns the entry count.
result<size_t> check_index_file(std::span<const uint8_t> file, uint32_t magic, uint16_t entry_bytes) {
  if (file.size() < index_header_bytes) return make_error(errc::corrupt, "index file shorter than its header");
  const uint8_t* p = file.data();
  if (get_u32(p) != magic || get_u16(p + 4) != index_version || get_u16(p + 6) != entry_bytes) {
    return make_error(errc::corrupt, "index file has a bad magic, version or entry size");
  }
  size_t count = get_u32(p + 8);
  if (file.size() != index_header_bytes + count * entry_bytes) return make_error(errc::corrupt, "index file length does not match its count");
  if (crc32c(p + index_header_bytes, file.size() - index_header_bytes) != get_u32(p + 12)) {
    return make_error(errc::corrupt, "index file CRC mismatch");
  }
  return count;
}

}  // namespace

void segment_index::on_append(log_offset entry_base, uint32_t position, uint64_t frame_bytes, int64_t max_timestamp_ms) {
  if (max_timestamp_ms > max_timestamp_ms_) {
    max_timestamp_ms_ = max_timestamp_ms;
    max_timestamp_offset_ = entry_base;
  }
  if (bytes_since_entry_ >= interval_bytes_ && position > 0) {
    offsets_.push_back({static_cast<uint32_t>(entry_base - base_), position});
    if (times_.empty() || max_timestamp_ms_ > times_.back().max_timestamp_ms) {
      times_.push_back({max_timestamp_ms_, static_cast<uint32_t>(max_timestamp_offset_ - base_)});
    }
    bytes_since_entry_ = 0;
  }
  bytes_since_entry_ += frame_bytes;
}

void segment_index::seal() {
  if (max_timestamp_ms_ == std::numeric_limits<int64_t>::min()) return;
  if (times_.empty() || max_timestamp_ms_ > times_.back().max_timestamp_ms) {
    times_.push_back({max_timestamp_ms_, static_cast<uint32_t>(max_timestamp_offset_ - base_)});
  }
}

offset_index_entry segment_index::floor(log_offset offset) const {
  if (offset < base_) return {0, 0};
  uint64_t rel = static_cast<uint64_t>(offset - base_);
  auto it = std::upper_bound(offsets_.begin(), offsets_.end(), rel,
                             [](uint64_t r, const offset_index_entry& e) { return r < e.relative_offset; });
  return it == offsets_.begin() ? offset_index_entry{0, 0} : *std::prev(it);
}

log_offset segment_index::scan_start_for_timestamp(int64_t timestamp_ms) const {
  // The last time entry older than the target: everything up to it is older.
  auto it = std::lower_bound(times_.begin(), times_.end(), timestamp_ms,
                             [](const time_index_entry& e, int64_t ts) { return e.max_timestamp_ms < ts; });
  return it == times_.begin() ? base_ : base_ + std::prev(it)->relative_offset;
}

std::vector<uint8_t> segment_index::encode_offsets() const {
  std::vector<uint8_t> entries(offsets_.size() * offset_entry_bytes);
  for (size_t i = 0; i < offsets_.size(); ++i) {
    put_u32(entries.data() + i * offset_entry_bytes, offsets_[i].relative_offset);
    put_u32(entries.data() + i * offset_entry_bytes + 4, offsets_[i].position);
  }
  return encode_header_and(offset_index_magic, offset_entry_bytes, offsets_.size(), entries);
}

std::vector<uint8_t> segment_index::encode_times() const {
  std::vector<uint8_t> entries(times_.size() * time_entry_bytes);
  for (size_t i = 0; i < times_.size(); ++i) {
    put_u64(entries.data() + i * time_entry_bytes, static_cast<uint64_t>(times_[i].max_timestamp_ms));
    put_u32(entries.data() + i * time_entry_bytes + 8, times_[i].relative_offset);
  }
  return encode_header_and(time_index_magic, time_entry_bytes, times_.size(), entries);
}

result<segment_index> segment_index::decode(log_offset base, uint32_t interval_bytes,
                                            std::span<const uint8_t> offsets_file, std::span<const uint8_t> times_file,
                                            uint64_t data_bytes) {
  auto offset_count = check_index_file(offsets_file, offset_index_magic, offset_entry_bytes);
  STRATA_TRY(offset_count);
  auto time_count = check_index_file(times_file, time_index_magic, time_entry_bytes);
  STRATA_TRY(time_count);
  segment_index idx(base, interval_bytes);
  const uint8_t* p = offsets_file.data() + index_header_bytes;
  for (size_t i = 0; i < *offset_count; ++i, p += offset_entry_bytes) {
    offset_index_entry e{get_u32(p), get_u32(p + 4)};
    bool ordered = idx.offsets_.empty() ||
                   (e.relative_offset > idx.offsets_.back().relative_offset && e.position > idx.offsets_.back().position);
    if (!ordered || e.position == 0 || e.position >= data_bytes) return make_error(errc::corrupt, "offset index entries out of order or range");
    idx.offsets_.push_back(e);
  }
  p = times_file.data() + index_header_bytes;
  for (size_t i = 0; i < *time_count; ++i, p += time_entry_bytes) {
    time_index_entry e{static_cast<int64_t>(get_u64(p)), get_u32(p + 8)};
    bool ordered = idx.times_.empty() || (e.max_timestamp_ms > idx.times_.back().max_timestamp_ms &&
                                          e.relative_offset > idx.times_.back().relative_offset);
    if (!ordered) return make_error(errc::corrupt, "time index entries out of order");
    idx.times_.push_back(e);
  }
  if (!idx.times_.empty()) {
    idx.max_timestamp_ms_ = idx.times_.back().max_timestamp_ms;
    idx.max_timestamp_offset_ = base + idx.times_.back().relative_offset;
  }
  return idx;
}

}  // namespace strata::storage
