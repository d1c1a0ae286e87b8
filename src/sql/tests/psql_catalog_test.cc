// answer_catalog_query against the queries psql 15 really sends
// (psql_queries.h), which must get the rows that make psql print Strata's
// catalog: oids, the relation lists (\d, \dt, \di, \dv and their name
// patterns) and what is not a catalog query. \d NAME: psql_describe_test.cc;
// \l, \dn, \du and the empty lists: psql_global_objects_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sql/psql_catalog.h"
#include "sql/tests/psql_fixture.h"

namespace strata::sql {
namespace {

using namespace psql_test;
using tables::table_info;

TEST(PsqlCatalog, TableOidsAreStableDistinctAndLeaveRoomForTheIndex) {
  EXPECT_EQ(table_oid(7), table_oid(7));
  EXPECT_GE(table_oid(0), 16384u);
  EXPECT_GE(table_oid(2), table_oid(1) + 2);
  EXPECT_NE(table_oid(1), table_oid(2));
}

TEST(PsqlCatalog, BackslashDListsTablesSortedByName) {
  for (const char* sql : {k_list_d, k_list_dt}) {
    answer a = run(sql);
    EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner"}));
    EXPECT_EQ(a.oids(), (std::vector<uint32_t>{19, 19, 25, 19}));
    EXPECT_EQ(a.rows, (grid{{"public", "events", "table", "strata"}, {"public", "orders", "table", "strata"}}));
    EXPECT_EQ(a.tag, "SELECT 2");
  }
}

TEST(PsqlCatalog, OwnerIsTheConnectedUser) {
  answer a = run(k_list_dt, catalog(), "strata", "ann");
  ASSERT_EQ(a.rows.size(), 2u);
  EXPECT_EQ(a.rows[0][3], "ann");
  a = run(k_list_dt, catalog(), "strata", "");
  ASSERT_EQ(a.rows.size(), 2u);
  EXPECT_EQ(a.rows[0][3], "strata");
}

TEST(PsqlCatalog, BackslashDtPlusShowsKindAndSize) {
  answer a = run(k_list_dt_verbose);
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner", "Persistence", "Access method",
                                                 "Size", "Description"}));
  EXPECT_EQ(a.rows, (grid{{"public", "events", "table", "strata", "permanent", "strata_log", "8192 bytes", null_text},
                          {"public", "orders", "table", "strata", "permanent", "strata_pk", "1500 kB", null_text}}));
}

TEST(PsqlCatalog, SizesPrintLikePgSizePretty) {
  auto size_of = [](uint64_t bytes) {
    table_info t = named_table(3, "t");
    t.stored_bytes = bytes;
    answer a = run(k_list_dt_verbose, {t});
    return a.rows.empty() ? std::string() : a.rows[0][6];
  };
  EXPECT_EQ(size_of(0), "0 bytes");
  EXPECT_EQ(size_of(10239), "10239 bytes");
  EXPECT_EQ(size_of(10240), "10 kB");
  EXPECT_EQ(size_of(10751), "10 kB");
  EXPECT_EQ(size_of(10752), "11 kB");
  EXPECT_EQ(size_of(20 * 1024 * 1024), "20 MB");
  EXPECT_EQ(size_of(uint64_t(5) << 40), "5120 GB");
}

TEST(PsqlCatalog, PatternsSelectTables) {
  auto names = [](const char* sql, const std::vector<table_info>& tables = catalog()) {
    std::vector<std::string> out;
    for (const auto& row : run(sql, tables).rows) out.push_back(row[1]);
    return out;
  };
  using list = std::vector<std::string>;
  EXPECT_EQ(names(k_list_dt_pattern), list{"orders"});         // ord*
  EXPECT_EQ(names(k_list_dt_question), list{"orders"});        // ord?rs
  EXPECT_EQ(names(k_list_dt_alternatives), (list{"events", "orders"}));
  EXPECT_EQ(names(k_list_dt_schema), (list{"events", "orders"}));  // public.*
  EXPECT_EQ(names(k_list_dt_schema_pattern), list{"orders"});     // public.ord*
  EXPECT_TRUE(names(with_pattern(k_list_dt_schema_pattern, "'^(public)$'", "'^(other)$'").c_str()).empty());
  EXPECT_TRUE(names(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^(rders)$'").c_str()).empty());

  const std::vector<table_info> odd = {named_table(3, "MixedCase"), named_table(4, "mixedcase2"),
                                       named_table(5, "t$changelog"), named_table(6, "tXchangelog")};
  EXPECT_EQ(names(k_list_dt_quoted, odd), list{"MixedCase"});     // "MixedCase": case kept
  EXPECT_EQ(names(k_list_dt_dollar, odd), list{"t$changelog"});   // E'^(t\\$changelog)$'
  EXPECT_EQ(names(k_list_d, odd), (list{"MixedCase", "mixedcase2", "t$changelog", "tXchangelog"}));
}

TEST(PsqlCatalog, RegularExpressionsTheUserTypes) {
  const std::vector<table_info> tables = {named_table(3, "events"), named_table(4, "orders"),
                                          named_table(5, "order_2024"), named_table(6, "Order.Items"),
                                          named_table(7, "a+b")};
  auto names = [&](const std::string& regex) {
    std::vector<std::string> out;
    for (const auto& row : run(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", regex), tables).rows) out.push_back(row[1]);
    return out;
  };
  using list = std::vector<std::string>;
  EXPECT_EQ(names("'^([a-f]vents|o.*)$'"), (list{"events", "order_2024", "orders"}));
  // psql sends standard strings ('\d' is backslash d) or, when the pattern has a
  // backslash and standard_conforming_strings is off, E strings ('\\d').
  EXPECT_EQ(names("'^(order_\\d+)$'"), list{"order_2024"});
  EXPECT_EQ(names("E'^(order_\\\\d+)$'"), list{"order_2024"});
  EXPECT_EQ(names("'^(order_[0-9]+)$'"), list{"order_2024"});
  EXPECT_EQ(names("'^(orders?)$'"), list{"orders"});
  EXPECT_EQ(names("'^(Order\\.Items)$'"), list{"Order.Items"});  // psql's escaping of a quoted "."
  EXPECT_EQ(names("'^(Order\\\\.Items)$'"), list{});               // a literal backslash
  EXPECT_EQ(names("E'^(a\\\\+b)$'"), list{"a+b"});
  EXPECT_EQ(names("'^(a+b)$'"), list{});
  EXPECT_EQ(names("'^([^eo].*)$'"), (list{"Order.Items", "a+b"}));
  EXPECT_EQ(names("'^((?:or)der.*)$'"), (list{"order_2024", "orders"}));
  EXPECT_EQ(names("'der'"), (list{"Order.Items", "order_2024", "orders"}));  // unanchored: anywhere in the name
  EXPECT_EQ(names("'^()$'"), list{});
  EXPECT_EQ(names("'^(|events)$'"), list{"events"});
}

TEST(PsqlCatalog, PatternsMatchInLinearTime) {
  const std::string name(63, 'a');
  const auto started = std::chrono::steady_clock::now();
  answer a = run(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^(((a*)*)*)*b$'"), {named_table(3, name)});
  EXPECT_TRUE(a.rows.empty());
  a = run(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^(((a*)*)*)*$'"), {named_table(3, name)});
  EXPECT_EQ(a.rows.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(PsqlCatalog, ABadPatternIsAnError) {
  for (const char* regex : {"'^(a{2})$'", "'^([b-a])$'", "'^([abc)$'", "'^(a))$'", "'*a'", "'a\\'"}) {
    auto got = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", regex), catalog(), "strata",
                                    "strata");
    ASSERT_TRUE(got.has_value()) << regex;
    ASSERT_FALSE(got->ok()) << regex;
    EXPECT_EQ(got->err().sqlstate, "2201B") << regex;
  }
  // E'a\' never closes: the query itself is malformed.
  auto open = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "E'a\\'"), catalog(), "strata",
                                   "strata");
  ASSERT_TRUE(open.has_value());
  ASSERT_FALSE(open->ok());
  EXPECT_EQ(open->err().sqlstate, "42601");
  std::string deep = "'" + std::string(100, '(') + "a" + std::string(100, ')') + "'";
  auto got = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", deep), catalog(), "strata", "strata");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
}

TEST(PsqlCatalog, UnbalancedParenthesesAreAnError) {
  auto got = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^((ord$'"), catalog(), "strata",
                                  "strata");
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->err().sqlstate, "2201B");
}

TEST(PsqlCatalog, IndexesAreThePrimaryKeys) {
  answer a = run(k_list_di);
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner", "Table"}));
  EXPECT_EQ(a.rows, (grid{{"public", "orders_pkey", "index", "strata", "orders"}}));
  a = run(k_list_di_verbose);
  EXPECT_EQ(a.rows, (grid{{"public", "orders_pkey", "index", "strata", "orders", "permanent", "btree", null_text,
                           null_text}}));
}

TEST(PsqlCatalog, ViewsAndOtherKindsAreEmpty) {
  answer a = run(k_list_dv);
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner"}));
  EXPECT_TRUE(a.rows.empty());
  EXPECT_EQ(a.tag, "SELECT 0");
  a = run(k_list_dv_verbose);
  EXPECT_EQ(a.fields.size(), 7u);
  EXPECT_TRUE(a.rows.empty());
}

TEST(PsqlCatalog, EmptyCatalog) {
  EXPECT_TRUE(run(k_list_dt, {}).rows.empty());
  EXPECT_TRUE(run(k_lookup, {}).rows.empty());
  EXPECT_EQ(run(k_databases, {}).rows.size(), 1u);
}

TEST(PsqlCatalog, WhitespaceAndSemicolonsDoNotMatter) {
  std::string flat;
  for (const char* p = k_list_dt; *p != '\0'; ++p) {
    if (*p == '\n') {
      flat += " \t  ";
    } else {
      flat.push_back(*p);
    }
  }
  while (!flat.empty() && flat.back() == ';') flat.pop_back();
  EXPECT_EQ(run("\n  " + flat + "  ").rows, run(k_list_dt).rows);
  EXPECT_EQ(run(flat + " ;").rows.size(), 2u);
}

TEST(PsqlCatalog, OtherSelectsAreNotCatalogQueries) {
  for (const char* sql : {
           "SELECT 1",
           "SELECT * FROM orders",
           "SELECT * FROM pg_catalog.pg_class",
           "SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r'",
           "SELECT c.oid, c.relname FROM pg_catalog.pg_class c",
           "SELECT n.nspname FROM pg_catalog.pg_namespace n",
           "SELECT datname FROM pg_catalog.pg_database",
           "SELECT pg_catalog.version()",
           "SELECT rolname FROM pg_catalog.pg_roles",
           "SELECT 'select n.nspname as \"Schema\"' FROM t",
           "",
       }) {
    EXPECT_FALSE(answer_catalog_query(sql, catalog(), "strata", "strata").has_value()) << sql;
  }
  EXPECT_FALSE(answer_catalog_query(std::string(100000, ' ') + k_list_dt, catalog(), "strata", "strata").has_value());
}

}  // namespace
}  // namespace strata::sql
