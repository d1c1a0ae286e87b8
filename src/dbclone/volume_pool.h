// The pool backend on Strata's own volumes: each dataset is a thin Strata
// volume holding an ext4 file system. Snapshots and clones are the volumes
// service's O(1) snapshots and clones. The kernel reaches a volume through
// nbdfuse (libnbd-bin) connected to Strata's own NBD listener, plus a loop
// device on the file nbdfuse serves; the file system is mounted from that.
// (Kernel nbd is used nowhere: these machines lack it.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dbclone/pool.h"

namespace strata::volumes {
class service;
}

namespace strata::dbclone {

struct volume_pool_config {
  // Where datasets are mounted (<mount_root>/<dataset>) and where nbdfuse
  // serves its files (<mount_root>/.nbd/<dataset>); created 0755, outside any
  // root-only directory.
  std::string mount_root;
  // How nbdfuse reaches Strata's NBD server: "nbd+unix:///EXPORT?socket=PATH"
  // is built from nbd_unix_socket when set, else "nbd://HOST:PORT/EXPORT".
  std::string nbd_unix_socket;
  std::string nbd_host_port;
  uint64_t volume_bytes = 100ULL << 30;  // thin size of each source's base volume
  std::string volume_prefix = "db.";     // Strata volume names are volume_prefix + dataset
  // The volumes service's data dir: usage() reports the free space of its file
  // system. Empty: mount_root's file system.
  std::string data_dir;
};

// Opens the pool: finds the datasets of earlier runs (volumes named with
// volume_prefix), and clears what a kill -9 left behind (stale mounts, loop
// devices and nbdfuse processes under mount_root), so writable datasets are
// mounted again. Snapshots are never mounted; clone() works from the volume
// snapshot directly. A snapshot of a mounted dataset freezes its file system
// (fsfreeze) for the instant of the volume snapshot.
result<std::unique_ptr<pool>> open_volume_pool(const volume_pool_config& config, volumes::service& volumes);

}  // namespace strata::dbclone
