// map_journal: the durable form of one layer's block_map, a file
// "<layer id>.map" of fixed-size records, each saying "blocks [first,
// first+count) are now data / zero / absent". Replaying them in order
// rebuilds the map. A flush appends the records collected since the last one
// (after the layer's data file is synced, so a record never points at bytes
// that a crash could lose); a checkpoint rewrites the file as the map's runs.
// Byte layout and recovery rules: docs/formats/volume.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "volumes/block_map.h"

namespace strata::io {
class fs;
class file;
}  // namespace strata::io

namespace strata::volumes {

struct map_record {
  block_state state = block_state::absent;
  uint64_t first_block = 0;
  uint64_t block_count = 0;
};

inline constexpr uint32_t map_format_version = 1;
inline constexpr size_t map_header_bytes = 32;
inline constexpr size_t map_record_bytes = 24;

struct replay_report {
  uint64_t records = 0;
  uint64_t torn_bytes = 0;  // bytes cut off the tail (a torn or corrupt last append)
};

// One record per maximal run of data or zero blocks of `map`, in order.
std::vector<map_record> runs_of(const block_map& map);

class map_journal {
 public:
  // A new journal holding only its header, synced. The caller syncs the directory.
  static result<std::unique_ptr<map_journal>> create(io::fs& fs, const std::string& path, uint64_t layer_id);
  // Opens a journal, applies its records to `map` in order, and cuts a torn
  // or corrupt tail off so appends continue after the last good record.
  static result<std::unique_ptr<map_journal>> open(io::fs& fs, const std::string& path, uint64_t layer_id,
                                                   block_map& map, replay_report* report);
  ~map_journal();

  // Appends the records and syncs. Returns the bytes appended.
  result<uint64_t> append(std::span<const map_record> records);
  // Replaces the file with a header and `runs` (the map's runs, see
  // runs_of()), through "<path>.tmp", a rename and a directory sync. Returns
  // the bytes written.
  result<uint64_t> checkpoint(std::span<const map_record> runs);
  uint64_t size_bytes() const { return size_bytes_; }

 private:
  map_journal(io::fs& fs, std::string path, uint64_t layer_id, std::unique_ptr<io::file> file, uint64_t size_bytes);

  io::fs& fs_;
  std::string path_;
  uint64_t layer_id_;
  std::unique_ptr<io::file> file_;
  uint64_t size_bytes_;
};

}  // namespace strata::volumes
