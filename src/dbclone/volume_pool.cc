// The pool on Strata volumes. How a dataset maps onto the volumes service:
//
// - A writable dataset D is a volume named volume_prefix + D (or, when that
//   name is still held by a destroyed dataset's volume, volume_prefix + D +
//   ".G<n>"; dataset names are lower case, so the upper-case suffix never
//   clashes). It holds an ext4 file system (ext4, not XFS: XFS refuses to
//   mount two file systems with one UUID, which every clone shares).
// - A snapshot dataset S is the volume snapshot named S of the volume it was
//   taken from. Dataset names are global, volume snapshot names per volume;
//   the pool keeps them unique. Volume snapshot names that are no dataset
//   name (upper case) are the pool's own: "DESTROYED" (below) and "C.<clone>"
//   (the short-lived snapshot a clone of a writable dataset is made from).
// - The map dataset -> (volume, snapshot) lives in memory and is rebuilt at
//   open from list_volumes(); the volumes catalog is the only durable state.
//   So every volume named volume_prefix + a dataset name is taken for one of
//   the pool's; do not create such volumes by hand.
// - snapshot() takes writable datasets only; a snapshot of a snapshot is
//   errc::unsupported (a volume snapshot cannot be snapshotted; clone it).
//
// Kernel side of a writable dataset D (root only, no kernel nbd needed; see
// volume_exposure.h): nbdfuse serves the volume as a file under <root>/.nbd/D,
// a loop device sits on that file, and its ext4 is mounted at <root>/D.
//
// Durability: a FLUSH from ext4 goes loop -> fsync of the FUSE file ->
// nbdfuse -> NBD FLUSH, so what the file system (and postgres) synced is
// durable in Strata. snapshot() freezes the file system (FIFREEZE) around the
// volume snapshot, so the snapshot holds a clean file system; a snapshot of an
// unmounted dataset is taken as is (crash-consistent; ext4 replays its journal
// when a clone of it is mounted).
//
// Snapshots are never mounted: path(snapshot) names a directory that does not
// exist. clone() works from the volume snapshot directly.
//
// Destroy:
// - a snapshot dataset: the volume snapshot is deleted. Clones made from it
//   keep working; the volumes service keeps its layer hidden until the last
//   clone goes.
// - a writable dataset without snapshot datasets: unmount, detach, stop
//   nbdfuse, delete the volume.
// - a writable dataset whose snapshots are still datasets: the volume cannot
//   go (its snapshots would go with it), so after unmounting it gets the
//   snapshot "DESTROYED" as a durable tombstone. It is no dataset any more;
//   the volume is deleted when its last snapshot dataset is destroyed (or at
//   the next open). Until then it keeps its name (hence ".G<n>" above) and what
//   was written after its last snapshot.
//
// exclusive_bytes counts the 4 KiB blocks the dataset's own layer stores: for a
// writable dataset, its volume's top layer (what was written since it was
// created, cloned or last snapshotted); for a snapshot, the volume snapshot's
// frozen layer (what was written between the previous snapshot and it). A
// block a later layer overwrote still counts (it is only this dataset's), and
// blocks a clone reads through count for the snapshot, not the clone.
//
// usage(): used is every block the volumes service stores (the pool shares its
// disk with every other volume), free is what the file system holding the
// volumes' data dir has left, and size is their sum.
//
// Open first checks that the NBD listener answers (one clear error instead of
// one nbdfuse failure per dataset), then clears what a kill -9 left under
// <root> (volume_exposure.h says how). Then every writable dataset is
// exposed and mounted again; a volume with no ext4 yet (a create() cut short)
// is formatted. A writable dataset whose mount fails stays listed and can be
// snapshotted (unfrozen), cloned and destroyed; the error is logged.
//
// Deadlock rule: nbdfuse talks to the NBD server inside this same process, so
// every call that mounts, unmounts, freezes or formats must run on a thread
// that is not one of the NBD server's network or worker threads, and the NBD
// server must still be serving when close() runs (close the pool before
// stopping the NBD server, or ext4's last writes fail). As nbdfuse(1) warns, a
// loop device on a FUSE file can also stall under severe memory pressure
// (writeback waits on a user-space server that needs memory).
//
// Freezing uses the FIFREEZE/FITHAW ioctls directly (no fork).
#include "dbclone/volume_pool.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dbclone/system.h"
#include "dbclone/volume_exposure.h"
#include "volumes/service.h"

namespace strata::dbclone {
namespace {

namespace fs = std::filesystem;

constexpr size_t volume_name_bytes_max = 128;  // volumes/names.h
constexpr std::string_view destroyed_marker = "DESTROYED";
constexpr std::string_view clone_snapshot_prefix = "C.";
constexpr std::string_view generation_infix = ".G";

constexpr int64_t export_release_timeout_ms = 10'000;  // the NBD server dropping nbdfuse's connection
constexpr auto poll_wait = std::chrono::milliseconds(10);

// ---------------------------------------------------------------------------
// Volume names.

bool is_dataset_name(std::string_view name) { return check_dataset_name(name).ok(); }

// The dataset a volume name stands for, when it is one of ours.
std::optional<std::string> dataset_of_volume(std::string_view volume, std::string_view prefix) {
  if (!volume.starts_with(prefix)) return std::nullopt;
  std::string_view rest = volume.substr(prefix.size());
  if (size_t g = rest.rfind(generation_infix); g != std::string_view::npos) {
    std::string_view digits = rest.substr(g + generation_infix.size());
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      rest = rest.substr(0, g);
    }
  }
  if (!is_dataset_name(rest)) return std::nullopt;
  return std::string(rest);
}

// ---------------------------------------------------------------------------

class volume_pool final : public pool {
 public:
  volume_pool(volume_pool_config config, volumes::service& volumes, exposure_tools tools, std::string root)
      : config_(std::move(config)),
        volumes_(volumes),
        root_(std::move(root)),
        exposures_(config_, std::move(tools), root_) {}
  ~volume_pool() override { close(); }

  std::string kind() const override { return "volume"; }
  std::string path(std::string_view dataset) const override { return join_path(root_, dataset); }

  status start();

  status create(std::string_view name) override;
  status snapshot(std::string_view from, std::string_view to) override;
  status clone(std::string_view from, std::string_view to) override;
  status destroy(std::string_view name) override;
  bool exists(std::string_view name) const override {
    std::lock_guard lock(index_mu_);
    return index_.count(std::string(name)) > 0;
  }
  result<std::vector<std::string>> list() const override {
    std::lock_guard lock(index_mu_);
    std::vector<std::string> out;
    for (const auto& [name, d] : index_) out.push_back(name);
    return out;
  }
  result<uint64_t> exclusive_bytes(std::string_view name) override;
  result<pool_usage> usage() override;
  void close() override;

 private:
  struct dataset {
    bool snapshot = false;
    std::string volume;
    std::string snap;  // the volume snapshot, for a snapshot dataset
  };

  std::optional<dataset> find(std::string_view name) const {
    std::lock_guard lock(index_mu_);
    auto it = index_.find(std::string(name));
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  // find(), with errc::not_found when there is no such dataset.
  result<dataset> find_existing(std::string_view name) const {
    auto d = find(name);
    if (!d) return make_error(errc::not_found, fmt::format("dataset {} does not exist in the volume pool", name));
    return std::move(*d);
  }
  void put(const std::string& name, dataset d) {
    std::lock_guard lock(index_mu_);
    index_[name] = std::move(d);
  }
  void erase(const std::string& name) {
    std::lock_guard lock(index_mu_);
    index_.erase(name);
  }
  // Snapshot datasets taken from `volume`.
  size_t snapshot_datasets_of(const std::string& volume) const {
    std::lock_guard lock(index_mu_);
    return std::count_if(index_.begin(), index_.end(),
                         [&](const auto& e) { return e.second.snapshot && e.second.volume == volume; });
  }

  status check_open() const {
    if (closed_) return make_error(errc::unavailable, "the volume pool is closed; reopen it");
    return {};
  }
  status check_new_name(std::string_view name, bool as_volume) const;
  // For a snapshot or clone `to` of `from`: the pool is open, `from` exists
  // (returned) and `to` is a free name (check_new_name).
  result<dataset> copy_source(const std::string& from, const std::string& to, bool to_as_volume) const {
    STRATA_TRY(check_open());
    auto d = find_existing(from);
    if (!d) return d.err();
    STRATA_TRY(check_new_name(to, to_as_volume));
    return d;
  }
  result<std::string> new_volume_name(const std::string& name);

  status load_index();
  status expose_new(const std::string& name, const std::string& volume, bool format, std::string_view action,
                    const std::string& what);
  status freeze_and_snapshot(const std::string& from, const dataset& d, const std::string& snapshot);
  status delete_volume(const std::string& volume);
  result<bool> has_file_system(const std::string& volume);

  const volume_pool_config config_;
  volumes::service& volumes_;
  const std::string root_;

  std::mutex op_mu_;  // serialises create, snapshot, clone, destroy, close; guards exposures_ and closed_
  volume_exposures exposures_;
  bool closed_ = false;

  mutable std::mutex index_mu_;
  std::map<std::string, dataset> index_;
};

status volume_pool::check_new_name(std::string_view name, bool as_volume) const {
  STRATA_TRY(check_dataset_name(name));
  size_t limit = as_volume ? volume_name_bytes_max - config_.volume_prefix.size() : volume_name_bytes_max;
  if (as_volume) limit = std::min(limit, volume_name_bytes_max - clone_snapshot_prefix.size());
  if (name.size() > limit) {
    return make_error(errc::invalid_argument, fmt::format("dataset name '{}' is {} bytes; the volume pool allows at "
                                                          "most {}", name, name.size(), limit));
  }
  if (exists(name)) {
    return make_error(errc::already_exists, fmt::format("dataset {} exists already in the volume pool", name));
  }
  return {};
}

// volume_prefix + name, or with ".G<n>" when a destroyed dataset's volume
// still holds that name.
result<std::string> volume_pool::new_volume_name(const std::string& name) {
  std::string base = config_.volume_prefix + name;
  for (int generation = 1; generation < 1000; ++generation) {
    std::string candidate = generation == 1 ? base : fmt::format("{}{}{}", base, generation_infix, generation);
    if (candidate.size() > volume_name_bytes_max) break;
    auto v = volumes_.describe_volume(candidate);
    if (!v.ok() && v.code() == errc::not_found) return candidate;
    if (!v.ok()) return v.err();
  }
  return make_error(errc::limit_exceeded, fmt::format("no free volume name for dataset {}: volumes named {}... are "
                                                      "all taken by destroyed datasets whose snapshots live on; "
                                                      "destroy those snapshots first", name, base));
}

// ---------------------------------------------------------------------------
// Open.

status volume_pool::start() {
  exposures_.clear_stale();
  STRATA_TRY(load_index());
  exposures_.remove_leftover_files([&](const std::string& name) { return exists(name); });
  std::vector<std::pair<std::string, std::string>> writable;
  {
    std::lock_guard lock(index_mu_);
    for (const auto& [name, d] : index_) {
      if (!d.snapshot) writable.emplace_back(name, d.volume);
    }
  }
  std::lock_guard lock(op_mu_);
  for (const auto& [name, volume] : writable) {
    // A volume without a file system is a create() that a crash cut short:
    // format it now, so the dataset is the empty one create() promised.
    auto formatted = has_file_system(volume);
    bool format = formatted.ok() && !*formatted;
    if (format) spdlog::warn("dbclone: volume {} of dataset {} holds no file system yet; formatting it", volume, name);
    if (auto st = exposures_.expose(name, volume, format); !st) {
      spdlog::error("dbclone: dataset {} (volume {}) could not be mounted at {}: {}", name, volume, path(name),
                    st.err().message);
    }
  }
  spdlog::info("dbclone: volume pool at {} holds {} dataset(s), {} mounted", root_, list()->size(),
               exposures_.size());
  return {};
}

status volume_pool::load_index() {
  std::map<std::string, dataset> index;
  std::vector<std::string> finish_destroy;
  for (const auto& v : volumes_.list_volumes()) {
    auto name = dataset_of_volume(v.name, config_.volume_prefix);
    if (!name) continue;
    bool destroyed = false;
    size_t snapshot_datasets = 0;
    for (const auto& s : v.snapshots) {
      if (s == destroyed_marker) {
        destroyed = true;
      } else if (is_dataset_name(s)) {
        if (!index.emplace(s, dataset{true, v.name, s}).second) {
          spdlog::warn("dbclone: snapshot {}@{} has the name of another dataset; it is ignored", v.name, s);
        } else {
          ++snapshot_datasets;
        }
      } else if (s.starts_with(clone_snapshot_prefix)) {
        // A clone() that a crash cut short; the clone (if made) keeps its layer.
        if (auto st = volumes_.delete_snapshot(v.name, s); !st) {
          spdlog::warn("dbclone: could not delete the leftover snapshot {}@{}: {}", v.name, s, st.err().message);
        }
      }
    }
    if (destroyed) {
      if (snapshot_datasets == 0) finish_destroy.push_back(v.name);
      continue;
    }
    if (!index.emplace(*name, dataset{false, v.name, ""}).second) {
      spdlog::warn("dbclone: volume {} would be dataset {}, which exists already; it is ignored", v.name, *name);
    }
  }
  for (const auto& volume : finish_destroy) {
    if (auto st = delete_volume(volume); !st) {
      spdlog::warn("dbclone: could not delete volume {} of a destroyed dataset: {}", volume, st.err().message);
    }
  }
  std::lock_guard lock(index_mu_);
  index_ = std::move(index);
  return {};
}

// Reads the ext4 magic (0xEF53 at byte 1080) through the volumes service.
result<bool> volume_pool::has_file_system(const std::string& volume) {
  auto info = volumes_.describe_volume(volume);
  if (!info) return info.err();
  if (!info->origin.empty() || !info->snapshots.empty()) return true;  // a clone or snapshotted: formatted once
  auto handle = volumes_.open_export(volume);
  if (!handle) return handle.err();
  uint8_t magic[2] = {0, 0};
  auto r = (*handle)->read(1080, std::span<uint8_t>(magic, 2));
  if (!r) return r.err();
  return magic[0] == 0x53 && magic[1] == 0xEF;
}

// ---------------------------------------------------------------------------
// The kernel side.

// expose() for the new volume of a new dataset; on failure the volume is
// deleted again and the error says `what` ("create dataset D") failed.
status volume_pool::expose_new(const std::string& name, const std::string& volume, bool format,
                               std::string_view action, const std::string& what) {
  auto st = exposures_.expose(name, volume, format);
  if (st) return {};
  if (auto del = delete_volume(volume); !del) {
    spdlog::warn("dbclone: could not delete volume {} after a failed {}: {}", volume, action, del.err().message);
  }
  return make_error(st.code(), fmt::format("{}: {}", what, st.err().message));
}

status volume_pool::freeze_and_snapshot(const std::string& from, const dataset& d, const std::string& snapshot) {
  unique_fd fd;
  if (exposures_.mounted(from)) {
    auto opened = open_dir(path(from));
    if (!opened) return opened.err();
    fd = std::move(*opened);
    if (::ioctl(fd.get(), FIFREEZE, 0) != 0) {
      int err = errno;
      if (err == EBUSY) {
        return make_error(errc::unavailable, fmt::format("the file system of dataset {} is frozen already (by "
                                                         "another snapshot or fsfreeze); retry, or run fsfreeze -u "
                                                         "{}", from, path(from)));
      }
      return errno_error(err, "freeze the file system at " + path(from));
    }
  }
  auto made = volumes_.create_snapshot(d.volume, snapshot);
  if (fd.get() >= 0) {
    int err = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (::ioctl(fd.get(), FITHAW, 0) == 0 || errno == EINVAL) {
        err = 0;
        break;
      }
      err = errno;
      std::this_thread::sleep_for(poll_wait);
    }
    if (err != 0) {
      spdlog::error("dbclone: could not thaw {}: {}; writes to it hang until `fsfreeze -u {}`", path(from),
                    std::strerror(err), path(from));
      if (made) {
        return make_error(errc::internal, fmt::format("snapshot of {} taken, but its file system stays frozen ({}); "
                                                      "run fsfreeze -u {}", from, std::strerror(err), path(from)));
      }
    }
  }
  if (!made) return made.err();
  return {};
}

status volume_pool::delete_volume(const std::string& volume) {
  status st;
  // nbdfuse has gone, but the NBD server may not have dropped its connection yet.
  wait_until(export_release_timeout_ms, [&] {
    st = volumes_.delete_volume(volume);
    return st.ok() || st.code() != errc::unavailable;
  });
  if (!st && st.code() == errc::not_found) return {};
  return st;
}

// ---------------------------------------------------------------------------
// The pool interface.

status volume_pool::create(std::string_view name_view) {
  std::string name(name_view);
  std::lock_guard lock(op_mu_);
  STRATA_TRY(check_open());
  STRATA_TRY(check_new_name(name, true));
  auto volume = new_volume_name(name);
  if (!volume) return volume.err();
  auto made = volumes_.create_volume(*volume, config_.volume_bytes);
  if (!made) return made.err();
  STRATA_TRY(expose_new(name, *volume, true, "create", fmt::format("create dataset {}", name)));
  put(name, dataset{false, *volume, ""});
  spdlog::info("dbclone: created dataset {} on volume {} at {}", name, *volume, path(name));
  return {};
}

status volume_pool::snapshot(std::string_view from_view, std::string_view to_view) {
  std::string from(from_view), to(to_view);
  std::lock_guard lock(op_mu_);
  auto d = copy_source(from, to, false);
  if (!d) return d.err();
  if (d->snapshot) {
    return make_error(errc::unsupported, fmt::format("dataset {} is a snapshot; the volume pool snapshots writable "
                                                     "datasets only (clone it and snapshot the clone)", from));
  }
  STRATA_TRY(freeze_and_snapshot(from, *d, to));
  put(to, dataset{true, d->volume, to});
  spdlog::info("dbclone: snapshot {} of dataset {} (volume {})", to, from, d->volume);
  return {};
}

status volume_pool::clone(std::string_view from_view, std::string_view to_view) {
  std::string from(from_view), to(to_view);
  std::lock_guard lock(op_mu_);
  auto d = copy_source(from, to, true);
  if (!d) return d.err();
  auto volume = new_volume_name(to);
  if (!volume) return volume.err();

  std::string snap = d->snap;
  if (!d->snapshot) {
    // A writable source: clone a short-lived snapshot of it. Deleting that
    // snapshot at once is fine: the service keeps its layer for the clone.
    snap = std::string(clone_snapshot_prefix) + to;
    if (auto st = volumes_.delete_snapshot(d->volume, snap); !st && st.code() != errc::not_found) return st;
    STRATA_TRY(freeze_and_snapshot(from, *d, snap));
  }
  auto made = volumes_.create_clone(d->volume, snap, *volume);
  if (!d->snapshot) {
    if (auto st = volumes_.delete_snapshot(d->volume, snap); !st) {
      spdlog::warn("dbclone: could not delete the snapshot {}@{} a clone was made from: {}", d->volume, snap,
                   st.err().message);
    }
  }
  if (!made) return made.err();
  STRATA_TRY(expose_new(to, *volume, false, "clone", fmt::format("clone {} of {}", to, from)));
  put(to, dataset{false, *volume, ""});
  spdlog::info("dbclone: cloned dataset {} to {} (volume {})", from, to, *volume);
  return {};
}

status volume_pool::destroy(std::string_view name_view) {
  std::string name(name_view);
  std::lock_guard lock(op_mu_);
  STRATA_TRY(check_open());
  auto d = find(name);
  if (!d) return {};
  if (d->snapshot) {
    if (auto st = volumes_.delete_snapshot(d->volume, d->snap); !st && st.code() != errc::not_found) {
      return make_error(st.code(), fmt::format("destroy snapshot dataset {}: {}", name, st.err().message));
    }
    erase(name);
    // The last snapshot of a destroyed dataset takes its volume along.
    auto v = volumes_.describe_volume(d->volume);
    if (v.ok() && snapshot_datasets_of(d->volume) == 0 &&
        std::find(v->snapshots.begin(), v->snapshots.end(), destroyed_marker) != v->snapshots.end()) {
      if (auto st = delete_volume(d->volume); !st) {
        spdlog::warn("dbclone: could not delete volume {} of a destroyed dataset: {}; the next open retries",
                     d->volume, st.err().message);
      }
    }
    spdlog::info("dbclone: destroyed snapshot dataset {}", name);
    return {};
  }

  STRATA_TRY(exposures_.unexpose(name, false));
  if (snapshot_datasets_of(d->volume) > 0) {
    auto marked = volumes_.create_snapshot(d->volume, std::string(destroyed_marker));
    if (!marked && marked.code() != errc::already_exists) {
      return make_error(marked.code(), fmt::format("destroy dataset {}: mark volume {} destroyed: {}", name,
                                                   d->volume, marked.err().message));
    }
  } else if (auto st = delete_volume(d->volume); !st) {
    return make_error(st.code(), fmt::format("destroy dataset {}: {}", name, st.err().message));
  }
  erase(name);
  ::rmdir(path(name).c_str());
  ::unlink(exposures_.log_file(name).c_str());
  spdlog::info("dbclone: destroyed dataset {}", name);
  return {};
}

result<uint64_t> volume_pool::exclusive_bytes(std::string_view name) {
  auto d = find_existing(name);
  if (!d) return d.err();
  if (!d->snapshot) {
    auto v = volumes_.describe_volume(d->volume);
    if (!v) return v.err();
    return v->allocated_bytes;
  }
  auto snaps = volumes_.list_snapshots(d->volume);
  if (!snaps) return snaps.err();
  for (const auto& s : *snaps) {
    if (s.name == d->snap) return s.allocated_bytes;
  }
  return make_error(errc::not_found, fmt::format("snapshot {}@{} of dataset {} is gone", d->volume, d->snap, name));
}

result<pool_usage> volume_pool::usage() {
  std::string dir = config_.data_dir.empty() ? root_ : config_.data_dir;
  struct statvfs st{};
  if (::statvfs(dir.c_str(), &st) != 0) return errno_error(errno, "statvfs " + dir);
  pool_usage u;
  u.used_bytes = volumes_.usage().allocated_bytes;
  u.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  u.size_bytes = u.used_bytes + u.free_bytes;
  return u;
}

void volume_pool::close() {
  std::lock_guard lock(op_mu_);
  if (closed_) return;
  closed_ = true;
  for (const auto& name : exposures_.names()) {
    if (auto st = exposures_.unexpose(name, true); !st) {
      spdlog::warn("dbclone: releasing dataset {}: {}", name, st.err().message);
    }
  }
  spdlog::info("dbclone: volume pool at {} closed", root_);
}

}  // namespace

result<std::unique_ptr<pool>> open_volume_pool(const volume_pool_config& config, volumes::service& volumes) {
  if (::geteuid() != 0) {
    return make_error(errc::unsupported, "the volume pool needs root (it attaches loop devices and mounts file "
                                         "systems); run strata as root or use the btrfs backend");
  }
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    return make_error(errc::unsupported, "the volume pool needs FUSE, but /dev/fuse is missing; load the fuse module "
                                         "(modprobe fuse) or use the btrfs backend");
  }
  if (config.mount_root.empty()) return make_error(errc::invalid_argument, "the volume pool needs a mount_root");
  if (config.nbd_unix_socket.empty() && config.nbd_host_port.empty()) {
    return make_error(errc::invalid_argument, "the volume pool needs Strata's NBD listener: set --nbd-unix-socket "
                                              "or --nbd-listen");
  }
  if (config.volume_bytes == 0 || config.volume_bytes % volumes::block_bytes != 0) {
    return make_error(errc::invalid_argument, fmt::format("volume size {} bytes is not a positive multiple of {}",
                                                          config.volume_bytes, volumes::block_bytes));
  }
  auto volume_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  };
  if (config.volume_prefix.empty() || config.volume_prefix.size() > 32 ||
      !std::all_of(config.volume_prefix.begin(), config.volume_prefix.end(), volume_char)) {
    return make_error(errc::invalid_argument, fmt::format("volume prefix '{}' is not allowed; use 1 to 32 letters, "
                                                          "digits, '.', '_' or '-'", config.volume_prefix));
  }
  auto t = find_exposure_tools();
  if (!t) return t.err();

  STRATA_TRY(probe_nbd(config));

  STRATA_TRY(make_dir(config.mount_root, 0755));
  std::error_code ec;
  std::string root = fs::canonical(config.mount_root, ec).string();
  if (ec) return make_error(errc::io_error, fmt::format("resolve {}: {}", config.mount_root, ec.message()));
  STRATA_TRY(make_dir(join_path(root, nbd_dir_name), 0700));
  STRATA_TRY(make_dir(join_path(root, run_dir_name), 0700));

  auto p = std::make_unique<volume_pool>(config, volumes, std::move(*t), root);
  STRATA_TRY(p->start());
  return std::unique_ptr<pool>(std::move(p));
}

}  // namespace strata::dbclone
