// An in-memory volumes::service for the NBD tests and the fuzz target: exports
// with real bytes, block-granular allocation (unwritten or trimmed blocks read
// as zeros and report as holes), read-only exports, and injected failures.
// Thread-safe (the NBD server calls it from worker threads).
#pragma once

#include <cstdint>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "volumes/service.h"

namespace strata::nbd::testing {

// One export's bytes and counters; shared by every handle opened on it.
struct fake_disk {
  std::mutex mu;
  std::string name;
  std::string description;
  bool read_only = false;
  std::vector<uint8_t> bytes;
  std::vector<bool> allocated;  // per volumes::block_bytes block
  uint64_t flushes = 0;
  uint64_t fua_writes = 0;
  uint64_t writes = 0;
  std::vector<std::string> calls;       // "write 0+4096 fua", ... in call order
  std::optional<error> fail_next;       // the next data call fails with this (once)
  uint32_t read_delay_ms = 0;           // reads sleep this long first (ordering tests)
  bool garbage_in_holes = false;        // reads leave 0x5A in zero runs (the contract lets callers not trust them)
  bool batches_reads = false;           // handles report batches_reads(), so connections gather READs
  std::vector<size_t> read_batches;     // the size of each read_batch call, in call order
};

class fake_volumes final : public volumes::service {
 public:
  std::shared_ptr<fake_disk> add_export(const std::string& name, uint64_t size_bytes, bool read_only = false,
                                        const std::string& description = "");
  std::shared_ptr<fake_disk> disk(const std::string& name);
  uint32_t open_handles() const;

  result<volumes::volume_info> create_volume(const std::string& name, uint64_t size_bytes) override;
  result<volumes::volume_info> resize_volume(const std::string& name, uint64_t size_bytes) override;
  status delete_volume(const std::string& name) override;
  result<volumes::volume_info> describe_volume(const std::string& name) override;
  std::vector<volumes::volume_info> list_volumes() override;
  result<volumes::snapshot_info> create_snapshot(const std::string& volume, const std::string& snapshot) override;
  status delete_snapshot(const std::string& volume, const std::string& snapshot) override;
  result<std::vector<volumes::snapshot_info>> list_snapshots(const std::string& volume) override;
  result<volumes::volume_info> create_clone(const std::string& volume, const std::string& snapshot,
                                            const std::string& clone) override;
  std::vector<volumes::export_info> list_exports() override;
  result<std::shared_ptr<volumes::export_handle>> open_export(const std::string& export_name) override;
  volumes::usage_info usage() override { return {}; }
  void wait_for_reclaim() override {}
  status flush_all() override { return {}; }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<fake_disk>> disks_;
  std::shared_ptr<std::atomic<uint32_t>> open_handles_ = std::make_shared<std::atomic<uint32_t>>(0);
};

}  // namespace strata::nbd::testing
