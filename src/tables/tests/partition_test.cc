#include "tables/partitioning.h"
#include "tables/tests/test_util.h"

namespace strata::tables {
namespace {

using namespace testing;
using op = column_predicate::op;

constexpr int64_t us_per_day = 86400LL * 1000000;

table_schema events_schema(partition_kind kind, time_unit unit = time_unit::day) {
  table_schema s;
  s.name = "ev";
  s.columns = {col("ts", type_id::timestamp), col("region", type_id::text), col("v", type_id::int64)};
  s.partitioning.kind = kind;
  s.partitioning.column = kind == partition_kind::list ? 1 : 0;
  s.partitioning.interval = unit;
  return s;
}

// ts = day d at hour h; region by d % 3; v = d * 100 + h. NULL ts and region for d < 0.
column_batch events(int days, int hours_per_day) {
  column_batch b;
  b.columns.emplace_back(column_type{type_id::timestamp});
  b.columns.emplace_back(column_type{type_id::text});
  b.columns.emplace_back(column_type{type_id::int64});
  const char* regions[] = {"eu", "us", "ap"};
  for (int d = -1; d < days; ++d) {
    for (int h = 0; h < hours_per_day; ++h) {
      int64_t ts = int64_t(d) * us_per_day + int64_t(h) * 3600 * 1000000;
      int64_t v = int64_t(d) * 100 + h;
      if (d < 0) {
        b.columns[0].append_null();
        b.columns[1].append_null();
      } else {
        b.columns[0].append_fixed(&ts);
        b.columns[1].append_bytes(regions[d % 3]);
      }
      b.columns[2].append_fixed(&v);
    }
  }
  b.row_count = b.columns[0].row_count;
  return b;
}

class partition_test : public service_fixture {
 protected:
  // Rows (v column) matching `pred`, with and without statistics; checks they agree.
  std::multiset<int64_t> query(const column_predicate& pred, uint32_t* pruned, uint64_t* skipped) {
    std::multiset<int64_t> result[2];
    for (int stats = 0; stats < 2; ++stats) {
      scan_spec spec;
      spec.predicates = {pred};
      spec.use_statistics = stats == 1;
      table_scan* kept = nullptr;
      auto rows = scan_all(*svc_, "ev", spec, nullptr, &kept);
      std::unique_ptr<table_scan> scan(kept);
      for (auto& r : rows) {
        if (matches(pred, r)) result[stats].insert(std::get<int64_t>(r[2]));
      }
      if (stats == 1) {
        *pruned = scan->partitions_pruned();
        *skipped = scan->batches_skipped();
      } else {
        EXPECT_EQ(scan->partitions_pruned(), 0u);
        EXPECT_EQ(scan->batches_skipped(), 0u);
      }
    }
    EXPECT_EQ(result[0], result[1]);
    return result[1];
  }

  static bool matches(const column_predicate& p, const std::vector<scalar>& row) {
    const scalar& v = row[p.column];
    if (p.kind == op::is_null) return std::holds_alternative<std::monostate>(v);
    if (p.kind == op::is_not_null) return !std::holds_alternative<std::monostate>(v);
    if (std::holds_alternative<std::monostate>(v)) return false;
    auto cmp = [&](const scalar& x) {
      return v < x ? -1 : (x < v ? 1 : 0);
    };
    switch (p.kind) {
      case op::eq: return cmp(p.values[0]) == 0;
      case op::ne: return cmp(p.values[0]) != 0;
      case op::lt: return cmp(p.values[0]) < 0;
      case op::le: return cmp(p.values[0]) <= 0;
      case op::gt: return cmp(p.values[0]) > 0;
      case op::ge: return cmp(p.values[0]) >= 0;
      case op::in:
        for (const scalar& x : p.values) {
          if (cmp(x) == 0) return true;
        }
        return false;
      default: return true;
    }
  }

};

TEST(calendar, civil_round_trip_and_known_dates) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  for (int64_t d = -800000; d < 800000; d += 97) {
    int64_t y;
    unsigned m, day;
    civil_from_days(d, y, m, day);
    ASSERT_EQ(days_from_civil(y, m, day), d);
  }
}

TEST(partition_keys, month_interval_and_pruning_bounds) {
  table_schema s = events_schema(partition_kind::range_time, time_unit::month);
  column_vector ts(column_type{type_id::timestamp});
  int64_t mid_feb_2024 = (days_from_civil(2024, 2, 15) * 24 + 13) * 3600LL * 1000000;
  ts.append_fixed(&mid_feb_2024);
  auto key = partition_key_of(s, ts, 0);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, std::to_string(days_from_civil(2024, 2, 1) * us_per_day));
  auto b = bounds_of_key(s, *key);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->hi, days_from_civil(2024, 3, 1) * us_per_day);
  auto pred = [](op k, int64_t v) { return column_predicate{0, k, {scalar{v}}}; };
  EXPECT_TRUE(partition_may_match(s, *b, pred(op::eq, mid_feb_2024)));
  EXPECT_FALSE(partition_may_match(s, *b, pred(op::ge, b->hi)));
  EXPECT_TRUE(partition_may_match(s, *b, pred(op::ge, b->hi - 1)));
  EXPECT_FALSE(partition_may_match(s, *b, pred(op::lt, b->lo)));
  EXPECT_TRUE(partition_may_match(s, *b, pred(op::le, b->lo)));
  EXPECT_FALSE(partition_may_match(s, *b, column_predicate{0, op::is_null, {}}));
  EXPECT_EQ(bounds_of_key(s, "12345").code(), errc::corrupt);  // not an interval start
}

TEST_F(partition_test, range_time_partitions_prune_with_the_same_answer) {
  ASSERT_TRUE(svc_->create_table(events_schema(partition_kind::range_time), false).ok());
  commit_rows(*svc_, "ev", events(10, 24));
  auto info = svc_->describe("ev");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->partition_count, 11u);  // 10 days + the NULL partition
  EXPECT_EQ(info->row_count, 11u * 24);

  uint32_t pruned = 0;
  uint64_t skipped = 0;
  auto day3 = query(column_predicate{0, op::ge, {scalar{int64_t(3 * us_per_day + 5 * 3600LL * 1000000)}}}, &pruned,
                    &skipped);
  EXPECT_EQ(day3.size(), 7u * 24 - 5);
  EXPECT_EQ(pruned, 4u);  // days 0, 1, 2 and NULL
  auto exact = query(column_predicate{0, op::eq, {scalar{int64_t(9 * us_per_day)}}}, &pruned, &skipped);
  EXPECT_EQ(exact, (std::multiset<int64_t>{900}));
  EXPECT_EQ(pruned, 10u);
  auto nulls = query(column_predicate{0, op::is_null, {}}, &pruned, &skipped);
  EXPECT_EQ(nulls.size(), 24u);
  EXPECT_EQ(pruned, 10u);
}

TEST_F(partition_test, list_partitions_prune_with_the_same_answer) {
  ASSERT_TRUE(svc_->create_table(events_schema(partition_kind::list), false).ok());
  commit_rows(*svc_, "ev", events(9, 4));
  EXPECT_EQ(svc_->describe("ev")->partition_count, 4u);  // eu, us, ap, NULL
  uint32_t pruned = 0;
  uint64_t skipped = 0;
  auto eu = query(column_predicate{1, op::eq, {scalar{std::string("eu")}}}, &pruned, &skipped);
  EXPECT_EQ(eu.size(), 12u);
  EXPECT_EQ(pruned, 3u);
  auto two = query(column_predicate{1, op::in, {scalar{std::string("us")}, scalar{std::string("ap")}}}, &pruned,
                   &skipped);
  EXPECT_EQ(two.size(), 24u);
  EXPECT_EQ(pruned, 2u);
  auto not_eu = query(column_predicate{1, op::ne, {scalar{std::string("eu")}}}, &pruned, &skipped);
  EXPECT_EQ(not_eu.size(), 24u);
  EXPECT_EQ(pruned, 2u);  // eu and NULL
  // A predicate on another column prunes batches, not partitions.
  auto v = query(column_predicate{2, op::gt, {scalar{int64_t(700)}}}, &pruned, &skipped);
  EXPECT_EQ(v.size(), 7u);
  EXPECT_EQ(pruned, 0u);
  EXPECT_GT(skipped, 0u);
}

TEST_F(partition_test, hour_partitions_on_a_primary_key_table) {
  table_schema s = events_schema(partition_kind::range_time, time_unit::hour);
  s.kind = table_kind::primary_key;
  s.columns[0].not_null = true;
  s.primary_key = {0};
  s.buckets = 2;
  ASSERT_TRUE(svc_->create_table(s, false).ok());
  column_batch rows = events(2, 3);
  column_batch no_nulls = slice(rows, 3, rows.row_count - 3);
  commit_rows(*svc_, "ev", no_nulls);
  EXPECT_EQ(svc_->describe("ev")->partition_count, 6u);
  commit_rows(*svc_, "ev", no_nulls, on_conflict::replace);
  EXPECT_EQ(svc_->describe("ev")->row_count, 6u);
  EXPECT_EQ(scan_all(*svc_, "ev").size(), 6u);
  scan_spec spec;
  spec.changelog = true;
  EXPECT_EQ(scan_all(*svc_, "ev", spec).size(), 18u);
}

}  // namespace
}  // namespace strata::tables
