// log::open and the log implementation: segments in offset order, the last
// one active. See log.h for the threading contract and docs/formats/log.md
// for the files and the recovery rules.
#include "storage/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>

#include "base/buffer_pool.h"
#include "base/crc32c.h"
#include "io/fs.h"
#include "storage/rewrite.h"
#include "storage/segment.h"
#include "storage/segment_names.h"

namespace strata::storage {
namespace {

constexpr uint64_t segment_bytes_limit = 2 * GiB;  // index positions are 32-bit
constexpr log_offset no_end_limit(std::numeric_limits<int64_t>::max());

// The truncation marker: "Truncation" in docs/formats/log.md.
constexpr const char* marker_name = "truncation";
constexpr uint32_t marker_magic = 0x43525453;  // bytes "STRC"
constexpr uint16_t marker_version = 1;
constexpr size_t marker_bytes = 24;
constexpr size_t marker_crc_from = 8;

enum class truncation_kind : uint16_t { keep_below = 1, restart_at = 2 };

struct truncation_marker {
  truncation_kind kind;
  log_offset offset;
};

std::string marker_path(const std::string& dir) { return io::join_path(dir, marker_name); }

std::vector<uint8_t> encode_marker(const truncation_marker& m) {
  std::vector<uint8_t> out(marker_bytes, 0);
  put_u32(out.data(), marker_magic);
  put_u16(out.data() + 8, marker_version);
  put_u16(out.data() + 10, static_cast<uint16_t>(m.kind));
  put_u64(out.data() + 16, static_cast<uint64_t>(m.offset.value));
  put_u32(out.data() + 4, crc32c(out.data() + marker_crc_from, marker_bytes - marker_crc_from));
  return out;
}

result<truncation_marker> decode_marker(std::span<const uint8_t> bytes, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::corrupt, path + ": " + why +
                                         " (the marker of an interrupted truncation is damaged;"
                                         " restore the log from a replica)");
  };
  if (bytes.size() != marker_bytes) return bad("length is " + std::to_string(bytes.size()) + " bytes, not 24");
  const uint8_t* p = bytes.data();
  if (get_u32(p) != marker_magic) return bad("bad magic");
  if (crc32c(p + marker_crc_from, marker_bytes - marker_crc_from) != get_u32(p + 4)) return bad("CRC mismatch");
  if (get_u16(p + 8) != marker_version) {
    return make_error(errc::unsupported, path + ": truncation marker version " + std::to_string(get_u16(p + 8)) +
                                             " is not supported by this build");
  }
  uint16_t kind = get_u16(p + 10);
  auto offset = static_cast<int64_t>(get_u64(p + 16));
  bool kind_known = kind == static_cast<uint16_t>(truncation_kind::keep_below) ||
                    kind == static_cast<uint16_t>(truncation_kind::restart_at);
  if (!kind_known || get_u32(p + 12) != 0 || offset < 0) return bad("bad kind, reserved field or offset");
  return truncation_marker{static_cast<truncation_kind>(kind), log_offset(offset)};
}

// Removes a leftover marker temp file; returns the marker if one is in place.
result<std::optional<truncation_marker>> read_marker(io::fs& fs, const std::string& dir) {
  std::string path = marker_path(dir);
  STRATA_TRY(remove_if_present(fs, path + ".tmp"));
  auto bytes = read_whole(fs, path);
  STRATA_TRY(bytes);
  if (!bytes->has_value()) return std::optional<truncation_marker>();
  auto m = decode_marker(**bytes, path);
  STRATA_TRY(m);
  return std::optional<truncation_marker>(*m);
}

status remove_marker(io::fs& fs, const std::string& dir) {
  STRATA_TRY(fs.remove(marker_path(dir)));
  return fs.sync_dir(dir);
}

// The start file: "Start offset" in docs/formats/log.md.
constexpr const char* start_name = "start";
constexpr uint32_t start_magic = 0x53525453;  // bytes "STRS"
constexpr uint16_t start_version = 1;
constexpr size_t start_bytes = 24;

std::string start_path(const std::string& dir) { return io::join_path(dir, start_name); }

std::vector<uint8_t> encode_start(log_offset offset) {
  std::vector<uint8_t> out(start_bytes, 0);
  put_u32(out.data(), start_magic);
  put_u16(out.data() + 8, start_version);
  put_u64(out.data() + 16, static_cast<uint64_t>(offset.value));
  put_u32(out.data() + 4, crc32c(out.data() + marker_crc_from, start_bytes - marker_crc_from));
  return out;
}

// The recorded start offset, or 0 without a start file.
result<log_offset> read_start(io::fs& fs, const std::string& dir) {
  std::string path = start_path(dir);
  STRATA_TRY(remove_if_present(fs, path + ".tmp"));
  auto bytes = read_whole(fs, path);
  STRATA_TRY(bytes);
  if (!bytes->has_value()) return log_offset(0);
  const std::vector<uint8_t>& b = **bytes;
  auto bad = [&](const std::string& why) {
    return make_error(errc::corrupt, path + ": " + why + " (the log's start offset is damaged; restore the log from a replica)");
  };
  if (b.size() != start_bytes) return bad("length is " + std::to_string(b.size()) + " bytes, not 24");
  const uint8_t* p = b.data();
  if (get_u32(p) != start_magic) return bad("bad magic");
  if (crc32c(p + marker_crc_from, start_bytes - marker_crc_from) != get_u32(p + 4)) return bad("CRC mismatch");
  if (get_u16(p + 8) != start_version) {
    return make_error(errc::unsupported, path + ": start file version " + std::to_string(get_u16(p + 8)) +
                                             " is not supported by this build");
  }
  auto offset = static_cast<int64_t>(get_u64(p + 16));
  if (get_u16(p + 10) != 0 || get_u32(p + 12) != 0 || offset < 0) return bad("bad reserved field or offset");
  return log_offset(offset);
}

status validate(const log_config& c) {
  auto bad = [](const std::string& what) { return make_error(errc::invalid_argument, "log config: " + what); };
  if (c.segment_bytes_max < frame_header_bytes || c.segment_bytes_max > segment_bytes_limit) {
    return bad("segment_bytes_max must be between 40 bytes and 2 GiB");
  }
  if (c.entry_bytes_max == 0 || c.entry_bytes_max > frame_payload_bytes_max) return bad("entry_bytes_max must be between 1 byte and 1 GiB");
  if (c.segment_age_ms_max <= 0) return bad("segment_age_ms_max must be positive");
  if (c.retention_ms < -1) return bad("retention_ms must be -1 (forever) or at least 0");
  if (c.retention_bytes < -1) return bad("retention_bytes must be -1 (no limit) or at least 0");
  return {};
}

void publish_max(std::atomic<int64_t>& target, int64_t value) {
  int64_t seen = target.load(std::memory_order_relaxed);
  while (seen < value && !target.compare_exchange_weak(seen, value, std::memory_order_release)) {
  }
}

class log_impl final : public log {
 public:
  log_impl(io::fs& fs, std::string dir, log_config config, std::vector<std::unique_ptr<segment>> segments,
           log_offset recorded_start)
      : fs_(fs), dir_(std::move(dir)), config_(config), segments_(std::move(segments)), recorded_start_(recorded_start) {
    active_file_ = segments_.back()->data_file();
    uint64_t size = 0;
    for (const auto& s : segments_) size += s->size_bytes();
    end_.store(segments_.back()->next_offset().value);
    publish_start();
    flushed_.store(end_.load());
    size_bytes_.store(size);
    segment_count_.store(segments_.size());
  }

  result<append_result> append(std::span<const uint8_t> payload, uint32_t record_count,
                               int64_t max_timestamp_ms) override {
    STRATA_TRY(usable_for_writes());
    if (payload.size() > config_.entry_bytes_max) {
      return make_error(errc::limit_exceeded, "entry of " + std::to_string(payload.size()) +
                                                  " bytes is over entry_bytes_max " + std::to_string(config_.entry_bytes_max));
    }
    if (record_count == 0) return make_error(errc::invalid_argument, "an entry must cover at least one record");
    log_offset base(end_.load(std::memory_order_relaxed));
    if (base.value > std::numeric_limits<int64_t>::max() - record_count) {
      return make_error(errc::limit_exceeded, "log offsets exhausted");
    }
    uint64_t frame_bytes = frame_header_bytes + payload.size();
    if (must_roll(frame_bytes, base + record_count, max_timestamp_ms)) STRATA_TRY(roll());

    encode_frame_header(header_, base, record_count, max_timestamp_ms, payload);
    frame_header h{0, static_cast<uint32_t>(payload.size()), base, record_count, max_timestamp_ms};
    STRATA_TRY(segments_.back()->append(header_, payload, h));
    size_bytes_.fetch_add(frame_bytes, std::memory_order_relaxed);
    end_.store(h.next_offset().value, std::memory_order_release);
    return append_result{base, h.next_offset()};
  }

  result<log_offset> flush() override {
    std::shared_ptr<io::file> file;
    int64_t target;
    uint64_t truncations;
    {
      std::lock_guard lock(mu_);
      if (sync_failed_.load()) return sync_failed_error();
      if (truncation_failed_.load()) return truncation_failed_error();
      if (!active_file_) return make_error(errc::unavailable, "log " + dir_ + " was destroyed");
      file = active_file_;
      target = end_.load(std::memory_order_acquire);
      truncations = truncations_;
    }
    if (target > flushed_.load(std::memory_order_acquire)) {
      auto s = file->sync();  // outside the lock: appends go on meanwhile
      if (!s.ok()) {
        sync_failed_.store(true);
        return s.err();
      }
      std::lock_guard lock(mu_);
      // A truncation meanwhile may have removed entries below target.
      if (truncations == truncations_) publish_max(flushed_, target);
    }
    return log_offset(flushed_.load(std::memory_order_acquire));
  }

  result<read_result> read(log_offset from, uint64_t max_bytes, log_offset upto, bool min_one) override {
    STRATA_TRY(usable());
    log_offset start = start_offset();
    log_offset end = end_offset();
    if (from < start || from > end) {
      return make_error(errc::not_found, "offset " + std::to_string(from.value) + " is outside the log [" +
                                             std::to_string(start.value) + ", " + std::to_string(end.value) + "]");
    }
    read_plan plan;
    // Room for the whole budget and its frame headers, from the thread's
    // kept buffers (base/buffer_pool.h): reserved, not touched.
    constexpr uint64_t frame_headers_slack_bytes = 64 * KiB;
    plan.buffer = buffer_pool::take(static_cast<size_t>(std::min<uint64_t>(max_bytes, uint64_t{64} * MiB) + frame_headers_slack_bytes));
    plan.payload_left = max_bytes;
    plan.upto = std::min(upto, end);
    plan.min_one = min_one;
    if (from < plan.upto) {
      auto it = std::upper_bound(segments_.begin(), segments_.end(), from,
                                 [](log_offset o, const auto& s) { return o < s->base(); });
      for (--it; it != segments_.end(); ++it) {
        auto more = (*it)->read(std::max(from, (*it)->base()), plan);
        STRATA_TRY(more);
        if (!*more) break;
      }
    }
    read_result out;
    out.buffer = std::move(plan.buffer);
    out.entries.reserve(plan.frames.size());
    for (const auto& [at, h] : plan.frames) {
      out.entries.push_back(entry_view{h.base_offset, h.record_count, h.max_timestamp_ms,
                                       std::span<const uint8_t>(out.buffer.data() + at, h.payload_bytes)});
    }
    return out;
  }

  result<std::optional<entry_view>> find_by_timestamp(int64_t timestamp_ms, read_result& storage) override {
    STRATA_TRY(usable());
    for (auto& seg : segments_) {
      auto found = seg->find_timestamp(timestamp_ms);
      STRATA_TRY(found);
      if (!found->has_value()) continue;
      auto r = read(**found, 0, end_offset(), true);
      STRATA_TRY(r);
      if (r->entries.empty()) return make_error(errc::internal, "entry found by timestamp could not be read");
      storage = std::move(r).value();
      return std::optional<entry_view>(storage.entries.front());
    }
    return std::optional<entry_view>();
  }

  result<int> enforce_retention(int64_t now_ms) override {
    STRATA_TRY(usable_for_writes());
    auto first_ts = segments_.back()->first_timestamp_ms();
    if (first_ts && *first_ts < now_ms - config_.segment_age_ms_max) STRATA_TRY(roll());
    int removed = 0;
    while (segments_.size() > 1 && expired(*segments_.front(), now_ms)) {
      STRATA_TRY(segments_.front()->remove_files());
      size_bytes_.fetch_sub(segments_.front()->size_bytes());
      segments_.erase(segments_.begin());
      publish_start();
      segment_count_.store(segments_.size());
      ++removed;
    }
    if (removed > 0) STRATA_TRY(fs_.sync_dir(dir_));
    return removed;
  }

  status advance_start(log_offset new_start) override {
    STRATA_TRY(usable_for_writes());
    if (new_start > end_offset()) {
      return make_error(errc::invalid_argument, "cannot move the start of log " + dir_ + " to " +
                                                    std::to_string(new_start.value) + ": past its end " +
                                                    std::to_string(end_offset().value));
    }
    if (new_start <= start_offset()) return {};
    std::string path = start_path(dir_);
    if (auto s = write_file_atomically(fs_, path, encode_start(new_start)); !s.ok()) {
      (void)remove_if_present(fs_, path + ".tmp");
      return s;
    }
    STRATA_TRY(fs_.sync_dir(dir_));
    recorded_start_ = new_start;
    publish_start();
    bool removed = false;
    while (segments_.size() > 1 && segments_[1]->base() <= new_start) {
      STRATA_TRY(segments_.front()->remove_files());
      size_bytes_.fetch_sub(segments_.front()->size_bytes());
      segments_.erase(segments_.begin());
      segment_count_.store(segments_.size());
      removed = true;
    }
    if (removed) STRATA_TRY(fs_.sync_dir(dir_));
    return {};
  }

  status truncate(log_offset new_end) override {
    STRATA_TRY(usable_for_writes());
    if (new_end < start_offset() || new_end > end_offset()) {
      return make_error(errc::invalid_argument, "cannot truncate log " + dir_ + " to offset " +
                                                    std::to_string(new_end.value) + ": outside [" +
                                                    std::to_string(start_offset().value) + ", " +
                                                    std::to_string(end_offset().value) + "]");
    }
    if (new_end == end_offset()) return {};
    auto it = std::upper_bound(segments_.begin(), segments_.end(), new_end,
                               [](log_offset o, const auto& s) { return o < s->base(); });
    size_t kept = static_cast<size_t>(it - segments_.begin()) - 1;
    auto position = segments_[kept]->boundary_position(new_end);
    STRATA_TRY(position);
    STRATA_TRY(begin_truncation({truncation_kind::keep_below, new_end}));
    return or_mark_failed(cut_back(kept, new_end, *position));
  }

  status reconfigure(const log_config& config) override {
    STRATA_TRY(validate(config));
    config_.segment_bytes_max = config.segment_bytes_max;
    config_.segment_age_ms_max = config.segment_age_ms_max;
    config_.retention_ms = config.retention_ms;
    config_.retention_bytes = config.retention_bytes;
    config_.entry_bytes_max = config.entry_bytes_max;
    return {};
  }

  status truncate_fully(log_offset new_start) override {
    STRATA_TRY(usable_for_writes());
    if (new_start.value < 0) {
      return make_error(errc::invalid_argument, "cannot restart log " + dir_ + " at negative offset " +
                                                    std::to_string(new_start.value));
    }
    STRATA_TRY(begin_truncation({truncation_kind::restart_at, new_start}));
    return or_mark_failed(restart_at(new_start));
  }

  std::vector<closed_segment> closed_segments() const override {
    std::vector<closed_segment> out;
    for (size_t i = 0; i + 1 < segments_.size(); ++i) {
      const segment& s = *segments_[i];
      int64_t first_ts = s.first_timestamp_ms().value_or(
          s.index().times().empty() ? s.max_timestamp_ms() : s.index().times().front().max_timestamp_ms);
      out.push_back(closed_segment{s.base(), segments_[i + 1]->base(), s.size_bytes(), first_ts, s.max_timestamp_ms()});
    }
    return out;
  }

  status replace_segments(const staged_rewrite& staged) override {
    auto discard = [&](error e) {
      (void)discard_staged(fs_, dir_, staged);
      return e;
    };
    if (auto s = usable_for_writes(); !s.ok()) return discard(s.err());
    auto first = std::find_if(segments_.begin(), segments_.end(),
                              [&](const auto& s) { return s->base() == staged.range_start(); });
    const auto at = static_cast<size_t>(first - segments_.begin());
    bool same = at + staged.replaced.size() < segments_.size();
    for (size_t i = 0; same && i < staged.replaced.size(); ++i) {
      const segment& s = *segments_[at + i];
      same = s.base() == staged.replaced[i].base && s.size_bytes() == staged.replaced[i].size_bytes &&
             segments_[at + i + 1]->base() == staged.replaced[i].next;
    }
    if (!same) {
      return discard(make_error(errc::unavailable, "segments of log " + dir_ +
                                                       " changed while they were compacted; compaction tries again later"));
    }
    swap_marker m{staged.range_start(), staged.range_end(), {}};
    for (const auto& s : staged.staged) m.new_bases.push_back(s.base);
    std::string path = swap_marker_path(dir_);
    if (auto s = write_file_atomically(fs_, path, encode_swap_marker(m)); !s.ok()) {
      (void)remove_if_present(fs_, path + ".tmp");
      return discard(s.err());
    }
    return or_mark_swap_failed(finish_swap(at, staged, m));
  }

  status destroy() override {
    {
      std::lock_guard lock(mu_);
      active_file_.reset();
    }
    destroyed_ = true;
    segments_.clear();
    segment_count_.store(0);
    size_bytes_.store(0);
    return fs_.remove_all(dir_);
  }

  log_offset start_offset() const override { return log_offset(start_.load(std::memory_order_acquire)); }
  log_offset end_offset() const override { return log_offset(end_.load(std::memory_order_acquire)); }
  log_offset flushed_offset() const override { return log_offset(flushed_.load(std::memory_order_acquire)); }
  uint64_t size_bytes() const override { return size_bytes_.load(std::memory_order_relaxed); }
  size_t segment_count() const override { return segment_count_.load(std::memory_order_relaxed); }

 private:
  status usable() const {
    if (swap_failed_.load(std::memory_order_relaxed)) {
      return make_error(errc::io_error, "a compaction swap in log " + dir_ + " failed part way; reopen the log to finish it");
    }
    if (destroyed_) return make_error(errc::unavailable, "log " + dir_ + " was destroyed");
    if (truncation_failed_.load(std::memory_order_relaxed)) return truncation_failed_error();
    return {};
  }

  status usable_for_writes() {
    STRATA_TRY(usable());
    if (sync_failed_.load(std::memory_order_relaxed)) return sync_failed_error();
    return {};
  }

  error sync_failed_error() const {
    return make_error(errc::io_error, "an fsync of log " + dir_ +
                                          " failed earlier, so what is on disk is unknown; reopen the log to recover");
  }

  error truncation_failed_error() const {
    return make_error(errc::io_error, "a truncation of log " + dir_ +
                                          " failed part way; reopen the log to finish it");
  }

  status or_mark_failed(status s) {
    if (!s.ok()) truncation_failed_.store(true);
    return s;
  }

  // Makes the truncation marker durable. Until its rename a failure leaves
  // the log as it was; from then on the marker may be in place, and only a
  // reopen knows whether to finish the truncation.
  status begin_truncation(const truncation_marker& m) {
    std::string path = marker_path(dir_);
    if (auto s = write_file_atomically(fs_, path, encode_marker(m)); !s.ok()) {
      (void)remove_if_present(fs_, path + ".tmp");
      return s;
    }
    return or_mark_failed(fs_.sync_dir(dir_));
  }

  // Steps 3 to 5 of truncate (docs/formats/log.md): the segments after the
  // kept one go, newest first; then the kept one is cut and becomes active.
  status cut_back(size_t kept, log_offset new_end, uint64_t position) {
    if (segments_.size() > kept + 1) {
      while (segments_.size() > kept + 1) {
        STRATA_TRY(segments_.back()->remove_files());
        segments_.pop_back();
      }
      STRATA_TRY(fs_.sync_dir(dir_));
    }
    STRATA_TRY(segments_.back()->cut_at(new_end, position));
    publish_truncation();
    return remove_marker(fs_, dir_);
  }

  status restart_at(log_offset new_start) {
    while (!segments_.empty()) {
      STRATA_TRY(segments_.back()->remove_files());
      segments_.pop_back();
    }
    auto fresh = segment::create(fs_, dir_, new_start, config_.index_interval_bytes);
    STRATA_TRY(fresh);
    segments_.push_back(std::move(fresh).value());
    STRATA_TRY(remove_if_present(fs_, start_path(dir_)));
    recorded_start_ = log_offset(0);
    STRATA_TRY(fs_.sync_dir(dir_));
    publish_truncation();
    return remove_marker(fs_, dir_);
  }

  // Publishes the offsets of the segments now held. Under mu_ with the
  // truncation count, so that a flush begun earlier cannot publish an offset
  // that is gone.
  void publish_truncation() {
    uint64_t size = 0;
    for (const auto& s : segments_) size += s->size_bytes();
    std::lock_guard lock(mu_);
    ++truncations_;
    active_file_ = segments_.back()->data_file();
    end_.store(segments_.back()->next_offset().value, std::memory_order_release);
    publish_start();
    flushed_.store(end_.load(), std::memory_order_release);
    size_bytes_.store(size);
    segment_count_.store(segments_.size());
  }

  // The first segment's base, or the recorded start when that is later
  // (never past the end: a crash may have taken back the tail it was in).
  status or_mark_swap_failed(status s) {
    if (!s.ok()) swap_failed_.store(true);
    return s;
  }

  // From the marker's rename on (docs/formats/log.md, "Replacing segments"):
  // the staged files take the place of the replaced segments, which go.
  status finish_swap(size_t at, const staged_rewrite& staged, const swap_marker& m) {
    STRATA_TRY(fs_.sync_dir(dir_));
    STRATA_TRY(apply_swap(fs_, dir_, m));
    std::vector<std::unique_ptr<segment>> fresh;
    for (const auto& s : staged.staged) {
      bool rebuilt = false;
      auto seg = segment::open_closed(fs_, dir_, s.base, config_.index_interval_bytes, s.next, &rebuilt);
      STRATA_TRY(seg);
      fresh.push_back(std::move(seg).value());
    }
    STRATA_TRY(fs_.remove(swap_marker_path(dir_)));
    STRATA_TRY(fs_.sync_dir(dir_));
    auto first = segments_.begin() + static_cast<std::ptrdiff_t>(at);
    first = segments_.erase(first, first + static_cast<std::ptrdiff_t>(staged.replaced.size()));
    segments_.insert(first, std::make_move_iterator(fresh.begin()), std::make_move_iterator(fresh.end()));
    uint64_t size = 0;
    for (const auto& s : segments_) size += s->size_bytes();
    size_bytes_.store(size);
    segment_count_.store(segments_.size());
    publish_start();
    return {};
  }

  void publish_start() {
    int64_t start = std::max(segments_.front()->base().value, recorded_start_.value);
    start_.store(std::min(start, end_.load(std::memory_order_acquire)), std::memory_order_release);
  }

  bool must_roll(uint64_t frame_bytes, log_offset next, int64_t max_timestamp_ms) const {
    const segment& active = *segments_.back();
    if (active.empty()) return false;
    if (active.size_bytes() + frame_bytes > config_.segment_bytes_max) return true;
    if (next - active.base() > std::numeric_limits<uint32_t>::max()) return true;  // relative offsets are 32-bit
    auto first_ts = active.first_timestamp_ms();
    return first_ts && max_timestamp_ms > *first_ts && max_timestamp_ms - *first_ts > config_.segment_age_ms_max;
  }

  bool expired(const segment& s, int64_t now_ms) const {
    if (config_.retention_ms >= 0 && s.max_timestamp_ms() < now_ms - config_.retention_ms) return true;
    return config_.retention_bytes >= 0 &&
           size_bytes_.load(std::memory_order_relaxed) - s.size_bytes() >= static_cast<uint64_t>(config_.retention_bytes);
  }

  // Closes the active segment (data synced, indexes written) and starts a new
  // one; the directory is synced so the new file survives a crash.
  status roll() {
    segment& old = *segments_.back();
    if (auto s = old.data_file()->sync(); !s.ok()) {
      sync_failed_.store(true);
      return s;
    }
    publish_max(flushed_, old.next_offset().value);
    STRATA_TRY(old.write_indexes());
    auto next = segment::create(fs_, dir_, old.next_offset(), config_.index_interval_bytes);
    STRATA_TRY(next);
    if (auto s = fs_.sync_dir(dir_); !s.ok()) {
      (void)(*next)->remove_files();
      return s;
    }
    {
      std::lock_guard lock(mu_);
      active_file_ = (*next)->data_file();
    }
    segments_.push_back(std::move(next).value());
    segment_count_.store(segments_.size());
    return {};
  }

  io::fs& fs_;
  const std::string dir_;
  log_config config_;  // index_interval_bytes never changes: truncations on the flusher thread read it
  std::vector<std::unique_ptr<segment>> segments_;  // by base offset; back() is active
  log_offset recorded_start_;                        // from the start file; 0 without one
  std::array<uint8_t, frame_header_bytes> header_{};
  bool destroyed_ = false;

  std::mutex mu_;  // guards active_file_ and truncations_ between the owner and the flusher
  std::shared_ptr<io::file> active_file_;
  uint64_t truncations_ = 0;
  std::atomic<bool> sync_failed_{false};        // sticky: set by a failed fsync
  std::atomic<bool> truncation_failed_{false};  // sticky: a truncation stopped part way
  std::atomic<bool> swap_failed_{false};        // sticky: a compaction swap stopped after its commit

  std::atomic<int64_t> start_{0};
  std::atomic<int64_t> end_{0};
  std::atomic<int64_t> flushed_{0};
  std::atomic<uint64_t> size_bytes_{0};
  std::atomic<size_t> segment_count_{0};
};

// Opens the segments found on disk: older ones with their index files, the
// newest one checked frame by frame.
result<std::vector<std::unique_ptr<segment>>> open_segments(io::fs& fs, const std::string& dir,
                                                            const std::vector<log_offset>& bases,
                                                            uint32_t index_interval_bytes, log_offset end_limit) {
  std::vector<std::unique_ptr<segment>> segments;
  for (size_t i = 0; i + 1 < bases.size(); ++i) {
    bool rebuilt = false;
    auto seg = segment::open_closed(fs, dir, bases[i], index_interval_bytes, bases[i + 1], &rebuilt);
    STRATA_TRY(seg);
    if (rebuilt) spdlog::warn("log {}: rebuilt the indexes of segment {}", dir, bases[i].value);
    segments.push_back(std::move(seg).value());
  }
  uint64_t cut_bytes = 0;
  auto active = segment::recover_active(fs, dir, bases.back(), index_interval_bytes, end_limit, &cut_bytes);
  STRATA_TRY(active);
  if (cut_bytes > 0 && end_limit != no_end_limit) {
    spdlog::warn("log {}: cut {} bytes from segment {} to finish an interrupted truncation; offsets continue at {}",
                 dir, cut_bytes, bases.back().value, (*active)->next_offset().value);
  } else if (cut_bytes > 0) {
    spdlog::warn("log {}: cut {} bytes of torn or corrupt tail from segment {}; offsets continue at {}", dir, cut_bytes,
                 bases.back().value, (*active)->next_offset().value);
  }
  segments.push_back(std::move(active).value());
  return segments;
}

// Recovery step 2 (docs/formats/log.md): the file changes of a truncation
// whose marker is in place, up to the cut of the newest segment, which
// open_segments makes at the returned end limit.
result<log_offset> redo_truncation(io::fs& fs, const std::string& dir, const truncation_marker& m,
                                   std::vector<log_offset>& bases, uint32_t index_interval_bytes) {
  size_t keep = 0;
  if (m.kind == truncation_kind::keep_below) {
    keep = static_cast<size_t>(std::upper_bound(bases.begin(), bases.end(), m.offset) - bases.begin());
    if (keep == 0) {
      return make_error(errc::corrupt, marker_path(dir) + ": no segment holds offset " +
                                           std::to_string(m.offset.value) +
                                           " to truncate at (restore the log from a replica)");
    }
  }
  for (size_t i = bases.size(); i > keep; --i) STRATA_TRY(remove_segment_files(fs, dir, bases[i - 1]));
  bases.resize(keep);
  if (m.kind == truncation_kind::restart_at) {
    auto fresh = segment::create(fs, dir, m.offset, index_interval_bytes);
    STRATA_TRY(fresh);
    bases.push_back(m.offset);
    STRATA_TRY(remove_if_present(fs, start_path(dir)));
  }
  STRATA_TRY(fs.sync_dir(dir));
  spdlog::warn("log {}: finishing an interrupted truncation ({} offset {})", dir,
               m.kind == truncation_kind::keep_below ? "keep the entries below" : "restart at", m.offset.value);
  return m.offset;
}

}  // namespace

result<std::unique_ptr<log>> log::open(io::fs& fs, std::string dir, log_config config) {
  STRATA_TRY(validate(config));
  STRATA_TRY(fs.create_dirs(dir));
  STRATA_TRY(finish_or_discard_swap(fs, dir));
  auto bases = tidy_and_list_segments(fs, dir);
  STRATA_TRY(bases);
  auto marker = read_marker(fs, dir);
  STRATA_TRY(marker);
  log_offset end_limit = no_end_limit;
  if (marker->has_value()) {
    auto limit = redo_truncation(fs, dir, **marker, *bases, config.index_interval_bytes);
    STRATA_TRY(limit);
    end_limit = *limit;
  }
  auto recorded_start = read_start(fs, dir);
  STRATA_TRY(recorded_start);
  // Segments wholly below the start (an advance_start cut short) go now.
  size_t below = 0;
  while (below + 1 < bases->size() && (*bases)[below + 1] <= *recorded_start) ++below;
  if (below > 0) {
    for (size_t i = 0; i < below; ++i) STRATA_TRY(remove_segment_files(fs, dir, (*bases)[i]));
    bases->erase(bases->begin(), bases->begin() + static_cast<std::ptrdiff_t>(below));
  }
  std::vector<std::unique_ptr<segment>> segments;
  if (bases->empty()) {
    auto first = segment::create(fs, dir, log_offset(0), config.index_interval_bytes);
    STRATA_TRY(first);
    segments.push_back(std::move(first).value());
  } else {
    auto opened = open_segments(fs, dir, *bases, config.index_interval_bytes, end_limit);
    STRATA_TRY(opened);
    segments = std::move(opened).value();
  }
  // Whatever the last process left in the page cache is now made durable, so
  // that flushed_offset() == end_offset() is true from the start.
  STRATA_TRY(fs.sync_dir(dir));
  if (marker->has_value()) STRATA_TRY(remove_marker(fs, dir));
  return std::unique_ptr<log>(std::make_unique<log_impl>(fs, std::move(dir), config, std::move(segments), *recorded_start));
}

}  // namespace strata::storage
