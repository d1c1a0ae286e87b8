// fault_fs: an in-memory io::fs for tests that models durability and injects
// faults, deterministically.
//
// Durability model:
// - Each file has the content reads see and the content a crash keeps. sync()
//   makes the first the second. Unsynced writes and truncates are remembered
//   in order; crash() drops them (or keeps a prefix of them, see crash_plan).
// - Names are durable only after sync_dir() of their directory: a file
//   created, renamed or removed since the last sync_dir() of its directory is
//   put back to its old state by crash() (a new file vanishes, a removed one
//   comes back with its durable content).
// - Directories themselves (create_dirs, remove_all) are durable at once.
//
// Handles opened before a crash() fail with errc::io_error afterwards. A file
// handle must not outlive its fault_fs. Thread-safe: one mutex guards all.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "io/fs.h"

namespace strata::io {

// What a crash keeps of each file's unsynced changes.
struct crash_plan {
  size_t unsynced_ops_kept = 0;  // the first this many unsynced writes/truncates survive
  uint64_t torn_bytes = 0;       // of the next unsynced write, only this many leading bytes survive
};

class fault_fs final : public fs {
 public:
  struct node;

  using crash_plan = io::crash_plan;

  fault_fs();
  ~fault_fs() override;

  result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) override;
  // Memory has no page cache to bypass: the same as open().
  result<std::unique_ptr<file>> open_direct(const std::string& path, open_mode mode) override { return open(path, mode); }
  result<std::vector<std::string>> list(const std::string& dir) override;
  result<bool> exists(const std::string& path) override;
  status remove(const std::string& path) override;
  status remove_all(const std::string& dir) override;
  status rename(const std::string& from, const std::string& to) override;
  status create_dirs(const std::string& dir) override;
  status sync_dir(const std::string& dir) override;

  // Faults. The nth write from now (1 = the next one) fails with
  // errc::io_error after putting its first prefix_bytes into the file.
  void fail_write(uint64_t nth, uint64_t prefix_bytes = 0);
  // A write that would take the total size of all files past disk_bytes
  // writes what fits, then fails with errc::no_space. UINT64_MAX: no limit.
  void set_disk_bytes_max(uint64_t disk_bytes);
  // While set, file and directory syncs fail with errc::io_error and make nothing durable.
  void fail_syncs(bool fail);
  // The nth file or directory sync from now (1 = the next one) fails like
  // that, once. 0 disarms.
  void fail_sync(uint64_t nth);
  // The nth truncate from now fails with errc::io_error, changing nothing. 0 disarms.
  void fail_truncate(uint64_t nth);

  // Simulates power loss: every file goes back to its durable content plus
  // what `plan` keeps of its unsynced changes; names go back to their last
  // directory sync. Faults stay armed.
  void crash(crash_plan plan = {});

  // Inspection for tests.
  uint64_t used_bytes() const;   // sum of the sizes of all files
  uint64_t write_count() const;  // writev_at calls so far
  uint64_t sync_count() const;   // successful file syncs so far
  size_t open_handle_count() const;  // file handles alive (not yet destroyed)
  // The content reads see now.
  result<std::vector<uint8_t>> contents(const std::string& path) const;
  // Flips the bits of one byte, in both the current and the durable content (bit rot).
  status corrupt_byte(const std::string& path, uint64_t offset);

 private:
  friend class fault_file;

  uint64_t used_bytes_locked() const;
  status write_locked(node& n, const std::string& path, uint64_t offset, std::span<const std::span<const uint8_t>> parts);
  status truncate_locked(node& n, const std::string& path, uint64_t size_bytes);
  status sync_locked(node& n, const std::string& path);
  bool sync_fails_locked();

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<node>> live_;     // names as reads see them
  std::map<std::string, std::shared_ptr<node>> durable_;  // names as a crash keeps them
  std::set<std::string> dirs_;
  uint64_t generation_ = 0;  // bumped by crash(); older handles are stale
  uint64_t writes_until_fail_ = 0;
  uint64_t fail_prefix_bytes_ = 0;
  uint64_t disk_bytes_max_ = UINT64_MAX;
  bool fail_syncs_ = false;
  uint64_t syncs_until_fail_ = 0;
  uint64_t truncates_until_fail_ = 0;
  uint64_t write_count_ = 0;
  uint64_t sync_count_ = 0;
  size_t open_handles_ = 0;
};

}  // namespace strata::io
