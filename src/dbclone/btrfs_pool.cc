// The btrfs pool: each dataset is a subvolume directly under the pool root.
// Snapshots are read-only subvolume snapshots, clones writable ones; both are
// O(1) ioctls. The root is <data-dir>/db itself when that lies on btrfs, else
// a sparse pool.img in it, formatted btrfs and loop-mounted at mount_point.
// Quotas (qgroups) are enabled so each dataset's exclusive bytes are known.
//
// Subvolume work uses the btrfs ioctls directly (no fork, milliseconds);
// only mkfs.btrfs and mount run as child processes.
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/units.h"
#include "dbclone/pool.h"
#include "dbclone/process.h"
#include "dbclone/system.h"

namespace strata::dbclone {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view image_file_name = "pool.img";
// pool.img exists only once formatted: it is built under this name first.
constexpr std::string_view image_new_file_name = "pool.img.new";
constexpr uint64_t image_bytes_min = 128 * MiB;  // mkfs.btrfs refuses less than ~114 MiB
constexpr int64_t mkfs_timeout_ms = 120'000;
constexpr int64_t mount_timeout_ms = 60'000;
constexpr int umount_attempts = 4;
constexpr auto umount_busy_wait = std::chrono::milliseconds(250);
constexpr auto loop_detach_wait = std::chrono::milliseconds(20);
constexpr int loop_detach_polls = 50;

// ---------------------------------------------------------------------------
// Paths and directories (the general helpers are in dbclone/system.h).

bool is_btrfs_dir(const std::string& path) {
  struct statfs st{};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == BTRFS_SUPER_MAGIC;
}

// A subvolume's root directory is always inode 256 on btrfs.
bool is_subvolume(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == BTRFS_FIRST_FREE_OBJECTID;
}

// The closest of path and its parents that exists ("/" at worst).
std::string nearest_existing(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec).lexically_normal();
  while (!fs::exists(p, ec) && p.has_relative_path()) p = p.parent_path();
  return p.string();
}

// mkdir -p; the last component gets `mode` when this call creates it.
status make_dirs(const std::string& path, mode_t mode) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {};
  STRATA_TRY(make_dir_and_parents(path, mode));
  if (::chmod(path.c_str(), mode) != 0) return errno_error(errno, "chmod " + path);  // umask may have cut it
  return {};
}

// The names in a directory but "." and "..".
result<std::vector<std::string>> dir_entries(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return errno_error(errno, "list " + path);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return errno_error(err, "list " + path);
  return names;
}

result<std::string> real_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::canonical(path, ec);
  if (ec) return make_error(errc::io_error, fmt::format("resolve {}: {}", path, ec.message()));
  return p.string();
}

status fsync_dir(const std::string& path) {
  auto fd = open_dir(path);
  if (!fd) return fd.err();
  if (::fsync(fd->get()) != 0) return errno_error(errno, "fsync " + path);
  return {};
}

// ---------------------------------------------------------------------------
// Tools.

result<std::string> find_tool(std::string_view name, std::string_view package) {
  if (auto path = find_executable(name)) return *path;
  return make_error(errc::unsupported, fmt::format("{} was not found; install {} (apt-get install {})", name, package,
                                                   package));
}

// ---------------------------------------------------------------------------
// Mounts and loop devices.

bool is_mount_of_image(const mount_entry& m, const std::string& image) {
  return m.fs_type == "btrfs" && loop_backing_file(m.source) == image;
}

status mount_image(const std::string& image, const std::string& mount_point) {
  auto mount_tool = find_tool("mount", "mount");
  if (!mount_tool) return mount_tool.err();
  spdlog::info("dbclone: mounting the btrfs pool {} at {}", image, mount_point);
  STRATA_TRY(run_tool({*mount_tool, "-t", "btrfs", "-o", "loop,noatime", image, mount_point}, mount_timeout_ms));
  return {};
}

// Detaches what is left of the image's loop devices (mount -o loop sets
// autoclear, so normally nothing is).
void detach_loops(const std::string& image) {
  for (int poll = 0; poll < loop_detach_polls; ++poll) {
    if (loop_devices_of(image).empty()) return;
    std::this_thread::sleep_for(loop_detach_wait);
  }
  for (const auto& device : loop_devices_of(image)) {
    if (int err = detach_loop(device); err != 0) {
      spdlog::warn("dbclone: could not detach loop device {} of {}: {}", device, image, errno_text(err));
    }
  }
}

// umount, retried while busy, then lazily as a last resort.
void unmount(const std::string& mount_point, const std::string& image) {
  if (int err = unmount_retrying(mount_point, umount_attempts, umount_busy_wait); err != 0) {
    detach_busy_mount(mount_point, err);
    return;
  }
  detach_loops(image);
}

// ---------------------------------------------------------------------------
// The image.

status format_image(const std::string& pool_dir, uint64_t image_bytes) {
  auto mkfs = find_tool("mkfs.btrfs", "btrfs-progs");
  if (!mkfs) return mkfs.err();
  std::string fresh = join_path(pool_dir, image_new_file_name);
  ::unlink(fresh.c_str());  // a try that died half-way
  unique_fd fd(::open(fresh.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return errno_error(errno, "create " + fresh);
  if (::ftruncate(fd.get(), static_cast<off_t>(image_bytes)) != 0) {
    int err = errno;
    ::unlink(fresh.c_str());
    return errno_error(err, fmt::format("size {} to {} bytes", fresh, image_bytes));
  }
  fd.reset();
  spdlog::info("dbclone: formatting a {} byte btrfs pool image at {}", image_bytes, fresh);
  if (auto made = run_tool({*mkfs, "-q", fresh}, mkfs_timeout_ms); !made) {
    ::unlink(fresh.c_str());
    return made.err();
  }
  std::string image = join_path(pool_dir, image_file_name);
  if (::rename(fresh.c_str(), image.c_str()) != 0) {
    int err = errno;
    ::unlink(fresh.c_str());
    return errno_error(err, "rename " + fresh);
  }
  return fsync_dir(pool_dir);
}

result<uint64_t> file_bytes(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, "stat " + path);
  return static_cast<uint64_t>(st.st_size);
}

// Grows pool.img (and the mounted file system) to image_bytes; never shrinks.
status grow_image(const std::string& image, uint64_t image_bytes, const std::string& root) {
  auto have_bytes = file_bytes(image);
  if (!have_bytes) return have_bytes.err();
  if (*have_bytes >= image_bytes) {
    if (*have_bytes > image_bytes) {
      spdlog::warn("dbclone: the pool image {} holds {} bytes, more than the {} asked for; it is never shrunk", image,
                   *have_bytes, image_bytes);
    }
    return {};
  }
  spdlog::info("dbclone: growing the pool image {} from {} to {} bytes", image, *have_bytes, image_bytes);
  if (::truncate(image.c_str(), static_cast<off_t>(image_bytes)) != 0) {
    return errno_error(errno, fmt::format("grow {} to {} bytes", image, image_bytes));
  }
  for (const auto& device : loop_devices_of(image)) {
    unique_fd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::ioctl(fd.get(), LOOP_SET_CAPACITY, 0) != 0) {
      return errno_error(errno, "update the size of loop device " + device);
    }
  }
  auto root_fd = open_dir(root);
  if (!root_fd) return root_fd.err();
  btrfs_ioctl_vol_args args{};
  std::strcpy(args.name, "max");
  if (::ioctl(root_fd->get(), BTRFS_IOC_RESIZE, &args) != 0) return errno_error(errno, "resize the btrfs pool at " + root);
  return {};
}

// ---------------------------------------------------------------------------
// Quotas.

status enable_quotas(const std::string& root) {
  auto fd = open_dir(root);
  if (!fd) return fd.err();
  btrfs_ioctl_quota_ctl_args args{};
  args.cmd = BTRFS_QUOTA_CTL_ENABLE;  // a no-op when they are on already
  if (::ioctl(fd->get(), BTRFS_IOC_QUOTA_CTL, &args) != 0) {
    return errno_error(errno, "enable btrfs quotas on " + root);
  }
  if (::ioctl(fd->get(), BTRFS_IOC_QUOTA_RESCAN_WAIT) != 0 && errno != EINVAL) {
    return errno_error(errno, "wait for the btrfs quota rescan on " + root);
  }
  return {};
}

// One item of the quota tree, by (type, offset); nullopt when absent.
result<std::optional<std::vector<char>>> quota_tree_item(int root_fd, uint8_t type, uint64_t offset) {
  btrfs_ioctl_search_args args{};
  btrfs_ioctl_search_key& key = args.key;
  key.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
  key.min_objectid = key.max_objectid = 0;
  key.min_type = key.max_type = type;
  key.min_offset = key.max_offset = offset;
  key.min_transid = 0;
  key.max_transid = UINT64_MAX;
  key.nr_items = 1;
  if (::ioctl(root_fd, BTRFS_IOC_TREE_SEARCH, &args) != 0) {
    if (errno == ENOENT) {
      return make_error(errc::unavailable, "btrfs quotas are off in the database pool, so dataset sizes are unknown; "
                                           "turn them on with 'btrfs quota enable' on the pool");
    }
    if (errno == EPERM) {
      return make_error(errc::unsupported, "reading btrfs quota numbers needs root");
    }
    return errno_error(errno, "read the btrfs quota tree");
  }
  if (key.nr_items == 0) return std::optional<std::vector<char>>();
  btrfs_ioctl_search_header header{};
  std::memcpy(&header, args.buf, sizeof header);
  if (header.type != type || header.offset != offset || sizeof header + header.len > sizeof args.buf) {
    return std::optional<std::vector<char>>();
  }
  const char* body = args.buf + sizeof header;
  return std::optional<std::vector<char>>(std::vector<char>(body, body + header.len));
}

result<uint64_t> qgroup_status_flags(int root_fd) {
  auto item = quota_tree_item(root_fd, BTRFS_QGROUP_STATUS_KEY, 0);
  if (!item) return item.err();
  btrfs_qgroup_status_item status{};
  if (!*item || (*item)->size() < sizeof status) return uint64_t{0};
  std::memcpy(&status, (*item)->data(), sizeof status);
  return le64toh(status.flags);
}

// Recounts every qgroup when the kernel says its numbers went wrong.
status repair_qgroups(int root_fd) {
  auto flags = qgroup_status_flags(root_fd);
  if (!flags) return flags.err();
  if ((*flags & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT) == 0) return {};
  spdlog::info("dbclone: btrfs quota numbers are inconsistent; rescanning");
  btrfs_ioctl_quota_rescan_args args{};
  if (::ioctl(root_fd, BTRFS_IOC_QUOTA_RESCAN, &args) != 0 && errno != EINPROGRESS) {
    return errno_error(errno, "start a btrfs quota rescan");
  }
  if (::ioctl(root_fd, BTRFS_IOC_QUOTA_RESCAN_WAIT) != 0 && errno != EINVAL) {
    return errno_error(errno, "wait for the btrfs quota rescan");
  }
  return {};
}

result<uint64_t> qgroup_exclusive_bytes(int root_fd, uint64_t subvolume_id) {
  auto item = quota_tree_item(root_fd, BTRFS_QGROUP_INFO_KEY, subvolume_id);  // qgroup 0/id
  if (!item) return item.err();
  btrfs_qgroup_info_item info{};
  if (!*item || (*item)->size() < sizeof info) {
    return make_error(errc::not_found, fmt::format("btrfs has no quota group 0/{}", subvolume_id));
  }
  std::memcpy(&info, (*item)->data(), sizeof info);
  return le64toh(info.excl);
}

result<uint64_t> subvolume_id(const std::string& path) {
  auto fd = open_dir(path);
  if (!fd) return fd.err();
  btrfs_ioctl_ino_lookup_args args{};
  args.treeid = 0;
  args.objectid = BTRFS_FIRST_FREE_OBJECTID;
  if (::ioctl(fd->get(), BTRFS_IOC_INO_LOOKUP, &args) != 0) return errno_error(errno, "look up the subvolume " + path);
  return static_cast<uint64_t>(args.treeid);
}

// ---------------------------------------------------------------------------
// The pool.

struct pool_layout {
  std::string root;         // where datasets live
  std::string image;        // canonical path of pool.img; "" when pool_dir is on btrfs
  bool owns_mount = false;  // close() unmounts root
};

class btrfs_pool final : public pool {
 public:
  explicit btrfs_pool(pool_layout layout) : layout_(std::move(layout)) {}

  std::string kind() const override { return "btrfs"; }
  std::string path(std::string_view dataset) const override { return join_path(layout_.root, dataset); }

  status create(std::string_view dataset) override {
    STRATA_TRY(check_dataset_name(dataset));
    std::lock_guard lock(mu_);
    STRATA_TRY(check_open());
    auto root = open_dir(layout_.root);
    if (!root) return root.err();
    btrfs_ioctl_vol_args args{};
    std::memcpy(args.name, dataset.data(), dataset.size());
    if (::ioctl(root->get(), BTRFS_IOC_SUBVOL_CREATE, &args) != 0) {
      return ioctl_error(errno, dataset, fmt::format("create dataset {}", path(dataset)));
    }
    return {};
  }

  status snapshot(std::string_view from, std::string_view to) override { return copy(from, to, /*read_only=*/true); }
  status clone(std::string_view from, std::string_view to) override { return copy(from, to, /*read_only=*/false); }

  status destroy(std::string_view dataset) override {
    STRATA_TRY(check_dataset_name(dataset));
    std::lock_guard lock(mu_);
    STRATA_TRY(check_open());
    std::string dir = path(dataset);
    struct stat st{};
    if (::lstat(dir.c_str(), &st) != 0) {
      return errno == ENOENT ? status() : status(errno_error(errno, "stat " + dir));
    }
    if (!is_subvolume(dir)) {
      return make_error(errc::invalid_argument, fmt::format("{} is not a btrfs subvolume, so not a dataset of the "
                                                            "pool; move or delete it by hand", dir));
    }
    auto id = subvolume_id(dir);
    auto was_read_only = set_read_only(dir, false);
    if (!was_read_only) return was_read_only.err();
    if (auto st = remove_subvolume(dataset); !st) {
      if (*was_read_only) (void)set_read_only(dir, true);  // a snapshot that stays stays read-only
      return st;
    }
    if (id) forget_qgroup(*id);
    return {};
  }

  bool exists(std::string_view dataset) const override {
    return check_dataset_name(dataset).ok() && is_subvolume(path(dataset));
  }

  result<std::vector<std::string>> list() const override {
    auto entries = dir_entries(layout_.root);
    if (!entries) return entries.err();
    std::vector<std::string> names;
    for (auto& name : *entries) {
      if (exists(name)) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  result<uint64_t> exclusive_bytes(std::string_view dataset) override {
    STRATA_TRY(check_dataset_name(dataset));
    std::string dir = path(dataset);
    if (!is_subvolume(dir)) return missing(dataset);
    auto id = subvolume_id(dir);
    if (!id) return id.err();
    auto root = open_dir(layout_.root);
    if (!root) return root.err();
    if (::syncfs(root->get()) != 0) return errno_error(errno, "sync " + layout_.root);  // commits qgroup numbers
    STRATA_TRY(repair_qgroups(root->get()));
    return qgroup_exclusive_bytes(root->get(), *id);
  }

  result<pool_usage> usage() override {
    struct statfs st{};
    if (::statfs(layout_.root.c_str(), &st) != 0) return errno_error(errno, "statfs " + layout_.root);
    uint64_t block_bytes = static_cast<uint64_t>(st.f_bsize);
    pool_usage u;
    u.size_bytes = block_bytes * st.f_blocks;
    u.used_bytes = block_bytes * (st.f_blocks - st.f_bfree);
    u.free_bytes = block_bytes * st.f_bavail;
    if (!layout_.image.empty()) {
      auto image_bytes = file_bytes(layout_.image);
      if (image_bytes) u.size_bytes = *image_bytes;
    }
    return u;
  }

  void close() override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    if (!layout_.owns_mount) return;
    spdlog::info("dbclone: unmounting the btrfs pool at {}", layout_.root);
    unmount(layout_.root, layout_.image);
  }

 private:
  status check_open() const {
    if (closed_) return make_error(errc::unavailable, "the database pool is closed");
    return {};
  }

  error missing(std::string_view dataset) const {
    return make_error(errc::not_found, fmt::format("no dataset {} in the database pool", dataset));
  }

  error ioctl_error(int err, std::string_view dataset, std::string what) const {
    if (err == ENOSPC || err == EDQUOT) {
      std::string advice = layout_.image.empty() ? "free space on the file system holding it"
                                                 : "raise --db-pool-bytes";
      return make_error(errc::no_space, fmt::format("the database pool is full ({}: {}); {} or delete snapshots and "
                                                    "clones", what, errno_text(err), advice));
    }
    if (err == EEXIST) return make_error(errc::already_exists, fmt::format("dataset {} exists already", dataset));
    return errno_error(err, what);
  }

  status copy(std::string_view from, std::string_view to, bool read_only) {
    STRATA_TRY(check_dataset_name(from));
    STRATA_TRY(check_dataset_name(to));
    std::lock_guard lock(mu_);
    STRATA_TRY(check_open());
    if (!is_subvolume(path(from))) return missing(from);
    auto source = open_dir(path(from));
    if (!source) return source.err();
    auto root = open_dir(layout_.root);
    if (!root) return root.err();
    btrfs_ioctl_vol_args_v2 args{};
    args.fd = source->get();
    args.flags = read_only ? BTRFS_SUBVOL_RDONLY : 0;
    std::memcpy(args.name, to.data(), to.size());
    if (::ioctl(root->get(), BTRFS_IOC_SNAP_CREATE_V2, &args) != 0) {
      return ioctl_error(errno, to, fmt::format("{} {} as {}", read_only ? "snapshot" : "clone", path(from), path(to)));
    }
    return {};
  }

  // Sets or clears the read-only flag; returns whether it was set. (A
  // read-only subvolume can be neither deleted by a non-root owner nor emptied.)
  static result<bool> set_read_only(const std::string& dir, bool read_only) {
    auto fd = open_dir(dir);
    if (!fd) return fd.err();
    uint64_t flags = 0;
    if (::ioctl(fd->get(), BTRFS_IOC_SUBVOL_GETFLAGS, &flags) != 0) return errno_error(errno, "read the flags of " + dir);
    bool was_read_only = (flags & BTRFS_SUBVOL_RDONLY) != 0;
    if (was_read_only == read_only) return was_read_only;
    flags = read_only ? (flags | BTRFS_SUBVOL_RDONLY) : (flags & ~static_cast<uint64_t>(BTRFS_SUBVOL_RDONLY));
    if (::ioctl(fd->get(), BTRFS_IOC_SUBVOL_SETFLAGS, &flags) != 0) {
      return errno_error(errno, fmt::format("make {} {}", dir, read_only ? "read-only" : "writable"));
    }
    return was_read_only;
  }

  status remove_subvolume(std::string_view dataset) {
    std::string dir = path(dataset);
    auto root = open_dir(layout_.root);
    if (!root) return root.err();
    btrfs_ioctl_vol_args args{};
    std::memcpy(args.name, dataset.data(), dataset.size());
    if (::ioctl(root->get(), BTRFS_IOC_SNAP_DESTROY, &args) == 0) return {};
    if (errno == ENOTEMPTY) {
      return make_error(errc::unavailable, fmt::format("dataset {} holds other btrfs subvolumes; delete those first "
                                                       "(btrfs subvolume list -o {})", dir, dir));
    }
    if (errno != EPERM) return errno_error(errno, "delete dataset " + dir);
    // Not root and no user_subvol_rm_allowed: an empty subvolume may be rmdir'd.
    auto entries = dir_entries(dir);
    if (!entries) return entries.err();
    for (const auto& name : *entries) {
      std::error_code ec;
      fs::remove_all(join_path(dir, name), ec);
      if (ec) return make_error(errc::io_error, fmt::format("delete {}: {}", join_path(dir, name), ec.message()));
    }
    if (::rmdir(dir.c_str()) != 0) return errno_error(errno, "delete dataset " + dir);
    return {};
  }

  // The qgroup 0/id of a deleted subvolume stays until removed; best effort
  // (the kernel refuses while the subvolume is still being dropped, and newer
  // kernels remove it themselves once it is gone).
  void forget_qgroup(uint64_t id) {
    auto root = open_dir(layout_.root);
    if (!root) return;
    btrfs_ioctl_qgroup_create_args args{};
    args.create = 0;
    args.qgroupid = id;
    (void)::ioctl(root->get(), BTRFS_IOC_QGROUP_CREATE, &args);
  }

  const pool_layout layout_;
  std::mutex mu_;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------
// Opening.

constexpr std::string_view needs_root_message =
    "database clones need root (to loop-mount a btrfs pool image) or a data dir whose db/ folder is on btrfs";

result<pool_layout> open_on_btrfs(const btrfs_pool_config& config) {
  STRATA_TRY(make_dirs(config.pool_dir, 0755));
  auto root = real_path(config.pool_dir);
  if (!root) return root.err();
  if (::geteuid() == 0) {
    if (auto st = enable_quotas(*root); !st) {
      spdlog::warn("dbclone: {}; dataset sizes stay unknown", st.err().message);
    }
  } else {
    spdlog::warn("dbclone: not root, so btrfs quotas stay as they are on {}; clone sizes need them on", *root);
  }
  spdlog::info("dbclone: database pool on btrfs at {}", *root);
  return pool_layout{*root, "", false};
}

// Mounts the image at mount_point unless it is mounted there already; true
// when this call mounted it.
result<bool> ensure_mounted(const std::string& image, const std::string& mount_point) {
  if (auto top = top_mount_at(mount_point)) {
    if (is_mount_of_image(*top, image)) {
      spdlog::info("dbclone: the btrfs pool {} is mounted at {} already; using it", image, mount_point);
      return false;
    }
    return make_error(errc::already_exists,
                      fmt::format("{} is already mounted at {} (a {} file system); unmount it or choose another mount "
                                  "point for the database pool",
                                  top->source, mount_point, top->fs_type));
  }
  STRATA_TRY(mount_image(image, mount_point));
  auto top = top_mount_at(mount_point);
  if (!top || !is_mount_of_image(*top, image)) {
    return make_error(errc::internal, fmt::format("mount reported success but {} is not mounted at {}", image,
                                                  mount_point));
  }
  return true;
}

// What follows the mount: a failure unmounts again when this call mounted.
status prepare_root(const btrfs_pool_config& config, const std::string& image, const std::string& root) {
  if (::chmod(root.c_str(), 0755) != 0) return errno_error(errno, "chmod " + root);
  STRATA_TRY(grow_image(image, config.image_bytes, root));
  return enable_quotas(root);
}

result<pool_layout> open_image(const btrfs_pool_config& config) {
  if (config.mount_point.empty()) {
    return make_error(errc::invalid_argument, "the btrfs database pool needs a mount point for its image");
  }
  if (config.image_bytes < image_bytes_min) {
    return make_error(errc::invalid_argument, fmt::format("--db-pool-bytes is {}; btrfs needs at least {} bytes",
                                                          config.image_bytes, image_bytes_min));
  }
  STRATA_TRY(make_dirs(config.pool_dir, 0700));
  std::string image = join_path(config.pool_dir, image_file_name);
  if (::access(image.c_str(), F_OK) != 0) STRATA_TRY(format_image(config.pool_dir, config.image_bytes));
  auto image_real = real_path(image);
  if (!image_real) return image_real.err();
  STRATA_TRY(make_dirs(config.mount_point, 0755));
  auto root = real_path(config.mount_point);
  if (!root) return root.err();
  auto mounted_now = ensure_mounted(*image_real, *root);
  if (!mounted_now) return mounted_now.err();
  if (auto st = prepare_root(config, *image_real, *root); !st) {
    if (*mounted_now) unmount(*root, *image_real);
    return st.err();
  }
  spdlog::info("dbclone: database pool on the btrfs image {} at {}", *image_real, *root);
  return pool_layout{*root, *image_real, true};
}

}  // namespace

result<std::unique_ptr<pool>> open_btrfs_pool(const btrfs_pool_config& config) {
  if (config.pool_dir.empty()) return make_error(errc::invalid_argument, "the database pool needs a directory");
  bool on_btrfs = is_btrfs_dir(nearest_existing(config.pool_dir));
  if (!on_btrfs && ::geteuid() != 0) {
    return make_error(errc::unsupported, fmt::format("{} ({} is not on btrfs)", needs_root_message, config.pool_dir));
  }
  auto layout = on_btrfs ? open_on_btrfs(config) : open_image(config);
  if (!layout) return layout.err();
  return std::unique_ptr<pool>(std::make_unique<btrfs_pool>(std::move(*layout)));
}

}  // namespace strata::dbclone
