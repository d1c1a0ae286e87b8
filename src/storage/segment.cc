#include "storage/segment.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "storage/frame_scan.h"

namespace strata::storage {
namespace {

constexpr size_t recovery_chunk_bytes = 1 << 20;
constexpr uint64_t small_file_bytes_max = 1ULL << 30;

size_t lookup_chunk_bytes(uint32_t index_interval_bytes) {
  return std::clamp<size_t>(size_t{index_interval_bytes} + 1024, 4096, 64 * 1024);
}

}  // namespace

result<std::optional<std::vector<uint8_t>>> read_whole(io::fs& fs, const std::string& path) {
  auto f = fs.open(path, io::open_mode::read_only);
  if (f.code() == errc::not_found) return std::optional<std::vector<uint8_t>>();
  STRATA_TRY(f);
  auto size = (*f)->size();
  STRATA_TRY(size);
  if (*size > small_file_bytes_max) return make_error(errc::corrupt, path + ": file is implausibly large");
  std::vector<uint8_t> bytes(*size);
  auto got = (*f)->read_at(0, bytes);
  STRATA_TRY(got);
  bytes.resize(*got);
  return std::optional<std::vector<uint8_t>>(std::move(bytes));
}

status write_file_atomically(io::fs& fs, const std::string& path, std::span<const uint8_t> bytes) {
  std::string tmp = path + ".tmp";
  auto f = fs.open(tmp, io::open_mode::create);
  STRATA_TRY(f);
  STRATA_TRY((*f)->truncate(0));
  STRATA_TRY((*f)->write_at(0, bytes));
  STRATA_TRY((*f)->sync());
  STRATA_TRY((*f)->close());
  return fs.rename(tmp, path);
}

status remove_if_present(io::fs& fs, const std::string& path) {
  auto s = fs.remove(path);
  if (!s.ok() && s.code() != errc::not_found) return s;
  return {};
}

std::string segment_file_name(log_offset base, const char* suffix) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020" PRId64, base.value);
  return std::string(name) + suffix;
}

segment::segment(io::fs& fs, std::string dir, log_offset base, uint32_t index_interval_bytes,
                 std::shared_ptr<io::file> file)
    : fs_(fs),
      dir_(std::move(dir)),
      base_(base),
      next_(base),
      index_interval_bytes_(index_interval_bytes),
      file_(std::move(file)),
      index_(base, index_interval_bytes) {}

std::string segment::path(const char* suffix) const { return io::join_path(dir_, segment_file_name(base_, suffix)); }

error segment::damaged(uint64_t pos, const std::string& problem) const {
  return make_error(errc::corrupt, path(".log") + " at byte " + std::to_string(pos) + ": " + problem +
                                       " (the segment is damaged; restore it from a replica or backup)");
}

void segment::note_frame(const frame_header& h, uint64_t pos) {
  index_.on_append(h.base_offset, static_cast<uint32_t>(pos), h.frame_bytes(), h.max_timestamp_ms);
  if (!first_timestamp_ms_) first_timestamp_ms_ = h.max_timestamp_ms;
  size_bytes_ = pos + h.frame_bytes();
  next_ = h.next_offset();
}

result<std::unique_ptr<segment>> segment::create(io::fs& fs, const std::string& dir, log_offset base,
                                                 uint32_t index_interval_bytes) {
  auto f = fs.open(io::join_path(dir, segment_file_name(base, ".log")), io::open_mode::create_exclusive);
  STRATA_TRY(f);
  std::shared_ptr<io::file> file = std::move(f).value();
  return std::unique_ptr<segment>(new segment(fs, dir, base, index_interval_bytes, std::move(file)));
}

result<std::unique_ptr<segment>> segment::recover_active(io::fs& fs, const std::string& dir, log_offset base,
                                                         uint32_t index_interval_bytes, log_offset end_limit,
                                                         uint64_t* truncated_bytes) {
  auto f = fs.open(io::join_path(dir, segment_file_name(base, ".log")), io::open_mode::read_write);
  STRATA_TRY(f);
  std::shared_ptr<io::file> file = std::move(f).value();
  auto size = file->size();
  STRATA_TRY(size);
  std::unique_ptr<segment> seg(new segment(fs, dir, base, index_interval_bytes, file));
  auto scan = scan_frames(*file, 0, *size, base, crc_check::verify, recovery_chunk_bytes,
                          [&](const frame_header& h, uint64_t pos) {
                            if (h.next_offset() > end_limit) return false;
                            seg->note_frame(h, pos);
                            return true;
                          });
  STRATA_TRY(scan);
  *truncated_bytes = *size - scan->end_pos;
  if (*truncated_bytes > 0) STRATA_TRY(file->truncate(scan->end_pos));
  STRATA_TRY(file->sync());
  // Index files of the newest segment may be stale (a roll cut short by a crash).
  STRATA_TRY(remove_if_present(fs, seg->path(".index")));
  STRATA_TRY(remove_if_present(fs, seg->path(".timeindex")));
  return seg;
}

result<std::unique_ptr<segment>> segment::open_closed(io::fs& fs, const std::string& dir, log_offset base,
                                                      uint32_t index_interval_bytes, log_offset next_base,
                                                      bool* rebuilt) {
  auto f = fs.open(io::join_path(dir, segment_file_name(base, ".log")), io::open_mode::read_only);
  STRATA_TRY(f);
  std::shared_ptr<io::file> file = std::move(f).value();
  auto size = file->size();
  STRATA_TRY(size);
  std::unique_ptr<segment> seg(new segment(fs, dir, base, index_interval_bytes, file));
  seg->size_bytes_ = *size;
  seg->next_ = next_base;
  *rebuilt = false;

  auto offsets = read_whole(fs, seg->path(".index"));
  STRATA_TRY(offsets);
  auto times = read_whole(fs, seg->path(".timeindex"));
  STRATA_TRY(times);
  if (offsets->has_value() && times->has_value()) {
    auto idx = segment_index::decode(base, index_interval_bytes, **offsets, **times, *size);
    if (idx.ok()) {
      // The indexes hold together; check that the data after the last indexed
      // entry is whole and ends where the next segment begins.
      offset_index_entry last = idx->offsets().empty() ? offset_index_entry{0, 0} : idx->offsets().back();
      auto tail = scan_frames(*file, last.position, *size, base + last.relative_offset, crc_check::skip,
                              lookup_chunk_bytes(index_interval_bytes), [](const frame_header&, uint64_t) { return true; });
      STRATA_TRY(tail);
      if (!tail->bad_frame && tail->next_offset == next_base) {
        seg->index_ = std::move(idx).value();
        seg->file_.reset();  // reopened by the first read: idle segments hold no descriptor
        return seg;
      }
    }
  }

  auto scan = scan_frames(*file, 0, *size, base, crc_check::verify, recovery_chunk_bytes,
                          [&](const frame_header& h, uint64_t pos) {
                            seg->note_frame(h, pos);
                            return true;
                          });
  STRATA_TRY(scan);
  if (scan->bad_frame) return seg->damaged(scan->end_pos, scan->problem);
  if (scan->next_offset != next_base) {
    return seg->damaged(scan->end_pos, "ends at offset " + std::to_string(scan->next_offset.value) +
                                           " but the next segment starts at " + std::to_string(next_base.value));
  }
  STRATA_TRY(seg->write_indexes());
  *rebuilt = true;
  seg->file_.reset();
  return seg;
}

status segment::append(std::span<const uint8_t, frame_header_bytes> header, std::span<const uint8_t> payload,
                       const frame_header& h) {
  if (needs_cut_) {
    STRATA_TRY(cut_back());
  }
  std::span<const uint8_t> parts[2] = {header, payload};
  auto s = file_->writev_at(size_bytes_, parts);
  if (!s.ok()) {
    (void)cut_back();
    return s;
  }
  note_frame(h, size_bytes_);
  return {};
}

// Cuts off what a failed append left and syncs the cut, so that those bytes
// cannot come back after a crash as an entry whose append reported failure.
status segment::cut_back() {
  needs_cut_ = true;
  STRATA_TRY(file_->truncate(size_bytes_));
  STRATA_TRY(file_->sync());
  needs_cut_ = false;
  return {};
}

status segment::write_indexes() {
  index_.seal();
  STRATA_TRY(write_file_atomically(fs_, path(".index"), index_.encode_offsets()));
  return write_file_atomically(fs_, path(".timeindex"), index_.encode_times());
}

status remove_segment_files(io::fs& fs, const std::string& dir, log_offset base) {
  STRATA_TRY(fs.remove(io::join_path(dir, segment_file_name(base, ".log"))));
  STRATA_TRY(remove_if_present(fs, io::join_path(dir, segment_file_name(base, ".index"))));
  return remove_if_present(fs, io::join_path(dir, segment_file_name(base, ".timeindex")));
}

status segment::remove_files() { return remove_segment_files(fs_, dir_, base_); }

result<uint64_t> segment::boundary_position(log_offset offset) {
  if (offset == next_) return size_bytes_;
  if (offset == base_) return uint64_t{0};
  STRATA_TRY(ensure_open());
  offset_index_entry start = index_.floor(offset);
  std::optional<uint64_t> found;
  std::optional<log_offset> holder;
  auto scan = scan_frames(*file_, start.position, size_bytes_, base_ + start.relative_offset, crc_check::skip,
                          lookup_chunk_bytes(index_interval_bytes_), [&](const frame_header& h, uint64_t pos) {
                            if (h.base_offset == offset) found = pos;
                            if (h.next_offset() > offset) holder = h.base_offset;
                            return !holder;
                          });
  STRATA_TRY(scan);
  if (found) return *found;
  if (holder) {
    return make_error(errc::invalid_argument, "offset " + std::to_string(offset.value) +
                                                  " is inside the entry at " + std::to_string(holder->value) +
                                                  ", not at an entry boundary");
  }
  if (scan->bad_frame) return damaged(scan->end_pos, scan->problem);
  return damaged(scan->end_pos, "offset " + std::to_string(offset.value) + " not found in its segment");
}

status segment::cut_at(log_offset new_next, uint64_t position) {
  auto f = fs_.open(path(".log"), io::open_mode::read_write);
  STRATA_TRY(f);
  file_ = std::move(f).value();
  STRATA_TRY(file_->truncate(position));
  needs_cut_ = false;
  STRATA_TRY(file_->sync());
  STRATA_TRY(reindex(position));
  if (next_ != new_next) {
    return damaged(size_bytes_, "ends at offset " + std::to_string(next_.value) + " after the cut, not at " +
                                    std::to_string(new_next.value));
  }
  STRATA_TRY(remove_if_present(fs_, path(".index")));
  return remove_if_present(fs_, path(".timeindex"));
}

status segment::reindex(uint64_t end_pos) {
  index_ = segment_index(base_, index_interval_bytes_);
  first_timestamp_ms_.reset();
  size_bytes_ = 0;
  next_ = base_;
  auto scan = scan_frames(*file_, 0, end_pos, base_, crc_check::skip, recovery_chunk_bytes,
                          [&](const frame_header& h, uint64_t pos) {
                            note_frame(h, pos);
                            return true;
                          });
  STRATA_TRY(scan);
  if (scan->bad_frame) return damaged(scan->end_pos, scan->problem);
  return {};
}

status segment::ensure_open() {
  if (file_) return {};
  auto f = fs_.open(path(".log"), io::open_mode::read_only);
  STRATA_TRY(f);
  file_ = std::move(f).value();
  return {};
}

result<uint64_t> segment::locate(log_offset offset) {
  offset_index_entry start = index_.floor(offset);
  std::optional<uint64_t> found;
  auto scan = scan_frames(*file_, start.position, size_bytes_, base_ + start.relative_offset, crc_check::skip,
                          lookup_chunk_bytes(index_interval_bytes_), [&](const frame_header& h, uint64_t pos) {
                            if (h.next_offset() <= offset) return true;
                            found = pos;
                            return false;
                          });
  STRATA_TRY(scan);
  if (found) return *found;
  if (scan->bad_frame) return damaged(scan->end_pos, scan->problem);
  return damaged(scan->end_pos, "offset " + std::to_string(offset.value) + " not found in its segment");
}

result<std::optional<log_offset>> segment::find_timestamp(int64_t timestamp_ms) {
  if (empty() || index_.max_timestamp_ms() < timestamp_ms) return std::optional<log_offset>();
  STRATA_TRY(ensure_open());
  offset_index_entry start = index_.floor(index_.scan_start_for_timestamp(timestamp_ms));
  std::optional<log_offset> found;
  auto scan = scan_frames(*file_, start.position, size_bytes_, base_ + start.relative_offset, crc_check::skip,
                          lookup_chunk_bytes(index_interval_bytes_), [&](const frame_header& h, uint64_t) {
                            if (h.max_timestamp_ms < timestamp_ms) return true;
                            found = h.base_offset;
                            return false;
                          });
  STRATA_TRY(scan);
  if (scan->bad_frame) return damaged(scan->end_pos, scan->problem);
  return found;
}

result<bool> segment::read(log_offset from, read_plan& plan) {
  STRATA_TRY(ensure_open());
  uint64_t pos = 0;
  if (from > base_) {
    auto located = locate(from);
    STRATA_TRY(located);
    pos = *located;
  }
  while (pos < size_bytes_) {
    auto more = read_chunk(pos, plan);
    STRATA_TRY(more);
    if (!*more) return false;
  }
  return true;
}

// Reads one chunk at pos and takes the whole frames in it that the plan
// wants; advances pos past them. Returns false once the plan is satisfied.
result<bool> segment::read_chunk(uint64_t& pos, read_plan& plan) {
  uint64_t budget = plan.payload_left;
  uint64_t len = std::min(size_bytes_ - pos, budget + budget / 16 + frame_header_bytes);
  size_t start = plan.buffer.size();
  plan.buffer.resize(start + len);
  auto got = file_->read_at(pos, std::span<uint8_t>(plan.buffer.data() + start, len));
  STRATA_TRY(got);
  plan.buffer.resize(start + *got);

  size_t at = start;
  auto file_pos = [&](size_t buffer_pos) { return pos + (buffer_pos - start); };
  bool want_more = true;
  while (want_more && at + frame_header_bytes <= plan.buffer.size()) {
    auto h = decode_frame_header(std::span<const uint8_t>(plan.buffer).subspan(at));
    if (!h.ok()) return damaged(file_pos(at), h.err().message);
    bool over_budget = plan.payload_left == 0 || h->payload_bytes > plan.payload_left;
    bool first = plan.frames.empty();
    if (h->base_offset >= plan.upto || (over_budget && !(first && plan.min_one))) {
      want_more = false;
      break;
    }
    if (h->frame_bytes() > size_bytes_ - file_pos(at)) return damaged(file_pos(at), "frame runs past the segment end");
    if (at + h->frame_bytes() > plan.buffer.size()) {
      // Cut by the chunk end: fetch the rest of this one frame.
      size_t have = plan.buffer.size() - at;
      plan.buffer.resize(at + h->frame_bytes());
      auto rest = file_->read_at(file_pos(at) + have, std::span<uint8_t>(plan.buffer.data() + at + have,
                                                                           h->frame_bytes() - have));
      STRATA_TRY(rest);
      if (*rest != h->frame_bytes() - have) return damaged(file_pos(at), "segment shorter than expected");
    }
    std::span<const uint8_t> frame(plan.buffer.data() + at, h->frame_bytes());
    if (!frame_crc_ok(*h, frame.first(frame_header_bytes), frame.subspan(frame_header_bytes))) {
      return damaged(file_pos(at), "frame CRC mismatch");
    }
    plan.frames.emplace_back(at + frame_header_bytes, *h);
    plan.payload_left -= std::min<uint64_t>(plan.payload_left, h->payload_bytes);
    at += h->frame_bytes();
  }
  if (want_more && at == start) return damaged(pos, "frame header cut short");
  pos = file_pos(at);
  plan.buffer.resize(at);
  return want_more;
}

}  // namespace strata::storage
