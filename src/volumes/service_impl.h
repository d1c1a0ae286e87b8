// The implementation behind volumes::service, shared by service.cc (admin
// operations), export.cc (the data path of open exports) and reclaim.cc
// (deleting and merging layers nobody names any more).
//
// Locking: topology_ (writer-preferring) guards the maps below and every
// layer's parent pointer. Data calls hold it shared for their whole
// duration; admin calls and the relinking step of a merge hold it
// exclusively. Then stripes (inside a layer's blocks), then a layer's own
// flush and pending locks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "volumes/catalog.h"
#include "volumes/chain_io.h"
#include "volumes/layer.h"
#include "volumes/rw_lock.h"
#include "volumes/service.h"

namespace strata::volumes {

struct volume_entry {
  volume_record record;
  std::shared_ptr<layer> top;
  std::atomic<uint32_t> open_exports{0};
};

struct snapshot_entry {
  snapshot_record record;
  std::shared_ptr<layer> frozen;
  std::atomic<uint32_t> open_exports{0};
};

class service_impl final : public service {
 public:
  service_impl(service_config config, io::fs& fs, meta::kv& kv);
  ~service_impl() override;
  status check_direct_io();
  status load();

  result<volume_info> create_volume(const std::string& name, uint64_t size_bytes) override;
  result<volume_info> resize_volume(const std::string& name, uint64_t size_bytes) override;
  status delete_volume(const std::string& name) override;
  result<volume_info> describe_volume(const std::string& name) override;
  std::vector<volume_info> list_volumes() override;
  result<snapshot_info> create_snapshot(const std::string& volume, const std::string& snapshot) override;
  status delete_snapshot(const std::string& volume, const std::string& snapshot) override;
  result<std::vector<snapshot_info>> list_snapshots(const std::string& volume) override;
  result<volume_info> create_clone(const std::string& volume, const std::string& snapshot,
                                   const std::string& clone) override;
  std::vector<export_info> list_exports() override;
  result<std::shared_ptr<export_handle>> open_export(const std::string& export_name) override;
  usage_info usage() override;
  void wait_for_reclaim() override;
  status flush_all() override;

  // For export.cc.
  rw_lock& topology() { return topology_; }
  stripe_locks& stripes() { return stripes_; }
  io::fs& fs() { return fs_; }
  // Direct data files on an fs that submits reads together (see export_handle).
  bool batches_reads() const { return env_.direct_io && fs_.batches_reads(); }
  io_counters& counters() { return counters_; }
  const service_config& config() const { return config_; }

 private:
  // Under the exclusive lock: a new empty layer above `parent`, files synced.
  result<std::shared_ptr<layer>> new_layer(const std::shared_ptr<layer>& parent, uint64_t size_blocks);
  // Under the exclusive lock: commits ops plus the next layer id, or deletes
  // `created`'s files and reports the error.
  status commit(std::vector<kv_op> ops, const std::shared_ptr<layer>& created);
  volume_info info_of(const volume_entry& v) const;
  snapshot_info info_of(const snapshot_entry& s) const;
  status remove_orphan_files();

  // reclaim.cc
  void request_reclaim();
  void reclaim_loop();
  bool reclaim_step();  // one layer deleted or merged; false when nothing is left to do
  status merge_into_child(const std::shared_ptr<layer>& hidden, const std::shared_ptr<layer>& child);
  status drop_layer(const std::shared_ptr<layer>& hidden);

  service_config config_;
  io::fs& fs_;
  meta::kv& kv_;
  io_counters counters_;
  layer_env env_;
  stripe_locks stripes_;

  rw_lock topology_;
  std::map<std::string, std::shared_ptr<volume_entry>> volumes_;
  std::map<std::string, std::shared_ptr<snapshot_entry>> snapshots_;  // key "VOLUME@SNAPSHOT"
  std::map<uint64_t, std::shared_ptr<layer>> layers_;
  uint64_t next_layer_id_ = 1;

  std::mutex reclaim_mu_;
  std::condition_variable reclaim_cv_;
  bool reclaim_requested_ = false;
  bool reclaim_busy_ = false;
  bool stopping_ = false;
  std::thread reclaimer_;
};

}  // namespace strata::volumes
