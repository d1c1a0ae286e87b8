// The volumes service: thin-provisioned block volumes, O(1) snapshots and
// writable clones, on Strata's data dir. The NBD face (src/nbd) and the admin
// API (src/admin) call it; it calls io::fs and meta::kv only.
//
// Model: a volume is a stack of layers. The top layer takes the writes; each
// layer below is frozen and belongs to a snapshot (or to a deleted snapshot
// that a clone or a newer layer still reads through). A read of a block takes
// it from the highest layer that holds it, else it reads as zeros. A snapshot
// freezes the top layer and puts an empty one above it; a clone is a new
// empty layer above a snapshot's layer. Both are O(1). The layout and the
// crash rules are in docs/formats/volume.md.
//
// Names: a volume or snapshot name is 1-128 of [A-Za-z0-9._-]. The NBD export
// of a volume is its name; of a snapshot, "VOLUME@SNAPSHOT" (read-only).
//
// Threading: every method is safe from any thread. Data calls (read, write,
// flush, ...) block on disk I/O, so the NBD face runs them on worker threads.
// Admin calls (create, snapshot, delete, ...) are short; deletes hand the
// copying that reclaims space to a background thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/units.h"

namespace strata::io {
class fs;
}
namespace strata::meta {
class kv;
}

namespace strata::volumes {

// The unit of copy-on-write and of allocation. A write of fewer bytes to a
// block the top layer does not hold yet copies the rest of that one block.
inline constexpr uint64_t block_bytes = 4 * KiB;

// How layer data files are read and written. buffered: through the page
// cache (reads of recent data come from memory; FLUSH syncs). direct:
// O_DIRECT, so large I/O skips the copy through the cache and the cache stays
// free for others; reads always go to the device. Both keep the same
// durability rules: FLUSH and FUA sync data before map records.
enum class data_io { buffered, direct };

struct service_config {
  std::string data_dir;                         // layers live in <data_dir>/volumes
  data_io io = data_io::buffered;
  uint64_t volume_bytes_max = 8ULL << 40;       // 8 TiB; sizes are whole blocks
  uint32_t volumes_max = 1024;                  // volumes, clones included
  uint32_t snapshots_max = 4096;                // across all volumes
  uint32_t layer_depth_max = 256;               // layers a read may walk through
  uint64_t write_bytes_max = 32 * MiB;          // one read or write call
  uint32_t pending_map_records_max = 65536;     // unflushed map changes per layer before a forced flush
  uint64_t map_checkpoint_bytes_min = 16 * MiB; // journal growth past the last checkpoint before the next
};

struct volume_info {
  std::string name;
  uint64_t size_bytes = 0;
  uint64_t allocated_bytes = 0;  // held on disk by the volume's own top layer
  std::string origin;            // "VOLUME@SNAPSHOT" for a clone, else empty
  int64_t created_ms = 0;        // Unix epoch milliseconds
  std::vector<std::string> snapshots;  // names, oldest first
  uint32_t open_exports = 0;     // NBD connections that have it open
};

struct snapshot_info {
  std::string volume;
  std::string name;
  uint64_t size_bytes = 0;
  uint64_t allocated_bytes = 0;  // held on disk by the snapshot's own layer
  int64_t created_ms = 0;
  uint32_t clones = 0;           // live clones made from it
};

struct export_info {
  std::string name;         // "VOLUME" or "VOLUME@SNAPSHOT"
  std::string description;  // human readable, for NBD_INFO_DESCRIPTION
  uint64_t size_bytes = 0;
  bool read_only = false;
};

// Space and write accounting, for /metrics, /v1/volumes and the tests.
struct usage_info {
  uint64_t allocated_bytes = 0;       // data blocks held by all layers, hidden ones included
  uint64_t layers = 0;                // layer files on disk
  uint64_t hidden_layers = 0;         // layers of deleted snapshots still read through
  uint64_t client_write_bytes = 0;    // bytes clients asked to write (WRITE payloads)
  uint64_t disk_write_bytes = 0;      // bytes written to layer files (including copy-on-write fill)
  uint64_t map_write_bytes = 0;       // bytes appended to map journals and checkpoints
  uint64_t flushes = 0;               // layer flushes that synced something
};

// A run of a read: `zero` runs read as zeros (nothing is stored for them), so
// the NBD face may send them as holes.
struct data_run {
  uint64_t length_bytes = 0;
  bool zero = false;
};

// A run of BLOCK_STATUS for the base:allocation context.
struct block_extent {
  uint64_t length_bytes = 0;
  bool hole = false;  // no layer stores it (NBD_STATE_HOLE)
  bool zero = false;  // reads as zeros (NBD_STATE_ZERO)
};

struct zero_options {
  bool may_punch = true;   // false for NBD_CMD_FLAG_NO_HOLE: keep the range allocated
  bool fast_only = false;  // NBD_CMD_FLAG_FAST_ZERO: fail with errc::unsupported rather than write zeros slowly
};

// One open export. Keeps its volume or snapshot from being deleted while
// alive. Offsets and lengths are bytes; any alignment is accepted (partial
// blocks are read-modify-written). An out-of-range request is
// errc::invalid_argument; a write to a read-only export is
// errc::invalid_argument too, but callers should check read_only() first.
// A disk-full write is errc::no_space.
// One read of a batch (export_handle::read_batch).
struct read_call {
  uint64_t offset = 0;
  std::span<uint8_t> out;
  result<std::vector<data_run>> runs = std::vector<data_run>{};  // as read() would return
};

class export_handle {
 public:
  virtual ~export_handle() = default;
  virtual const std::string& name() const = 0;
  virtual uint64_t size_bytes() const = 0;  // fixed at open; a resize is seen by new opens
  virtual bool read_only() const = 0;

  // Fills `out` with the bytes at offset and describes them as runs whose
  // lengths add up to out.size(). out.size() <= write_bytes_max.
  virtual result<std::vector<data_run>> read(uint64_t offset, std::span<uint8_t> out) = 0;
  // Runs each call as read() would, and hands their disk reads to the device
  // together when batches_reads().
  virtual void read_batch(std::span<read_call> calls) = 0;
  // True when read_batch submits its disk reads together (direct I/O on a
  // kernel with io_uring). Then a caller gains by gathering reads into one
  // batch; otherwise by spreading them over threads.
  virtual bool batches_reads() const = 0;
  // fua: durable before it returns, as after flush().
  virtual status write(uint64_t offset, std::span<const uint8_t> data, bool fua) = 0;
  virtual status write_zeroes(uint64_t offset, uint64_t length_bytes, zero_options options, bool fua) = 0;
  // Whole blocks in the range are released and then read as zeros; partial
  // blocks at the edges are left as they are (TRIM is advisory).
  virtual status trim(uint64_t offset, uint64_t length_bytes, bool fua) = 0;
  // Makes every write acknowledged so far, on any handle of this volume, durable.
  virtual status flush() = 0;
  // Runs covering [offset, offset+length_bytes), at most extents_max of them
  // (the last may stop short of the end). length_bytes may exceed
  // write_bytes_max. Adjacent runs differ in their flags.
  virtual result<std::vector<block_extent>> block_status(uint64_t offset, uint64_t length_bytes,
                                                         size_t extents_max) = 0;
};

class service {
 public:
  // Opens (creating if missing) <data_dir>/volumes, loads the catalog from kv,
  // replays each layer's map journal and finishes interrupted reclaims.
  static result<std::unique_ptr<service>> open(service_config config, io::fs& fs, meta::kv& kv);
  virtual ~service() = default;

  // size_bytes: a positive multiple of block_bytes, at most volume_bytes_max.
  virtual result<volume_info> create_volume(const std::string& name, uint64_t size_bytes) = 0;
  // Grows a volume; shrinking is errc::invalid_argument.
  virtual result<volume_info> resize_volume(const std::string& name, uint64_t size_bytes) = 0;
  // errc::unavailable while an export of it is open. Its snapshots go with it
  // unless a clone still reads through them, in which case their layers stay
  // hidden until the last clone is deleted.
  virtual status delete_volume(const std::string& name) = 0;
  virtual result<volume_info> describe_volume(const std::string& name) = 0;
  virtual std::vector<volume_info> list_volumes() = 0;

  // Flushes the volume's top layer, freezes it as the snapshot, and starts an
  // empty top layer. The snapshot is durable when this returns.
  virtual result<snapshot_info> create_snapshot(const std::string& volume, const std::string& snapshot) = 0;
  // errc::unavailable while its export is open. Its space is reclaimed in the
  // background once no layer reads through it.
  virtual status delete_snapshot(const std::string& volume, const std::string& snapshot) = 0;
  // All snapshots of `volume`, or of every volume when it is empty.
  virtual result<std::vector<snapshot_info>> list_snapshots(const std::string& volume) = 0;

  // A new writable volume whose reads fall through to the snapshot.
  virtual result<volume_info> create_clone(const std::string& volume, const std::string& snapshot,
                                           const std::string& clone) = 0;

  virtual std::vector<export_info> list_exports() = 0;
  // export_name: "VOLUME" or "VOLUME@SNAPSHOT". errc::not_found if neither exists.
  virtual result<std::shared_ptr<export_handle>> open_export(const std::string& export_name) = 0;

  virtual usage_info usage() = 0;
  // Waits until background reclaim work queued so far is done (tests, shutdown).
  virtual void wait_for_reclaim() = 0;
  // Flushes every top layer; called once at shutdown.
  virtual status flush_all() = 0;
};

}  // namespace strata::volumes
