#include "dbclone/system.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dbclone/process.h"

namespace strata::dbclone {
namespace {

namespace fs = std::filesystem;

// /proc/self/mountinfo writes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view text) {
  auto octal = [&](size_t k) { return k < text.size() && text[k] >= '0' && text[k] <= '7'; };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> split_spaces(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (start <= line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string::npos) end = line.size();
    if (end > start) fields.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  return fields;
}

std::vector<std::string> split_nul(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Attached loop devices whose backing file passes `match`.
std::vector<std::string> loop_devices_where(const std::function<bool(const std::string&)>& match) {
  std::vector<std::string> devices;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("loop")) continue;
    std::string device = "/dev/" + name;
    if (match(loop_backing_file(device))) devices.push_back(device);
  }
  return devices;
}

}  // namespace

// ---------------------------------------------------------------------------
// errno.

std::string errno_text(int err) { return std::system_category().message(err); }

errc errno_code(int err) {
  switch (err) {
    case ENOENT: return errc::not_found;
    case EEXIST: return errc::already_exists;
    case ENOSPC:
    case EDQUOT: return errc::no_space;
    case ENAMETOOLONG:
    case EINVAL: return errc::invalid_argument;
    case EBUSY:
    case EAGAIN: return errc::unavailable;
    case ENODEV:
    case ENOTTY:
    case EOPNOTSUPP: return errc::unsupported;
    default: return errc::io_error;
  }
}

error errno_error(int err, std::string_view what) {
  return make_error(errno_code(err), fmt::format("{}: {}", what, errno_text(err)));
}

// ---------------------------------------------------------------------------
// Files and directories.

std::string join_path(const std::string& dir, std::string_view name) { return dir + "/" + std::string(name); }

result<unique_fd> open_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "open " + path);
  return unique_fd(fd);
}

status make_dir_and_parents(const std::string& path, mode_t mode) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) return make_error(errc::io_error, fmt::format("create directory {}: {}", parent.string(), ec.message()));
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return errno_error(errno, "create directory " + path);
  return {};
}

// ---------------------------------------------------------------------------
// Tools and processes.

std::optional<std::string> find_executable(std::string_view name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"}) {
    std::string path = fmt::format("{}/{}", dir, name);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

result<std::string> run_tool(std::vector<std::string> argv, int64_t timeout_ms) {
  std::string command_line = fmt::format("{}", fmt::join(argv, " "));
  spawn_options options;
  options.argv = std::move(argv);
  auto out = run(options, timeout_ms);
  if (!out) return make_error(out.code(), fmt::format("{}: {}", command_line, out.err().message));
  if (out->exit_code != 0) {
    errc code = out->output_tail.find("No space left on device") != std::string::npos ? errc::no_space
                                                                                          : errc::io_error;
    return make_error(code, fmt::format("`{}` failed with exit code {}: {}", command_line, out->exit_code,
                                        out->output_tail));
  }
  return std::move(out->output_tail);
}

std::vector<std::string> process_argv(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return split_nul(cmdline);
}

// ---------------------------------------------------------------------------
// Mounts.

std::vector<mount_entry> read_mounts() {
  std::vector<mount_entry> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto fields = split_spaces(line);
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 3) continue;
    mounts.push_back(mount_entry{unescape_mountinfo(fields[4]), *(dash + 1), unescape_mountinfo(*(dash + 2))});
  }
  return mounts;
}

std::optional<mount_entry> top_mount_at(const std::string& mount_point) {
  std::optional<mount_entry> top;
  for (auto& m : read_mounts()) {
    if (m.mount_point == mount_point) top = std::move(m);
  }
  return top;
}

int unmount_retrying(const std::string& mount_point, int attempts, std::chrono::milliseconds busy_wait) {
  int err = 0;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (::umount2(mount_point.c_str(), 0) == 0 || errno == EINVAL) return 0;
    err = errno;
    if (err != EBUSY) break;
    std::this_thread::sleep_for(busy_wait);
  }
  return err;
}

void unmount_lazily(const std::string& mount_point) {
  if (::umount2(mount_point.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    spdlog::warn("dbclone: could not unmount {}: {}", mount_point, errno_text(errno));
  }
}

void detach_busy_mount(const std::string& mount_point, int err) {
  spdlog::warn("dbclone: {} is busy ({}); detaching it lazily", mount_point, errno_text(err));
  unmount_lazily(mount_point);
}

// ---------------------------------------------------------------------------
// Loop devices.

std::string loop_backing_file(const std::string& device) {
  if (!device.starts_with("/dev/loop")) return "";
  std::ifstream in(fmt::format("/sys/block/{}/loop/backing_file", device.substr(5)));
  std::string backing;
  std::getline(in, backing);
  return backing;
}

std::vector<std::string> loop_devices_of(const std::string& file) {
  return loop_devices_where([&](const std::string& backing) { return backing == file; });
}

std::vector<std::string> loop_devices_under(const std::string& dir) {
  return loop_devices_where([&](const std::string& backing) { return backing.starts_with(dir + "/"); });
}

int detach_loop(const std::string& device) {
  unique_fd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return errno;
  if (::ioctl(fd.get(), LOOP_CLR_FD) != 0 && errno != ENXIO) return errno;
  return 0;
}

}  // namespace strata::dbclone
