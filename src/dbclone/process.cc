// Child processes: fork + execve with everything the child needs prepared in
// the parent, because after fork in a threaded process only async-signal-safe
// calls are allowed (no malloc, no NSS lookups).
#include "dbclone/process.h"

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "dbclone/system.h"

namespace strata::dbclone {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr int64_t poll_interval_ms = 10;
constexpr int64_t kill_wait_ms_min = 1000;
constexpr size_t pipe_read_bytes = 64 * 1024;
constexpr const char* child_path = "/usr/sbin:/usr/bin:/sbin:/bin";

// The child dup2s onto 0, 1 and 2, so none of its sources may sit there
// (possible when this process was started with a standard fd closed).
unique_fd above_stdio(int fd) {
  if (fd < 0 || fd > STDERR_FILENO) return unique_fd(fd);
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  int saved_errno = errno;
  ::close(fd);
  errno = saved_errno;
  return unique_fd(moved);
}

result<unique_fd> open_fd(const std::string& path, int flags, const char* what) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    int err = errno;
    return make_error(err == ENOENT ? errc::not_found : errc::io_error,
                      std::string("cannot open ") + what + " " + path + ": " + errno_text(err) +
                          "; check that the path exists and is accessible");
  }
  unique_fd owned = above_stdio(fd);
  if (owned.get() < 0) return make_error(errc::io_error, "cannot move fd of " + path + ": " + errno_text(errno));
  return owned;
}

bool switches_user(const spawn_options& options) {
  return options.user && (options.user->uid != ::geteuid() || options.user->gid != ::getegid());
}

// O_APPEND so several writers (postgres and its restarts) never overwrite.
result<unique_fd> open_log(const spawn_options& options) {
  if (options.log_path.empty()) return open_fd("/dev/null", O_WRONLY, "/dev/null");
  auto fd = open_fd(options.log_path, O_WRONLY | O_APPEND | O_CREAT, "log file");
  if (!fd.ok()) return fd.err();
  if (switches_user(options) && ::fchown(fd->get(), options.user->uid, options.user->gid) != 0) {
    return make_error(errc::io_error, "cannot chown log file " + options.log_path + " to " + options.user->name + ": " +
                                          errno_text(errno));
  }
  return fd;
}

result<unique_fd> open_stdin(const spawn_options& options) {
  if (options.stdin_path.empty()) return open_fd("/dev/null", O_RDONLY, "/dev/null");
  return open_fd(options.stdin_path, O_RDONLY, "stdin file");
}

result<std::vector<gid_t>> supplementary_groups(const os_user& user) {
  int count = 32;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  for (int attempt = 0; attempt < 8; attempt++) {
    int capacity = count;
    if (::getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<size_t>(count));
      return groups;
    }
    count = std::max(count, capacity * 2);
    groups.resize(static_cast<size_t>(count));
  }
  return make_error(errc::internal, "cannot list the groups of OS user " + user.name);
}

result<std::vector<std::string>> child_environment(const spawn_options& options) {
  os_user who = options.user ? *options.user : current_os_user();
  std::vector<std::pair<std::string, std::string>> vars = {
      {"PATH", child_path}, {"HOME", who.home}, {"LANG", "C.UTF-8"}};
  for (const auto& [name, value] : options.env) {
    if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
      return make_error(errc::invalid_argument, "environment variable name '" + name + "' is not valid");
    }
    auto same = std::find_if(vars.begin(), vars.end(), [&](const auto& v) { return v.first == name; });
    if (same != vars.end()) {
      same->second = value;
    } else {
      vars.emplace_back(name, value);
    }
  }
  std::vector<std::string> entries;
  entries.reserve(vars.size());
  for (const auto& [name, value] : vars) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Which step of the child failed; sent to the parent with its errno.
enum class child_step : int32_t { setsid, stdio, groups, setgid, setuid, chdir, exec };

struct child_report {
  child_step step = child_step::exec;
  int32_t err = 0;
};

struct child_plan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;
  int stdin_fd = -1;
  int out_fd = -1;
  int report_fd = -1;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  size_t group_count = 0;
  int fd_limit = 0;
};

[[noreturn]] void child_fail(const child_plan& plan, child_step step) {
  child_report report{step, errno};
  ssize_t written = ::write(plan.report_fd, &report, sizeof(report));
  (void)written;
  ::_exit(127);
}

void child_reset_signals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for KILL, STOP
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void child_close_fds(const child_plan& plan) {
  auto close_span = [&](unsigned first, unsigned last) {
    if (first > last) return;
    if (::close_range(first, last, 0) == 0) return;
    for (unsigned fd = first; fd <= last && fd < static_cast<unsigned>(plan.fd_limit); fd++) ::close(static_cast<int>(fd));
  };
  unsigned report = static_cast<unsigned>(plan.report_fd);
  close_span(STDERR_FILENO + 1, report - 1);
  close_span(report + 1, ~0U);
}

[[noreturn]] void child_main(const child_plan& plan) {
  child_reset_signals();
  if (::setsid() < 0) child_fail(plan, child_step::setsid);
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.out_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.out_fd, STDERR_FILENO) < 0) {
    child_fail(plan, child_step::stdio);
  }
  child_close_fds(plan);
  if (plan.switch_user) {
    if (::setgroups(plan.group_count, plan.groups) != 0) child_fail(plan, child_step::groups);
    if (::setgid(plan.gid) != 0) child_fail(plan, child_step::setgid);
    if (::setuid(plan.uid) != 0) child_fail(plan, child_step::setuid);
  }
  // After the switch, so a directory the user cannot enter fails here.
  if (::chdir(plan.cwd) != 0) child_fail(plan, child_step::chdir);
  ::execve(plan.path, plan.argv, plan.envp);
  child_fail(plan, child_step::exec);
}

std::string step_text(child_step step, const spawn_options& options) {
  switch (step) {
    case child_step::setsid: return "setsid";
    case child_step::stdio: return "redirecting stdin/stdout/stderr";
    case child_step::groups: return "setgroups";
    case child_step::setgid: return "setgid";
    case child_step::setuid: return "setuid";
    case child_step::chdir: return "chdir " + (options.cwd.empty() ? std::string("/") : options.cwd);
    case child_step::exec: return "";
  }
  return "";
}

error child_error(const child_report& report, const spawn_options& options) {
  std::string text = "cannot run " + options.argv[0];
  if (options.user) text += " as OS user " + options.user->name;
  text += ": ";
  std::string step = step_text(report.step, options);
  if (!step.empty()) text += step + " failed: ";
  text += errno_text(report.err);
  errc code = report.err == ENOENT ? errc::not_found : errc::io_error;
  if (report.err == EPERM || report.err == EACCES) {
    code = errc::invalid_argument;
    text += report.step == child_step::exec || report.step == child_step::chdir
                ? "; check that the user may access the path"
                : "; Strata must run as root to run children as another user";
  }
  return make_error(code, std::move(text));
}

status check_options(const spawn_options& options) {
  if (options.argv.empty() || options.argv[0].empty() || options.argv[0][0] != '/') {
    return make_error(errc::invalid_argument, "spawn: argv[0] must be an absolute path to the program");
  }
  return {};
}

// Waits for the child's report: EOF means execve succeeded (the pipe is
// close-on-exec), a report means it failed and has exited with 127.
status await_exec(pid_t pid, int report_fd, const spawn_options& options) {
  child_report report;
  ssize_t n;
  do {
    n = ::read(report_fd, &report, sizeof(report));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return {};
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(report))) {
    return make_error(errc::internal, "cannot run " + options.argv[0] + ": lost the child's start report");
  }
  return child_error(report, options);
}

result<pid_t> fork_child(const spawn_options& options, int stdin_fd, int out_fd) {
  STRATA_TRY(check_options(options));
  auto env = child_environment(options);
  if (!env.ok()) return env.err();
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(*env);
  std::string cwd = options.cwd.empty() ? "/" : options.cwd;

  child_plan plan;
  std::vector<gid_t> groups;
  if (switches_user(options)) {
    auto listed = supplementary_groups(*options.user);
    if (!listed.ok()) return listed.err();
    groups = std::move(*listed);
    plan.switch_user = true;
    plan.uid = options.user->uid;
    plan.gid = options.user->gid;
    plan.groups = groups.data();
    plan.group_count = groups.size();
  }

  int report_pipe[2];
  if (::pipe2(report_pipe, O_CLOEXEC) != 0) return make_error(errc::io_error, "pipe: " + errno_text(errno));
  unique_fd report_read = above_stdio(report_pipe[0]);
  unique_fd report_write = above_stdio(report_pipe[1]);
  if (report_read.get() < 0 || report_write.get() < 0) return make_error(errc::io_error, "pipe: " + errno_text(errno));

  plan.path = args[0].c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = cwd.c_str();
  plan.stdin_fd = stdin_fd;
  plan.out_fd = out_fd;
  plan.report_fd = report_write.get();
  plan.fd_limit = static_cast<int>(std::min<long>(::sysconf(_SC_OPEN_MAX), INT_MAX));

  // Blocked across fork so no parent handler runs in the child before it
  // resets them; the child unblocks after the reset.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) child_main(plan);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return make_error(errc::unavailable, "cannot fork to run " + options.argv[0] + ": " + errno_text(fork_errno));

  report_write.reset();
  STRATA_TRY(await_exec(pid, report_read.get(), options));
  return pid;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 128;
}

int64_t ms_until(clock_type::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
}

void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a log that cannot be written must not fail the command
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// The bounded tail of a child's output, mirrored into its log file.
class output_sink {
 public:
  output_sink(int log_fd, size_t tail_bytes_max) : log_fd_(log_fd), tail_bytes_max_(tail_bytes_max) {}

  void add(const char* data, size_t size) {
    if (log_fd_ >= 0) write_all(log_fd_, data, size);
    tail_.append(data, size);
    if (tail_.size() > 2 * tail_bytes_max_ + pipe_read_bytes) trim();
  }
  std::string take() {
    trim();
    return std::move(tail_);
  }

 private:
  void trim() {
    if (tail_.size() > tail_bytes_max_) tail_.erase(0, tail_.size() - tail_bytes_max_);
  }

  int log_fd_;
  size_t tail_bytes_max_;
  std::string tail_;
};

enum class pipe_state { open, closed };

// One read after waiting up to wait_ms for output.
pipe_state pump(int fd, output_sink& sink, int64_t wait_ms) {
  pollfd p{fd, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(wait_ms, 0)));
  if (ready <= 0) return pipe_state::open;
  char buffer[pipe_read_bytes];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n < 0) return errno == EINTR || errno == EAGAIN ? pipe_state::open : pipe_state::closed;
  if (n == 0) return pipe_state::closed;
  sink.add(buffer, static_cast<size_t>(n));
  return pipe_state::open;
}

// After the child ended, output a grandchild still writes is not waited for.
void drain(int fd, output_sink& sink, clock_type::time_point deadline) {
  pollfd p{fd, POLLIN, 0};
  while (ms_until(deadline) > 0 && ::poll(&p, 1, 0) > 0) {
    if (pump(fd, sink, 0) == pipe_state::closed) return;
  }
}

struct pipe_pair {
  unique_fd read;
  unique_fd write;
};

result<pipe_pair> make_output_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return make_error(errc::io_error, "pipe: " + errno_text(errno));
  pipe_pair pair{above_stdio(fds[0]), above_stdio(fds[1])};
  if (pair.read.get() < 0 || pair.write.get() < 0) return make_error(errc::io_error, "pipe: " + errno_text(errno));
  return pair;
}

bool reap_now(pid_t pid, int* wait_status) {
  pid_t r;
  do {
    r = ::waitpid(pid, wait_status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  return r == pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
}

// Whether pid has ended: reaped when it is our child, else gone or a zombie.
bool ended(pid_t pid) {
  int wait_status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &wait_status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return true;
  if (r == 0) return false;
  return !process_alive(pid);
}

bool wait_ended(pid_t pid, int64_t timeout_ms) {
  auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  while (!ended(pid)) {
    if (ms_until(deadline) <= 0) return false;
    sleep_ms(poll_interval_ms);
  }
  return true;
}

result<std::string> read_small_file(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY, "file");
  if (!fd.ok()) return fd.err();
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd->get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(errc::io_error, "cannot read " + path + ": " + errno_text(errno));
    if (n == 0) return text;
    text.append(buffer, static_cast<size_t>(n));
  }
}

template <class Entry, class Lookup>
result<os_user> passwd_lookup(Lookup lookup, const std::string& what) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(static_cast<size_t>(hint > 0 ? hint : 16384));
  for (;;) {
    Entry entry{};
    Entry* found = nullptr;
    int err = lookup(&entry, buffer.data(), buffer.size(), &found);
    if (err == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (err != 0) return make_error(errc::io_error, "cannot look up " + what + ": " + errno_text(err));
    if (found == nullptr) return make_error(errc::not_found, what + " does not exist");
    return os_user{found->pw_name, found->pw_uid, found->pw_gid, found->pw_dir};
  }
}

struct chown_target {
  uid_t uid = 0;
  gid_t gid = 0;
  int err = 0;
  std::string failed_path;
};
thread_local chown_target* chown_current = nullptr;  // nftw takes no context pointer

int chown_entry(const char* path, const struct stat*, int, FTW*) {
  if (::lchown(path, chown_current->uid, chown_current->gid) == 0) return 0;
  chown_current->err = errno;
  chown_current->failed_path = path;
  return 1;
}

}  // namespace

result<os_user> lookup_os_user(const std::string& name) {
  auto found = passwd_lookup<passwd>(
      [&](passwd* entry, char* buffer, size_t size, passwd** out) {
        return ::getpwnam_r(name.c_str(), entry, buffer, size, out);
      },
      "OS user '" + name + "'");
  if (found.code() == errc::not_found) {
    return make_error(errc::not_found,
                      "OS user '" + name + "' does not exist; create it (useradd) or pass another --db-os-user");
  }
  return found;
}

os_user current_os_user() {
  uid_t uid = ::geteuid();
  auto found = passwd_lookup<passwd>(
      [&](passwd* entry, char* buffer, size_t size, passwd** out) { return ::getpwuid_r(uid, entry, buffer, size, out); },
      "uid " + std::to_string(uid));
  if (!found.ok()) return os_user{std::to_string(uid), uid, ::getegid(), "/"};
  found->gid = ::getegid();
  return std::move(*found);
}

result<pid_t> spawn(const spawn_options& options) {
  auto in = open_stdin(options);
  if (!in.ok()) return in.err();
  auto log = open_log(options);
  if (!log.ok()) return log.err();
  return fork_child(options, in->get(), log->get());
}

result<run_output> run(const spawn_options& options, int64_t timeout_ms, size_t output_tail_bytes_max) {
  return run(options, timeout_ms, output_tail_bytes_max, run_controls{});
}

result<run_output> run(const spawn_options& options, int64_t timeout_ms, size_t output_tail_bytes_max,
                       const run_controls& controls) {
  auto in = open_stdin(options);
  if (!in.ok()) return in.err();
  unique_fd log;
  if (!options.log_path.empty()) {
    auto opened = open_log(options);
    if (!opened.ok()) return opened.err();
    log = std::move(*opened);
  }
  auto out = make_output_pipe();
  if (!out.ok()) return out.err();
  auto deadline = clock_type::now() + std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0));
  auto pid = fork_child(options, in->get(), out->write.get());
  if (!pid.ok()) return pid.err();
  out->write.reset();
  in->reset();

  output_sink sink(log.get(), output_tail_bytes_max);
  pipe_state pipe = pipe_state::open;
  int wait_status = 0;
  auto next_tick = clock_type::now() + std::chrono::milliseconds(controls.tick_interval_ms);
  for (;;) {
    if (reap_now(*pid, &wait_status)) {
      if (pipe == pipe_state::open) drain(out->read.get(), sink, deadline);
      return run_output{exit_code_of(wait_status), sink.take()};
    }
    if (controls.should_stop && controls.should_stop()) {
      kill_and_reap(*pid);
      return make_error(errc::unavailable, options.argv[0] + " was stopped: Strata is shutting down");
    }
    if (controls.on_tick && clock_type::now() >= next_tick) {
      controls.on_tick();
      next_tick = clock_type::now() + std::chrono::milliseconds(controls.tick_interval_ms);
    }
    int64_t left_ms = ms_until(deadline);
    if (left_ms <= 0) break;
    if (pipe == pipe_state::open) {
      pipe = pump(out->read.get(), sink, std::min<int64_t>(left_ms, 2 * poll_interval_ms));
    } else {
      sleep_ms(1);  // output closed: the child is exiting right now
    }
  }
  kill_and_reap(*pid);
  std::string tail = sink.take();
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  return make_error(errc::timed_out, options.argv[0] + " did not finish within " + std::to_string(timeout_ms) +
                                         " ms; killed its process group" +
                                         (tail.empty() ? std::string() : ". Its output ended with:\n" + tail));
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  auto stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  // The state follows the command name, which may itself hold ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return true;
  char state = (*stat)[close + 2];
  return state != 'Z' && state != 'X';
}

std::optional<int> try_reap(pid_t pid) {
  STRATA_ASSERT(pid > 0, "try_reap needs one child's pid");
  int wait_status = 0;
  if (!reap_now(pid, &wait_status)) return std::nullopt;
  return exit_code_of(wait_status);
}

bool stop_process(pid_t pid, int sig, int64_t timeout_ms) {
  STRATA_ASSERT(pid > 0, "stop_process needs one process's pid");
  if (::kill(pid, sig) != 0 && errno == ESRCH) return true;
  if (wait_ended(pid, timeout_ms)) return true;
  if (::getpgid(pid) == pid) ::kill(-pid, SIGKILL);  // its workers too, when it leads its group
  ::kill(pid, SIGKILL);
  return wait_ended(pid, std::max(timeout_ms, kill_wait_ms_min));
}

std::string file_tail(const std::string& path, size_t max_bytes) {
  auto fd = open_fd(path, O_RDONLY, "file");
  if (!fd.ok() || max_bytes == 0) return "";
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return "";
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t start = size > max_bytes ? size - max_bytes : 0;
  std::string text(static_cast<size_t>(size - start), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::pread(fd->get(), text.data() + done, text.size() - done, static_cast<off_t>(start + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  if (start > 0) {
    size_t newline = text.find('\n');
    if (newline != std::string::npos && newline + 1 < text.size()) text.erase(0, newline + 1);
  }
  return text;
}

status chown_tree(const std::string& path, const os_user& user) {
  if (user.uid == ::geteuid() && user.gid == ::getegid()) return {};
  chown_target target{user.uid, user.gid, 0, {}};
  chown_current = &target;
  int rc = ::nftw(path.c_str(), chown_entry, 64, FTW_PHYS);
  chown_current = nullptr;
  if (rc == 0) return {};
  int err = target.err != 0 ? target.err : errno;
  std::string failed = target.failed_path.empty() ? path : target.failed_path;
  return make_error(err == ENOENT ? errc::not_found : errc::io_error,
                    "cannot chown " + failed + " to OS user " + user.name + ": " + errno_text(err));
}

std::optional<int> process_ended(pid_t pid) {
  if (auto code = try_reap(pid)) return code;
  if (!process_alive(pid)) return -1;
  return std::nullopt;
}

}  // namespace strata::dbclone
