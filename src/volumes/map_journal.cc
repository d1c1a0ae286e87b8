#include "volumes/map_journal.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "base/crc32c.h"
#include "io/fs.h"
#include "storage/frame.h"

namespace strata::volumes {
namespace {

using storage::get_u32;
using storage::get_u64;
using storage::put_u32;
using storage::put_u64;

constexpr char magic[8] = {'S', 'T', 'R', 'V', 'L', 'M', 'A', 'P'};
constexpr size_t read_chunk_records = 4096;

void encode_header(uint64_t layer_id, uint8_t* out) {
  std::memset(out, 0, map_header_bytes);
  std::memcpy(out, magic, sizeof magic);
  put_u32(out + 8, map_format_version);
  put_u32(out + 12, 4096);
  put_u64(out + 16, layer_id);
  put_u32(out + 28, crc32c(out, 28));
}

status check_header(const uint8_t* in, uint64_t layer_id, const std::string& path) {
  auto bad = [&](const char* why) {
    return make_error(errc::corrupt, fmt::format("map journal {}: {}; the layer cannot be opened", path, why));
  };
  if (std::memcmp(in, magic, sizeof magic) != 0) return bad("bad magic");
  if (get_u32(in + 28) != crc32c(in, 28)) return bad("header checksum mismatch");
  if (get_u32(in + 8) != map_format_version) {
    return make_error(errc::unsupported, fmt::format("map journal {}: format version {} is not {}; use a matching "
                                                     "strata build", path, get_u32(in + 8), map_format_version));
  }
  if (get_u32(in + 12) != 4096) return bad("block size is not 4096");
  if (get_u64(in + 16) != layer_id) return bad("it belongs to another layer");
  return {};
}

void encode_record(const map_record& r, uint8_t* out) {
  std::memset(out, 0, map_record_bytes);
  out[4] = static_cast<uint8_t>(r.state);
  put_u64(out + 8, r.first_block);
  put_u64(out + 16, r.block_count);
  put_u32(out, crc32c(out + 4, map_record_bytes - 4));
}

bool decode_record(const uint8_t* in, map_record& r) {
  if (get_u32(in) != crc32c(in + 4, map_record_bytes - 4)) return false;
  uint8_t state = in[4];
  if (state > static_cast<uint8_t>(block_state::zero) || in[5] != 0 || in[6] != 0 || in[7] != 0) return false;
  r.state = static_cast<block_state>(state);
  r.first_block = get_u64(in + 8);
  r.block_count = get_u64(in + 16);
  return r.first_block + r.block_count >= r.first_block;
}

void apply(block_map& map, const map_record& r) {
  uint64_t end = std::min(r.first_block + r.block_count, map.size_blocks());
  if (r.first_block < end) map.set(r.first_block, end - r.first_block, r.state);
}

std::string parent_dir(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }

}  // namespace

map_journal::map_journal(io::fs& fs, std::string path, uint64_t layer_id, std::unique_ptr<io::file> file,
                         uint64_t size_bytes)
    : fs_(fs), path_(std::move(path)), layer_id_(layer_id), file_(std::move(file)), size_bytes_(size_bytes) {}

map_journal::~map_journal() = default;

result<std::unique_ptr<map_journal>> map_journal::create(io::fs& fs, const std::string& path, uint64_t layer_id) {
  auto file = fs.open(path, io::open_mode::create_exclusive);
  if (!file.ok()) return file.err();
  uint8_t header[map_header_bytes];
  encode_header(layer_id, header);
  STRATA_TRY((*file)->write_at(0, header));
  STRATA_TRY((*file)->sync());
  return std::unique_ptr<map_journal>(new map_journal(fs, path, layer_id, std::move(*file), map_header_bytes));
}

result<std::unique_ptr<map_journal>> map_journal::open(io::fs& fs, const std::string& path, uint64_t layer_id,
                                                      block_map& map, replay_report* report) {
  auto file = fs.open(path, io::open_mode::read_write);
  if (!file.ok()) return file.err();
  auto size = (*file)->size();
  if (!size.ok()) return size.err();
  uint8_t header[map_header_bytes];
  auto got = (*file)->read_at(0, header);
  if (!got.ok()) return got.err();
  if (*got < map_header_bytes) {
    return make_error(errc::corrupt, fmt::format("map journal {}: shorter than its header", path));
  }
  STRATA_TRY(check_header(header, layer_id, path));

  replay_report local;
  uint64_t good_end = map_header_bytes;
  std::vector<uint8_t> buf(read_chunk_records * map_record_bytes);
  bool stopped = false;
  while (!stopped && good_end + map_record_bytes <= *size) {
    uint64_t want = std::min<uint64_t>(buf.size(), (*size - good_end) / map_record_bytes * map_record_bytes);
    auto n = (*file)->read_at(good_end, std::span(buf.data(), want));
    if (!n.ok()) return n.err();
    for (size_t at = 0; at + map_record_bytes <= *n; at += map_record_bytes) {
      map_record r;
      if (!decode_record(buf.data() + at, r)) {
        stopped = true;
        break;
      }
      apply(map, r);
      ++local.records;
      good_end += map_record_bytes;
    }
    if (*n < want) break;
  }
  if (good_end < *size) {
    local.torn_bytes = *size - good_end;
    spdlog::warn("volumes: map journal {}: cutting {} bytes of torn or corrupt tail after {} records", path,
                 local.torn_bytes, local.records);
    STRATA_TRY((*file)->truncate(good_end));
    STRATA_TRY((*file)->sync());
  }
  if (report != nullptr) *report = local;
  return std::unique_ptr<map_journal>(new map_journal(fs, path, layer_id, std::move(*file), good_end));
}

result<uint64_t> map_journal::append(std::span<const map_record> records) {
  if (records.empty()) return uint64_t{0};
  std::vector<uint8_t> bytes(records.size() * map_record_bytes);
  for (size_t i = 0; i < records.size(); ++i) encode_record(records[i], bytes.data() + i * map_record_bytes);
  auto wrote = file_->write_at(size_bytes_, bytes);
  if (!wrote.ok()) {
    // A partial append would leave a torn record in the middle of later ones; cut it now.
    (void)file_->truncate(size_bytes_);
    return wrote.err();
  }
  STRATA_TRY(file_->sync());
  size_bytes_ += bytes.size();
  return uint64_t{bytes.size()};
}

std::vector<map_record> runs_of(const block_map& map) {
  std::vector<map_record> runs;
  map.for_each_run([&](uint64_t first, uint64_t count, block_state s) { runs.push_back(map_record{s, first, count}); });
  return runs;
}

result<uint64_t> map_journal::checkpoint(std::span<const map_record> runs) {
  std::vector<uint8_t> bytes(map_header_bytes + runs.size() * map_record_bytes);
  encode_header(layer_id_, bytes.data());
  for (size_t i = 0; i < runs.size(); ++i) encode_record(runs[i], bytes.data() + map_header_bytes + i * map_record_bytes);
  std::string tmp = path_ + ".tmp";
  {
    auto file = fs_.open(tmp, io::open_mode::create);
    if (!file.ok()) return file.err();
    STRATA_TRY((*file)->truncate(0));
    STRATA_TRY((*file)->write_at(0, bytes));
    STRATA_TRY((*file)->sync());
  }
  STRATA_TRY(fs_.rename(tmp, path_));
  STRATA_TRY(fs_.sync_dir(parent_dir(path_)));
  auto file = fs_.open(path_, io::open_mode::read_write);
  if (!file.ok()) return file.err();
  file_ = std::move(*file);
  size_bytes_ = bytes.size();
  return uint64_t{bytes.size()};
}

}  // namespace strata::volumes
