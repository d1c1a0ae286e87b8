// A pool holds the datasets of database clones: the base data of each source,
// read-only snapshots, and writable clones of snapshots. Every backend (btrfs
// subvolumes, Strata volumes) offers the same five operations, so the service
// above never knows which one it drives.
//
// Dataset names are flat: one path component of [a-z0-9._-], at most
// dataset_name_bytes_max bytes ("src.prod", "snap.20261206t101500", "clone.dev1").
// Each dataset is a directory at path(name), reachable by the clones' OS user
// even when the data dir lies under a root-only directory.
//
// Thread-safety: every method may be called from any thread; implementations
// serialise what needs it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace strata::dbclone {

inline constexpr size_t dataset_name_bytes_max = 200;

// errc::invalid_argument with a message when name is not a valid dataset name.
status check_dataset_name(std::string_view name);

struct pool_usage {
  uint64_t size_bytes = 0;  // what the pool may hold
  uint64_t used_bytes = 0;
  uint64_t free_bytes = 0;
};

class pool {
 public:
  virtual ~pool() = default;

  // "btrfs" or "volume".
  virtual std::string kind() const = 0;
  // Where the dataset's files are; valid whether or not the dataset exists.
  virtual std::string path(std::string_view dataset) const = 0;

  // A new empty writable dataset. errc::already_exists if it exists.
  virtual status create(std::string_view dataset) = 0;
  // A read-only, point-in-time copy of `from` (crash-consistent: a snapshot of
  // a running instance is what a power cut would leave). O(1) in data size.
  virtual status snapshot(std::string_view from, std::string_view to) = 0;
  // A writable copy of `from` (usually a snapshot), sharing its blocks. O(1).
  virtual status clone(std::string_view from, std::string_view to) = 0;
  // Removes the dataset and its files. A missing dataset is not an error.
  virtual status destroy(std::string_view dataset) = 0;
  virtual bool exists(std::string_view dataset) const = 0;
  // Every dataset in the pool, in name order.
  virtual result<std::vector<std::string>> list() const = 0;

  // Bytes only this dataset holds (not shared with any other). May lag writes
  // by the file system's commit interval.
  virtual result<uint64_t> exclusive_bytes(std::string_view dataset) = 0;
  virtual result<pool_usage> usage() = 0;

  // Releases what the pool holds in the kernel (unmounts, detaches loop
  // devices). The datasets stay on disk; the next open finds them again.
  virtual void close() = 0;
};

struct btrfs_pool_config {
  // <data-dir>/db: holds pool.img when it is not itself on btrfs.
  std::string pool_dir;
  // Where the pool is mounted when an image is used; created 0755. Must lie
  // outside any root-only directory so the clones' OS user can reach it.
  std::string mount_point;
  uint64_t image_bytes = 100ULL << 30;  // sparse size of pool.img (--db-pool-bytes)
};

// Opens the btrfs pool: uses pool_dir directly when it is on btrfs, else
// creates (once) a sparse pool.img there, formats it btrfs, and loop-mounts it
// at mount_point (reusing an existing mount of the same image, as after a
// kill -9). Enables quotas so exclusive_bytes works. Needs root for the image.
result<std::unique_ptr<pool>> open_btrfs_pool(const btrfs_pool_config& config);

}  // namespace strata::dbclone
