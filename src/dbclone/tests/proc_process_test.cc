#include "dbclone/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace strata::dbclone {
namespace {

using namespace std::chrono_literals;

class temp_dir {
 public:
  temp_dir() {
    char pattern[] = "/tmp/strata-proc-XXXXXX";
    STRATA_ASSERT(::mkdtemp(pattern) != nullptr, "mkdtemp");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

spawn_options command(std::vector<std::string> argv) {
  spawn_options options;
  options.argv = std::move(argv);
  return options;
}

spawn_options shell(const std::string& script) { return command({"/bin/sh", "-c", script}); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

int wait_exit(pid_t pid) {
  for (int i = 0; i < 1000; i++) {
    if (auto code = try_reap(pid)) return *code;
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}

bool ends_soon(pid_t pid) {
  for (int i = 0; i < 200; i++) {
    if (!process_alive(pid)) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(Process, SpawnReportsExitCodes) {
  auto ok = spawn(command({"/bin/true"}));
  ASSERT_TRUE(ok.ok()) << ok.err().message;
  EXPECT_EQ(wait_exit(*ok), 0);
  auto fails = spawn(command({"/bin/false"}));
  ASSERT_TRUE(fails.ok()) << fails.err().message;
  EXPECT_EQ(wait_exit(*fails), 1);
}

TEST(Process, RunCapturesOutputAndExitCode) {
  auto out = run(shell("echo hello; echo oops >&2; exit 3"), 5000);
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_EQ(out->output_tail, "hello\noops\n");
}

TEST(Process, RunReportsSignalAs128Plus) {
  auto out = run(shell("kill -TERM $$"), 5000);
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_EQ(out->exit_code, 128 + SIGTERM);
}

TEST(Process, RunKeepsABoundedTailAndLogsEverything) {
  temp_dir dir;
  auto options = shell("i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done");
  options.log_path = dir.path() + "/run.log";
  auto out = run(options, 10000, 100);
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_LE(out->output_tail.size(), 100u);
  EXPECT_TRUE(out->output_tail.ends_with("line2998\nline2999\n")) << out->output_tail;
  std::string log = read_file(options.log_path);
  EXPECT_TRUE(log.starts_with("line0\nline1\n"));
  EXPECT_TRUE(log.ends_with("line2999\n"));
  struct stat st {};
  ASSERT_EQ(::stat(options.log_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Process, RunTimeoutKillsTheWholeGroup) {
  temp_dir dir;
  std::string pid_file = dir.path() + "/bg.pid";
  auto started = std::chrono::steady_clock::now();
  auto out = run(shell("sleep 100 & echo $! > " + pid_file + "; echo waiting; wait"), 300);
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.code(), errc::timed_out);
  EXPECT_NE(out.err().message.find("waiting"), std::string::npos) << out.err().message;
  EXPECT_LT(elapsed, 5s);
  pid_t background = std::atoi(read_file(pid_file).c_str());
  ASSERT_GT(background, 0);
  EXPECT_TRUE(ends_soon(background));
}

TEST(Process, RunTicksAndStopsWhenAskedWithTheWholeGroup) {
  temp_dir dir;
  std::string pid_file = dir.path() + "/bg.pid";
  int ticks = 0;
  run_controls controls;
  controls.tick_interval_ms = 20;
  controls.on_tick = [&] { ++ticks; };
  controls.should_stop = [&] { return ticks >= 3; };
  auto started = std::chrono::steady_clock::now();
  auto out = run(shell("sleep 100 & echo $! > " + pid_file + "; wait"), 60'000, 4096, controls);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.code(), errc::unavailable);
  EXPECT_GE(ticks, 3);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  pid_t background = std::atoi(read_file(pid_file).c_str());
  ASSERT_GT(background, 0);
  EXPECT_TRUE(ends_soon(background));

  ticks = 0;
  controls.should_stop = {};
  auto done = run(shell("sleep 0.2; echo done"), 60'000, 4096, controls);
  ASSERT_TRUE(done.ok()) << done.err().message;
  EXPECT_EQ(done->exit_code, 0);
  EXPECT_GE(ticks, 2);
}

TEST(Process, MissingProgramIsAClearError) {
  auto pid = spawn(command({"/nonexistent/strata-tool", "--help"}));
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.code(), errc::not_found);
  EXPECT_NE(pid.err().message.find("cannot run /nonexistent/strata-tool"), std::string::npos) << pid.err().message;
  EXPECT_NE(pid.err().message.find("No such file or directory"), std::string::npos) << pid.err().message;
  auto out = run(command({"/nonexistent/strata-tool"}), 1000);
  EXPECT_EQ(out.code(), errc::not_found);
}

TEST(Process, RelativeProgramIsRejected) {
  EXPECT_EQ(spawn(command({"true"})).code(), errc::invalid_argument);
  EXPECT_EQ(spawn(command({})).code(), errc::invalid_argument);
}

TEST(Process, MissingWorkingDirectoryIsAClearError) {
  auto options = command({"/bin/true"});
  options.cwd = "/nonexistent/dir";
  auto pid = spawn(options);
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.err().message.find("chdir /nonexistent/dir"), std::string::npos) << pid.err().message;
}

TEST(Process, CleanEnvironmentWithExtras) {
  ::setenv("STRATA_TEST_LEAK", "1", 1);
  auto options = command({"/usr/bin/env"});
  options.env = {{"FOO", "bar baz"}, {"LANG", "C"}};
  auto out = run(options, 5000);
  ::unsetenv("STRATA_TEST_LEAK");
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_NE(out->output_tail.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"), std::string::npos);
  EXPECT_NE(out->output_tail.find("HOME=" + current_os_user().home + "\n"), std::string::npos);
  EXPECT_NE(out->output_tail.find("FOO=bar baz\n"), std::string::npos);
  EXPECT_NE(out->output_tail.find("LANG=C\n"), std::string::npos);
  EXPECT_EQ(out->output_tail.find("LANG=C.UTF-8"), std::string::npos);
  EXPECT_EQ(out->output_tail.find("STRATA_TEST_LEAK"), std::string::npos);

  options.env = {{"BAD=NAME", "x"}};
  EXPECT_EQ(run(options, 5000).code(), errc::invalid_argument);
}

TEST(Process, WorkingDirectoryAndStdin) {
  temp_dir dir;
  write_file(dir.path() + "/input.txt", "from a file\n");
  auto options = shell("pwd; cat");
  options.cwd = dir.path();
  options.stdin_path = dir.path() + "/input.txt";
  auto out = run(options, 5000);
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_EQ(out->output_tail, dir.path() + "\nfrom a file\n");

  auto no_stdin = run(command({"/bin/cat"}), 5000);
  ASSERT_TRUE(no_stdin.ok());
  EXPECT_EQ(no_stdin->output_tail, "");
}

TEST(Process, ChildGetsOnlyStandardFdsAndItsOwnSession) {
  int leaked = ::open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(leaked, 0);
  ASSERT_EQ(::dup2(leaked, 57), 57);
  auto out = run(shell("ls /proc/$$/fd; echo session=$(cut -d' ' -f6 /proc/$$/stat) pid=$$"), 5000);
  ::close(57);
  ::close(leaked);
  ASSERT_TRUE(out.ok()) << out.err().message;
  std::istringstream lines(out->output_tail);
  std::string line;
  std::vector<std::string> fds;
  std::string session;
  while (std::getline(lines, line)) {
    if (line.starts_with("session=")) {
      session = line;
    } else {
      fds.push_back(line);
    }
  }
  EXPECT_EQ(fds, (std::vector<std::string>{"0", "1", "2"})) << out->output_tail;
  std::string leader = session.substr(session.find('=') + 1, session.find(' ') - session.find('=') - 1);
  EXPECT_EQ(session.substr(session.find(' ') + 1), "pid=" + leader) << session;
}

TEST(Process, SignalsAreResetInTheChild) {
  struct sigaction ignore {};
  struct sigaction old_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGINT, &ignore, &old_action), 0);
  sigset_t block;
  sigset_t old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);

  auto interrupted = run(shell("kill -INT $$; echo survived"), 5000);
  auto terminated = run(shell("kill -TERM $$; echo survived"), 5000);

  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGINT, &old_action, nullptr);
  ASSERT_TRUE(interrupted.ok());
  EXPECT_EQ(interrupted->exit_code, 128 + SIGINT);
  ASSERT_TRUE(terminated.ok());
  EXPECT_EQ(terminated->exit_code, 128 + SIGTERM);
}

TEST(Process, ZombieIsNotAlive) {
  auto pid = spawn(command({"/bin/true"}));
  ASSERT_TRUE(pid.ok());
  EXPECT_TRUE(ends_soon(*pid));  // a zombie until reaped
  EXPECT_EQ(wait_exit(*pid), 0);
  EXPECT_FALSE(process_alive(*pid));
  EXPECT_FALSE(process_alive(0));
  EXPECT_FALSE(process_alive(-1));
  EXPECT_TRUE(process_alive(::getpid()));
}

TEST(Process, StopProcessEndsAChild) {
  auto pid = spawn(command({"/bin/sleep", "100"}));
  ASSERT_TRUE(pid.ok());
  EXPECT_TRUE(process_alive(*pid));
  EXPECT_FALSE(try_reap(*pid).has_value());
  EXPECT_TRUE(stop_process(*pid, SIGTERM, 5000));
  EXPECT_FALSE(process_alive(*pid));
}

TEST(Process, StopProcessKillsAChildThatIgnoresTheSignal) {
  auto pid = spawn(shell("trap '' TERM; while true; do sleep 1; done"));
  ASSERT_TRUE(pid.ok());
  std::this_thread::sleep_for(50ms);  // let the trap be set
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(stop_process(*pid, SIGTERM, 200));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_FALSE(process_alive(*pid));
}

TEST(Process, StopProcessEndsANonChild) {
  auto out = run(shell("sleep 100 >/dev/null 2>&1 & echo $!"), 5000);
  ASSERT_TRUE(out.ok()) << out.err().message;
  pid_t orphan = std::atoi(out->output_tail.c_str());
  ASSERT_GT(orphan, 0);
  ASSERT_TRUE(process_alive(orphan));
  EXPECT_FALSE(try_reap(orphan).has_value());
  EXPECT_TRUE(stop_process(orphan, SIGTERM, 5000));
  EXPECT_FALSE(process_alive(orphan));
}

TEST(Process, FileTailCutsAtALineStart) {
  temp_dir dir;
  std::string path = dir.path() + "/log";
  write_file(path, "first line\nsecond\nthird\n");
  EXPECT_EQ(file_tail(path, 9), "third\n");
  EXPECT_EQ(file_tail(path, 100), "first line\nsecond\nthird\n");
  EXPECT_EQ(file_tail(path, 0), "");
  EXPECT_EQ(file_tail(dir.path() + "/missing", 100), "");
}

TEST(Process, LookupOsUser) {
  auto root = lookup_os_user("root");
  ASSERT_TRUE(root.ok()) << root.err().message;
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->name, "root");
  auto missing = lookup_os_user("strata-no-such-user");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), errc::not_found);
  EXPECT_NE(missing.err().message.find("--db-os-user"), std::string::npos);
  EXPECT_EQ(current_os_user().uid, ::geteuid());
}

class ProcessAsRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto found = lookup_os_user("nobody");
    if (!found.ok()) GTEST_SKIP() << "no user nobody";
    nobody_ = *found;
  }
  os_user nobody_;
};

TEST_F(ProcessAsRoot, RunsAsAnotherUser) {
  temp_dir dir;
  auto options = shell("id -u; id -g; echo $HOME");
  options.user = nobody_;
  options.log_path = dir.path() + "/as-nobody.log";
  auto out = run(options, 5000);
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_EQ(out->output_tail,
            std::to_string(nobody_.uid) + "\n" + std::to_string(nobody_.gid) + "\n" + nobody_.home + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(options.log_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody_.uid);
}

TEST_F(ProcessAsRoot, WorkingDirectoryTheUserCannotEnterFails) {
  temp_dir dir;  // 0700 root
  auto options = command({"/bin/true"});
  options.user = nobody_;
  options.cwd = dir.path();
  auto pid = spawn(options);
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.err().message.find("as OS user nobody"), std::string::npos) << pid.err().message;
  EXPECT_NE(pid.err().message.find("Permission denied"), std::string::npos) << pid.err().message;
}

TEST_F(ProcessAsRoot, ChownTree) {
  temp_dir dir;
  std::string sub = dir.path() + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  write_file(sub + "/file", "x");
  ASSERT_EQ(::symlink("/etc/passwd", (sub + "/link").c_str()), 0);
  ASSERT_TRUE(chown_tree(dir.path(), nobody_).ok());
  for (const char* name : {"", "/sub", "/sub/file", "/sub/link"}) {
    struct stat st {};
    ASSERT_EQ(::lstat((dir.path() + name).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, nobody_.uid) << name;
  }
  struct stat target {};
  ASSERT_EQ(::stat("/etc/passwd", &target), 0);
  EXPECT_EQ(target.st_uid, 0u);  // the link was not followed
  EXPECT_EQ(chown_tree(dir.path() + "/missing", nobody_).code(), errc::not_found);
}

}  // namespace
}  // namespace strata::dbclone
