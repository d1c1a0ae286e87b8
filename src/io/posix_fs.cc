// io::fs on real files: plain POSIX calls, retried on EINTR and short counts.
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <system_error>

#include "io/errno_error.h"
#include "io/fs.h"

namespace strata::io {
namespace {

constexpr size_t iov_max_parts = 64;  // gathered parts per writev_at call; far above what storage uses

class posix_file final : public file {
 public:
  posix_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~posix_file() override { (void)close(); }

  result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "read", path_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  status writev_at(uint64_t offset, std::span<const std::span<const uint8_t>> parts) override {
    if (parts.size() > iov_max_parts) return make_error(errc::invalid_argument, "writev_at: too many parts for " + path_);
    iovec iov[iov_max_parts];
    size_t count = 0;
    for (auto p : parts) {
      if (p.empty()) continue;
      iov[count++] = iovec{const_cast<uint8_t*>(p.data()), p.size()};
    }
    size_t first = 0;
    while (first < count) {
      ssize_t n = ::pwritev(fd_, iov + first, static_cast<int>(count - first), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "write", path_);
      }
      if (n == 0) return make_error(errc::io_error, "write " + path_ + ": the kernel accepted no bytes");
      offset += static_cast<uint64_t>(n);
      size_t left = static_cast<size_t>(n);
      while (first < count && left >= iov[first].iov_len) left -= iov[first++].iov_len;
      if (first < count) {
        iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    return {};
  }

  status sync() override {
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return errno_error(errno, "fdatasync", path_);
    }
    return {};
  }

  status truncate(uint64_t size_bytes) override {
    while (::ftruncate(fd_, static_cast<off_t>(size_bytes)) != 0) {
      if (errno != EINTR) return errno_error(errno, "truncate", path_);
    }
    return {};
  }

  status punch_hole(uint64_t offset, uint64_t length_bytes) override {
    return allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length_bytes, "punch hole");
  }

  status zero_range(uint64_t offset, uint64_t length_bytes) override {
    return allocate(FALLOC_FL_ZERO_RANGE, offset, length_bytes, "zero range");
  }

  result<uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return errno_error(errno, "stat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  status close() override {
    if (fd_ < 0) return {};
    int fd = fd_;
    fd_ = -1;
    // Linux releases the descriptor even when close reports an error; never retry.
    if (::close(fd) != 0 && errno != EINTR) return errno_error(errno, "close", path_);
    return {};
  }

  const std::string& path() const override { return path_; }

 private:
  status allocate(int mode, uint64_t offset, uint64_t length_bytes, const char* operation) {
    if (length_bytes == 0) return {};
    while (::fallocate(fd_, mode, static_cast<off_t>(offset), static_cast<off_t>(length_bytes)) != 0) {
      if (errno == EINTR) continue;
      if (errno == EOPNOTSUPP) {
        return make_error(errc::unsupported, std::string(operation) + " " + path_ + ": the file system cannot do it");
      }
      return errno_error(errno, operation, path_);
    }
    return {};
  }

  int fd_;
  std::string path_;
};

int open_flags(open_mode mode) {
  switch (mode) {
    case open_mode::read_only: return O_RDONLY;
    case open_mode::read_write: return O_RDWR;
    case open_mode::create: return O_RDWR | O_CREAT;
    case open_mode::create_exclusive: return O_RDWR | O_CREAT | O_EXCL;
  }
  return O_RDONLY;
}

error ec_error(const std::error_code& ec, const char* operation, const std::string& path) {
  return errno_error(ec.value(), operation, path);
}

class posix_fs final : public fs {
 public:
  result<std::unique_ptr<file>> open(const std::string& path, open_mode mode) override {
    int fd;
    do {
      fd = ::open(path.c_str(), open_flags(mode) | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno_error(errno, "open", path);
    return std::unique_ptr<file>(std::make_unique<posix_file>(fd, path));
  }

  result<std::vector<std::string>> list(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return errno_error(errno, "list", dir);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
      errno = 0;
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return errno_error(err, "list", dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  result<bool> exists(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return errno_error(errno, "stat", path);
  }

  status remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return errno_error(errno, "remove", path);
    return {};
  }

  status remove_all(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return ec_error(ec, "remove_all", dir);
    return {};
  }

  status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_error(errno, "rename", from + " -> " + to);
    return {};
  }

  status create_dirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return ec_error(ec, "create_dirs", dir);
    return {};
  }

  status sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error(errno, "open dir", dir);
    int rc;
    do {
      rc = ::fsync(fd);
    } while (rc != 0 && errno == EINTR);
    int err = errno;
    ::close(fd);
    if (rc != 0) return errno_error(err, "fsync dir", dir);
    return {};
  }
};

}  // namespace

std::unique_ptr<fs> make_posix_fs() { return std::make_unique<posix_fs>(); }

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace strata::io
