#include "storage/rewrite.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>

#include "base/crc32c.h"
#include "storage/frame.h"
#include "storage/frame_scan.h"
#include "storage/segment.h"
#include "storage/segment_names.h"

namespace strata::storage {
namespace {

constexpr size_t read_chunk_bytes = 1 << 20;
constexpr const char* staged_suffix = ".cleaned";
constexpr const char* swap_name = "swap";
constexpr uint32_t swap_magic = 0x57525453;  // bytes "STRW"
constexpr uint16_t swap_version = 1;
constexpr size_t swap_fixed_bytes = 32;
constexpr size_t swap_crc_from = 8;
constexpr uint32_t swap_segments_max = 1 << 20;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

constexpr std::array<const char*, 3> segment_suffixes{".index", ".timeindex", ".log"};  // data last

}  // namespace

std::string staged_file_name(log_offset base, const char* suffix) {
  return segment_file_name(base, suffix) + staged_suffix;
}

std::string swap_marker_path(const std::string& dir) { return io::join_path(dir, swap_name); }

status read_closed_segment(io::fs& fs, const std::string& dir, const closed_segment& seg, const entry_visitor& visit) {
  std::string path = io::join_path(dir, segment_file_name(seg.base, ".log"));
  auto f = fs.open(path, io::open_mode::read_only);
  STRATA_TRY(f);
  auto size = (*f)->size();
  STRATA_TRY(size);
  auto damaged = [&](uint64_t pos, const std::string& why) {
    return make_error(errc::corrupt, path + " at byte " + std::to_string(pos) + ": " + why +
                                         " (the segment is damaged; restore it from a replica or backup)");
  };
  file_window w(**f, *size, read_chunk_bytes);
  uint64_t pos = 0;
  log_offset expected = seg.base;
  std::array<uint8_t, frame_header_bytes> header_bytes{};
  while (pos < *size) {
    auto hb = w.get(pos, frame_header_bytes);
    STRATA_TRY(hb);
    if (hb->size() < frame_header_bytes) return damaged(pos, "frame header cut short");
    std::copy(hb->begin(), hb->end(), header_bytes.begin());
    auto h = decode_frame_header(header_bytes);
    if (!h.ok()) return damaged(pos, h.err().message);
    if (h->base_offset != expected) return damaged(pos, "frame offset breaks the sequence");
    if (h->frame_bytes() > *size - pos) return damaged(pos, "frame runs past the end of the file");
    auto payload = w.get(pos + frame_header_bytes, h->payload_bytes);
    STRATA_TRY(payload);
    if (payload->size() != h->payload_bytes) return damaged(pos, "segment shorter than expected");
    if (!frame_crc_ok(*h, header_bytes, *payload)) return damaged(pos, "frame CRC mismatch");
    STRATA_TRY(visit(entry_view{h->base_offset, h->record_count, h->max_timestamp_ms, *payload}));
    pos += h->frame_bytes();
    expected = h->next_offset();
  }
  if (expected != seg.next) {
    return damaged(pos, "ends at offset " + std::to_string(expected.value) + " but the next segment starts at " +
                            std::to_string(seg.next.value));
  }
  return {};
}

struct segment_rewriter::output {
  log_offset base;
  std::shared_ptr<io::file> file;
  segment_index index;
  uint64_t size_bytes = 0;
  int64_t first_timestamp_ms = std::numeric_limits<int64_t>::min();
};

segment_rewriter::segment_rewriter(io::fs& fs, std::string dir, std::vector<closed_segment> replaced,
                                   uint64_t segment_bytes_max, uint32_t index_interval_bytes)
    : fs_(fs),
      dir_(std::move(dir)),
      replaced_(std::move(replaced)),
      segment_bytes_max_(segment_bytes_max),
      index_interval_bytes_(index_interval_bytes) {
  STRATA_ASSERT(!replaced_.empty(), "a rewrite replaces at least one segment");
  next_ = replaced_.front().base;
}

segment_rewriter::~segment_rewriter() {
  if (!finished_) remove_staged();
}

void segment_rewriter::remove_staged() {
  std::vector<log_offset> bases;
  for (const auto& s : done_) bases.push_back(s.base);
  if (current_) bases.push_back(current_->base);
  current_.reset();
  for (auto base : bases) {
    for (const char* suffix : segment_suffixes) {
      (void)remove_if_present(fs_, io::join_path(dir_, staged_file_name(base, suffix)));
    }
  }
}

status segment_rewriter::start_output(log_offset base) {
  auto f = fs_.open(io::join_path(dir_, staged_file_name(base, ".log")), io::open_mode::create);
  STRATA_TRY(f);
  current_ = std::make_unique<output>(output{base, std::move(f).value(), segment_index(base, index_interval_bytes_), 0,
                                             std::numeric_limits<int64_t>::min()});
  return current_->file->truncate(0);  // a leftover of an abandoned rewrite
}

status segment_rewriter::close_output() {
  output& o = *current_;
  STRATA_TRY(o.file->sync());
  STRATA_TRY(o.file->close());
  o.index.seal();
  for (auto [suffix, bytes] : {std::pair{".index", o.index.encode_offsets()}, std::pair{".timeindex", o.index.encode_times()}}) {
    auto f = fs_.open(io::join_path(dir_, staged_file_name(o.base, suffix)), io::open_mode::create);
    STRATA_TRY(f);
    STRATA_TRY((*f)->truncate(0));
    STRATA_TRY((*f)->write_at(0, bytes));
    STRATA_TRY((*f)->sync());
    STRATA_TRY((*f)->close());
  }
  done_.push_back(closed_segment{o.base, next_, o.size_bytes, o.first_timestamp_ms, o.index.max_timestamp_ms()});
  current_.reset();
  return {};
}

status segment_rewriter::add(std::span<const uint8_t> payload, log_offset next, int64_t max_timestamp_ms) {
  const log_offset end = replaced_.back().next;
  if (next <= next_ || next > end) {
    return make_error(errc::invalid_argument, "rewritten entry ending at " + std::to_string(next.value) +
                                                  " does not fit after " + std::to_string(next_.value) + " in the range ending at " +
                                                  std::to_string(end.value));
  }
  if (next - next_ > std::numeric_limits<uint32_t>::max()) {
    return make_error(errc::limit_exceeded, "rewritten entry would cover more than 2^32 - 1 offsets");
  }
  if (payload.size() > frame_payload_bytes_max) return make_error(errc::limit_exceeded, "rewritten entry is too large");
  const uint64_t frame_bytes = frame_header_bytes + payload.size();
  if (current_ && current_->size_bytes > 0 &&
      (current_->size_bytes + frame_bytes > segment_bytes_max_ || next - current_->base > std::numeric_limits<uint32_t>::max())) {
    STRATA_TRY(close_output());
  }
  if (!current_) STRATA_TRY(start_output(next_));
  const auto count = static_cast<uint32_t>(next - next_);
  std::array<uint8_t, frame_header_bytes> header{};
  encode_frame_header(header, next_, count, max_timestamp_ms, payload);
  std::span<const uint8_t> parts[2] = {header, payload};
  STRATA_TRY(current_->file->writev_at(current_->size_bytes, parts));
  current_->index.on_append(next_, static_cast<uint32_t>(current_->size_bytes), frame_bytes, max_timestamp_ms);
  if (current_->size_bytes == 0) current_->first_timestamp_ms = max_timestamp_ms;
  current_->size_bytes += frame_bytes;
  next_ = next;
  return {};
}

result<staged_rewrite> segment_rewriter::finish() {
  if (next_ != replaced_.back().next) {
    return make_error(errc::invalid_argument, "rewrite ends at " + std::to_string(next_.value) + ", not at the range end " +
                                                  std::to_string(replaced_.back().next.value));
  }
  STRATA_TRY(close_output());
  // The staged names must be durable before a marker can point at them.
  STRATA_TRY(fs_.sync_dir(dir_));
  finished_ = true;
  return staged_rewrite{replaced_, done_};
}

status discard_staged(io::fs& fs, const std::string& dir, const staged_rewrite& staged) {
  for (const auto& s : staged.staged) {
    for (const char* suffix : segment_suffixes) STRATA_TRY(remove_if_present(fs, io::join_path(dir, staged_file_name(s.base, suffix))));
  }
  return {};
}

std::vector<uint8_t> encode_swap_marker(const swap_marker& m) {
  std::vector<uint8_t> out(swap_fixed_bytes + 8 * m.new_bases.size(), 0);
  put_u32(out.data(), swap_magic);
  put_u16(out.data() + 8, swap_version);
  put_u32(out.data() + 12, static_cast<uint32_t>(m.new_bases.size()));
  put_u64(out.data() + 16, static_cast<uint64_t>(m.range_start.value));
  put_u64(out.data() + 24, static_cast<uint64_t>(m.range_end.value));
  for (size_t i = 0; i < m.new_bases.size(); ++i) {
    put_u64(out.data() + swap_fixed_bytes + 8 * i, static_cast<uint64_t>(m.new_bases[i].value));
  }
  put_u32(out.data() + 4, crc32c(out.data() + swap_crc_from, out.size() - swap_crc_from));
  return out;
}

result<swap_marker> decode_swap_marker(std::span<const uint8_t> bytes, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::corrupt, path + ": " + why +
                                         " (the marker of an interrupted compaction swap is damaged; restore the log from a replica)");
  };
  if (bytes.size() < swap_fixed_bytes) return bad("shorter than 32 bytes");
  const uint8_t* p = bytes.data();
  if (get_u32(p) != swap_magic) return bad("bad magic");
  if (crc32c(p + swap_crc_from, bytes.size() - swap_crc_from) != get_u32(p + 4)) return bad("CRC mismatch");
  if (get_u16(p + 8) != swap_version) {
    return make_error(errc::unsupported, path + ": swap marker version " + std::to_string(get_u16(p + 8)) +
                                             " is not supported by this build");
  }
  uint32_t count = get_u32(p + 12);
  if (get_u16(p + 10) != 0 || count == 0 || count > swap_segments_max || bytes.size() != swap_fixed_bytes + 8ULL * count) {
    return bad("bad reserved field, count or length");
  }
  swap_marker m{log_offset(static_cast<int64_t>(get_u64(p + 16))), log_offset(static_cast<int64_t>(get_u64(p + 24))), {}};
  for (uint32_t i = 0; i < count; ++i) m.new_bases.emplace_back(static_cast<int64_t>(get_u64(p + swap_fixed_bytes + 8 * i)));
  bool ordered = m.range_start.value >= 0 && m.new_bases.front() == m.range_start && m.new_bases.back() < m.range_end &&
                 std::is_sorted(m.new_bases.begin(), m.new_bases.end()) &&
                 std::adjacent_find(m.new_bases.begin(), m.new_bases.end()) == m.new_bases.end();
  if (!ordered) return bad("segment bases out of order or outside the range");
  return m;
}

status apply_swap(io::fs& fs, const std::string& dir, const swap_marker& m) {
  std::set<log_offset> fresh(m.new_bases.begin(), m.new_bases.end());
  for (auto base : m.new_bases) {
    for (const char* suffix : segment_suffixes) {
      std::string staged = io::join_path(dir, staged_file_name(base, suffix));
      auto there = fs.exists(staged);
      STRATA_TRY(there);
      if (*there) STRATA_TRY(fs.rename(staged, io::join_path(dir, segment_file_name(base, suffix))));
    }
    auto data = fs.exists(io::join_path(dir, segment_file_name(base, ".log")));
    STRATA_TRY(data);
    if (!*data) {
      return make_error(errc::corrupt, swap_marker_path(dir) + ": the new segment " + std::to_string(base.value) +
                                           " is missing (restore the log from a replica)");
    }
  }
  auto names = fs.list(dir);
  STRATA_TRY(names);
  for (const auto& name : *names) {
    auto parts = parse_segment_file_name(name);
    if (!parts || parts->kind != segment_file_kind::data) continue;
    if (parts->base < m.range_start || parts->base >= m.range_end || fresh.contains(parts->base)) continue;
    STRATA_TRY(remove_segment_files(fs, dir, parts->base));
  }
  return fs.sync_dir(dir);
}

status finish_or_discard_swap(io::fs& fs, const std::string& dir) {
  std::string path = swap_marker_path(dir);
  STRATA_TRY(remove_if_present(fs, path + ".tmp"));
  auto bytes = read_whole(fs, path);
  STRATA_TRY(bytes);
  if (bytes->has_value()) {
    auto m = decode_swap_marker(**bytes, path);
    STRATA_TRY(m);
    spdlog::warn("log {}: finishing an interrupted compaction swap of offsets [{}, {})", dir, m->range_start.value,
                 m->range_end.value);
    STRATA_TRY(apply_swap(fs, dir, *m));
    STRATA_TRY(fs.remove(path));
    STRATA_TRY(fs.sync_dir(dir));
  }
  // Without a marker, staged files belong to a rewrite that never committed.
  auto names = fs.list(dir);
  STRATA_TRY(names);
  bool removed = false;
  for (const auto& name : *names) {
    if (!ends_with(name, staged_suffix)) continue;
    STRATA_TRY(fs.remove(io::join_path(dir, name)));
    removed = true;
  }
  if (removed) {
    STRATA_TRY(fs.sync_dir(dir));
    spdlog::info("log {}: removed the staged files of a compaction that did not finish", dir);
  }
  return {};
}

}  // namespace strata::storage
