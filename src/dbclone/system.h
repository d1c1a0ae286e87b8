// Small Linux system helpers shared by the database-clone code (child
// processes, postgres control and the pool backends): an owning file
// descriptor, errno as errc and text, directories, finding and running tools,
// a process's argv, /proc/self/mountinfo, unmounting and loop devices.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace strata::dbclone {

// Owns a file descriptor (-1: none) and closes it.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// ---------------------------------------------------------------------------
// errno.

// The system's text for an errno value ("No such file or directory").
std::string errno_text(int err);
// The errc an errno value stands for; errc::io_error when none fits better.
errc errno_code(int err);
// errno_code(err) with the message "<what>: <errno text>".
error errno_error(int err, std::string_view what);

// ---------------------------------------------------------------------------
// Files and directories.

std::string join_path(const std::string& dir, std::string_view name);

// Opens a directory (O_RDONLY | O_DIRECTORY | O_CLOEXEC).
result<unique_fd> open_dir(const std::string& path);

// mkdir -p: creates the missing parents, then path itself with `mode` (less
// the umask). That path exists already, as whatever, is no error.
status make_dir_and_parents(const std::string& path, mode_t mode);

// ---------------------------------------------------------------------------
// Tools and processes.

// The absolute path of an executable called `name` in the usual system
// directories (/usr/sbin, /usr/bin, /sbin, /bin, /usr/local/...).
std::optional<std::string> find_executable(std::string_view name);

// Runs a command (argv[0] an absolute path) to completion; its output tail
// (stdout and stderr) on success. A non-zero exit is errc::no_space when the
// output says "No space left on device", else errc::io_error.
result<std::string> run_tool(std::vector<std::string> argv, int64_t timeout_ms);

// /proc/PID/cmdline split at its NULs; empty when unreadable (or a kernel thread).
std::vector<std::string> process_argv(pid_t pid);

// ---------------------------------------------------------------------------
// Mounts.

struct mount_entry {
  std::string mount_point;
  std::string fs_type;
  std::string source;
};

// The mounts of /proc/self/mountinfo, in its order (octal escapes decoded).
std::vector<mount_entry> read_mounts();
// The topmost mount at mount_point (a canonical path), if any.
std::optional<mount_entry> top_mount_at(const std::string& mount_point);

// umount2(mount_point, 0), retried up to `attempts` times while it is EBUSY,
// `busy_wait` apart. 0 once unmounted (EINVAL, nothing mounted there, counts
// as unmounted), else the last errno.
int unmount_retrying(const std::string& mount_point, int attempts, std::chrono::milliseconds busy_wait);
// umount2(MNT_DETACH); a warning is logged when that fails (but for EINVAL and
// ENOENT: nothing to detach).
void unmount_lazily(const std::string& mount_point);
// For a mount that would not unmount (err: why): logs so and detaches it lazily.
void detach_busy_mount(const std::string& mount_point, int err);

// ---------------------------------------------------------------------------
// Loop devices.

// "/dev/loop3" -> the file it is backed by ("" when detached or no loop device).
std::string loop_backing_file(const std::string& device);
// Attached loop devices backed by `file` (a canonical path).
std::vector<std::string> loop_devices_of(const std::string& file);
// Attached loop devices whose backing file lies under dir/.
std::vector<std::string> loop_devices_under(const std::string& dir);
// LOOP_CLR_FD: 0 when detached (or attached no more: ENXIO), else the errno.
// A device still in use (a lazily unmounted file system) is not detached at
// once: the kernel sets autoclear and detaches it when its last user goes.
int detach_loop(const std::string& device);

}  // namespace strata::dbclone
