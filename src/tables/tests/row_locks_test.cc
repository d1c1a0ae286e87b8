#include <atomic>
#include <chrono>
#include <thread>

#include "tables/row_locks.h"
#include "tables/tests/test_util.h"

namespace strata::tables {
namespace {

using namespace testing;
using namespace std::chrono_literals;

const std::function<bool()> never = [] { return false; };

lock_status lock_one(row_locks& locks, uint64_t owner, const std::string& key, lock_strength s,
                     lock_wait w = lock_wait::nowait) {
  std::vector<uint8_t> skipped;
  return locks.lock(owner, 7, {key}, s, w, never, skipped);
}

TEST(row_locks_test, strengths_conflict_as_in_postgresql) {
  using ls = lock_strength;
  const ls all[] = {ls::key_share, ls::share, ls::no_key_update, ls::update};
  // PostgreSQL's table "Conflicting Row-Level Locks", row by row.
  const bool expected[4][4] = {{false, false, false, true},
                               {false, false, true, true},
                               {false, true, true, true},
                               {true, true, true, true}};
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) EXPECT_EQ(conflicts(all[a], all[b]), expected[a][b]) << a << " " << b;
  }
}

TEST(row_locks_test, nowait_reports_a_conflict_and_shares_coexist) {
  row_locks locks;
  EXPECT_EQ(lock_one(locks, 1, "k", lock_strength::share), lock_status::locked);
  EXPECT_EQ(lock_one(locks, 2, "k", lock_strength::share), lock_status::locked);
  EXPECT_EQ(lock_one(locks, 3, "k", lock_strength::key_share), lock_status::locked);
  EXPECT_EQ(lock_one(locks, 3, "k", lock_strength::no_key_update), lock_status::not_available);
  EXPECT_EQ(lock_one(locks, 4, "other", lock_strength::update), lock_status::locked);
  locks.release_all(1);
  locks.release_all(2);
  EXPECT_EQ(lock_one(locks, 3, "k", lock_strength::no_key_update), lock_status::locked);
  EXPECT_EQ(locks.held_by(3), 1u);  // one lock, upgraded
  locks.release_all(3);
  locks.release_all(4);
  EXPECT_EQ(locks.held_by(3), 0u);
}

TEST(row_locks_test, skip_locked_leaves_held_keys_out) {
  row_locks locks;
  ASSERT_EQ(lock_one(locks, 1, "b", lock_strength::update), lock_status::locked);
  std::vector<uint8_t> skipped;
  EXPECT_EQ(locks.lock(2, 7, {"a", "b", "c"}, lock_strength::update, lock_wait::skip_locked, never, skipped),
            lock_status::locked);
  EXPECT_EQ(skipped, (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(locks.held_by(2), 2u);
}

TEST(row_locks_test, a_waiter_gets_the_lock_when_the_holder_ends) {
  row_locks locks;
  ASSERT_EQ(lock_one(locks, 1, "k", lock_strength::update), lock_status::locked);
  std::atomic<bool> granted{false};
  std::thread waiter([&] {
    EXPECT_EQ(lock_one(locks, 2, "k", lock_strength::no_key_update, lock_wait::block), lock_status::locked);
    granted = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(granted.load());
  locks.release_all(1);
  waiter.join();
  EXPECT_TRUE(granted.load());
}

TEST(row_locks_test, the_waiter_that_closes_a_cycle_gets_deadlock) {
  row_locks locks;
  ASSERT_EQ(lock_one(locks, 1, "a", lock_strength::update), lock_status::locked);
  ASSERT_EQ(lock_one(locks, 2, "b", lock_strength::update), lock_status::locked);
  std::atomic<int> first{-1};
  std::thread t1([&] { first = int(lock_one(locks, 1, "b", lock_strength::update, lock_wait::block)); });
  std::this_thread::sleep_for(100ms);
  // Owner 2 now waits for owner 1, which waits for owner 2.
  EXPECT_EQ(lock_one(locks, 2, "a", lock_strength::update, lock_wait::block), lock_status::deadlock);
  locks.release_all(2);  // the victim rolls back; the other goes on
  t1.join();
  EXPECT_EQ(first.load(), int(lock_status::locked));
}

TEST(row_locks_test, a_wait_ends_when_stop_says_so) {
  row_locks locks;
  ASSERT_EQ(lock_one(locks, 1, "k", lock_strength::share), lock_status::locked);
  std::atomic<bool> stop{false};
  std::thread t([&] { stop = true; });
  std::vector<uint8_t> skipped;
  auto s = locks.lock(2, 7, {"k"}, lock_strength::update, lock_wait::block, [&] { return stop.load(); }, skipped);
  t.join();
  EXPECT_EQ(s, lock_status::cancelled);
}

TEST(row_locks_test, many_rows_take_the_whole_table) {
  row_locks locks;
  std::vector<std::string> keys;
  for (uint64_t i = 0; i <= row_locks::rows_per_table_max; ++i) keys.push_back(std::to_string(i));
  std::vector<uint8_t> skipped;
  ASSERT_EQ(locks.lock(1, 7, keys, lock_strength::no_key_update, lock_wait::nowait, never, skipped),
            lock_status::locked);
  EXPECT_EQ(locks.held_by(1), 1u);
  EXPECT_EQ(lock_one(locks, 2, "never-listed", lock_strength::share), lock_status::not_available);
  EXPECT_EQ(lock_one(locks, 2, "x", lock_strength::key_share), lock_status::locked);
  // A table lock waits for other owners' conflicting row locks.
  locks.release_all(1);
  keys.push_back("x");
  EXPECT_EQ(locks.lock(3, 7, keys, lock_strength::update, lock_wait::nowait, never, skipped),
            lock_status::not_available);
}

class transaction_locks_test : public service_fixture {
 protected:
  void SetUp() override {
    service_fixture::SetUp();
    ASSERT_TRUE(svc_->create_table(pk_schema("t"), false).ok());
    commit_rows(*svc_, "t", range_rows(0, 10));
  }
};

TEST_F(transaction_locks_test, locks_end_with_commit_and_rollback) {
  auto a = svc_->begin();
  auto b = svc_->begin();
  auto got = a->lock_keys("t", keys_of({1, 2}), lock_strength::update, lock_wait::nowait, never);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, lock_status::locked);
  EXPECT_EQ(b->lock_keys("t", keys_of({2}), lock_strength::share, lock_wait::nowait, never)->status,
            lock_status::not_available);
  ASSERT_TRUE(a->commit().ok());
  EXPECT_EQ(b->lock_keys("t", keys_of({2}), lock_strength::share, lock_wait::nowait, never)->status,
            lock_status::locked);
  b->rollback();
  EXPECT_EQ(a->lock_keys("t", keys_of({2}), lock_strength::update, lock_wait::nowait, never)->status,
            lock_status::locked);
  a.reset();  // a dropped transaction lets go too
  EXPECT_EQ(b->lock_keys("t", keys_of({2}), lock_strength::update, lock_wait::nowait, never)->status,
            lock_status::locked);
}

TEST_F(transaction_locks_test, a_savepoint_keeps_the_locks_its_rows_were_written_under) {
  auto a = svc_->begin();
  ASSERT_EQ(a->lock_keys("t", keys_of({3}), lock_strength::update, lock_wait::nowait, never)->status, lock_status::locked);
  auto point = a->save();
  a->rollback();  // an error failed the block
  auto other = svc_->begin();
  EXPECT_EQ(other->lock_keys("t", keys_of({3}), lock_strength::update, lock_wait::nowait, never)->status,
            lock_status::not_available);
  auto again = svc_->begin();
  again->restore(*point);  // ROLLBACK TO
  point.reset();
  EXPECT_EQ(other->lock_keys("t", keys_of({3}), lock_strength::update, lock_wait::nowait, never)->status,
            lock_status::not_available);
  again->rollback();
  EXPECT_EQ(other->lock_keys("t", keys_of({3}), lock_strength::update, lock_wait::nowait, never)->status,
            lock_status::locked);
}

TEST_F(transaction_locks_test, changed_rows_compares_with_the_current_versions) {
  auto reader = svc_->begin();
  auto before = reader->version_of("t");
  ASSERT_TRUE(before.ok());
  auto seen = range_rows(0, 3);
  commit_rows(*svc_, "t", rows_of({{1, "changed", 1.0}}), on_conflict::replace);
  {
    auto del = svc_->begin();
    ASSERT_TRUE(del->remove("t", keys_of({2})).ok());
    ASSERT_TRUE(del->commit().ok());
  }
  auto after = reader->version_of("t");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(*before == *after);
  auto changed = reader->changed_rows("t", seen);
  ASSERT_TRUE(changed.ok()) << changed.err().message;
  EXPECT_EQ(*changed, (std::vector<uint8_t>{0, 1, 1}));
  // The transaction's own writes are the current versions for it.
  ASSERT_TRUE(reader->insert("t", rows_of({{0, "mine", 2.0}}), on_conflict::replace).ok());
  changed = reader->changed_rows("t", rows_of({{0, "mine", 2.0}, {1, "changed", 1.0}}));
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, (std::vector<uint8_t>{0, 0}));
}

}  // namespace
}  // namespace strata::tables
