// Child processes of the database-clone face: short commands run to
// completion (pg_basebackup, pg_dump, mkfs, ...) and long-lived servers
// (postgres) that are started, watched and stopped. Children run as an
// unprivileged OS user when Strata runs as root, in their own session, with
// a clean environment and their output appended to a log file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace strata::dbclone {

struct os_user {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

// The passwd entry of `name`; errc::not_found with a message naming the flag
// (--db-os-user) when there is none.
result<os_user> lookup_os_user(const std::string& name);
// The user this process runs as.
os_user current_os_user();

struct spawn_options {
  std::vector<std::string> argv;                            // argv[0] is an absolute path
  std::vector<std::pair<std::string, std::string>> env;     // on top of PATH, HOME, LANG=C.UTF-8
  std::string cwd;                                          // empty: "/"
  std::optional<os_user> user;                              // switch to it (setgid, initgroups, setuid)
  std::string log_path;                                     // stdout and stderr appended here; empty: /dev/null
  std::string stdin_path;                                   // empty: /dev/null
};

// Starts the child and returns its pid without waiting. The child is the
// leader of a new session and dies with SIGKILL if exec fails.
result<pid_t> spawn(const spawn_options& options);

struct run_output {
  int exit_code = 0;        // 128 + signal when killed
  std::string output_tail;  // last bytes of stdout+stderr
};

// Runs to completion, capturing up to output_tail_bytes_max of the end of its
// output (also appended to options.log_path when set). After timeout_ms the
// whole process group gets SIGKILL and the result is errc::timed_out.
result<run_output> run(const spawn_options& options, int64_t timeout_ms, size_t output_tail_bytes_max = 4096);

// What a caller may do while run() waits: stop it early (the process group
// gets SIGKILL and the result is errc::unavailable), and be called about every
// tick_interval_ms (to report progress).
struct run_controls {
  std::function<bool()> should_stop;
  std::function<void()> on_tick;
  int64_t tick_interval_ms = 500;
};
result<run_output> run(const spawn_options& options, int64_t timeout_ms, size_t output_tail_bytes_max,
                       const run_controls& controls);

// Whether pid is a live process (not a zombie).
bool process_alive(pid_t pid);
// Non-blocking reap of our own child: its exit code (128 + signal when
// killed) once it has ended, nullopt while it runs.
std::optional<int> try_reap(pid_t pid);
// nullopt while pid runs; once it has ended, its exit code when it was our
// child (reaped here), -1 when it was not (an adopted process).
std::optional<int> process_ended(pid_t pid);
// Sends sig to pid and waits up to timeout_ms for it to end (reaping it when
// it is our child); then SIGKILL and a second wait. True when it ended.
bool stop_process(pid_t pid, int sig, int64_t timeout_ms);

// The last max_bytes of a file, cut at a line start; "" when unreadable.
std::string file_tail(const std::string& path, size_t max_bytes);

// chown -R path to user (no-op when user is the current user).
status chown_tree(const std::string& path, const os_user& user);

}  // namespace strata::dbclone
