// The catalog the psql catalog tests run against (a log table "events" and a
// primary-key table "orders" partitioned by list with 4 buckets) and helpers
// that run a query and render its answer as text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sql/psql_catalog.h"
#include "sql/tests/psql_queries.h"

namespace strata::sql::psql_test {

using grid = std::vector<std::vector<std::string>>;
inline constexpr const char* null_text = "NULL";

tables::column_def col(std::string name, tables::column_type type, bool not_null = false);
tables::table_info events_table();
tables::table_info orders_table();
tables::table_info named_table(uint64_t id, std::string name, std::string key_column = "");
const std::vector<tables::table_info>& catalog();
std::string with_oid(std::string sql, uint32_t oid);

struct answer {
  std::vector<field> fields;
  grid rows;
  std::string tag;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& f : fields) out.push_back(f.name);
    return out;
  }
  std::vector<uint32_t> oids() const {
    std::vector<uint32_t> out;
    for (const auto& f : fields) out.push_back(f.type_oid);
    return out;
  }
};

// Runs `sql`; a failure to recognise or answer it fails the test.
answer run(const std::string& sql, const std::vector<tables::table_info>& tables = catalog(),
           std::string_view db = "strata", std::string_view user = "strata");

// The same query with psql's pattern replaced (psql writes `'^(orders)$'`).
std::string with_pattern(std::string sql, const std::string& from, const std::string& to);

inline const uint32_t events_oid = table_oid(1);
inline const uint32_t orders_oid = table_oid(2);
inline const uint32_t orders_pkey_oid = table_oid(2) + 1;

}  // namespace strata::sql::psql_test
