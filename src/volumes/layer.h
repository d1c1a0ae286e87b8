// layer: one level of a volume's stack. It owns a data file
// "<id>.data" in which block b lives at byte b * block_bytes (so a layer
// file is as sparse as the writes it took), a block_map saying which blocks
// it holds, and the map_journal that makes that map durable.
//
// Writes go to the file first and to the map second, so a reader that sees
// a block in the map finds its bytes. The map changes are also queued as
// records; flush() syncs the data file, then appends and syncs the records.
// A crash thus loses only unflushed map changes, and a block the journal
// names always has its bytes on disk.
//
// Threading: reads, writes and flushes may run on many threads at once;
// flushes serialize among themselves. grow() needs the service's exclusive
// topology lock. `parent` is guarded by that lock too.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "volumes/block_map.h"
#include "volumes/map_journal.h"

#include "io/fs.h"

namespace strata::volumes {

// Shared by every layer of a service; read by service::usage().
struct io_counters {
  std::atomic<uint64_t> client_write_bytes{0};
  std::atomic<uint64_t> disk_write_bytes{0};
  std::atomic<uint64_t> map_write_bytes{0};
  std::atomic<uint64_t> flushes{0};
};

struct layer_env {
  io::fs& fs;
  std::string dir;  // <data_dir>/volumes/layers
  io_counters& counters;
  uint32_t pending_records_max = 65536;
  uint64_t checkpoint_growth_bytes_min = 16 * 1024 * 1024;  // journal growth past the last checkpoint before the next
  bool direct_io = false;  // data files opened with O_DIRECT (service_config::io)
};

std::string layer_id_text(uint64_t id);  // 16 hex digits, the file name stem

class layer {
 public:
  // A new, empty layer; its files are synced, the directory is not.
  static result<std::shared_ptr<layer>> create(layer_env& env, uint64_t id, uint64_t size_blocks);
  // An existing layer, its map rebuilt from the journal.
  static result<std::shared_ptr<layer>> open(layer_env& env, uint64_t id, uint64_t size_blocks);
  ~layer();

  uint64_t id() const { return id_; }
  io::fs& fs() const { return env_.fs; }
  uint64_t size_blocks() const { return map_.size_blocks(); }
  const block_map& map() const { return map_; }
  block_state state(uint64_t block) const { return map_.get(block); }

  // Reads the file at offset; bytes past its end read as zeros.
  status read(uint64_t offset, std::span<uint8_t> out);
  // The same read as one request of a batch (io::fs::read_batch), and its
  // outcome once the batch ran, with the bytes past the file's end zeroed.
  io::read_request read_request(uint64_t offset, std::span<uint8_t> out) const;
  static status finish_read(const io::read_request& done);
  // Writes whole blocks starting at first_block and marks them data.
  status write_blocks(uint64_t first_block, std::span<const uint8_t> data);
  // Writes inside one block that this layer already holds as data.
  status write_in_place(uint64_t offset, std::span<const uint8_t> data);
  // Marks whole blocks zero and releases their space.
  status punch_blocks(uint64_t first_block, uint64_t count);
  // Makes whole blocks read as zeros but keeps them allocated (data).
  // errc::unsupported if the file system cannot do that without writing.
  status zero_allocated_blocks(uint64_t first_block, uint64_t count);

  // Makes every write that returned before this call durable.
  status flush();
  void grow(uint64_t size_blocks) { map_.grow(size_blocks); }
  // Closes and deletes the layer's files. The caller syncs the directory.
  status remove_files();

  std::shared_ptr<layer> parent;  // the layer reads fall through to; guarded by the topology lock

 private:
  layer(layer_env& env, uint64_t id, uint64_t size_blocks);
  status check_usable() const;
  bool all_data(uint64_t first_block, uint64_t count) const;
  // Queues a map change; true when the queue is past its limit and a flush is due.
  bool queue(map_record record);
  status flush_due(bool due);
  status checkpoint_if_due();

  layer_env& env_;
  uint64_t id_;
  block_map map_;
  std::unique_ptr<io::file> data_;
  std::unique_ptr<map_journal> journal_;
  uint64_t checkpoint_bytes_ = 0;  // journal size right after the last checkpoint (or open)

  std::mutex flush_mu_;            // one flush at a time
  std::mutex pending_mu_;          // guards pending_
  std::vector<map_record> pending_;
  std::atomic<bool> dirty_{false};  // the data file has unsynced writes
  std::atomic<bool> failed_{false}; // a sync failed; the file's state is unknown until a restart
};

}  // namespace strata::volumes
