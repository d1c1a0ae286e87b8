// Server processes the benchmark starts, and the guarantee that none outlives
// it: each child leads its own process group, which its owner stops and kills
// as a whole; an interrupt (SIGINT/SIGTERM/SIGHUP) kills every group and
// removes the benchmark's temporary directory; and a child dies with the
// benchmark even if that is SIGKILLed (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::bench {

// Call first thing in main, before any thread exists: blocks the interrupt
// signals in every thread and handles them on a thread of its own.
// tmp_root is removed on interrupt unless empty.
void install_interrupt_guard(const std::string& tmp_root);

// The last bytes_max bytes of a file ("" if it cannot be read).
std::string file_tail(const std::string& path, size_t bytes_max);

class child_process {
 public:
  // Starts argv[0] (looked up on PATH if it has no '/') with stdout and
  // stderr going to log_path. Call from the main thread only: the death
  // signal is tied to the thread that forks.
  static result<std::unique_ptr<child_process>> spawn(const std::vector<std::string>& argv,
                                                      const std::string& log_path);
  ~child_process();  // kills the process group
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Sends stop_signal (SIGTERM; nats-server exits 0 only on SIGINT) to the
  // group, then SIGKILL after grace_ms; reaps it. Fails if it had to be
  // killed or exited with an error.
  status stop(int64_t grace_ms, int stop_signal);
  // True once the process has exited (reaps it).
  bool exited();
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string log_tail(size_t bytes_max) const { return file_tail(log_path_, bytes_max); }

 private:
  child_process(pid_t pid, std::string log_path);
  void forget();

  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

}  // namespace strata::bench
