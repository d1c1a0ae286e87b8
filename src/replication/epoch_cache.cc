#include "replication/epoch_cache.h"

#include <algorithm>
#include <iterator>
#include <span>

#include "base/crc32c.h"
#include "storage/segment.h"

namespace strata::replication {
namespace {

constexpr const char* file_name = "leader-epochs";
constexpr uint32_t file_magic = 0x45525453;  // bytes "STRE"
constexpr uint16_t file_version = 1;
constexpr size_t header_bytes = 16;
constexpr size_t crc_from = 8;
constexpr size_t entry_bytes = 12;
constexpr uint64_t file_bytes_max = 16 << 20;  // over a million epochs: not a file we wrote

void put_le(uint8_t* p, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

std::vector<uint8_t> encode(const std::vector<epoch_entry>& entries) {
  std::vector<uint8_t> out(header_bytes + entries.size() * entry_bytes);
  put_le(out.data(), file_magic, 4);
  put_le(out.data() + 8, file_version, 2);
  put_le(out.data() + 10, entry_bytes, 2);
  put_le(out.data() + 12, entries.size(), 4);
  uint8_t* p = out.data() + header_bytes;
  for (const auto& e : entries) {
    put_le(p, static_cast<uint32_t>(e.epoch), 4);
    put_le(p + 4, static_cast<uint64_t>(e.start_offset), 8);
    p += entry_bytes;
  }
  put_le(out.data() + 4, crc32c(out.data() + crc_from, out.size() - crc_from), 4);
  return out;
}

result<std::vector<epoch_entry>> decode(std::span<const uint8_t> bytes, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::corrupt,
                      path + ": " + why + " (the leader epochs are damaged; rebuild this replica from the leader)");
  };
  if (bytes.size() < header_bytes) return bad("shorter than its header");
  const uint8_t* p = bytes.data();
  if (get_le(p, 4) != file_magic) return bad("bad magic");
  if (crc32c(p + crc_from, bytes.size() - crc_from) != get_le(p + 4, 4)) return bad("CRC mismatch");
  if (get_le(p + 8, 2) != file_version) {
    return make_error(errc::unsupported, path + ": version " + std::to_string(get_le(p + 8, 2)) +
                                             " is not supported by this build");
  }
  uint64_t count = get_le(p + 12, 4);
  if (get_le(p + 10, 2) != entry_bytes || bytes.size() != header_bytes + count * entry_bytes) {
    return bad("entry size or length does not match the entry count");
  }
  std::vector<epoch_entry> entries;
  entries.reserve(count);
  for (p += header_bytes; entries.size() < count; p += entry_bytes) {
    epoch_entry e{static_cast<int32_t>(get_le(p, 4)), static_cast<int64_t>(get_le(p + 4, 8))};
    bool ordered = entries.empty() || (e.epoch > entries.back().epoch && e.start_offset > entries.back().start_offset);
    if (e.epoch < 0 || e.start_offset < 0 || !ordered) return bad("entries out of order or negative");
    entries.push_back(e);
  }
  return entries;
}

}  // namespace

result<epoch_cache> epoch_cache::open(io::fs& fs, std::string dir) {
  std::string path = io::join_path(dir, file_name);
  STRATA_TRY(storage::remove_if_present(fs, path + ".tmp"));
  auto bytes = storage::read_whole(fs, path);
  STRATA_TRY(bytes);
  std::vector<epoch_entry> entries;
  if (bytes->has_value()) {
    if ((*bytes)->size() > file_bytes_max) return make_error(errc::corrupt, path + ": implausibly large for leader epochs");
    auto decoded = decode(**bytes, path);
    STRATA_TRY(decoded);
    entries = std::move(decoded).value();
  }
  return epoch_cache(fs, std::move(dir), std::move(entries));
}

std::string epoch_cache::path() const { return io::join_path(dir_, file_name); }

status epoch_cache::replace(std::vector<epoch_entry> next) {
  std::string target = path();
  auto written = storage::write_file_atomically(*fs_, target, encode(next));
  if (written.ok()) written = fs_->sync_dir(dir_);
  if (auto s = written; !s.ok()) {
    (void)storage::remove_if_present(*fs_, target + ".tmp");
    return s;
  }
  entries_ = std::move(next);
  return {};
}

status epoch_cache::assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || start_offset < 0) {
    return make_error(errc::invalid_argument, "leader epoch " + std::to_string(epoch) + " at offset " +
                                                  std::to_string(start_offset) + ": both must be at least 0");
  }
  if (!entries_.empty() && entries_.back().epoch == epoch && entries_.back().start_offset <= start_offset) return {};
  std::vector<epoch_entry> next = entries_;
  while (!next.empty() && (next.back().epoch >= epoch || next.back().start_offset >= start_offset)) next.pop_back();
  next.push_back({epoch, start_offset});
  return replace(std::move(next));
}

int32_t epoch_cache::latest_epoch() const { return entries_.empty() ? -1 : entries_.back().epoch; }

epoch_cache::epoch_end epoch_cache::end_offset_for(int32_t requested_epoch, int64_t log_end_offset) const {
  if (requested_epoch < 0) return {};
  if (requested_epoch == latest_epoch()) return {requested_epoch, log_end_offset};
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), requested_epoch,
                                 [](int32_t e, const epoch_entry& x) { return e < x.epoch; });
  if (higher == entries_.end()) return {};
  if (higher == entries_.begin()) return {requested_epoch, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

status epoch_cache::truncate_from_end(int64_t end_offset) {
  if (end_offset < 0) {
    return make_error(errc::invalid_argument,
                      "cannot truncate leader epochs at negative offset " + std::to_string(end_offset));
  }
  if (entries_.empty() || entries_.back().start_offset < end_offset) return {};
  std::vector<epoch_entry> next = entries_;
  while (!next.empty() && next.back().start_offset >= end_offset) next.pop_back();
  return replace(std::move(next));
}

status epoch_cache::clear() { return replace({}); }

}  // namespace strata::replication
