// answer_catalog_query for psql's \d NAME: the relation lookup, table and
// index details, columns and the features Strata lacks.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "sql/psql_catalog.h"
#include "sql/tests/psql_fixture.h"

namespace strata::sql {
namespace {

using namespace psql_test;
using tables::table_info;

TEST(PsqlCatalog, LookupFindsTablesAndIndexesByPattern) {
  answer a = run(k_lookup);
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{26, 19, 19}));
  EXPECT_EQ(a.rows, (grid{{std::to_string(orders_oid), "public", "orders"}}));
  a = run(k_lookup_pattern);
  EXPECT_EQ(a.rows, (grid{{std::to_string(orders_oid), "public", "orders"},
                          {std::to_string(orders_pkey_oid), "public", "orders_pkey"}}));
  EXPECT_TRUE(run(with_pattern(k_lookup, "'^(orders)$'", "'^(nosuch)$'")).rows.empty());
}

TEST(PsqlCatalog, TableInfo) {
  answer a = run(with_oid(k_table_info, orders_oid));
  ASSERT_EQ(a.fields.size(), 15u);
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{21, 18, 16, 16, 16, 16, 16, 16, 16, 25, 26, 25, 18, 18, 19}));
  EXPECT_EQ(a.rows, (grid{{"0", "r", "t", "f", "f", "f", "f", "f", "f", "", "0", "", "p", "d", "strata_pk"}}));
  // \d+ asks for reloptions, which carry the partitioning and buckets (psql prints "Options: ...").
  a = run(with_oid(k_table_info_verbose, orders_oid));
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][9], "partition_by=list(region), buckets=4");
  a = run(with_oid(k_table_info_verbose, events_oid));
  EXPECT_EQ(a.rows, (grid{{"0", "r", "f", "f", "f", "f", "f", "f", "f", "", "0", "", "p", "d", "strata_log"}}));
  a = run(with_oid(k_table_info, orders_pkey_oid));
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][1], "i");
  EXPECT_EQ(a.rows[0][14], "btree");
  EXPECT_TRUE(run(with_oid(k_table_info, 99999)).rows.empty());
}

TEST(PsqlCatalog, RangePartitionsAndBucketKeysShowAsOptions) {
  table_info t = events_table();
  t.schema.partitioning = {tables::partition_kind::range_time, 0, tables::time_unit::month};
  t.schema.buckets = 2;
  t.schema.bucket_key = {1};
  answer a = run(with_oid(k_table_info_verbose, events_oid), {t});
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][9], "partition_by=range(ts) interval month, buckets=2, bucket_key=(kind)");
}

TEST(PsqlCatalog, Columns) {
  answer a = run(with_oid(k_columns, orders_oid));
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{19, 25, 25, 16, 19, 18, 18}));
  EXPECT_EQ(a.rows, (grid{{"id", "bigint", null_text, "t", null_text, "", ""},
                          {"region", "character varying(20)", null_text, "t", null_text, "", ""},
                          {"created", "date", null_text, "f", null_text, "", ""},
                          {"total", "numeric(12,2)", null_text, "f", null_text, "", ""},
                          {"ok", "boolean", null_text, "f", null_text, "", ""}}));
  a = run(with_oid(k_columns_verbose, events_oid));
  EXPECT_EQ(a.rows, (grid{{"ts", "timestamp with time zone", null_text, "t", null_text, "", "", "p", "", null_text,
                           null_text},
                          {"kind", "text", null_text, "f", null_text, "", "", "x", "", null_text, null_text},
                          {"amount", "numeric(10,2)", null_text, "f", null_text, "", "", "m", "", null_text, null_text},
                          {"payload", "json", null_text, "f", null_text, "", "", "x", "", null_text, null_text}}));
  EXPECT_TRUE(run(with_oid(k_columns, orders_pkey_oid)).rows.empty());  // the index form is another query
}

TEST(PsqlCatalog, PrimaryKeyIsTheTablesIndex) {
  answer a = run(with_oid(k_table_indexes, orders_oid));
  EXPECT_EQ(a.rows, (grid{{"orders_pkey", "t", "t", "f", "t",
                           "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id, region)",
                           "PRIMARY KEY (id, region)", "p", "f", "f", "f", "0"}}));
  EXPECT_TRUE(run(with_oid(k_table_indexes, events_oid)).rows.empty());
}

TEST(PsqlCatalog, NamesThatNeedQuotesAreQuoted) {
  const std::vector<table_info> tables = {named_table(3, "Order Items", "Key"), named_table(4, "user", "order")};
  answer a = run(with_oid(k_table_indexes, table_oid(3)), tables);
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][0], "Order Items_pkey");
  EXPECT_EQ(a.rows[0][5], "CREATE UNIQUE INDEX \"Order Items_pkey\" ON public.\"Order Items\" USING btree (\"Key\")");
  EXPECT_EQ(a.rows[0][6], "PRIMARY KEY (\"Key\")");
  a = run(with_oid(k_table_indexes, table_oid(4)), tables);
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][5], "CREATE UNIQUE INDEX user_pkey ON public.\"user\" USING btree (\"order\")");
}

TEST(PsqlCatalog, LongNamesClipTheIndexNameTo63Bytes) {
  const std::string name(63, 'a');
  answer a = run(k_list_di, {named_table(3, name, "k")});
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][1], std::string(58, 'a') + "_pkey");
}

TEST(PsqlCatalog, DescribeIndex) {
  answer a = run(with_oid(k_index_columns, orders_pkey_oid));
  EXPECT_EQ(a.names(), (std::vector<std::string>{"attname", "format_type", "is_key", "indexdef"}));
  EXPECT_EQ(a.rows, (grid{{"id", "bigint", "yes", "id"}, {"region", "character varying(20)", "yes", "region"}}));
  a = run(with_oid(k_index_columns_verbose, orders_pkey_oid));
  EXPECT_EQ(a.rows, (grid{{"id", "bigint", "yes", "id", "p", null_text},
                          {"region", "character varying(20)", "yes", "region", "x", null_text}}));
  EXPECT_TRUE(run(with_oid(k_index_columns, orders_oid)).rows.empty());
  a = run(with_oid(k_index_info, orders_pkey_oid));
  EXPECT_EQ(a.rows, (grid{{"t", "t", "f", "t", "f", "f", "f", "f", "btree", "orders", null_text}}));
  EXPECT_TRUE(run(with_oid(k_index_info, orders_oid)).rows.empty());
}

TEST(PsqlCatalog, FeaturesStrataLacksAnswerNoRows) {
  const std::pair<const char*, size_t> queries[] = {
      {k_policies, 6}, {k_statistics, 9}, {k_publications, 3}, {k_inherits, 1}, {k_partitions, 4}};
  for (auto [sql, columns] : queries) {
    answer a = run(with_oid(sql, orders_oid));
    EXPECT_EQ(a.fields.size(), columns) << sql;
    EXPECT_TRUE(a.rows.empty()) << sql;
    EXPECT_EQ(a.tag, "SELECT 0");
  }
}

}  // namespace
}  // namespace strata::sql
