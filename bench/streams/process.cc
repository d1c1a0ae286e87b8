#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace strata::bench {
namespace {

std::mutex children_mu;
std::vector<pid_t>& children() {
  static std::vector<pid_t> pids;
  return pids;
}

sigset_t interrupt_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

[[noreturn]] void on_interrupt(int sig, const std::string& tmp_root) {
  {
    std::lock_guard lock(children_mu);
    for (pid_t pid : children()) {
      ::kill(-pid, SIGKILL);
    }
    for (pid_t pid : children()) {
      ::waitpid(pid, nullptr, 0);
    }
  }
  std::error_code ec;
  if (!tmp_root.empty()) {
    std::filesystem::remove_all(tmp_root, ec);
  }
  std::fprintf(stderr, "\nbench: interrupted by signal %d; servers killed, %s removed\n", sig,
               tmp_root.empty() ? "nothing" : tmp_root.c_str());
  std::_Exit(128 + sig);
}

}  // namespace

void install_interrupt_guard(const std::string& tmp_root) {
  sigset_t set = interrupt_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, tmp_root] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    on_interrupt(sig, tmp_root);
  }).detach();
}

child_process::child_process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

result<std::unique_ptr<child_process>> child_process::spawn(const std::vector<std::string>& argv,
                                                            const std::string& log_path) {
  if (argv.empty()) {
    return make_error(errc::invalid_argument, "spawn needs a program");
  }
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return make_error(errc::io_error, fmt::format("cannot create {}: {}", log_path, std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  std::lock_guard lock(children_mu);  // an interrupt now waits until the child is registered
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return make_error(errc::io_error, fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    // Its own process group, so a wrapper's children (strace, timeout, a
    // shell script) are stopped and killed with it.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::setpgid(pid, pid);  // also here: no race with the first kill(-pid)
  children().push_back(pid);
  return std::unique_ptr<child_process>(new child_process(pid, log_path));
}

child_process::~child_process() {
  ::kill(-pid_, SIGKILL);  // the group: whatever the server left behind
  if (!reaped_) {
    ::waitpid(pid_, &wait_status_, 0);
    reaped_ = true;
    forget();
  }
}

void child_process::forget() {
  std::lock_guard lock(children_mu);
  auto& pids = children();
  pids.erase(std::remove(pids.begin(), pids.end(), pid_), pids.end());
}

bool child_process::exited() {
  if (reaped_) {
    return true;
  }
  if (::waitpid(pid_, &wait_status_, WNOHANG) == pid_) {
    reaped_ = true;
    forget();
  }
  return reaped_;
}

status child_process::stop(int64_t grace_ms, int stop_signal) {
  bool killed = false;
  if (!exited()) {
    ::kill(-pid_, stop_signal);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
    while (!exited() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!exited()) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &wait_status_, 0);
      reaped_ = true;
      forget();
      killed = true;
    }
  }
  if (killed) {
    return make_error(errc::timed_out, fmt::format("pid {} ignored signal {} for {} ms and was killed; see {}",
                                                   pid_, stop_signal, grace_ms, log_path_));
  }
  const bool clean = WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) == 0
                                              : WIFSIGNALED(wait_status_) && WTERMSIG(wait_status_) == stop_signal;
  if (!clean) {
    return make_error(errc::internal, fmt::format("pid {} ended badly (wait status {:#x}); see {}", pid_,
                                                  wait_status_, log_path_));
  }
  return {};
}

std::string file_tail(const std::string& path, size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {};
  }
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  const size_t from = size > bytes_max ? size - bytes_max : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string tail(size - from, '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  return tail;
}

}  // namespace strata::bench
