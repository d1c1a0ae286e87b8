#include "app/data_dir_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace strata::app {

result<std::unique_ptr<data_dir_lock>> data_dir_lock::acquire(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return make_error(errc::io_error, fmt::format("cannot create data dir {}: {}", data_dir, ec.message()));
  std::string path = data_dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(errc::io_error, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid_text[32] = {};
    ssize_t n = ::pread(fd, pid_text, sizeof(pid_text) - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string holder = n > 0 ? fmt::format(" (pid {})", std::string(pid_text, static_cast<size_t>(n))) : "";
      return make_error(errc::unavailable, fmt::format("data dir {} is in use by another strata process{}; stop it or pass "
                                                       "--data-dir to use another directory", data_dir, holder));
    }
    return make_error(errc::io_error, fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    ::close(fd);
    return make_error(errc::io_error, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<data_dir_lock>(new data_dir_lock(fd));
}

data_dir_lock::~data_dir_lock() { ::close(fd_); }

}  // namespace strata::app
