#include "sql/tests/psql_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace strata::sql::psql_test {

using tables::column_def;
using tables::column_type;
using tables::table_info;
using tables::type_id;

column_def col(std::string name, column_type type, bool not_null) { return {std::move(name), type, not_null}; }

table_info events_table() {
  table_info t;
  t.table_id = 1;
  t.schema.name = "events";
  t.schema.kind = tables::table_kind::log;
  t.schema.columns = {col("ts", {type_id::timestamptz}, true), col("kind", {type_id::text}),
                      col("amount", {type_id::numeric, 10, 2}), col("payload", {type_id::json})};
  t.stored_bytes = 8192;
  return t;
}

table_info orders_table() {
  table_info t;
  t.table_id = 2;
  t.schema.name = "orders";
  t.schema.kind = tables::table_kind::primary_key;
  t.schema.columns = {col("id", {type_id::int64}, true), col("region", {type_id::text, 0, 0, 20}, true),
                      col("created", {type_id::date}), col("total", {type_id::numeric, 12, 2}),
                      col("ok", {type_id::boolean})};
  t.schema.primary_key = {0, 1};
  t.schema.partitioning.kind = tables::partition_kind::list;
  t.schema.partitioning.column = 1;
  t.schema.buckets = 4;
  t.stored_bytes = 1536000;
  return t;
}

table_info named_table(uint64_t id, std::string name, std::string key_column) {
  table_info t;
  t.table_id = id;
  t.schema.name = std::move(name);
  t.schema.columns = {col(key_column.empty() ? "x" : key_column, {type_id::int32}, !key_column.empty())};
  if (!key_column.empty()) {
    t.schema.kind = tables::table_kind::primary_key;
    t.schema.primary_key = {0};
  }
  return t;
}

const std::vector<table_info>& catalog() {
  static const std::vector<table_info> tables = {orders_table(), events_table()};
  return tables;
}

std::string with_oid(std::string sql, uint32_t oid) {
  for (size_t at; (at = sql.find("%OID%")) != std::string::npos;) sql.replace(at, 5, std::to_string(oid));
  return sql;
}

namespace {

std::string cell(const tables::column_vector& c, uint32_t row) {
  if (c.is_null(row)) return null_text;
  auto v = tables::scalar_at(c, row);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "t" : "f";
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return "?";
}

}  // namespace

answer run(const std::string& sql, const std::vector<table_info>& tables, std::string_view db,
           std::string_view user) {
  auto got = answer_catalog_query(sql, tables, db, user);
  answer a;
  EXPECT_TRUE(got.has_value()) << "not recognised:\n" << sql;
  if (!got) return a;
  EXPECT_TRUE(got->ok()) << got->err().message << "\n" << sql;
  if (!got->ok()) return a;
  const catalog_answer& c = got->value();
  a.fields = c.fields;
  a.tag = c.command_tag;
  EXPECT_EQ(c.fields.size(), c.rows.columns.size());
  for (const auto& column : c.rows.columns) EXPECT_EQ(column.row_count, c.rows.row_count);
  for (uint32_t r = 0; r < c.rows.row_count; ++r) {
    std::vector<std::string> row;
    for (const auto& column : c.rows.columns) row.push_back(cell(column, r));
    a.rows.push_back(std::move(row));
  }
  return a;
}

std::string with_pattern(std::string sql, const std::string& from, const std::string& to) {
  size_t at = sql.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) sql.replace(at, from.size(), to);
  return sql;
}

}  // namespace strata::sql::psql_test
