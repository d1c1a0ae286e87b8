// The kernel side of the volume pool's writable datasets (root only, no
// kernel nbd needed): the nbdfuse process that serves a dataset's volume as a
// file, the loop device on that file, the ext4 file system formatted on and
// mounted from it, and the clearing of what a kill -9 left of them. The pool
// (volume_pool.cc) keeps the datasets themselves; this keeps what the kernel
// sees of each one. For a writable dataset D under the pool's root:
//   nbdfuse <root>/.nbd/D <uri>  serves the volume as the file <root>/.nbd/D/nbd
//   losetup --find --show --direct-io=off that file  ->  /dev/loopN
//   mount -t ext4 -o noatime,noinit_itable /dev/loopN <root>/D
// nbdfuse uses one NBD connection (-C 1) so a hundred clones stay within the
// NBD listener's connection limit. Its log and pid file are <root>/.run/D.*.
// mkfs uses lazy inode table and journal init without discard (a new volume
// reads as zeros already), and every mount says noinit_itable: otherwise the
// kernel would zero the inode tables in the background and fill a thin
// volume (and every clone) with gigabytes of zeros.
//
// After a kill -9, every mount under <root>, every loop device backed by a
// file under <root>/.nbd and every nbdfuse process serving a path there is
// stale (the data-dir lock guarantees no other live Strata uses this root).
// The loop devices are listed first (their files show under .nbd only while
// nbdfuse's mounts exist), then the stray nbdfuse processes are stopped, the
// mounts detached lazily (MNT_DETACH: a leftover postgres may still hold files
// in them) and the loop devices detached (the kernel defers that while a
// lazily detached file system still uses one). Every loop device also gets
// autoclear once mounted, so one whose file system goes away lazily detaches
// itself.
//
// Unmounting and loop detaching use the syscalls directly (no fork); nbdfuse,
// losetup (attach) and mkfs.ext4 run through process.h. The deadlock rule of
// volume_pool.cc applies to every call that mounts, unmounts or formats.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dbclone/volume_pool.h"

namespace strata::dbclone {

// The directories under the pool's root that hold nbdfuse's mount points and
// nbdfuse's logs and pid files; no dataset has these names.
inline constexpr std::string_view nbd_dir_name = ".nbd";
inline constexpr std::string_view run_dir_name = ".run";

// Polls done() every few milliseconds until it holds (true) or timeout_ms have
// passed (false).
bool wait_until(int64_t timeout_ms, const std::function<bool()>& done);

// mkdir -p that insists on a directory with exactly `mode`.
status make_dir(const std::string& path, mode_t mode);

// The tools that expose a dataset.
struct exposure_tools {
  std::string nbdfuse, losetup, mkfs;
};

// Finds nbdfuse, losetup and mkfs.ext4; errc::unsupported naming the package
// to install when one is missing.
result<exposure_tools> find_exposure_tools();

// Connects to Strata's NBD listener and reads its greeting ("NBDMAGIC"), so
// a listener that is not up yet is one clear error rather than one nbdfuse
// failure per dataset.
status probe_nbd(const volume_pool_config& config);

// The datasets exposed under one root, by name. Not thread-safe: the pool
// serialises every call (its op_mu_).
class volume_exposures {
 public:
  // root is the canonical mount_root, whose .nbd and .run directories exist.
  volume_exposures(volume_pool_config config, exposure_tools tools, std::string root);

  // Serves `volume` through nbdfuse and a loop device and mounts its ext4
  // (formatted first when format) at <root>/<name>. On failure whatever was
  // set up is torn down again.
  status expose(const std::string& name, const std::string& volume, bool format);
  // Unmounts, detaches the loop device and stops nbdfuse. Without force, a busy
  // mount is errc::unavailable and nothing is torn down; with force it is
  // detached lazily. A name that is not exposed is fine.
  status unexpose(const std::string& name, bool force);

  bool mounted(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t size() const { return exposed_.size(); }

  // What a kill -9 left: nbdfuse processes serving our paths, mounts under the
  // root, loop devices on files under .nbd.
  void clear_stale();
  // Empty mount points and nbdfuse files of names that are no dataset any more
  // (a destroy cut short by a crash), and every pid file (no nbdfuse runs yet).
  void remove_leftover_files(const std::function<bool(const std::string&)>& is_dataset);

  std::string log_file(const std::string& name) const;

 private:
  struct exposure {
    pid_t nbdfuse = -1;
    std::string loop;
    bool mounted = false;
  };

  std::string pid_file(const std::string& name) const;
  std::string uri_of(const std::string& volume) const;

  const volume_pool_config config_;
  const exposure_tools tools_;
  const std::string root_;
  const std::string nbd_dir_;
  const std::string run_dir_;
  std::map<std::string, exposure> exposed_;
};

}  // namespace strata::dbclone
