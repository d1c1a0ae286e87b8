#include "dbclone/volume_exposure.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/units.h"
#include "dbclone/process.h"
#include "dbclone/system.h"

namespace strata::dbclone {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view nbd_file_name = "nbd";  // nbdfuse's file in a directory mount point

constexpr int64_t nbdfuse_ready_timeout_ms = 15'000;
constexpr int64_t nbdfuse_exit_timeout_ms = 5'000;
constexpr int64_t losetup_timeout_ms = 30'000;
constexpr int64_t mkfs_timeout_ms = 300'000;
constexpr int umount_attempts = 8;
constexpr auto umount_busy_wait = std::chrono::milliseconds(250);
constexpr auto poll_wait = std::chrono::milliseconds(10);
constexpr uint64_t journal_cap_from_bytes = 16 * GiB;  // above this, the journal is capped at 128 MiB

// ---------------------------------------------------------------------------
// Tools, text (the general helpers are in dbclone/system.h).

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
// Loop devices, processes.

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

}  // namespace

// ---------------------------------------------------------------------------
// Waiting, directories, tools, the NBD listener.

bool wait_until(int64_t timeout_ms, const std::function<bool()>& done) {
  auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(poll_wait);
  }
  return true;
}

status make_dir(const std::string& path, mode_t mode) {
  STRATA_TRY(make_dir_and_parents(path, mode));
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return make_error(errc::already_exists, fmt::format("{} exists and is no directory", path));
  if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0) return errno_error(errno, "chmod " + path);
  return {};
}

result<exposure_tools> find_exposure_tools() {
  exposure_tools t;
  auto nbdfuse = find_tool("nbdfuse", "libnbd-bin");
  if (!nbdfuse) return nbdfuse.err();
  auto losetup = find_tool("losetup", "mount");
  if (!losetup) return losetup.err();
  auto mkfs = find_tool("mkfs.ext4", "e2fsprogs");
  if (!mkfs) return mkfs.err();
  t.nbdfuse = *nbdfuse;
  t.losetup = *losetup;
  t.mkfs = *mkfs;
  return t;
}

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

// ---------------------------------------------------------------------------
// volume_exposures.

volume_exposures::volume_exposures(volume_pool_config config, exposure_tools tools, std::string root)
    : config_(std::move(config)),
      tools_(std::move(tools)),
      root_(std::move(root)),
      nbd_dir_(join_path(root_, nbd_dir_name)),
      run_dir_(join_path(root_, run_dir_name)) {}

bool volume_exposures::mounted(const std::string& name) const {
  auto it = exposed_.find(name);
  return it != exposed_.end() && it->second.mounted;
}

std::vector<std::string> volume_exposures::names() const {
  std::vector<std::string> names;
  for (const auto& [name, e] : exposed_) names.push_back(name);
  return names;
}

std::string volume_exposures::pid_file(const std::string& name) const { return join_path(run_dir_, name + ".pid"); }
std::string volume_exposures::log_file(const std::string& name) const { return join_path(run_dir_, name + ".log"); }

std::string volume_exposures::uri_of(const std::string& volume) const {
  if (!config_.nbd_unix_socket.empty()) {
    return fmt::format("nbd+unix:///{}?socket={}", volume, percent_encode(config_.nbd_unix_socket));
  }
  return fmt::format("nbd://{}/{}", config_.nbd_host_port, volume);
}

void volume_exposures::clear_stale() {
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

void volume_exposures::remove_leftover_files(const std::function<bool(const std::string&)>& is_dataset) {
  std::error_code ec;
  for (const auto& dir : {root_, nbd_dir_}) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (dir == root_ && (name == nbd_dir_name || name == run_dir_name)) continue;
      if (!is_dataset(name)) ::rmdir(entry.path().c_str());  // only when empty
    }
  }
  for (const auto& entry : fs::directory_iterator(run_dir_, ec)) {
    std::string file = entry.path().filename().string();
    if (file.ends_with(".pid") || (file.ends_with(".log") && !is_dataset(file.substr(0, file.size() - 4)))) {
      ::unlink(entry.path().c_str());
    }
  }
}

// ---------------------------------------------------------------------------
// Expose and unexpose.

status volume_exposures::expose(const std::string& name, const std::string& volume, bool format) {
  std::string fuse_dir = join_path(nbd_dir_, name);
  std::string mount_point = join_path(root_, name);
  STRATA_TRY(make_dir(fuse_dir, 0700));
  STRATA_TRY(make_dir(mount_point, 0755));
  std::string pid_path = pid_file(name);
  ::unlink(pid_path.c_str());

  spawn_options options;
  options.argv = {tools_.nbdfuse, "-C", "1", "-P", pid_path, fuse_dir, uri_of(volume)};
  options.log_path = log_file(name);
  auto pid = spawn(options);
  if (!pid) return make_error(pid.code(), fmt::format("start nbdfuse for volume {}: {}", volume, pid.err().message));
  exposed_[name].nbdfuse = *pid;

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
    if (exited) exposed_[name].nbdfuse = -1;
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
  exposed_[name].loop = loop;

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
  exposed_[name].mounted = true;
  if (auto st = set_autoclear(loop); !st) spdlog::warn("dbclone: dataset {}: {}", name, st.err().message);
  return {};
}

status volume_exposures::unexpose(const std::string& name, bool force) {
  auto it = exposed_.find(name);
  if (it == exposed_.end()) return {};
  exposure& e = it->second;
  std::string mount_point = join_path(root_, name);
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
  exposed_.erase(it);
  return {};
}

}  // namespace strata::dbclone
