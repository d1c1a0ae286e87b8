#include "tables/schema.h"

#include <gtest/gtest.h>

#include <string>

#include "tables/service.h"

namespace strata::tables {
namespace {

table_schema orders() {
  table_schema s;
  s.name = "orders";
  s.kind = table_kind::primary_key;
  s.columns = {
      {"id", {type_id::int64}, true},
      {"day", {type_id::date}, true},
      {"region", {type_id::text}, false},
      {"amount", {type_id::numeric, 12, 2, 0}, false},
      {"at", {type_id::timestamptz}, false},
      {"doc", {type_id::json}, false},
  };
  s.primary_key = {0, 1};
  s.partitioning = {partition_kind::range_time, 1, time_unit::month};
  s.buckets = 4;
  s.bucket_key = {0};
  return s;
}

table_schema events() {
  table_schema s;
  s.name = "events";
  s.kind = table_kind::log;
  s.columns = {{"ts", {type_id::timestamp}, false}, {"kind", {type_id::text}, false}, {"v", {type_id::float64}, false}};
  return s;
}

void expect_rejected(const table_schema& s, std::string_view message_part) {
  status st = validate(s);
  ASSERT_FALSE(st.ok()) << message_part;
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_NE(st.err().message.find(message_part), std::string::npos) << st.err().message;
}

TEST(Validate, AcceptsGoodSchemas) {
  EXPECT_TRUE(validate(orders()).ok()) << validate(orders()).err().message;
  EXPECT_TRUE(validate(events()).ok());
  table_schema hourly = events();
  hourly.partitioning = {partition_kind::range_time, 0, time_unit::hour};
  hourly.buckets = 256;
  hourly.bucket_key = {1, 2};
  EXPECT_TRUE(validate(hourly).ok());
  table_schema listed = events();
  listed.partitioning = {partition_kind::list, 1, time_unit::day};
  EXPECT_TRUE(validate(listed).ok());
}

TEST(Validate, Names) {
  table_schema s = events();
  s.name = "";
  expect_rejected(s, "table name must not be empty");
  s.name = std::string(63, 'a');
  EXPECT_TRUE(validate(s).ok());
  s.name = std::string(64, 'a');
  expect_rejected(s, "longer than 63 bytes");
  s = events();
  s.columns[1].name = "";
  expect_rejected(s, "column name must not be empty");
  s.columns[1].name = std::string(64, 'c');
  expect_rejected(s, "longer than 63 bytes");
  s.columns[1].name = "ts";
  expect_rejected(s, "\"ts\" is defined twice");
  s.columns[1].name = "TS";  // case-sensitive as given
  EXPECT_TRUE(validate(s).ok());
}

TEST(Validate, ColumnCount) {
  table_schema s = events();
  s.columns.clear();
  expect_rejected(s, "at least one column");
  s.columns.resize(columns_max + 1, column_def{"", {type_id::int32}, false});
  for (size_t i = 0; i < s.columns.size(); ++i) s.columns[i].name = "c" + std::to_string(i);
  expect_rejected(s, "at most 1024 columns");
  s.columns.resize(columns_max);
  EXPECT_TRUE(validate(s).ok());
}

TEST(Validate, ColumnTypes) {
  table_schema s = events();
  s.columns[2].type = {type_id::numeric, 0, 0, 0};
  expect_rejected(s, "numeric precision");
  s.columns[2].type = {type_id::numeric, 5, 6, 0};
  expect_rejected(s, "numeric precision");
  s.columns[2].type = {type_id::int32, 5, 0, 0};
  expect_rejected(s, "only numeric takes");
  s.columns[2].type = {type_id(99)};
  expect_rejected(s, "unknown type");
  s.columns[2].type = {type_id::int32, 0, 0, 5};
  expect_rejected(s, "only text takes");
}

TEST(Validate, PrimaryKeyRules) {
  table_schema s = orders();
  s.primary_key.clear();
  s.partitioning = {};
  s.bucket_key.clear();
  expect_rejected(s, "needs a PRIMARY KEY");
  s.primary_key = {9};
  expect_rejected(s, "does not exist");
  s.primary_key = {0, 0};
  expect_rejected(s, "\"id\" twice");
  s.primary_key = {5};
  expect_rejected(s, "json");
  table_schema log = events();
  log.primary_key = {0};
  expect_rejected(log, "a log table has no primary key");
  table_schema weird = events();
  weird.kind = table_kind(7);
  expect_rejected(weird, "unknown table kind");
}

TEST(Validate, ReservedChangelogNamesInPrimaryKeyTables) {
  table_schema s = orders();
  s.columns[4].name = "commit_ts";
  expect_rejected(s, "reserved");
  table_schema log = events();
  log.columns[0].name = "commit_ts";  // log tables have no changelog
  EXPECT_TRUE(validate(log).ok());
}

TEST(Validate, PartitionRules) {
  table_schema s = orders();
  s.partitioning = {partition_kind::range_time, 2, time_unit::day};
  expect_rejected(s, "range partitioning needs a date, timestamp or timestamptz column");
  s.partitioning = {partition_kind::range_time, 4, time_unit::day};
  expect_rejected(s, "must include the partition column \"at\"");
  s.partitioning = {partition_kind::range_time, 1, time_unit::hour};
  expect_rejected(s, "hourly partitions need a timestamp");
  s.partitioning = {partition_kind::range_time, 1, time_unit(9)};
  expect_rejected(s, "interval");
  s.partitioning = {partition_kind::list, 3, time_unit::day};
  expect_rejected(s, "list partitioning needs");
  s.partitioning = {partition_kind::list, 1, time_unit::day};
  EXPECT_TRUE(validate(s).ok());
  s.partitioning = {partition_kind::list, 40, time_unit::day};
  expect_rejected(s, "partition column does not exist");
  s.partitioning = {partition_kind(5), 1, time_unit::day};
  expect_rejected(s, "unknown partitioning kind");
  table_schema log = events();
  log.partitioning = {partition_kind::list, 2, time_unit::day};
  expect_rejected(log, "list partitioning needs");
}

TEST(Validate, BucketRules) {
  table_schema s = orders();
  s.buckets = 0;
  expect_rejected(s, "buckets must be between 1 and 256");
  s.buckets = 257;
  expect_rejected(s, "buckets must be between 1 and 256");
  s.buckets = 8;
  s.bucket_key = {2};
  expect_rejected(s, "not in the PRIMARY KEY");
  s.bucket_key = {1, 0};
  EXPECT_TRUE(validate(s).ok());
  s.bucket_key = {0, 0};
  expect_rejected(s, "twice");
  table_schema log = events();
  log.bucket_key = {3};
  expect_rejected(log, "does not exist");
}

TEST(ChangelogColumns, SystemColumnsThenTheTable) {
  table_schema s = orders();
  auto cols = changelog_columns(s);
  ASSERT_EQ(cols.size(), changelog_system_columns + s.columns.size());
  EXPECT_EQ(cols[0].name, "change_type");
  EXPECT_EQ(cols[0].type, column_type{type_id::text});
  EXPECT_EQ(cols[1].name, "log_offset");
  EXPECT_EQ(cols[1].type, column_type{type_id::int64});
  EXPECT_EQ(cols[2].name, "commit_ts");
  EXPECT_EQ(cols[2].type, column_type{type_id::timestamptz});
  for (size_t i = 0; i < s.columns.size(); ++i) {
    EXPECT_EQ(cols[3 + i].name, s.columns[i].name);
    EXPECT_EQ(cols[3 + i].type, s.columns[i].type);
  }
}

}  // namespace
}  // namespace strata::tables
