#include "server.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "net_util.h"

namespace strata::bench {

namespace {
constexpr size_t log_tail_bytes = 2048;
}

result<std::unique_ptr<child_process>> start_server(const std::vector<std::string>& argv,
                                                    const std::string& log_path, uint16_t port,
                                                    int64_t timeout_ms) {
  auto child = child_process::spawn(argv, log_path);
  if (!child) {
    return child.err();
  }
  auto& proc = *child;
  auto ready = wait_for_port(port, timeout_ms, [&] { return !proc->exited(); });
  if (!ready) {
    proc.reset();
    return make_error(ready.code(), fmt::format("{} did not start: {}", argv[0], ready.err().message));
  }
  return std::move(proc);
}

status stop_server(std::unique_ptr<child_process>& server, int64_t grace_ms, int stop_signal) {
  if (!server) {
    return {};
  }
  auto stopped = server->stop(grace_ms, stop_signal);
  server.reset();
  return stopped;
}

std::string make_data_dir(const std::string& work_dir) {
  std::string dir = work_dir + "/data";
  std::filesystem::create_directories(dir);
  return dir;
}

std::string server_log_tail(const std::string& log_path) { return file_tail(log_path, log_tail_bytes); }

status wait_with_stall_check(const std::function<bool()>& done, const std::function<uint64_t()>& seen,
                             int64_t stall_timeout_ms, const std::string& what) {
  uint64_t last_seen = seen();
  auto last_progress = std::chrono::steady_clock::now();
  while (!done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const uint64_t now_seen = seen();
    const auto now = std::chrono::steady_clock::now();
    if (now_seen != last_seen) {
      last_seen = now_seen;
      last_progress = now;
    } else if (now - last_progress > std::chrono::milliseconds(stall_timeout_ms)) {
      return make_error(errc::timed_out,
                        fmt::format("{}: no progress for {} ms after {} records", what, stall_timeout_ms, now_seen));
    }
  }
  return {};
}

}  // namespace strata::bench
