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
// Kernel side of a writable dataset (root only, no kernel nbd needed):
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
// one nbdfuse failure per dataset). After a kill -9, every mount under <root>,
// every loop device backed by a file under <root>/.nbd and every nbdfuse
// process serving a path there is stale (the data-dir lock guarantees no other
// live Strata uses this root). The loop devices are listed first (their files
// show under .nbd only while nbdfuse's mounts exist), then the stray nbdfuse
// processes are stopped, the mounts detached lazily (MNT_DETACH: a leftover
// postgres may still hold files in them) and the loop devices detached (the
// kernel defers that while a lazily detached file system still uses one).
// Every loop device also gets autoclear once mounted, so one whose file
// system goes away lazily detaches itself. Then every writable dataset is
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
// Unmounting, freezing and loop detaching use the syscalls directly (no fork);
// nbdfuse, losetup (attach) and mkfs.ext4 run through process.h.
#include "dbclone/volume_pool.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/units.h"
#include "dbclone/process.h"
#include "dbclone/system.h"
#include "volumes/service.h"

namespace strata::dbclone {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr size_t volume_name_bytes_max = 128;  // volumes/names.h
constexpr std::string_view destroyed_marker = "DESTROYED";
constexpr std::string_view clone_snapshot_prefix = "C.";
constexpr std::string_view generation_infix = ".G";
constexpr std::string_view nbd_dir_name = ".nbd";
constexpr std::string_view run_dir_name = ".run";
constexpr std::string_view nbd_file_name = "nbd";  // nbdfuse's file in a directory mount point

constexpr int64_t nbdfuse_ready_timeout_ms = 15'000;
constexpr int64_t nbdfuse_exit_timeout_ms = 5'000;
constexpr int64_t losetup_timeout_ms = 30'000;
constexpr int64_t mkfs_timeout_ms = 300'000;
constexpr int64_t export_release_timeout_ms = 10'000;  // the NBD server dropping nbdfuse's connection
constexpr int umount_attempts = 8;
constexpr auto umount_busy_wait = std::chrono::milliseconds(250);
constexpr auto poll_wait = std::chrono::milliseconds(10);
constexpr uint64_t journal_cap_from_bytes = 16 * GiB;  // above this, the journal is capped at 128 MiB

// ---------------------------------------------------------------------------
// Directories, tools, text (the general helpers are in dbclone/system.h).

// mkdir -p that insists on a directory with exactly `mode`.
status make_dir(const std::string& path, mode_t mode) {
  STRATA_TRY(make_dir_and_parents(path, mode));
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return make_error(errc::already_exists, fmt::format("{} exists and is no directory", path));
  if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0) return errno_error(errno, "chmod " + path);
  return {};
}

result<std::string> find_tool(std::string_view name, std::string_view package) {
  if (auto path = find_executable(name)) return *path;
  return make_error(errc::unsupported, fmt::format("the volume pool needs {}, which was not found; install {} "
                                                   "(apt-get install {}, or scripts/install-deps.sh)",
                                                   name, package, package));
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

// For "nbd+unix:///EXPORT?socket=PATH": everything but unreserved characters and '/'.
std::string percent_encode(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                 c == '_' || c == '~' || c == '/';
    if (plain) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Loop devices, processes, the NBD listener.

void detach_loop_or_warn(const std::string& device) {
  if (int err = detach_loop(device); err != 0) {
    spdlog::warn("dbclone: could not detach loop device {}: {}", device, errno_text(err));
  }
}

// Sets autoclear: the kernel detaches the device when its last user (the
// mount) goes, even when that is a lazily detached mount after a crash.
status set_autoclear(const std::string& device) {
  unique_fd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return errno_error(errno, "open " + device);
  loop_info64 info{};
  if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) != 0) return errno_error(errno, "read the status of " + device);
  info.lo_flags |= LO_FLAGS_AUTOCLEAR;
  if (::ioctl(fd.get(), LOOP_SET_STATUS64, &info) != 0) return errno_error(errno, "set autoclear on " + device);
  return {};
}

// Live processes whose argv[0] is nbdfuse and one of whose arguments lies under dir/.
std::vector<pid_t> nbdfuse_processes_under(const std::string& dir) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    std::vector<std::string> argv = process_argv(pid);
    if (argv.empty() || fs::path(argv[0]).filename() != "nbdfuse") continue;
    bool ours = std::any_of(argv.begin() + 1, argv.end(), [&](const std::string& a) { return a.starts_with(dir + "/"); });
    if (ours && pid != ::getpid() && process_alive(pid)) pids.push_back(pid);
  }
  return pids;
}

// Connects to Strata's NBD listener and reads its greeting ("NBDMAGIC"), so
// a listener that is not up yet is one clear error rather than one nbdfuse
// failure per dataset.
status probe_nbd(const volume_pool_config& config) {
  std::string where = config.nbd_unix_socket.empty() ? config.nbd_host_port : config.nbd_unix_socket;
  auto unreachable = [&](std::string why) {
    return make_error(errc::unavailable, fmt::format("the volume pool cannot reach Strata's NBD listener at {} ({}); "
                                                     "start the NBD listener before the pool", where, why));
  };
  unique_fd fd;
  if (!config.nbd_unix_socket.empty()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (config.nbd_unix_socket.size() >= sizeof addr.sun_path) return unreachable("socket path too long");
    std::memcpy(addr.sun_path, config.nbd_unix_socket.data(), config.nbd_unix_socket.size());
    fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0 || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return unreachable(std::strerror(errno));
    }
  } else {
    std::string host = config.nbd_host_port, port = "10809";
    if (size_t colon = host.rfind(':'); colon != std::string::npos && host.find(']', colon) == std::string::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      return unreachable(::gai_strerror(rc));
    }
    int err = 0;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      fd.reset(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
      if (fd.get() >= 0 && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) break;
      err = errno;
      fd.reset();
    }
    ::freeaddrinfo(found);
    if (fd.get() < 0) return unreachable(std::strerror(err));
  }
  char magic[8] = {};
  size_t got = 0;
  while (got < sizeof magic) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return unreachable("no greeting within 5 s");
    ssize_t n = ::read(fd.get(), magic + got, sizeof magic - got);
    if (n <= 0) return unreachable(n == 0 ? "closed before its greeting" : std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  if (std::memcmp(magic, "NBDMAGIC", sizeof magic) != 0) return unreachable("that is no NBD server");
  return {};
}

bool wait_until(int64_t timeout_ms, const std::function<bool()>& done) {
  auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(poll_wait);
  }
  return true;
}

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

struct tools {
  std::string nbdfuse, losetup, mkfs;
};

class volume_pool final : public pool {
 public:
  volume_pool(volume_pool_config config, volumes::service& volumes, tools tools, std::string root)
      : config_(std::move(config)),
        volumes_(volumes),
        tools_(std::move(tools)),
        root_(std::move(root)),
        nbd_dir_(join_path(root_, nbd_dir_name)),
        run_dir_(join_path(root_, run_dir_name)) {}
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
  // The kernel side of a writable dataset.
  struct exposure {
    pid_t nbdfuse = -1;
    std::string loop;
    bool mounted = false;
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
  std::string uri_of(const std::string& volume) const;
  std::string pid_file(const std::string& name) const { return join_path(run_dir_, name + ".pid"); }
  std::string log_file(const std::string& name) const { return join_path(run_dir_, name + ".log"); }

  void clear_stale();
  void remove_leftover_files();
  status load_index();
  status expose(const std::string& name, const std::string& volume, bool format);
  status expose_new(const std::string& name, const std::string& volume, bool format, std::string_view action,
                    const std::string& what);
  status unexpose(const std::string& name, bool force);
  status freeze_and_snapshot(const std::string& from, const dataset& d, const std::string& snapshot);
  status delete_volume(const std::string& volume);
  result<bool> has_file_system(const std::string& volume);

  const volume_pool_config config_;
  volumes::service& volumes_;
  const tools tools_;
  const std::string root_;
  const std::string nbd_dir_;
  const std::string run_dir_;

  std::mutex op_mu_;  // serialises create, snapshot, clone, destroy, close; guards exposures_ and closed_
  std::map<std::string, exposure> exposures_;
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

std::string volume_pool::uri_of(const std::string& volume) const {
  if (!config_.nbd_unix_socket.empty()) {
    return fmt::format("nbd+unix:///{}?socket={}", volume, percent_encode(config_.nbd_unix_socket));
  }
  return fmt::format("nbd://{}/{}", config_.nbd_host_port, volume);
}

// ---------------------------------------------------------------------------
// Open.

status volume_pool::start() {
  clear_stale();
  STRATA_TRY(load_index());
  remove_leftover_files();
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
    if (auto st = expose(name, volume, format); !st) {
      spdlog::error("dbclone: dataset {} (volume {}) could not be mounted at {}: {}", name, volume, path(name),
                    st.err().message);
    }
  }
  spdlog::info("dbclone: volume pool at {} holds {} dataset(s), {} mounted", root_, list()->size(),
               exposures_.size());
  return {};
}

// What a kill -9 left: nbdfuse processes serving our paths, mounts under the
// root, loop devices on files under .nbd.
void volume_pool::clear_stale() {
  // Loop devices first: their backing files show under .nbd only while the
  // nbdfuse mounts are still there.
  std::vector<std::string> loops = loop_devices_under(nbd_dir_);
  for (pid_t pid : nbdfuse_processes_under(nbd_dir_)) {
    spdlog::warn("dbclone: stopping nbdfuse process {} left by an earlier run", pid);
    stop_process(pid, SIGTERM, 3000);
  }
  std::vector<mount_entry> stale;
  for (auto& m : read_mounts()) {
    if (m.mount_point.starts_with(root_ + "/")) stale.push_back(std::move(m));
  }
  std::sort(stale.begin(), stale.end(),
            [](const mount_entry& a, const mount_entry& b) { return a.mount_point.size() > b.mount_point.size(); });
  for (const auto& m : stale) {
    spdlog::warn("dbclone: detaching the {} mount at {} left by an earlier run", m.fs_type, m.mount_point);
    unmount_lazily(m.mount_point);
  }
  for (const auto& device : loops) {
    spdlog::warn("dbclone: detaching loop device {} left by an earlier run", device);
    detach_loop_or_warn(device);
  }
}

// Empty mount points and nbdfuse files of datasets that are gone (a destroy
// cut short by a crash), and every pid file (no nbdfuse runs yet).
void volume_pool::remove_leftover_files() {
  std::error_code ec;
  for (const auto& dir : {root_, nbd_dir_}) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (dir == root_ && (name == nbd_dir_name || name == run_dir_name)) continue;
      if (!exists(name)) ::rmdir(entry.path().c_str());  // only when empty
    }
  }
  for (const auto& entry : fs::directory_iterator(run_dir_, ec)) {
    std::string file = entry.path().filename().string();
    if (file.ends_with(".pid") || (file.ends_with(".log") && !exists(file.substr(0, file.size() - 4)))) {
      ::unlink(entry.path().c_str());
    }
  }
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

status volume_pool::expose(const std::string& name, const std::string& volume, bool format) {
  std::string fuse_dir = join_path(nbd_dir_, name);
  std::string mount_point = path(name);
  STRATA_TRY(make_dir(fuse_dir, 0700));
  STRATA_TRY(make_dir(mount_point, 0755));
  std::string pid_path = pid_file(name);
  ::unlink(pid_path.c_str());

  spawn_options options;
  options.argv = {tools_.nbdfuse, "-C", "1", "-P", pid_path, fuse_dir, uri_of(volume)};
  options.log_path = log_file(name);
  auto pid = spawn(options);
  if (!pid) return make_error(pid.code(), fmt::format("start nbdfuse for volume {}: {}", volume, pid.err().message));
  exposures_[name].nbdfuse = *pid;

  auto fail = [&](error e) -> status {
    if (auto st = unexpose(name, true); !st) spdlog::warn("dbclone: cleaning up dataset {}: {}", name, st.err().message);
    return e;
  };

  std::optional<int> exited;
  bool ready = wait_until(nbdfuse_ready_timeout_ms, [&] {
    struct stat st{};
    if (::stat(pid_path.c_str(), &st) == 0 && st.st_size > 0) return true;
    exited = try_reap(*pid);
    return exited.has_value();
  });
  if (exited || !ready) {
    if (exited) exposures_[name].nbdfuse = -1;
    std::string why = exited ? fmt::format("exited with code {}", *exited)
                             : fmt::format("was not ready within {} ms", nbdfuse_ready_timeout_ms);
    return fail(make_error(errc::unavailable,
                           fmt::format("nbdfuse serving volume {} at {} {}; is Strata's NBD listener ({}) up? Its "
                                       "log {} ends with: {}", volume, fuse_dir, why, uri_of(volume), log_file(name),
                                       file_tail(log_file(name), 1024))));
  }

  std::string image = join_path(fuse_dir, nbd_file_name);
  auto attached = run_tool({tools_.losetup, "--find", "--show", "--direct-io=off", image}, losetup_timeout_ms);
  if (!attached) return fail(attached.err());
  std::string loop = trim(*attached);
  if (size_t nl = loop.rfind('\n'); nl != std::string::npos) loop = loop.substr(nl + 1);
  if (!loop.starts_with("/dev/loop")) {
    return fail(make_error(errc::io_error, fmt::format("losetup attached {} but printed '{}', no loop device", image,
                                                       loop)));
  }
  exposures_[name].loop = loop;

  if (format) {
    std::vector<std::string> mkfs{tools_.mkfs, "-q", "-F", "-m", "0"};
    if (config_.volume_bytes > journal_cap_from_bytes) {
      mkfs.insert(mkfs.end(), {"-J", "size=128"});
    }
    mkfs.insert(mkfs.end(), {"-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", loop});
    if (auto st = run_tool(mkfs, mkfs_timeout_ms); !st) return fail(st.err());
  }

  if (::mount(loop.c_str(), mount_point.c_str(), "ext4", MS_NOATIME, "noinit_itable") != 0) {
    int err = errno;
    return fail(errno_error(err, fmt::format("mount {} (volume {}) as ext4 at {}; the kernel log (dmesg) says more",
                                             loop, volume, mount_point)));
  }
  exposures_[name].mounted = true;
  if (auto st = set_autoclear(loop); !st) spdlog::warn("dbclone: dataset {}: {}", name, st.err().message);
  return {};
}

// expose() for the new volume of a new dataset; on failure the volume is
// deleted again and the error says `what` ("create dataset D") failed.
status volume_pool::expose_new(const std::string& name, const std::string& volume, bool format,
                               std::string_view action, const std::string& what) {
  auto st = expose(name, volume, format);
  if (st) return {};
  if (auto del = delete_volume(volume); !del) {
    spdlog::warn("dbclone: could not delete volume {} after a failed {}: {}", volume, action, del.err().message);
  }
  return make_error(st.code(), fmt::format("{}: {}", what, st.err().message));
}

// Unmounts, detaches the loop device and stops nbdfuse. Without force, a busy
// mount is errc::unavailable and nothing is torn down; with force it is
// detached lazily.
status volume_pool::unexpose(const std::string& name, bool force) {
  auto it = exposures_.find(name);
  if (it == exposures_.end()) return {};
  exposure& e = it->second;
  std::string mount_point = path(name);
  std::string fuse_dir = join_path(nbd_dir_, name);

  if (e.mounted || top_mount_at(mount_point)) {
    int err = unmount_retrying(mount_point, umount_attempts, umount_busy_wait);
    bool done = err == 0;
    if (!done && !force) {
      if (err == EBUSY) {
        return make_error(errc::unavailable, fmt::format("dataset {} is in use: a process still has files open under "
                                                         "{}; stop it first (`fuser -vm {}` shows which)", name,
                                                         mount_point, mount_point));
      }
      return errno_error(err, "unmount " + mount_point);
    }
    if (!done) detach_busy_mount(mount_point, err);
    e.mounted = false;
  }

  if (!e.loop.empty()) {
    // Autoclear may have detached it already, asynchronously; wait until the
    // device lets go of nbdfuse's file, so that mount is not busy.
    std::string image = join_path(fuse_dir, nbd_file_name);
    if (loop_backing_file(e.loop) == image) detach_loop_or_warn(e.loop);
    if (!wait_until(2000, [&] { return loop_backing_file(e.loop) != image; })) {
      spdlog::warn("dbclone: loop device {} still holds {}", e.loop, image);
    }
    e.loop.clear();
  }

  if (top_mount_at(fuse_dir)) {
    if (::umount2(fuse_dir.c_str(), 0) != 0 && errno != EINVAL) {
      spdlog::warn("dbclone: unmount {}: {}; detaching it lazily", fuse_dir, std::strerror(errno));
      unmount_lazily(fuse_dir);
    }
  }
  if (e.nbdfuse > 0) {
    // Unmounted, nbdfuse ends by itself; a signal only if it lingers.
    pid_t pid = e.nbdfuse;
    if (!wait_until(nbdfuse_exit_timeout_ms, [&] { return try_reap(pid).has_value() || !process_alive(pid); })) {
      spdlog::warn("dbclone: nbdfuse {} for dataset {} did not exit after its unmount; stopping it", pid, name);
      stop_process(pid, SIGTERM, 2000);
    }
  }
  ::unlink(pid_file(name).c_str());
  ::rmdir(fuse_dir.c_str());
  exposures_.erase(it);
  return {};
}

status volume_pool::freeze_and_snapshot(const std::string& from, const dataset& d, const std::string& snapshot) {
  unique_fd fd;
  auto it = exposures_.find(from);
  if (it != exposures_.end() && it->second.mounted) {
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

  STRATA_TRY(unexpose(name, false));
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
  ::unlink(log_file(name).c_str());
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
  std::vector<std::string> names;
  for (const auto& [name, e] : exposures_) names.push_back(name);
  for (const auto& name : names) {
    if (auto st = unexpose(name, true); !st) spdlog::warn("dbclone: releasing dataset {}: {}", name, st.err().message);
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
  tools t;
  auto nbdfuse = find_tool("nbdfuse", "libnbd-bin");
  if (!nbdfuse) return nbdfuse.err();
  auto losetup = find_tool("losetup", "mount");
  if (!losetup) return losetup.err();
  auto mkfs = find_tool("mkfs.ext4", "e2fsprogs");
  if (!mkfs) return mkfs.err();
  t.nbdfuse = *nbdfuse;
  t.losetup = *losetup;
  t.mkfs = *mkfs;

  STRATA_TRY(probe_nbd(config));

  STRATA_TRY(make_dir(config.mount_root, 0755));
  std::error_code ec;
  std::string root = fs::canonical(config.mount_root, ec).string();
  if (ec) return make_error(errc::io_error, fmt::format("resolve {}: {}", config.mount_root, ec.message()));
  STRATA_TRY(make_dir(join_path(root, nbd_dir_name), 0700));
  STRATA_TRY(make_dir(join_path(root, run_dir_name), 0700));

  auto p = std::make_unique<volume_pool>(config, volumes, std::move(t), root);
  STRATA_TRY(p->start());
  return std::unique_ptr<pool>(std::move(p));
}

}  // namespace strata::dbclone
