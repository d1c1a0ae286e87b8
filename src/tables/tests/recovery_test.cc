#include <filesystem>

#include "io/fault_fs.h"
#include "tables/tests/test_util.h"

namespace strata::tables {
namespace {

using namespace testing;

std::map<int64_t, double> by_id(const std::vector<std::vector<scalar>>& rows) {
  std::map<int64_t, double> out;
  for (auto& r : rows) out[std::get<int64_t>(r[0])] += std::get<double>(r[2]);
  return out;
}

std::vector<std::string> changelog_text(service& svc, const std::string& table) {
  scan_spec spec;
  spec.changelog = true;
  spec.columns = {0, 1, 3};
  std::vector<std::string> out;
  for (auto& r : scan_all(svc, table, spec)) {
    out.push_back(std::get<std::string>(r[0]) + "@" + std::to_string(std::get<int64_t>(r[1])) + ":" +
                  std::to_string(std::get<int64_t>(r[2])));
  }
  return out;
}

// A service with a log table "l" and a primary-key table "k", 500 rows per batch.
std::unique_ptr<service> open_two_tables(const std::string& dir, io::fs& fs, meta::kv& kv) {
  auto svc = open_service(dir, fs, kv, /*batch_rows_max=*/500);
  EXPECT_TRUE(svc->create_table(log_schema("l"), false).ok());
  EXPECT_TRUE(svc->create_table(pk_schema("k"), false).ok());
  return svc;
}

TEST(recovery, reopen_restores_rows_state_liveness_and_counts) {
  temp_dir dir;
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  std::map<int64_t, double> log_rows, pk_rows;
  std::vector<std::string> changes;
  table_info log_info, pk_info;
  {
    auto svc = open_service(dir.path(), *fs, *kv);
    ASSERT_TRUE(svc->create_table(log_schema("l", 3), false).ok());
    ASSERT_TRUE(svc->create_table(pk_schema("k", 2), false).ok());
    commit_rows(*svc, "l", range_rows(0, 2500));
    commit_rows(*svc, "l", range_rows(2500, 2600));
    commit_rows(*svc, "k", range_rows(0, 1500, 1.0));
    commit_rows(*svc, "k", range_rows(1000, 2000, 2.0), on_conflict::replace);
    auto txn = svc->begin();
    ASSERT_TRUE(txn->remove("k", keys_of({1, 2, 3, 1999})).ok());
    ASSERT_TRUE(txn->commit().ok());
    log_rows = by_id(scan_all(*svc, "l"));
    pk_rows = by_id(scan_all(*svc, "k"));
    changes = changelog_text(*svc, "k");
    log_info = *svc->describe("l");
    pk_info = *svc->describe("k");
    must(svc->flush_all());
  }
  ASSERT_EQ(pk_rows.size(), 1996u);
  auto svc = open_service(dir.path(), *fs, *kv);
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(by_id(scan_all(*svc, "l")), log_rows);
  EXPECT_EQ(by_id(scan_all(*svc, "k")), pk_rows);
  EXPECT_EQ(changelog_text(*svc, "k"), changes);
  auto l = svc->describe("l");
  auto k = svc->describe("k");
  EXPECT_EQ(l->row_count, log_info.row_count);
  EXPECT_EQ(l->batch_count, log_info.batch_count);
  EXPECT_EQ(l->stored_bytes, log_info.stored_bytes);
  EXPECT_EQ(k->row_count, pk_info.row_count);
  EXPECT_EQ(k->partition_count, pk_info.partition_count);
  // State survived: conflicts are still detected and upserts still replace.
  auto txn = svc->begin();
  EXPECT_EQ(txn->insert("k", rows_of({{5, "x", 1}}), on_conflict::error).code(), errc::already_exists);
  commit_rows(*svc, "k", rows_of({{5, "x", 7}, {1, "y", 8}}), on_conflict::replace);
  auto after = by_id(scan_all(*svc, "k"));
  EXPECT_EQ(after.size(), 1997u);
  EXPECT_EQ(after[5], 7.0);
  EXPECT_EQ(after[1], 8.0);
}

TEST(recovery, dropped_table_files_are_removed_at_open) {
  temp_dir dir;
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  {
    auto svc = open_service(dir.path(), *fs, *kv);
    ASSERT_TRUE(svc->create_table(log_schema("l"), false).ok());
    commit_rows(*svc, "l", range_rows(0, 10));
  }
  std::filesystem::create_directories(dir.path() + "/tables/77/p1/b0");  // as if a drop was interrupted
  auto svc = open_service(dir.path(), *fs, *kv);
  ASSERT_NE(svc, nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/tables/77"));
  EXPECT_EQ(scan_all(*svc, "l").size(), 10u);
}

// Truncates the newest segment data file of a bucket by `bytes`.
void tear_tail(const std::string& bucket_dir, uint64_t bytes) {
  std::string newest;
  for (auto& e : std::filesystem::directory_iterator(bucket_dir)) {
    std::string p = e.path().string();
    if (p.ends_with(".log") && p > newest) newest = p;
  }
  ASSERT_FALSE(newest.empty());
  auto size = std::filesystem::file_size(newest);
  ASSERT_GT(size, bytes);
  std::filesystem::resize_file(newest, size - bytes);
}

TEST(recovery, torn_tail_keeps_every_earlier_commit) {
  temp_dir dir;
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  uint64_t log_id = 0, pk_id = 0;
  {
    auto svc = open_service(dir.path(), *fs, *kv);
    log_id = svc->create_table(log_schema("l"), false)->table_id;
    pk_id = svc->create_table(pk_schema("k"), false)->table_id;
    for (int i = 0; i < 3; ++i) {
      commit_rows(*svc, "l", range_rows(i * 100, i * 100 + 100));
      commit_rows(*svc, "k", range_rows(0, 100, double(i + 1)), on_conflict::replace);
    }
  }
  tear_tail(dir.path() + "/tables/" + std::to_string(log_id) + "/p1/b0", 10);
  tear_tail(dir.path() + "/tables/" + std::to_string(pk_id) + "/p1/b0", 10);
  auto svc = open_service(dir.path(), *fs, *kv);
  ASSERT_NE(svc, nullptr);
  auto l = scan_all(*svc, "l");
  EXPECT_EQ(l.size(), 200u);
  EXPECT_EQ(sum_ids(l), 199 * 200 / 2);
  EXPECT_EQ(svc->describe("l")->row_count, 200u);
  // The primary-key state had applied the lost commit: it is rebuilt from the log.
  auto k = by_id(scan_all(*svc, "k"));
  ASSERT_EQ(k.size(), 100u);
  for (auto& [id, amount] : k) EXPECT_EQ(amount, 2.0) << id;
  EXPECT_EQ(svc->describe("k")->row_count, 100u);
  EXPECT_EQ(changelog_text(*svc, "k").size(), 300u);  // 100 +I, then 100 (-U, +U)
  // Writing continues after the cut.
  commit_rows(*svc, "l", range_rows(1000, 1001));
  EXPECT_EQ(scan_all(*svc, "l").size(), 201u);
}

TEST(recovery, disk_full_leaves_nothing_of_the_failed_commit) {
  temp_dir dir;
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  {
    auto svc = open_two_tables(dir.path(), fs, *kv);
    commit_rows(*svc, "l", range_rows(0, 100));
    commit_rows(*svc, "k", range_rows(0, 100));
    // Room for about one more batch: a 3000-row commit (6 batches) fails part way.
    fs.set_disk_bytes_max(fs.used_bytes() + 6000);
    auto txn = svc->begin();
    ASSERT_TRUE(txn->insert("l", range_rows(100, 3100), on_conflict::error).ok());
    auto c = txn->commit();
    ASSERT_EQ(c.code(), errc::no_space);
    EXPECT_NE(c.err().message.find("free disk space"), std::string::npos) << c.err().message;
    auto txn2 = svc->begin();
    ASSERT_TRUE(txn2->insert("k", range_rows(50, 3050, 9.0), on_conflict::replace).ok());
    EXPECT_EQ(txn2->commit().code(), errc::no_space);
    EXPECT_EQ(scan_all(*svc, "l").size(), 100u);
    EXPECT_EQ(svc->describe("l")->row_count, 100u);
    auto k = by_id(scan_all(*svc, "k"));
    EXPECT_EQ(k.size(), 100u);
    EXPECT_EQ(k[60], 1.0);
    fs.set_disk_bytes_max(UINT64_MAX);
    commit_rows(*svc, "l", range_rows(5000, 5010));
  }
  fs.crash();
  auto svc = open_service(dir.path(), fs, *kv, 500);
  ASSERT_NE(svc, nullptr);
  auto l = scan_all(*svc, "l");
  EXPECT_EQ(l.size(), 110u);
  EXPECT_EQ(sum_ids(l), 99 * 100 / 2 + (5000 + 5009) * 5);
  auto k = by_id(scan_all(*svc, "k"));
  EXPECT_EQ(k.size(), 100u);
  EXPECT_EQ(k[60], 1.0);
  EXPECT_EQ(changelog_text(*svc, "k").size(), 100u);
}

TEST(recovery, acknowledged_commits_survive_a_crash) {
  temp_dir dir;
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  {
    auto svc = open_service(dir.path(), fs, *kv);
    ASSERT_TRUE(svc->create_table(pk_schema("k", 4), false).ok());
    for (int i = 0; i < 5; ++i) commit_rows(*svc, "k", range_rows(i * 10, i * 10 + 30, double(i)), on_conflict::replace);
    // Buffered, never committed: must not appear.
    auto txn = svc->begin();
    ASSERT_TRUE(txn->insert("k", range_rows(1000, 1010), on_conflict::error).ok());
  }
  fs.crash();
  auto svc = open_service(dir.path(), fs, *kv);
  ASSERT_NE(svc, nullptr);
  auto k = by_id(scan_all(*svc, "k"));
  EXPECT_EQ(k.size(), 70u);
  EXPECT_EQ(k[0], 0.0);
  EXPECT_EQ(k[69], 4.0);
  EXPECT_EQ(k.count(1000), 0u);
}

}  // namespace
}  // namespace strata::tables

namespace strata::tables {
namespace {

using namespace testing;

size_t kv_keys(meta::kv& kv, std::string_view prefix) {
  size_t n = 0;
  (void)kv.scan_prefix(prefix, [&n](std::string_view, std::string_view) { ++n; });
  return n;
}

// One transaction over a log table and a primary-key table.
status commit_both(service& svc, int64_t from, int64_t to) {
  auto txn = svc.begin();
  if (auto w = txn->insert("l", range_rows(from, to), on_conflict::error); !w.ok()) return w.err();
  if (auto w = txn->insert("k", range_rows(from, to), on_conflict::replace); !w.ok()) return w.err();
  auto c = txn->commit();
  if (!c.ok()) return c.err();
  return {};
}

TEST(recovery, a_commit_over_two_tables_is_all_or_nothing_across_a_crash) {
  temp_dir dir;
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  {
    auto svc = open_two_tables(dir.path(), fs, *kv);
    must(commit_both(*svc, 0, 100));
    // The log table's parts are durable, then the disk fills while the
    // primary-key table's are written.
    fs.set_disk_bytes_max(fs.used_bytes() + 9000);
    EXPECT_EQ(commit_both(*svc, 100, 2100).code(), errc::no_space);
    fs.set_disk_bytes_max(UINT64_MAX);
    EXPECT_EQ(scan_all(*svc, "l").size(), 100u);
    must(commit_both(*svc, 5000, 5010));
    // Dropping a table the failed commit wrote must not make the rest of it count.
    must(svc->drop_table("k", false));
  }
  fs.crash();
  {
    auto svc = open_service(dir.path(), fs, *kv, 500);
    ASSERT_NE(svc, nullptr);
    auto l = scan_all(*svc, "l");
    EXPECT_EQ(l.size(), 110u);
    EXPECT_EQ(sum_ids(l), 99 * 100 / 2 + (5000 + 5009) * 5);
  }
  fs.crash();
  auto svc = open_service(dir.path(), fs, *kv, 500);
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(scan_all(*svc, "l").size(), 110u);
}

TEST(recovery, a_failed_sync_anywhere_in_a_commit_over_two_tables_leaves_both_or_neither) {
  // Each run fails a different sync of the commit (logs, segment directories).
  for (uint64_t nth = 1; nth <= 8; ++nth) {
    temp_dir dir;
    io::fault_fs fs;
    auto kv = meta::make_memory_kv();
    bool acknowledged = false;
    {
      auto svc = open_service(dir.path(), fs, *kv);
      ASSERT_TRUE(svc->create_table(log_schema("l"), false).ok());
      ASSERT_TRUE(svc->create_table(pk_schema("k"), false).ok());
      fs.fail_sync(nth);
      acknowledged = commit_both(*svc, 0, 10).ok();
      fs.fail_sync(0);  // a commit with fewer syncs leaves it armed
    }
    fs.crash();
    auto svc = open_service(dir.path(), fs, *kv);
    ASSERT_NE(svc, nullptr);
    const size_t l = scan_all(*svc, "l").size();
    EXPECT_EQ(l, scan_all(*svc, "k").size()) << "sync " << nth;
    if (acknowledged) {
      EXPECT_EQ(l, 10u) << "sync " << nth;
    }
    must(commit_both(*svc, 100, 110));
    EXPECT_EQ(scan_all(*svc, "l").size(), l + 10);
  }
}

TEST(recovery, commit_records_are_dropped_as_commits_settle) {
  temp_dir dir;
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  service_config cfg;
  cfg.data_dir = dir.path();
  cfg.commit_records_per_sweep = 4;
  {
    auto svc = service::open(cfg, fs, *kv);
    ASSERT_TRUE(svc.ok());
    ASSERT_TRUE((*svc)->create_table(log_schema("l"), false).ok());
    ASSERT_TRUE((*svc)->create_table(pk_schema("k"), false).ok());
    for (int i = 0; i < 10; ++i) must(commit_both(**svc, i * 10, i * 10 + 10));
    EXPECT_LT(kv_keys(*kv, "tables/v1/txn/"), 4u);
    EXPECT_EQ(kv_keys(*kv, "tables/v1/txn_resolved_below"), 1u);
  }
  fs.crash();
  auto svc = service::open(cfg, fs, *kv);
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ(scan_all(**svc, "l").size(), 100u);
  EXPECT_EQ(scan_all(**svc, "k").size(), 100u);
  EXPECT_EQ(kv_keys(*kv, "tables/v1/txn/"), 0u);  // opening resolves everything
  EXPECT_EQ(kv_keys(*kv, "tables/v1/txn_aborted/"), 0u);
}

}  // namespace
}  // namespace strata::tables
