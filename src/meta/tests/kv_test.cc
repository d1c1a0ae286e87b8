#include "meta/kv.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace strata::meta {
namespace {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strata-kv-XXXXXX").string();
    STRATA_ASSERT(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::pair<std::string, std::string>> scan(kv& store, std::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  auto s = store.scan_prefix(prefix, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  EXPECT_TRUE(s.ok());
  return out;
}

std::optional<std::string> get(kv& store, std::string_view key) {
  auto r = store.get(key);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::nullopt;
}

// The same contract checks run against both implementations.
class KvContract : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      auto opened = kv::open_rocksdb(dir_.path() + "/meta");
      ASSERT_TRUE(opened.ok()) << opened.err().message;
      store_ = std::move(opened).value();
    } else {
      store_ = make_memory_kv();
    }
  }
  temp_dir dir_;
  std::unique_ptr<kv> store_;
};

TEST_P(KvContract, PutGetOverwriteRemove) {
  EXPECT_EQ(get(*store_, "k"), std::nullopt);
  ASSERT_TRUE(store_->put("k", "v1").ok());
  EXPECT_EQ(get(*store_, "k"), "v1");
  ASSERT_TRUE(store_->put("k", "v2").ok());
  EXPECT_EQ(get(*store_, "k"), "v2");
  ASSERT_TRUE(store_->remove("k").ok());
  EXPECT_EQ(get(*store_, "k"), std::nullopt);
  EXPECT_TRUE(store_->remove("never-there").ok());
}

TEST_P(KvContract, BinaryKeysAndValuesKeepEveryByte) {
  std::string key("a\0b\xff", 4);
  std::string value("\0\x01\x02", 3);
  ASSERT_TRUE(store_->put(key, value).ok());
  EXPECT_EQ(get(*store_, key), value);
  EXPECT_EQ(get(*store_, std::string("a\0b", 3)), std::nullopt);
}

TEST_P(KvContract, ScanPrefixReturnsOnlyMatchingKeysInOrder) {
  for (auto k : {"b", "a/2", "a0", "a/1", "a", "a/10"}) ASSERT_TRUE(store_->put(k, std::string("v") + k).ok());
  auto got = scan(*store_, "a/");
  std::vector<std::pair<std::string, std::string>> want{{"a/1", "va/1"}, {"a/10", "va/10"}, {"a/2", "va/2"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(scan(*store_, "").size(), 6u);
  EXPECT_TRUE(scan(*store_, "zz").empty());
}

TEST_P(KvContract, WriteBatchAppliesPutsAndRemoves) {
  ASSERT_TRUE(store_->put("old", "x").ok());
  std::vector<std::pair<std::string, std::optional<std::string>>> ops{
      {"p/1", "one"}, {"p/2", "two"}, {"old", std::nullopt}, {"p/1", "uno"}};
  ASSERT_TRUE(store_->write_batch(ops).ok());
  EXPECT_EQ(get(*store_, "old"), std::nullopt);
  EXPECT_EQ(get(*store_, "p/1"), "uno");  // later ops in a batch win
  EXPECT_EQ(get(*store_, "p/2"), "two");
}

INSTANTIATE_TEST_SUITE_P(Both, KvContract, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "rocksdb" : "memory"; });

TEST(RocksDbKv, DataSurvivesReopen) {
  temp_dir dir;
  std::string path = dir.path() + "/meta";
  {
    auto store = kv::open_rocksdb(path);
    ASSERT_TRUE(store.ok()) << store.err().message;
    ASSERT_TRUE((*store)->put("group/a", "1").ok());
    ASSERT_TRUE((*store)->write_batch({{"group/b", "2"}, {"group/c", "3"}}).ok());
    ASSERT_TRUE((*store)->remove("group/c").ok());
  }
  auto store = kv::open_rocksdb(path);
  ASSERT_TRUE(store.ok()) << store.err().message;
  std::vector<std::pair<std::string, std::string>> want{{"group/a", "1"}, {"group/b", "2"}};
  EXPECT_EQ(scan(**store, "group/"), want);
}

TEST(RocksDbKv, SecondOpenOfALiveStoreIsRefused) {
  temp_dir dir;
  auto first = kv::open_rocksdb(dir.path() + "/meta");
  ASSERT_TRUE(first.ok());
  auto second = kv::open_rocksdb(dir.path() + "/meta");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.code(), errc::unavailable) << second.err().message;
}

TEST(RocksDbKv, UnusableDirectoryIsAnError) {
  temp_dir dir;
  std::string file = dir.path() + "/plain-file";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  auto opened = kv::open_rocksdb(file);  // a file where the store's directory should be
  ASSERT_FALSE(opened.ok());
  EXPECT_FALSE(opened.err().message.empty());
}

}  // namespace
}  // namespace strata::meta
