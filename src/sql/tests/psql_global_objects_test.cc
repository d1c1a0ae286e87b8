// answer_catalog_query for psql's \l, \dn, \du and the lists Strata keeps
// empty (\df, \dT, \dx).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sql/psql_catalog.h"
#include "sql/tests/psql_fixture.h"

namespace strata::sql {
namespace {

using namespace psql_test;
using tables::table_info;

TEST(PsqlCatalog, Databases) {
  answer a = run(k_databases, catalog(), "shop", "ann");
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Name", "Owner", "Encoding", "Collate", "Ctype", "ICU Locale",
                                                 "Locale Provider", "Access privileges"}));
  EXPECT_EQ(a.rows, (grid{{"shop", "ann", "UTF8", "C", "C", null_text, "libc", null_text}}));
  a = run(k_databases_verbose);
  ASSERT_EQ(a.rows.size(), 1u);
  ASSERT_EQ(a.fields.size(), 11u);
  EXPECT_EQ(a.rows[0][8], "1508 kB");  // 8192 + 1536000 bytes
  EXPECT_EQ(a.rows[0][9], "pg_default");
  EXPECT_EQ(run(k_databases_pattern).rows.size(), 1u);                      // \l strata
  EXPECT_TRUE(run(k_databases_pattern, catalog(), "shop", "ann").rows.empty());  // \l strata, connected to shop
}

TEST(PsqlCatalog, Schemas) {
  EXPECT_EQ(run(k_schemas, catalog(), "strata", "ann").rows, (grid{{"public", "ann"}}));
  EXPECT_EQ(run(k_schemas_verbose).rows,
            (grid{{"public", "strata", "strata=UC/strata\n=U/strata", "standard public schema"}}));
  EXPECT_EQ(run(k_schemas_pattern).rows, (grid{{"public", "strata"}}));
  EXPECT_TRUE(run(with_pattern(k_schemas_pattern, "'^(public)$'", "'^(pg_catalog)$'")).rows.empty());
  answer a = run(k_schema_publications);
  EXPECT_EQ(a.fields.size(), 1u);
  EXPECT_TRUE(a.rows.empty());
}

TEST(PsqlCatalog, Roles) {
  answer a = run(k_roles, catalog(), "strata", "ann");
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{19, 16, 16, 16, 16, 16, 23, 1184, 1003, 16, 16}));
  EXPECT_EQ(a.rows, (grid{{"ann", "t", "t", "t", "t", "t", "-1", null_text, "{}", "f", "f"}}));
  a = run(k_roles_verbose);
  EXPECT_EQ(a.rows, (grid{{"strata", "t", "t", "t", "t", "t", "-1", null_text, "{}", null_text, "f", "f"}}));
  EXPECT_EQ(run(k_roles_pattern).rows.size(), 1u);
  EXPECT_TRUE(run(k_roles_pattern, catalog(), "strata", "ann").rows.empty());
}

TEST(PsqlCatalog, NoFunctionsTypesOrExtensions) {
  const std::pair<const char*, std::vector<std::string>> queries[] = {
      {k_functions, {"Schema", "Name", "Result data type", "Argument data types", "Type"}},
      {k_types, {"Schema", "Name", "Description"}},
      {k_extensions, {"Name", "Version", "Schema", "Description"}},
  };
  for (const auto& [sql, names] : queries) {
    answer a = run(sql);
    EXPECT_EQ(a.names(), names);
    EXPECT_TRUE(a.rows.empty());
  }
  EXPECT_EQ(run(k_functions_verbose).fields.size(), 13u);
}

}  // namespace
}  // namespace strata::sql
