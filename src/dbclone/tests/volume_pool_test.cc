// The volume pool end to end, in one process: a volumes service on a temp data
// dir, Strata's NBD server on a unix socket, and the pool exposing datasets
// through nbdfuse + loop devices + ext4 mounts. Needs root, /dev/fuse and
// nbdfuse (libnbd-bin); skipped otherwise.
#include "dbclone/volume_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "dbclone/process.h"
#include "io/fs.h"
#include "meta/kv.h"
#include "nbd/server.h"
#include "nbd/tests/running_server.h"
#include "volumes/service.h"

namespace strata::dbclone {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

bool has_tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    if (::access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> mounts_under(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;  // mount point, fs type
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    std::string word;
    while (fields >> word && word != "-") {
    }
    std::string type;
    fields >> type;
    if (mount_point.starts_with(dir + "/")) out.emplace_back(mount_point, type);
  }
  return out;
}

// Loop devices backed by a file under dir.
std::vector<std::string> loops_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator("/sys/block")) {
    std::ifstream in(entry.path() / "loop" / "backing_file");
    std::string backing;
    if (std::getline(in, backing) && backing.starts_with(dir + "/")) {
      out.push_back("/dev/" + entry.path().filename().string());
    }
  }
  return out;
}

// Loop devices whose backing file's mount went away (shown as "/nbd").
size_t orphan_loops() {
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator("/sys/block")) {
    std::ifstream in(entry.path() / "loop" / "backing_file");
    std::string backing;
    if (std::getline(in, backing) && backing == "/nbd") ++n;
  }
  return n;
}

bool mounted_at(const std::string& path, const std::string& type) {
  auto m = mounts_under(fs::path(path).parent_path().string());
  return std::find(m.begin(), m.end(), std::make_pair(path, type)) != m.end();
}

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "<missing>";
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class VolumePoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the volume pool needs root (loop devices, mounts)";
    if (::access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/fuse is missing";
    if (!has_tool("nbdfuse")) GTEST_SKIP() << "nbdfuse is missing (apt-get install libnbd-bin)";
    if (!has_tool("mkfs.ext4") || !has_tool("losetup")) GTEST_SKIP() << "mkfs.ext4 or losetup is missing";
    char tmpl[] = "/tmp/strata-vpool.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs_ = io::make_posix_fs();
    config_.mount_root = dir_ + "/mnt";
    config_.nbd_unix_socket = dir_ + "/nbd.sock";
    config_.volume_bytes = 1ULL << 30;
    config_.data_dir = dir_ + "/data";
    if (!defer_open_) {
      kv_ = meta::make_memory_kv();
      open_volumes();
      start_server();
    }
  }

  void TearDown() override {
    if (dir_.empty()) return;
    if (pool_) pool_->close();
    pool_.reset();
    // Whatever a failed test or a simulated crash left behind.
    std::string root = fs::weakly_canonical(config_.mount_root).string();
    auto loops = loops_under(root);  // before nbdfuse goes: then their files show under root no more
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::ifstream in(entry.path() / "cmdline", std::ios::binary);
      std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cmdline.starts_with("/usr/bin/nbdfuse") && cmdline.find(root + "/") != std::string::npos) {
        stop_process(std::stoi(entry.path().filename().string()), SIGTERM, 2000);
      }
    }
    auto mounts = mounts_under(root);
    std::sort(mounts.begin(), mounts.end(), [](auto& a, auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& [mount_point, type] : mounts) ::umount2(mount_point.c_str(), MNT_DETACH);
    for (const auto& device : loops) {
      int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
      if (fd >= 0) {
        ::ioctl(fd, LOOP_CLR_FD);
        ::close(fd);
      }
    }
    stop_server();
    volumes_.reset();
    kv_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void open_volumes() {
    volumes::service_config config;
    config.data_dir = dir_ + "/data";
    auto s = volumes::service::open(config, *fs_, *kv_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    volumes_ = std::move(*s);
  }

  void start_server() {
    auto st = server_.start(*volumes_, "", dir_ + "/nbd.sock");
    ASSERT_TRUE(st.ok()) << st.err().message;
  }

  void stop_server() { server_.stop(); }

  void open_pool() {
    auto p = open_volume_pool(config_, *volumes_);
    ASSERT_TRUE(p.ok()) << p.err().message;
    pool_ = std::move(*p);
  }

  std::vector<std::string> list() {
    auto l = pool_->list();
    EXPECT_TRUE(l.ok());
    return l.ok() ? *l : std::vector<std::string>{};
  }

  bool defer_open_ = false;  // the test opens kv_, volumes_ and the server itself
  std::string dir_;
  std::unique_ptr<io::fs> fs_;
  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<volumes::service> volumes_;
  nbd::testing::running_server server_;
  volume_pool_config config_;
  std::unique_ptr<pool> pool_;
};

#define ASSERT_OK(expr)                                          \
  do {                                                           \
    auto st_ = (expr);                                           \
    ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.err().message; \
  } while (0)

TEST_F(VolumePoolTest, CreateSnapshotCloneDestroyAndReopen) {
  open_pool();
  EXPECT_EQ(pool_->kind(), "volume");
  ASSERT_OK(pool_->create("src.a"));
  EXPECT_TRUE(pool_->exists("src.a"));
  EXPECT_EQ(pool_->create("src.a").code(), errc::already_exists);
  std::string src = pool_->path("src.a");
  EXPECT_TRUE(mounted_at(src, "ext4"));
  write_file(src + "/data/hello", "before");

  ASSERT_OK(pool_->snapshot("src.a", "snap.1"));
  EXPECT_EQ(pool_->snapshot("src.a", "snap.1").code(), errc::already_exists);
  EXPECT_EQ(pool_->snapshot("nope", "snap.2").code(), errc::not_found);
  write_file(src + "/data/hello", "after");

  ASSERT_OK(pool_->clone("snap.1", "clone.1"));
  std::string c1 = pool_->path("clone.1");
  EXPECT_TRUE(mounted_at(c1, "ext4"));
  EXPECT_EQ(read_file(c1 + "/data/hello"), "before");
  write_file(c1 + "/data/mine", "clone");
  EXPECT_EQ(read_file(src + "/data/mine"), "<missing>");
  EXPECT_EQ(read_file(src + "/data/hello"), "after");

  // A clone of a writable dataset sees it as it is now.
  ASSERT_OK(pool_->clone("src.a", "clone.2"));
  EXPECT_EQ(read_file(pool_->path("clone.2") + "/data/hello"), "after");
  EXPECT_EQ(list(), (std::vector<std::string>{"clone.1", "clone.2", "snap.1", "src.a"}));

  // An idle clone holds little of its own.
  auto own = pool_->exclusive_bytes("clone.2");
  ASSERT_TRUE(own.ok()) << own.err().message;
  EXPECT_LT(*own, 5 * MiB);
  auto snap_own = pool_->exclusive_bytes("snap.1");
  ASSERT_TRUE(snap_own.ok()) << snap_own.err().message;
  EXPECT_GT(*snap_own, 0u);
  auto usage = pool_->usage();
  ASSERT_TRUE(usage.ok()) << usage.err().message;
  EXPECT_GT(usage->used_bytes, 0u);
  EXPECT_GT(usage->free_bytes, 0u);
  EXPECT_EQ(usage->size_bytes, usage->used_bytes + usage->free_bytes);

  // Snapshots are not mounted; a snapshot of a snapshot is refused.
  EXPECT_FALSE(fs::exists(pool_->path("snap.1")));
  EXPECT_EQ(pool_->snapshot("snap.1", "snap.x").code(), errc::unsupported);

  ASSERT_OK(pool_->destroy("clone.1"));
  EXPECT_FALSE(pool_->exists("clone.1"));
  EXPECT_FALSE(mounted_at(c1, "ext4"));
  EXPECT_FALSE(fs::exists(c1));
  ASSERT_OK(pool_->destroy("clone.1"));  // missing: fine

  // A snapshot with a clone may go; the clone keeps its data.
  ASSERT_OK(pool_->clone("snap.1", "clone.3"));
  ASSERT_OK(pool_->destroy("snap.1"));
  EXPECT_EQ(read_file(pool_->path("clone.3") + "/data/hello"), "before");

  pool_->close();
  EXPECT_TRUE(mounts_under(fs::canonical(config_.mount_root).string()).empty());
  pool_.reset();

  open_pool();
  EXPECT_EQ(list(), (std::vector<std::string>{"clone.2", "clone.3", "src.a"}));
  EXPECT_EQ(read_file(pool_->path("src.a") + "/data/hello"), "after");
  EXPECT_EQ(read_file(pool_->path("clone.3") + "/data/hello"), "before");
  EXPECT_EQ(read_file(pool_->path("clone.2") + "/data/hello"), "after");
  for (const auto& name : list()) ASSERT_OK(pool_->destroy(name));
  EXPECT_TRUE(list().empty());
  volumes_->wait_for_reclaim();
  EXPECT_TRUE(volumes_->list_volumes().empty());
}

TEST_F(VolumePoolTest, DestroyedSourceKeepsItsSnapshotsAndItsNameIsFreeAgain) {
  open_pool();
  ASSERT_OK(pool_->create("base"));
  write_file(pool_->path("base") + "/data/v", "one");
  ASSERT_OK(pool_->snapshot("base", "s1"));
  ASSERT_OK(pool_->destroy("base"));
  EXPECT_FALSE(pool_->exists("base"));
  EXPECT_TRUE(pool_->exists("s1"));

  ASSERT_OK(pool_->create("base"));  // a new dataset under the same name
  EXPECT_EQ(read_file(pool_->path("base") + "/data/v"), "<missing>");
  ASSERT_OK(pool_->clone("s1", "c"));
  EXPECT_EQ(read_file(pool_->path("c") + "/data/v"), "one");

  pool_.reset();  // closes
  open_pool();
  EXPECT_EQ(list(), (std::vector<std::string>{"base", "c", "s1"}));
  ASSERT_OK(pool_->destroy("s1"));  // the old base's volume goes with its last snapshot
  EXPECT_EQ(volumes_->list_volumes().size(), 2u);
  EXPECT_EQ(read_file(pool_->path("c") + "/data/v"), "one");
}

TEST_F(VolumePoolTest, BusyDatasetIsNotDestroyed) {
  open_pool();
  ASSERT_OK(pool_->create("busy"));
  write_file(pool_->path("busy") + "/f", "x");
  int fd = ::open((pool_->path("busy") + "/f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto st = pool_->destroy("busy");
  EXPECT_EQ(st.code(), errc::unavailable);
  EXPECT_TRUE(pool_->exists("busy"));
  EXPECT_EQ(read_file(pool_->path("busy") + "/f"), "x");  // still mounted and served
  ::close(fd);
  ASSERT_OK(pool_->destroy("busy"));
  EXPECT_FALSE(pool_->exists("busy"));
}

TEST_F(VolumePoolTest, OpenWithoutTheNbdListenerSaysSo) {
  config_.nbd_unix_socket = dir_ + "/nobody.sock";
  auto p = open_volume_pool(config_, *volumes_);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.code(), errc::unavailable);
  EXPECT_NE(p.err().message.find("NBD listener"), std::string::npos) << p.err().message;
}

TEST_F(VolumePoolTest, BadNamesAreRefused) {
  open_pool();
  EXPECT_EQ(pool_->create("").code(), errc::invalid_argument);
  EXPECT_EQ(pool_->create("Upper").code(), errc::invalid_argument);
  EXPECT_EQ(pool_->create(".hidden").code(), errc::invalid_argument);
  EXPECT_EQ(pool_->create("a/b").code(), errc::invalid_argument);
  EXPECT_EQ(pool_->create(std::string(127, 'x')).code(), errc::invalid_argument);  // too long for a volume name
  EXPECT_EQ(pool_->clone("none", "c").code(), errc::not_found);
  EXPECT_EQ(pool_->exclusive_bytes("none").code(), errc::not_found);
  EXPECT_TRUE(list().empty());
}

// kill -9 of Strata: mounts, loop devices and nbdfuse processes stay behind.
// The next open clears them and mounts the datasets again.
TEST_F(VolumePoolTest, OpenAfterACrashClearsStaleStateAndRemounts) {
  open_pool();
  ASSERT_OK(pool_->create("d"));
  write_file(pool_->path("d") + "/data/kept", "synced");
  ASSERT_OK(pool_->clone("d", "e"));
  size_t orphans_before = orphan_loops();
  pool* crashed = pool_.release();  // no close(): what a kill -9 leaves
#ifdef __SANITIZE_ADDRESS__
  __lsan_ignore_object(crashed);  // leaked on purpose, like the dead process's memory
#else
  (void)crashed;
#endif

  // The Strata that comes back: a new volumes service and NBD server.
  stop_server();
  volumes_.reset();
  open_volumes();
  start_server();

  open_pool();
  EXPECT_EQ(list(), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(read_file(pool_->path("d") + "/data/kept"), "synced");
  EXPECT_EQ(read_file(pool_->path("e") + "/data/kept"), "synced");
  write_file(pool_->path("d") + "/data/new", "works");
  std::string root = fs::canonical(config_.mount_root).string();
  EXPECT_EQ(mounts_under(root).size(), 4u);  // two fuse and two ext4 mounts, nothing stale
  EXPECT_EQ(loops_under(root).size(), 2u);
  pool_->close();
  EXPECT_TRUE(mounts_under(root).empty());
  EXPECT_TRUE(loops_under(root).empty());
  // The old loop devices went with their file systems (autoclear).
  for (int i = 0; i < 200 && orphan_loops() > orphans_before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(orphan_loops(), orphans_before);
}

// A real kill -9: a child process (this binary, running the disabled test
// below) serves a pool on a RocksDB-backed volumes service and is killed with
// SIGKILL. Its nbdfuse processes, loop devices and mounts stay behind; the
// next open must clear them and serve the synced data again.
class VolumePoolKillTest : public VolumePoolTest {
 protected:
  VolumePoolKillTest() { defer_open_ = true; }
};

TEST_F(VolumePoolKillTest, OpenAfterKillNineServesSyncedDataAndLeavesNothingBehind) {
  spawn_options child;
  child.argv = {fs::read_symlink("/proc/self/exe").string(), "--gtest_filter=VolumePoolChild.*",
                "--gtest_also_run_disabled_tests"};
  child.env = {{"STRATA_VPOOL_CHILD_DIR", dir_}};
  child.log_path = dir_ + "/child.log";
  size_t orphans_before = orphan_loops();
  auto pid = spawn(child);
  ASSERT_TRUE(pid.ok()) << pid.err().message;
  bool ready = false;
  for (int i = 0; i < 6000 && !ready; ++i) {
    ready = fs::exists(dir_ + "/ready");
    if (!ready && try_reap(*pid)) break;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!ready) stop_process(*pid, SIGKILL, 1000);
  ASSERT_TRUE(ready) << "the child did not get ready; its log: " << file_tail(dir_ + "/child.log", 4096);
  ASSERT_TRUE(stop_process(*pid, SIGKILL, 5000));
  std::string root = fs::canonical(config_.mount_root).string();
  EXPECT_EQ(mounts_under(root).size(), 4u);  // left behind: two fuse and two ext4 mounts

  auto kv = meta::kv::open_rocksdb(dir_ + "/kv");
  ASSERT_TRUE(kv.ok()) << kv.err().message;
  kv_ = std::move(*kv);
  open_volumes();
  start_server();
  open_pool();
  EXPECT_EQ(list(), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(read_file(pool_->path("d") + "/data/kept"), "synced");
  EXPECT_EQ(read_file(pool_->path("e") + "/data/kept"), "synced");
  EXPECT_EQ(read_file(pool_->path("e") + "/data/own"), "clone");
  write_file(pool_->path("e") + "/data/after", "works");
  EXPECT_EQ(mounts_under(root).size(), 4u);
  EXPECT_EQ(loops_under(root).size(), 2u);
  pool_->close();
  EXPECT_TRUE(mounts_under(root).empty());
  EXPECT_TRUE(loops_under(root).empty());
  for (int i = 0; i < 300 && orphan_loops() > orphans_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(orphan_loops(), orphans_before);
}

// The child of the test above; runs only when it sets STRATA_VPOOL_CHILD_DIR.
TEST(VolumePoolChild, DISABLED_ServeUntilKilled) {
  const char* dir_env = std::getenv("STRATA_VPOOL_CHILD_DIR");
  if (dir_env == nullptr) GTEST_SKIP() << "run by VolumePoolKillTest only";
  std::string dir = dir_env;
  auto fs = io::make_posix_fs();
  auto kv = meta::kv::open_rocksdb(dir + "/kv");
  ASSERT_TRUE(kv.ok()) << kv.err().message;
  volumes::service_config vc;
  vc.data_dir = dir + "/data";
  auto volumes = volumes::service::open(vc, *fs, **kv);
  ASSERT_TRUE(volumes.ok()) << volumes.err().message;
  asio::io_context io;
  nbd::server server(io, **volumes);
  ASSERT_TRUE(server.start("", dir + "/nbd.sock").ok());
  std::thread net([&] { io.run(); });
  net.detach();  // never joined: this process ends by SIGKILL
  volume_pool_config config;
  config.mount_root = dir + "/mnt";
  config.nbd_unix_socket = dir + "/nbd.sock";
  config.volume_bytes = 1ULL << 30;
  auto pool = open_volume_pool(config, **volumes);
  ASSERT_TRUE(pool.ok()) << pool.err().message;
  ASSERT_TRUE((*pool)->create("d").ok());
  write_file((*pool)->path("d") + "/data/kept", "synced");
  ASSERT_TRUE((*pool)->clone("d", "e").ok());
  write_file((*pool)->path("e") + "/data/own", "clone");
  write_file(dir + "/ready", "");
  std::this_thread::sleep_for(std::chrono::seconds(120));  // the parent kills us long before
  std::_Exit(1);
}

}  // namespace
}  // namespace strata::dbclone
