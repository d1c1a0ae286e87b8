// The btrfs pool against a real loop-mounted btrfs image. Needs root (mount,
// subvolume deletion, quotas); skipped otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/units.h"
#include "dbclone/pool.h"

namespace strata::dbclone {
namespace {

namespace fs = std::filesystem;

// 0 on success, else the errno of the failed step.
int write_file(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = n == static_cast<ssize_t>(data.size()) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return err;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string random_bytes(size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  return s;
}

bool have_btrfs() {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("btrfs") != std::string::npos) return true;
  }
  return false;
}

bool have_mkfs_btrfs() { return ::access("/usr/sbin/mkfs.btrfs", X_OK) == 0 || ::access("/sbin/mkfs.btrfs", X_OK) == 0; }

// How many mounts sit at path (a canonical path).
int mounts_at(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (mount_point == path) ++count;
  }
  return count;
}

int loop_devices_of(const std::string& image) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
    if (!entry.path().filename().string().starts_with("loop")) continue;
    std::ifstream in(entry.path() / "loop" / "backing_file");
    std::string backing;
    std::getline(in, backing);
    if (backing == image) ++count;
  }
  return count;
}

std::vector<std::string> names(std::initializer_list<const char*> list) { return {list.begin(), list.end()}; }

TEST(DatasetName, AcceptsFlatLowercaseNames) {
  for (std::string name : {"src.prod", "snap.20261206t101500", "clone.dev1", "a", "0", "a-b_c.d", "x.."}) {
    EXPECT_TRUE(check_dataset_name(name).ok()) << name;
  }
  EXPECT_TRUE(check_dataset_name(std::string(dataset_name_bytes_max, 'a')).ok());
}

TEST(DatasetName, RejectsEverythingElse) {
  for (std::string name : {"", ".", "..", ".hidden", "Prod", "a/b", "a b", "a\n", "../etc", "é", "a:b", "a*"}) {
    auto st = check_dataset_name(name);
    ASSERT_FALSE(st.ok()) << name;
    EXPECT_EQ(st.code(), errc::invalid_argument) << name;
    EXPECT_FALSE(st.err().message.empty());
  }
  EXPECT_EQ(check_dataset_name(std::string(dataset_name_bytes_max + 1, 'a')).code(), errc::invalid_argument);
}

// Off btrfs a non-root process cannot mount an image: a clear refusal.
TEST(BtrfsPoolOpen, RefusesNonRootOffBtrfs) {
  char dir_template[] = "/tmp/strata-pool-nonroot-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);  // so the child, as nobody, can look inside
  struct statfs st{};
  ASSERT_EQ(::statfs(dir.c_str(), &st), 0);
  if (st.f_type == 0x9123683E) {  // BTRFS_SUPER_MAGIC: /tmp is btrfs, nothing to refuse
    fs::remove_all(dir);
    GTEST_SKIP() << "/tmp is on btrfs";
  }
  auto check = [&] {
    btrfs_pool_config config{dir + "/data/db", dir + "/mnt", 1 * GiB};
    auto opened = open_btrfs_pool(config);
    if (opened.ok()) return 1;
    std::fprintf(stderr, "open as uid %d: %s\n", static_cast<int>(::geteuid()), opened.err().message.c_str());
    if (opened.code() != errc::unsupported) return 2;
    if (opened.err().message.find("database clones need root (to loop-mount a btrfs pool image) or a data dir whose "
                                "db/ folder is on btrfs") == std::string::npos) {
      return 3;
    }
    std::error_code ec;
    return fs::exists(dir + "/data", ec) || ec ? 4 : 0;  // refused before creating anything
  };
  if (::geteuid() != 0) {
    EXPECT_EQ(check(), 0);
  } else {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (::setresuid(65534, 65534, 65534) != 0) ::_exit(10);
      ::_exit(check());
    }
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  }
  fs::remove_all(dir);
}

// Opens a pool into `pool& name`, failing the test when it does not open.
#define OPEN_POOL(name, ...)              \
  pool* name##_ptr = open(__VA_ARGS__);  \
  ASSERT_NE(name##_ptr, nullptr);        \
  pool& name = *name##_ptr

class BtrfsPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to loop-mount a btrfs image";
    if (!have_btrfs() || !have_mkfs_btrfs()) GTEST_SKIP() << "needs btrfs in the kernel and btrfs-progs";
    char dir_template[] = "/tmp/strata-pool-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    config_.pool_dir = dir_ + "/data/db";
    config_.mount_point = dir_ + "/mnt";
    config_.image_bytes = 2 * GiB;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    for (auto it = pools_.rbegin(); it != pools_.rend(); ++it) (*it)->close();
    pools_.clear();
    std::string mount_point = mnt();
    for (int i = 0; i < 8 && mounts_at(mount_point) > 0; ++i) {
      if (::umount2(mount_point.c_str(), 0) != 0) ::umount2(mount_point.c_str(), MNT_DETACH);
    }
    if (mounts_at(mount_point) > 0) {
      ADD_FAILURE() << mount_point << " is still mounted; leaving " << dir_ << " in place";
      return;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string mnt() const { return dir_ + "/mnt"; }
  std::string image() const { return dir_ + "/data/db/pool.img"; }

  // The opened pool (closed in TearDown), or nullptr after a failure.
  pool* open(const btrfs_pool_config& config) {
    auto opened = open_btrfs_pool(config);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.err().message);
    if (!opened.ok()) return nullptr;
    pools_.push_back(std::move(*opened));
    return pools_.back().get();
  }
  pool* open() { return open(config_); }

  std::string dir_;
  btrfs_pool_config config_;
  std::vector<std::unique_ptr<pool>> pools_;
};

TEST_F(BtrfsPoolTest, OpensAnImageAndMountsIt) {
  OPEN_POOL(p);
  EXPECT_EQ(p.kind(), "btrfs");
  EXPECT_EQ(p.path("src.a"), mnt() + "/src.a");
  EXPECT_EQ(mounts_at(mnt()), 1);
  EXPECT_EQ(loop_devices_of(image()), 1);
  struct stat st{};
  ASSERT_EQ(::stat(config_.pool_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(mnt().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat(image().c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 2 * GiB);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 64 * MiB);  // sparse
  auto listed = p.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());  // nothing but datasets in the root
  auto used = p.usage();
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(used->size_bytes, 2 * GiB);
  EXPECT_GT(used->used_bytes, 0u);
  EXPECT_GT(used->free_bytes, 1 * GiB);
  EXPECT_LE(used->used_bytes + used->free_bytes, used->size_bytes);
}

TEST_F(BtrfsPoolTest, SnapshotIsReadOnlyAndCloneIsIndependent) {
  OPEN_POOL(p);
  ASSERT_TRUE(p.create("src.a").ok());
  ASSERT_EQ(write_file(p.path("src.a") + "/hello", "one"), 0);
  ASSERT_TRUE(p.snapshot("src.a", "snap.1").ok());
  EXPECT_EQ(read_file(p.path("snap.1") + "/hello"), "one");
  EXPECT_EQ(write_file(p.path("snap.1") + "/hello", "two"), EROFS);
  EXPECT_EQ(write_file(p.path("snap.1") + "/new", "x"), EROFS);

  ASSERT_TRUE(p.clone("snap.1", "clone.1").ok());
  EXPECT_EQ(read_file(p.path("clone.1") + "/hello"), "one");
  ASSERT_EQ(write_file(p.path("clone.1") + "/hello", "two"), 0);
  ASSERT_EQ(write_file(p.path("clone.1") + "/mine", "x"), 0);
  EXPECT_EQ(read_file(p.path("clone.1") + "/hello"), "two");
  EXPECT_EQ(read_file(p.path("snap.1") + "/hello"), "one");
  EXPECT_EQ(read_file(p.path("src.a") + "/hello"), "one");
  EXPECT_FALSE(fs::exists(p.path("snap.1") + "/mine"));
  EXPECT_FALSE(fs::exists(p.path("src.a") + "/mine"));

  // Writes to the base after the snapshot stay out of it.
  ASSERT_EQ(write_file(p.path("src.a") + "/later", "y"), 0);
  EXPECT_FALSE(fs::exists(p.path("snap.1") + "/later"));
  EXPECT_FALSE(fs::exists(p.path("clone.1") + "/later"));

  auto listed = p.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, names({"clone.1", "snap.1", "src.a"}));
  EXPECT_TRUE(p.exists("snap.1"));
  EXPECT_FALSE(p.exists("snap.2"));
}

TEST_F(BtrfsPoolTest, ExistingAndMissingDatasets) {
  OPEN_POOL(p);
  ASSERT_TRUE(p.create("src.a").ok());
  ASSERT_TRUE(p.snapshot("src.a", "snap.1").ok());
  EXPECT_EQ(p.create("src.a").code(), errc::already_exists);
  EXPECT_EQ(p.create("snap.1").code(), errc::already_exists);
  EXPECT_EQ(p.snapshot("src.a", "snap.1").code(), errc::already_exists);
  EXPECT_EQ(p.clone("snap.1", "src.a").code(), errc::already_exists);
  EXPECT_EQ(p.snapshot("nope", "snap.2").code(), errc::not_found);
  EXPECT_EQ(p.clone("nope", "clone.2").code(), errc::not_found);
  EXPECT_EQ(p.exclusive_bytes("nope").code(), errc::not_found);
  EXPECT_TRUE(p.destroy("nope").ok());
  EXPECT_FALSE(p.exists("snap.2"));
  EXPECT_FALSE(p.exists("clone.2"));
}

TEST_F(BtrfsPoolTest, InvalidNamesAreRejected) {
  OPEN_POOL(p);
  ASSERT_TRUE(p.create("src.a").ok());
  std::vector<std::string> bad_names = {"", ".", "..", ".x", "a/b", "../../etc", "UPPER",
                                       std::string(dataset_name_bytes_max + 1, 'a')};
  for (const auto& bad : bad_names) {
    EXPECT_EQ(p.create(bad).code(), errc::invalid_argument) << bad;
    EXPECT_EQ(p.snapshot("src.a", bad).code(), errc::invalid_argument) << bad;
    EXPECT_EQ(p.clone(bad, "ok").code(), errc::invalid_argument) << bad;
    EXPECT_EQ(p.destroy(bad).code(), errc::invalid_argument) << bad;
    EXPECT_EQ(p.exclusive_bytes(bad).code(), errc::invalid_argument) << bad;
    EXPECT_FALSE(p.exists(bad)) << bad;
  }
  std::string longest(dataset_name_bytes_max, 'z');
  EXPECT_TRUE(p.create(longest).ok());
  EXPECT_TRUE(p.exists(longest));
  EXPECT_TRUE(p.destroy(longest).ok());
}

TEST_F(BtrfsPoolTest, DestroyRemovesSnapshotsAndClones) {
  OPEN_POOL(p);
  ASSERT_TRUE(p.create("src.a").ok());
  ASSERT_EQ(write_file(p.path("src.a") + "/f", random_bytes(1 * MiB)), 0);
  ASSERT_TRUE(p.snapshot("src.a", "snap.1").ok());
  ASSERT_TRUE(p.clone("snap.1", "clone.1").ok());
  ASSERT_TRUE(p.snapshot("clone.1", "snap.2").ok());
  EXPECT_TRUE(p.destroy("snap.1").ok());  // read-only, with a clone of it alive
  EXPECT_TRUE(p.destroy("clone.1").ok());
  EXPECT_FALSE(fs::exists(p.path("snap.1")));
  EXPECT_FALSE(fs::exists(p.path("clone.1")));
  EXPECT_EQ(read_file(p.path("snap.2") + "/f").size(), 1 * MiB);
  auto listed = p.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, names({"snap.2", "src.a"}));
  EXPECT_TRUE(p.destroy("snap.2").ok());
  EXPECT_TRUE(p.destroy("src.a").ok());
  listed = p.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  // The names are free again.
  EXPECT_TRUE(p.create("snap.1").ok());
}

TEST_F(BtrfsPoolTest, ExclusiveBytesOfACloneGrowWithItsWrites) {
  OPEN_POOL(p);
  ASSERT_TRUE(p.create("src.a").ok());
  ASSERT_EQ(write_file(p.path("src.a") + "/base", random_bytes(4 * MiB)), 0);
  ASSERT_TRUE(p.snapshot("src.a", "snap.1").ok());
  ASSERT_TRUE(p.clone("snap.1", "clone.1").ok());
  auto before = p.exclusive_bytes("clone.1");
  ASSERT_TRUE(before.ok()) << before.err().message;
  EXPECT_LT(*before, 1 * MiB);  // shares everything with its snapshot
  ASSERT_EQ(write_file(p.path("clone.1") + "/own", random_bytes(8 * MiB)), 0);
  auto after = p.exclusive_bytes("clone.1");
  ASSERT_TRUE(after.ok()) << after.err().message;
  EXPECT_GE(*after, *before + 8 * MiB);
  EXPECT_LT(*after, *before + 10 * MiB);
  // The base holds the shared 4 MiB with the snapshot: not its own.
  auto base = p.exclusive_bytes("src.a");
  ASSERT_TRUE(base.ok());
  EXPECT_LT(*base, 1 * MiB);
}

TEST_F(BtrfsPoolTest, CloseUnmountsAndReopenFindsDatasets) {
  {
    OPEN_POOL(p);
    ASSERT_TRUE(p.create("src.a").ok());
    ASSERT_EQ(write_file(p.path("src.a") + "/hello", "one"), 0);
    ASSERT_TRUE(p.snapshot("src.a", "snap.1").ok());
    p.close();
    p.close();  // twice is fine
    EXPECT_EQ(mounts_at(mnt()), 0);
    EXPECT_EQ(loop_devices_of(image()), 0);
    EXPECT_EQ(p.create("src.b").code(), errc::unavailable);
  }
  OPEN_POOL(p);
  EXPECT_EQ(mounts_at(mnt()), 1);
  auto listed = p.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, names({"snap.1", "src.a"}));
  EXPECT_EQ(read_file(p.path("snap.1") + "/hello"), "one");
  EXPECT_EQ(write_file(p.path("snap.1") + "/hello", "two"), EROFS);
  auto bytes = p.exclusive_bytes("src.a");
  EXPECT_TRUE(bytes.ok());
}

TEST_F(BtrfsPoolTest, ReopenWhileMountedReusesTheMount) {
  OPEN_POOL(first);  // then "kill -9": never closed
  ASSERT_TRUE(first.create("src.a").ok());
  OPEN_POOL(second);
  EXPECT_EQ(mounts_at(mnt()), 1);
  EXPECT_EQ(loop_devices_of(image()), 1);
  auto listed = second.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, names({"src.a"}));
  ASSERT_TRUE(second.snapshot("src.a", "snap.1").ok());
  second.close();
  EXPECT_EQ(mounts_at(mnt()), 0);
  EXPECT_EQ(loop_devices_of(image()), 0);
}

TEST_F(BtrfsPoolTest, RefusesAForeignMountAtTheMountPoint) {
  ASSERT_TRUE(fs::create_directories(mnt()));
  ASSERT_EQ(::mount("tmpfs", mnt().c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  auto opened = open_btrfs_pool(config_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.err().message.find("already mounted"), std::string::npos) << opened.err().message;
  EXPECT_EQ(mounts_at(mnt()), 1);
  ASSERT_EQ(::umount2(mnt().c_str(), 0), 0);
  EXPECT_EQ(loop_devices_of(image()), 0);
}

TEST_F(BtrfsPoolTest, ImageGrowsWhenAskedForMore) {
  config_.image_bytes = 256 * MiB;
  OPEN_POOL(small);
  ASSERT_TRUE(small.create("src.a").ok());
  auto before = small.usage();
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->size_bytes, 256 * MiB);

  config_.image_bytes = 1 * GiB;
  OPEN_POOL(mounted);  // still mounted: the loop device and btrfs grow live
  auto live = mounted.usage();
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->size_bytes, 1 * GiB);
  EXPECT_GT(live->free_bytes, before->free_bytes + 512 * MiB);
  mounted.close();

  config_.image_bytes = 512 * MiB;  // never shrinks
  OPEN_POOL(reopened);
  auto after = reopened.usage();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size_bytes, 1 * GiB);
  EXPECT_TRUE(reopened.exists("src.a"));
}

TEST_F(BtrfsPoolTest, RejectsTooSmallImages) {
  config_.image_bytes = 64 * MiB;
  auto opened = open_btrfs_pool(config_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.code(), errc::invalid_argument);
  EXPECT_FALSE(fs::exists(image()));
}

TEST_F(BtrfsPoolTest, UsesAPoolDirOnBtrfsDirectly) {
  OPEN_POOL(outer);
  ASSERT_TRUE(outer.create("host").ok());
  btrfs_pool_config direct;
  direct.pool_dir = outer.path("host") + "/data/db";
  direct.mount_point = dir_ + "/unused";
  OPEN_POOL(p, direct);
  EXPECT_EQ(p.path("src.a"), direct.pool_dir + "/src.a");
  EXPECT_FALSE(fs::exists(direct.pool_dir + "/pool.img"));
  EXPECT_FALSE(fs::exists(direct.mount_point));
  ASSERT_TRUE(fs::create_directory(direct.pool_dir + "/plain"));  // not a subvolume: not a dataset
  ASSERT_EQ(write_file(direct.pool_dir + "/file", "x"), 0);
  ASSERT_TRUE(p.create("src.a").ok());
  ASSERT_EQ(write_file(p.path("src.a") + "/f", random_bytes(1 * MiB)), 0);
  ASSERT_TRUE(p.snapshot("src.a", "snap.1").ok());
  ASSERT_TRUE(p.clone("snap.1", "clone.1").ok());
  EXPECT_EQ(write_file(p.path("snap.1") + "/g", "x"), EROFS);
  auto listed = p.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, names({"clone.1", "snap.1", "src.a"}));
  EXPECT_EQ(p.destroy("plain").code(), errc::invalid_argument);
  auto bytes = p.exclusive_bytes("clone.1");
  ASSERT_TRUE(bytes.ok()) << bytes.err().message;
  auto nested = outer.destroy("host");  // holds the inner pool's datasets
  EXPECT_EQ(nested.code(), errc::unavailable);
  EXPECT_TRUE(p.exists("src.a"));
  for (const auto& name : *listed) EXPECT_TRUE(p.destroy(name).ok()) << name;
  p.close();  // nothing to unmount
  EXPECT_EQ(mounts_at(mnt()), 1);
  EXPECT_TRUE(outer.destroy("host").ok());
}

TEST_F(BtrfsPoolTest, ConcurrentClonesAllLand) {
  OPEN_POOL(p);
  ASSERT_TRUE(p.create("src.a").ok());
  ASSERT_TRUE(p.snapshot("src.a", "snap.1").ok());
  constexpr int threads = 4;
  constexpr int clones_per_thread = 8;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < clones_per_thread; ++i) {
        std::string name = "clone." + std::to_string(t) + "." + std::to_string(i);
        if (!p.clone("snap.1", name).ok()) ++failures;
        if (i % 2 == 0 && !p.destroy(name).ok()) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
  auto listed = p.list();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u + threads * clones_per_thread / 2);
}

}  // namespace
}  // namespace strata::dbclone
