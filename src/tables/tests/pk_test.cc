#include <atomic>
#include <thread>

#include "tables/tests/test_util.h"

namespace strata::tables {
namespace {

using namespace testing;

class pk_test : public service_fixture {
 protected:
  void SetUp() override {
    service_fixture::SetUp();
    ASSERT_TRUE(svc_->create_table(pk_schema("t"), false).ok());
  }

  // (change_type, log_offset, id, amount) of every changelog row, in log order.
  std::vector<std::tuple<std::string, int64_t, int64_t, double>> changelog() {
    scan_spec spec;
    spec.changelog = true;
    spec.columns = {0, 1, 3, 5};
    std::vector<std::tuple<std::string, int64_t, int64_t, double>> out;
    for (auto& r : scan_all(*svc_, "t", spec)) {
      out.emplace_back(std::get<std::string>(r[0]), std::get<int64_t>(r[1]), std::get<int64_t>(r[2]),
                       std::get<double>(r[3]));
    }
    return out;
  }

  std::map<int64_t, double> live() {
    std::map<int64_t, double> out;
    for (auto& r : scan_all(*svc_, "t")) {
      EXPECT_TRUE(out.emplace(std::get<int64_t>(r[0]), std::get<double>(r[2])).second) << "key seen twice";
    }
    return out;
  }

};

TEST_F(pk_test, duplicate_key_fails_with_a_message_naming_the_key) {
  commit_rows(*svc_, "t", rows_of({{5, "a", 1}}));
  auto txn = svc_->begin();
  auto w = txn->insert("t", rows_of({{6, "b", 1}, {5, "c", 2}}), on_conflict::error);
  ASSERT_EQ(w.code(), errc::already_exists);
  EXPECT_NE(w.err().message.find("key (id)=(5) already exists"), std::string::npos) << w.err().message;
  // Nothing of the failed statement was buffered.
  ASSERT_TRUE(txn->commit().ok());
  EXPECT_EQ(live(), (std::map<int64_t, double>{{5, 1}}));
  // Repeated within one write.
  auto txn2 = svc_->begin();
  EXPECT_EQ(txn2->insert("t", rows_of({{7, "a", 1}, {7, "b", 1}}), on_conflict::error).code(), errc::already_exists);
}

TEST_F(pk_test, error_at_commit_finds_stored_keys_at_commit_and_repeats_at_once) {
  commit_rows(*svc_, "t", rows_of({{5, "a", 1}}));
  auto txn = svc_->begin();
  ASSERT_TRUE(txn->insert("t", rows_of({{6, "b", 1}, {5, "c", 2}}), on_conflict::error_at_commit).ok());
  auto c = txn->commit();
  ASSERT_EQ(c.code(), errc::already_exists);
  EXPECT_NE(c.err().message.find("key (id)=(5) already exists"), std::string::npos) << c.err().message;
  EXPECT_EQ(live(), (std::map<int64_t, double>{{5, 1}}));  // nothing of the failed commit
  auto txn2 = svc_->begin();
  ASSERT_TRUE(txn2->insert("t", rows_of({{7, "a", 1}}), on_conflict::error_at_commit).ok());
  EXPECT_EQ(txn2->insert("t", rows_of({{7, "b", 1}}), on_conflict::error_at_commit).code(), errc::already_exists);
  EXPECT_EQ(txn2->insert("t", rows_of({{8, "a", 1}, {8, "b", 1}}), on_conflict::error_at_commit).code(),
            errc::already_exists);
  ASSERT_TRUE(txn2->commit().ok());
  EXPECT_EQ(live(), (std::map<int64_t, double>{{5, 1}, {7, 1}}));
}

TEST_F(pk_test, do_nothing_skips_existing_keys) {
  commit_rows(*svc_, "t", rows_of({{1, "a", 1}, {2, "b", 2}}));
  auto txn = svc_->begin();
  auto w = txn->insert("t", rows_of({{2, "x", 20}, {3, "c", 3}, {3, "d", 4}}), on_conflict::do_nothing);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->rows_written, 1u);
  ASSERT_TRUE(txn->commit().ok());
  EXPECT_EQ(live(), (std::map<int64_t, double>{{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_EQ(svc_->describe("t")->row_count, 3u);
}

TEST_F(pk_test, upsert_and_remove_write_the_changelog_in_order) {
  commit_rows(*svc_, "t", rows_of({{1, "a", 1}, {2, "b", 2}}));
  commit_rows(*svc_, "t", rows_of({{2, "b", 20}, {3, "c", 3}}), on_conflict::replace);
  auto txn = svc_->begin();
  auto r = txn->remove("t", keys_of({1, 42}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows_written, 1u);
  ASSERT_TRUE(txn->commit().ok());

  EXPECT_EQ(live(), (std::map<int64_t, double>{{2, 20}, {3, 3}}));
  EXPECT_EQ(svc_->describe("t")->row_count, 2u);
  auto log = changelog();
  using row = std::tuple<std::string, int64_t, int64_t, double>;
  std::vector<row> expected{{"+I", 0, 1, 1},  {"+I", 1, 2, 2}, {"-U", 2, 2, 2},
                            {"+U", 3, 2, 20}, {"+I", 4, 3, 3}, {"-D", 5, 1, 1}};
  EXPECT_EQ(log, expected);
}

TEST_F(pk_test, replace_within_one_write_keeps_the_last_row) {
  commit_rows(*svc_, "t", rows_of({{1, "a", 1}, {1, "b", 2}, {1, "c", 3}}), on_conflict::replace);
  EXPECT_EQ(live(), (std::map<int64_t, double>{{1, 3}}));
  EXPECT_EQ(changelog().size(), 1u);
}

TEST_F(pk_test, lookup_sees_committed_and_own_rows) {
  commit_rows(*svc_, "t", rows_of({{1, "a", 1}, {2, "b", 2}}));
  auto txn = svc_->begin();
  ASSERT_TRUE(txn->insert("t", rows_of({{3, "c", 3}, {2, "B", 22}}), on_conflict::replace).ok());
  ASSERT_TRUE(txn->remove("t", keys_of({1})).ok());
  auto l = txn->lookup("t", keys_of({1, 2, 3, 4}));
  ASSERT_TRUE(l.ok()) << l.err().message;
  EXPECT_EQ(l->found, (std::vector<uint8_t>{0, 1, 1, 0}));
  ASSERT_EQ(l->rows.row_count, 2u);
  EXPECT_EQ(std::get<std::string>(scalar_at(l->rows.columns[1], 0)), "B");
  EXPECT_EQ(std::get<double>(scalar_at(l->rows.columns[2], 1)), 3.0);

  // Another transaction sees only committed rows.
  auto other = svc_->begin();
  auto l2 = other->lookup("t", keys_of({1, 2, 3}));
  ASSERT_TRUE(l2.ok());
  EXPECT_EQ(l2->found, (std::vector<uint8_t>{1, 1, 0}));
  EXPECT_EQ(std::get<double>(scalar_at(l2->rows.columns[2], 1)), 2.0);
}

TEST_F(pk_test, scans_given_a_transaction_see_its_writes) {
  commit_rows(*svc_, "t", rows_of({{1, "a", 1}, {2, "b", 2}, {3, "c", 3}}));
  auto txn = svc_->begin();
  ASSERT_TRUE(txn->insert("t", rows_of({{2, "b", 20}, {4, "d", 4}}), on_conflict::replace).ok());
  ASSERT_TRUE(txn->remove("t", keys_of({3})).ok());
  std::map<int64_t, double> seen;
  for (auto& r : scan_all(*svc_, "t", {}, txn.get())) {
    EXPECT_TRUE(seen.emplace(std::get<int64_t>(r[0]), std::get<double>(r[2])).second);
  }
  EXPECT_EQ(seen, (std::map<int64_t, double>{{1, 1}, {2, 20}, {4, 4}}));
  EXPECT_EQ(live(), (std::map<int64_t, double>{{1, 1}, {2, 2}, {3, 3}}));
  txn->rollback();
  EXPECT_EQ(live(), (std::map<int64_t, double>{{1, 1}, {2, 2}, {3, 3}}));
}

TEST_F(pk_test, insert_then_delete_in_one_transaction_is_a_no_op) {
  auto txn = svc_->begin();
  ASSERT_TRUE(txn->insert("t", rows_of({{9, "x", 9}}), on_conflict::error).ok());
  auto r = txn->remove("t", keys_of({9}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows_written, 1u);
  ASSERT_TRUE(txn->commit().ok());
  EXPECT_TRUE(live().empty());
  EXPECT_TRUE(changelog().empty());
}

TEST_F(pk_test, a_concurrent_insert_of_the_same_key_fails_at_commit) {
  auto a = svc_->begin();
  auto b = svc_->begin();
  ASSERT_TRUE(a->insert("t", rows_of({{1, "a", 1}}), on_conflict::error).ok());
  ASSERT_TRUE(b->insert("t", rows_of({{1, "b", 2}}), on_conflict::error).ok());
  ASSERT_TRUE(a->commit().ok());
  EXPECT_EQ(b->commit().code(), errc::already_exists);
  EXPECT_EQ(live(), (std::map<int64_t, double>{{1, 1}}));
}

// Commits to one bucket overlap: each appends under the bucket's write lock,
// and the next reads the keys it changed before they reach the state.
TEST_F(pk_test, overlapping_commits_of_one_key_lose_no_update) {
  ASSERT_TRUE(svc_->create_table(log_schema("audit"), false).ok());
  commit_rows(*svc_, "t", rows_of({{1, "counter", 0}}));
  constexpr int threads = 4, rounds = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < rounds; ++i) {
        auto txn = svc_->begin();
        auto locked = txn->lock_keys("t", keys_of({1}), lock_strength::no_key_update, lock_wait::block,
                                     [] { return false; });
        auto found = txn->lookup("t", keys_of({1}));
        if (!locked.ok() || !found.ok() || found->rows.row_count != 1) {
          ++failures;
          continue;
        }
        const double amount = found->rows.columns[2].get<double>(0) + 1;
        bool ok = txn->insert("t", rows_of({{1, "counter", amount}}), on_conflict::replace).ok() &&
                  txn->insert("audit", rows_of({{w, "bump", 1}}), on_conflict::error).ok() && txn->commit().ok();
        if (!ok) ++failures;
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(live(), (std::map<int64_t, double>{{1, threads * rounds}}));
  EXPECT_EQ(scan_all(*svc_, "audit").size(), size_t(threads * rounds));
}

TEST_F(pk_test, overlapping_inserts_of_one_key_commit_it_once) {
  constexpr int threads = 4, keys = 60;
  std::atomic<int> committed{0}, refused{0}, other{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&, w] {
      for (int64_t k = 0; k < keys; ++k) {
        auto txn = svc_->begin();
        if (!txn->insert("t", rows_of({{k, "w", double(w)}}), on_conflict::error).ok()) {
          ++refused;  // the key was already in the state when the row was buffered
          continue;
        }
        auto c = txn->commit();
        if (c.ok()) {
          ++committed;
        } else if (c.code() == errc::already_exists) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(committed.load(), keys);
  EXPECT_EQ(refused.load(), (threads - 1) * keys);
  EXPECT_EQ(live().size(), size_t(keys));  // live() also fails on a key seen twice
}

TEST_F(pk_test, scan_keeps_its_snapshot_while_rows_change) {
  commit_rows(*svc_, "t", range_rows(0, 100, 1.0));
  auto scan = svc_->scan("t", {}, nullptr);
  ASSERT_TRUE(scan.ok());
  commit_rows(*svc_, "t", range_rows(0, 50, 2.0), on_conflict::replace);
  double total = 0;
  size_t rows = 0;
  for (size_t u = 0; u < (*scan)->unit_count(); ++u) {
    auto c = (*scan)->open_unit(u);
    ASSERT_TRUE(c.ok());
    scan_chunk chunk;
    while (*(*c)->next(chunk)) {
      for (uint32_t i = 0; i < chunk.row_count; ++i) {
        if (!chunk.selection.empty() && !std::binary_search(chunk.selection.begin(), chunk.selection.end(), i)) continue;
        total += chunk.columns[2]->get<double>(i);
        ++rows;
      }
    }
  }
  EXPECT_EQ(rows, 100u);
  EXPECT_EQ(total, 100.0);
  double now = 0;
  for (auto& [id, amount] : live()) now += amount;
  EXPECT_EQ(now, 150.0);
}

TEST_F(pk_test, composite_keys_and_buckets) {
  table_schema s;
  s.name = "c";
  s.kind = table_kind::primary_key;
  s.columns = {col("a", type_id::int32, true), col("b", type_id::text, true), col("v", type_id::int64)};
  s.primary_key = {0, 1};
  s.buckets = 4;
  ASSERT_TRUE(svc_->create_table(s, false).ok());
  auto make = [](const std::vector<std::tuple<int32_t, std::string, int64_t>>& rows) {
    column_batch b;
    b.columns.emplace_back(column_type{type_id::int32});
    b.columns.emplace_back(column_type{type_id::text});
    b.columns.emplace_back(column_type{type_id::int64});
    for (auto& [a, k, v] : rows) {
      b.columns[0].append_fixed(&a);
      b.columns[1].append_bytes(k);
      b.columns[2].append_fixed(&v);
    }
    b.row_count = uint32_t(rows.size());
    return b;
  };
  commit_rows(*svc_, "c", make({{1, "x", 1}, {1, "y", 2}, {2, "x", 3}, {3, "z", 4}}));
  commit_rows(*svc_, "c", make({{1, "y", 20}, {4, "w", 5}}), on_conflict::replace);
  auto rows = scan_all(*svc_, "c");
  ASSERT_EQ(rows.size(), 5u);
  int64_t sum = 0;
  for (auto& r : rows) sum += std::get<int64_t>(r[2]);
  EXPECT_EQ(sum, 1 + 20 + 3 + 4 + 5);
  auto txn = svc_->begin();
  auto dup = txn->insert("c", make({{2, "x", 9}}), on_conflict::error);
  ASSERT_EQ(dup.code(), errc::already_exists);
  EXPECT_NE(dup.err().message.find("key (a, b)=(2, x)"), std::string::npos) << dup.err().message;
}

}  // namespace
}  // namespace strata::tables
