#include "machine_limits.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "produce_driver.h"

namespace strata::bench {
namespace {

constexpr size_t direct_io_alignment = 4096;

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

status write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return make_error(errc::io_error, fmt::format("write: {}", std::strerror(errno)));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

result<disk_write_stats> measure_disk_write(const std::string& dir, uint64_t total_bytes, uint32_t block_bytes) {
  if (block_bytes == 0 || block_bytes % direct_io_alignment != 0) {
    return make_error(errc::invalid_argument, "disk test block size must be a multiple of 4096");
  }
  const std::string path = dir + "/disk-test.bin";
  disk_write_stats s;
  s.direct = true;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EINVAL) {
    s.direct = false;
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd < 0) {
    return make_error(errc::io_error, fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  fd_closer closer{fd};
  std::unique_ptr<void, decltype(&std::free)> buf(std::aligned_alloc(direct_io_alignment, block_bytes), &std::free);
  if (!buf) {
    return make_error(errc::limit_exceeded, "cannot allocate the disk test buffer");
  }
  auto* bytes = static_cast<uint8_t*>(buf.get());
  for (uint32_t i = 0; i < block_bytes; ++i) {
    bytes[i] = static_cast<uint8_t>(i * 13 + 5);  // not zeros, in case the device compresses
  }
  const uint64_t blocks = (total_bytes + block_bytes - 1) / block_bytes;
  const int64_t start = now_ns();
  for (uint64_t b = 0; b < blocks; ++b) {
    bytes[0] = static_cast<uint8_t>(b);
    STRATA_TRY(write_all(fd, bytes, block_bytes));
  }
  if (::fdatasync(fd) != 0) {
    return make_error(errc::io_error, fmt::format("fdatasync {}: {}", path, std::strerror(errno)));
  }
  const double seconds = static_cast<double>(now_ns() - start) / 1e9;
  ::unlink(path.c_str());
  s.bytes = blocks * block_bytes;
  s.mb_per_s = static_cast<double>(s.bytes) / 1e6 / seconds;
  return s;
}

const char* describe(sync_write_mode mode) {
  switch (mode) {
    case sync_write_mode::buffered_append:
      return "buffered append to a growing file";
    case sync_write_mode::direct_fallocated:
      return "O_DIRECT into a fallocated file";
    case sync_write_mode::direct_overwrite:
      return "O_DIRECT over a written file";
  }
  return "?";
}

result<sync_write_stats> measure_sync_writes(const std::string& dir, uint64_t total_bytes, uint32_t chunk_bytes,
                                             sync_write_mode mode) {
  const bool want_direct = mode != sync_write_mode::buffered_append;
  if (want_direct) {
    chunk_bytes = static_cast<uint32_t>((uint64_t{chunk_bytes} + direct_io_alignment - 1) / direct_io_alignment *
                                        direct_io_alignment);
  }
  if (chunk_bytes == 0 || total_bytes == 0) {
    return make_error(errc::invalid_argument, "sync write test: nothing to write");
  }
  const std::string path = dir + "/sync-test.bin";
  sync_write_stats s;
  s.mode = mode;
  s.direct = want_direct;
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  int fd = ::open(path.c_str(), flags | (want_direct ? O_DIRECT : 0), 0644);
  if (fd < 0 && want_direct && errno == EINVAL) {
    s.direct = false;
    fd = ::open(path.c_str(), flags, 0644);
  }
  if (fd < 0) {
    return make_error(errc::io_error, fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  struct remover {
    const std::string& path;
    ~remover() { ::unlink(path.c_str()); }
  } remove_after{path};
  fd_closer closer{fd};
  std::unique_ptr<void, decltype(&std::free)> buf(std::aligned_alloc(direct_io_alignment, chunk_bytes), &std::free);
  if (!buf) {
    return make_error(errc::limit_exceeded, "cannot allocate the sync write test buffer");
  }
  auto* bytes = static_cast<uint8_t*>(buf.get());
  for (uint32_t i = 0; i < chunk_bytes; ++i) {
    bytes[i] = static_cast<uint8_t>(i * 13 + 5);  // not zeros, in case the device compresses
  }
  const uint64_t rounds = (total_bytes + chunk_bytes - 1) / chunk_bytes;
  const uint64_t file_bytes = rounds * chunk_bytes;

  // Untimed preparation, as a log would do it ahead of the appends: the
  // allocation (or the whole file) made durable first.
  if (mode == sync_write_mode::direct_fallocated) {
    if (::fallocate(fd, 0, 0, static_cast<off_t>(file_bytes)) != 0) {
      return make_error(errc::io_error, fmt::format("fallocate {}: {}", path, std::strerror(errno)));
    }
  } else if (mode == sync_write_mode::direct_overwrite) {
    for (uint64_t r = 0; r < rounds; ++r) {
      STRATA_TRY(write_all(fd, bytes, chunk_bytes));
    }
    if (::lseek(fd, 0, SEEK_SET) != 0) {
      return make_error(errc::io_error, fmt::format("lseek {}: {}", path, std::strerror(errno)));
    }
  }
  if (mode != sync_write_mode::buffered_append && ::fsync(fd) != 0) {
    return make_error(errc::io_error, fmt::format("fsync {}: {}", path, std::strerror(errno)));
  }

  std::vector<int64_t> round_ns;
  round_ns.reserve(rounds);
  const int64_t start = now_ns();
  for (uint64_t r = 0; r < rounds; ++r) {
    const int64_t t0 = now_ns();
    bytes[0] = static_cast<uint8_t>(r);
    STRATA_TRY(write_all(fd, bytes, chunk_bytes));
    if (::fdatasync(fd) != 0) {
      return make_error(errc::io_error, fmt::format("fdatasync {}: {}", path, std::strerror(errno)));
    }
    round_ns.push_back(now_ns() - t0);
  }
  const double seconds = static_cast<double>(now_ns() - start) / 1e9;
  s.bytes = file_bytes;
  s.chunk_bytes = chunk_bytes;
  s.rounds = rounds;
  s.mb_per_s = static_cast<double>(file_bytes) / 1e6 / seconds;
  const latency_summary lat = summarize(round_ns);
  s.round_p50_ms = lat.p50_ms;
  s.round_p99_ms = lat.p99_ms;
  return s;
}

namespace {

result<int> listen_loopback(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_error(errc::io_error, fmt::format("socket: {}", std::strerror(errno)));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(errc::io_error, fmt::format("loopback listen: {}", std::strerror(err)));
  }
  port = ntohs(addr.sin_port);
  return fd;
}

// Reads until EOF; returns the bytes read, or -1 on error.
int64_t drain(int listen_fd, uint32_t chunk_bytes, int64_t& last_byte_ns) {
  const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  fd_closer closer{fd};
  std::vector<uint8_t> buf(chunk_bytes);
  int64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -1;
    }
    if (n == 0) {
      last_byte_ns = now_ns();
      return total;
    }
    total += n;
  }
}

}  // namespace

result<loopback_stats> measure_loopback_tcp(uint64_t total_bytes, uint32_t chunk_bytes) {
  uint16_t port = 0;
  auto listen_fd = listen_loopback(port);
  if (!listen_fd) {
    return listen_fd.err();
  }
  fd_closer listen_closer{*listen_fd};
  int64_t received = -1;
  int64_t last_byte_ns = 0;
  std::thread receiver([&] { received = drain(*listen_fd, chunk_bytes, last_byte_ns); });

  status sent = make_error(errc::io_error, "loopback connect failed");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int64_t start = now_ns();
  const bool connected = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (connected) {
    std::vector<uint8_t> chunk(chunk_bytes, 0x5a);
    sent = {};
    for (uint64_t done = 0; done < total_bytes && sent.ok(); done += chunk_bytes) {
      sent = write_all(fd, chunk.data(), std::min<uint64_t>(chunk_bytes, total_bytes - done));
    }
  } else {
    ::shutdown(*listen_fd, SHUT_RDWR);  // unblocks accept
  }
  if (fd >= 0) {
    ::close(fd);
  }
  receiver.join();
  STRATA_TRY(sent);
  if (received != static_cast<int64_t>(total_bytes)) {
    return make_error(errc::io_error, fmt::format("loopback receiver got {} of {} bytes", received, total_bytes));
  }
  loopback_stats s;
  s.bytes = total_bytes;
  s.mb_per_s = static_cast<double>(total_bytes) / 1e6 / (static_cast<double>(last_byte_ns - start) / 1e9);
  return s;
}

}  // namespace strata::bench
