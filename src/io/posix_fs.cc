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
#include <cstring>
#include <filesystem>
#include <system_error>

#include "base/aligned_buffer.h"
#include "base/assert.h"
#include "io/errno_error.h"
#include "io/fs.h"
#include "io/uring_reads.h"

namespace strata::io {
namespace {

constexpr size_t iov_max_parts = 64;  // gathered parts per writev_at call; far above what storage uses
// A direct file's unaligned I/O goes through a bounce buffer of at most this size at a time.
constexpr size_t bounce_bytes_max = 1 * MiB;
constexpr uint64_t alignment = direct_io_alignment_bytes;

bool is_aligned(uint64_t v) { return v % alignment == 0; }
bool is_aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % alignment == 0; }
uint64_t align_down(uint64_t v) { return v / alignment * alignment; }
uint64_t align_up(uint64_t v) { return align_down(v + alignment - 1); }

bool all_aligned(uint64_t offset, std::span<const std::span<const uint8_t>> parts) {
  if (!is_aligned(offset)) return false;
  for (auto p : parts) {
    if (!is_aligned(p.size()) || (!p.empty() && !is_aligned(p.data()))) return false;
  }
  return true;
}

// Copies the bytes of a list of parts out in order, a piece at a time.
class part_cursor {
 public:
  explicit part_cursor(std::span<const std::span<const uint8_t>> parts) : parts_(parts) {}
  void copy_to(uint8_t* out, size_t bytes) {
    while (bytes > 0) {
      auto part = parts_[index_].subspan(used_);
      size_t n = std::min(part.size(), bytes);
      std::memcpy(out, part.data(), n);
      out += n;
      bytes -= n;
      used_ += n;
      if (used_ == parts_[index_].size()) {
        ++index_;
        used_ = 0;
      }
    }
  }

 private:
  std::span<const std::span<const uint8_t>> parts_;
  size_t index_ = 0;
  size_t used_ = 0;
};

// With `direct` (O_DIRECT), aligned reads and writes go straight between the
// caller's buffer and the device; unaligned ones through a bounce buffer.
class posix_file final : public file {
 public:
  posix_file(int fd, std::string path, bool direct) : fd_(fd), path_(std::move(path)), direct_(direct) {}
  ~posix_file() override { (void)close(); }

  result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    if (direct_ && !(is_aligned(offset) && is_aligned(out.size()) && is_aligned(out.data()))) {
      return read_bounced(offset, out);
    }
    return read_loop(offset, out);
  }

  status writev_at(uint64_t offset, std::span<const std::span<const uint8_t>> parts) override {
    if (direct_ && !all_aligned(offset, parts)) return write_bounced(offset, parts);
    return write_gathered(offset, parts);
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

  // A read that can go to the device straight from a batch (uring_reads.h).
  bool batchable(const read_request& r) const {
    return direct_ && fd_ >= 0 && is_aligned(r.offset) && is_aligned(r.out.size()) && is_aligned(r.out.data()) &&
           r.out.size() <= UINT32_MAX;
  }
  uring::read_op batch_op(const read_request& r) const {
    return uring::read_op{fd_, r.offset, r.out.data(), static_cast<uint32_t>(r.out.size())};
  }
  // What read_at returns, given what the batched read of `r` gave.
  result<size_t> finish_batched(const read_request& r, int64_t res) {
    if (res == uring::not_run) return read_at(r.offset, r.out);
    if (res < 0) return errno_error(static_cast<int>(-res), "read", path_);
    const auto got = static_cast<size_t>(res);
    // A short aligned count need not be the end of the file: read on from it.
    if (got == 0 || got == r.out.size() || !is_aligned(got)) return got;
    auto rest = read_loop(r.offset + got, r.out.subspan(got));
    if (!rest.ok()) return rest.err();
    return got + *rest;
  }

 private:
  status write_gathered(uint64_t offset, std::span<const std::span<const uint8_t>> parts) {
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

  // Reads until `out` is full or the file ends. An O_DIRECT read at the end
  // returns a count that may not be aligned, and a read from there would fail
  // (EINVAL), so a direct file stops at it.
  result<size_t> read_loop(uint64_t offset, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "read", path_);
      }
      done += static_cast<size_t>(n);
      if (n == 0 || (direct_ && !is_aligned(static_cast<uint64_t>(n)))) break;
    }
    return done;
  }

  result<size_t> read_bounced(uint64_t offset, std::span<uint8_t> out) {
    const uint64_t end = offset + out.size();
    aligned_buffer bounce(std::min<uint64_t>(align_up(end) - align_down(offset), bounce_bytes_max));
    size_t done = 0;
    while (done < out.size()) {
      const uint64_t pos = offset + done;
      const uint64_t from = align_down(pos);
      const uint64_t to = std::min(align_up(end), from + bounce.size());
      auto n = read_loop(from, bounce.span().first(to - from));
      if (!n.ok()) return n.err();
      if (*n <= pos - from) break;  // end of file
      const size_t take = std::min<uint64_t>(*n - (pos - from), out.size() - done);
      std::memcpy(out.data() + done, bounce.data() + (pos - from), take);
      done += take;
      if (*n < to - from) break;
    }
    return done;
  }

  // Reads the aligned block at block_offset into `into`, zeros past end of file.
  status read_edge_block(uint64_t block_offset, uint8_t* into) {
    auto n = read_loop(block_offset, std::span(into, alignment));
    if (!n.ok()) return n.err();
    if (*n < alignment) std::memset(into + *n, 0, alignment - *n);
    return {};
  }

  status write_bounced(uint64_t offset, std::span<const std::span<const uint8_t>> parts) {
    uint64_t total = 0;
    for (auto p : parts) total += p.size();
    const uint64_t end = offset + total;
    aligned_buffer bounce(std::min<uint64_t>(align_up(end) - align_down(offset), bounce_bytes_max));
    part_cursor cursor(parts);
    uint64_t pos = offset;
    while (pos < end) {
      const uint64_t from = align_down(pos);
      const uint64_t to = std::min(align_up(end), from + bounce.size());
      const uint64_t data_end = std::min(end, to);
      // The edges of the aligned range keep the bytes the file holds there.
      if (pos > from) STRATA_TRY(read_edge_block(from, bounce.data()));
      const bool tail_is_head = pos > from && to - from == alignment;
      if (data_end < to && !tail_is_head) STRATA_TRY(read_edge_block(to - alignment, bounce.data() + (to - alignment - from)));
      cursor.copy_to(bounce.data() + (pos - from), data_end - pos);
      const std::span<const uint8_t> whole[1] = {bounce.span().first(to - from)};
      STRATA_TRY(write_gathered(from, whole));
      pos = data_end;
    }
    return {};
  }

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
  bool direct_;
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
    return open_with(path, mode, false);
  }

  result<std::unique_ptr<file>> open_direct(const std::string& path, open_mode mode) override {
    return open_with(path, mode, true);
  }

  void read_batch(std::span<read_request> requests) override {
    const bool ring = batches_reads();
    std::vector<uring::read_op> ops;
    std::vector<read_request*> batched;
    for (auto& r : requests) {
      auto* f = dynamic_cast<posix_file*>(r.from);
      STRATA_ASSERT(f != nullptr, "read_batch takes files of this fs");
      if (ring && f->batchable(r)) {
        ops.push_back(f->batch_op(r));
        batched.push_back(&r);
      } else {
        r.got = f->read_at(r.offset, r.out);
      }
    }
    uring::run(ops);
    for (size_t i = 0; i < ops.size(); ++i) {
      batched[i]->got = static_cast<posix_file*>(batched[i]->from)->finish_batched(*batched[i], ops[i].result);
    }
  }

  bool batches_reads() const override { return uring::available(); }

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

 private:
  static result<std::unique_ptr<file>> open_with(const std::string& path, open_mode mode, bool direct) {
    int fd;
    do {
      fd = ::open(path.c_str(), open_flags(mode) | O_CLOEXEC | (direct ? O_DIRECT : 0), 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && direct && errno == EINVAL) {
      return make_error(errc::unsupported, "open " + path + ": the file system has no direct I/O (O_DIRECT); "
                                           "put the data directory on one that has (ext4, XFS, btrfs) or use buffered I/O");
    }
    if (fd < 0) return errno_error(errno, "open", path);
    return std::unique_ptr<file>(std::make_unique<posix_file>(fd, path, direct));
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
