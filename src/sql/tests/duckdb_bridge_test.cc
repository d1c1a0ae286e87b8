// The DuckDB bridge against a small in-memory tables::service: every query
// over strata_scan must give the same rows as DuckDB over a native copy of
// the same data, with and without statistics pruning; plus type mapping,
// value conversion and error mapping.
#include <gtest/gtest.h>

#include "sql/pg_types.h"
#include "sql/tests/bridge_fixture.h"

namespace strata::sql {
namespace {

using namespace bridge_test;
using tables::column_batch;
using tables::column_type;
using tables::column_vector;
using tables::type_id;

const std::vector<uint32_t> mixed_batches = {1, 2048, 2049, 5000, 300, 7, 4096, 100, 3000, 1500, 64, 2500};

TEST_F(BridgeTest, FullScanMatchesNative) {
  add_table("t", all_type_columns(), mixed_batches, 5);
  expect_same("SELECT * FROM {t} ORDER BY id");
  expect_same("SELECT count(*) FROM {t}");
  expect_same("SELECT count(*), count(s), sum(i32), min(n38), max(n38), min(tz), max(d), sum(n4), sum(n9), sum(n18) FROM {t}");
}

TEST_F(BridgeTest, ProjectionsAndFiltersMatchNative) {
  add_table("t", all_type_columns(), mixed_batches, 5);
  const char* queries[] = {
      "SELECT s, id FROM {t} WHERE id = 5000 ORDER BY id",
      "SELECT id FROM {t} WHERE id < 100 OR id > 27000 ORDER BY id",
      "SELECT id, i16 FROM {t} WHERE i16 >= 600 AND i16 < 9000 ORDER BY id",
      "SELECT id FROM {t} WHERE i32 <> 0 AND id BETWEEN 3000 AND 9000 ORDER BY id",
      "SELECT id FROM {t} WHERE i32 IN (100000, -200000, 300000) ORDER BY id",
      "SELECT id FROM {t} WHERE s IS NULL ORDER BY id",
      "SELECT count(*) FROM {t} WHERE s IS NOT NULL AND flag",
      "SELECT id, s FROM {t} WHERE s = 'v17' ORDER BY id",
      "SELECT id, s FROM {t} WHERE s > 'v5' AND s < 'v6' ORDER BY id",
      "SELECT id FROM {t} WHERE s LIKE 'v1%' ORDER BY id",
      "SELECT id, f32 FROM {t} WHERE f32 > 12.5 ORDER BY id",
      "SELECT id, f64 FROM {t} WHERE f64 <= -300 ORDER BY id",
      "SELECT id, n4 FROM {t} WHERE n4 > 5.00 ORDER BY id",
      "SELECT id, n9 FROM {t} WHERE n9 = 0.123 OR n9 < -999999.000 ORDER BY id",
      "SELECT id, n18 FROM {t} WHERE n18 >= 12345678901.2345 ORDER BY id",
      "SELECT id, n38 FROM {t} WHERE n38 > 1000000000000000000000.000000 ORDER BY id",
      "SELECT id, n38 FROM {t} WHERE n38 = 0.000100 ORDER BY id",
      "SELECT id FROM {t} WHERE d >= DATE '2022-01-01' AND d < DATE '2022-02-01' ORDER BY id",
      "SELECT id FROM {t} WHERE ts > TIMESTAMP '2023-12-01 00:00:00' ORDER BY id",
      "SELECT id FROM {t} WHERE tz < TIMESTAMPTZ '2023-11-01 00:00:00+00' ORDER BY id",
      "SELECT id, b FROM {t} WHERE b = '\\x00\\x01\\xFF17'::BLOB ORDER BY id",
      "SELECT id, j FROM {t} WHERE j::VARCHAR = '{\"k\": 17}' ORDER BY id",
      "SELECT flag, count(*) FROM {t} WHERE NOT flag GROUP BY flag",
      "SELECT i16 % 7 AS k, sum(i32), count(*) FROM {t} WHERE id % 3 = 1 GROUP BY k ORDER BY k",
      "SELECT s FROM {t} WHERE id = 12 OR i16 = 30 ORDER BY s",
      "SELECT id FROM {t} ORDER BY i32 DESC NULLS LAST, id LIMIT 10",
      "SELECT count(*) FROM {t} WHERE id > 100000",
  };
  for (const char* q : queries) expect_same(q);
}

TEST_F(BridgeTest, FiltersArePushedAsPredicatesAndPrune) {
  add_table("t", all_type_columns(), mixed_batches, 1);
  set_statistics(true);
  auto out = run(*con_, "SELECT s FROM t WHERE id = 9000");
  ASSERT_EQ(out.rfind("ERROR", 0), std::string::npos) << out;
  ASSERT_FALSE(service_.specs.empty());
  const auto& spec = service_.specs.back();
  bool found = false;
  for (const auto& p : spec.predicates) {
    if (p.column == 0 && p.kind == tables::column_predicate::op::eq) {
      ASSERT_EQ(p.values.size(), 1u);
      EXPECT_EQ(std::get<int64_t>(p.values[0]), 9000);
      found = true;
    }
  }
  EXPECT_TRUE(found) << "no eq predicate on id";
  EXPECT_TRUE(spec.use_statistics);
  // Ids are ascending per batch, so every batch but one is skipped.
  EXPECT_EQ(service_.skipped.back()->load(), mixed_batches.size() - 1);

  run(*con_, "SELECT id FROM t WHERE n18 > 5.5 AND s IN ('v1', 'v2')");
  const auto& spec2 = service_.specs.back();
  bool numeric_found = false;
  bool in_found = false;
  for (const auto& p : spec2.predicates) {
    if (p.column == 7 && p.kind == tables::column_predicate::op::gt) {
      numeric_found = std::get<__int128>(p.values[0]) == 55000;
    }
    if (p.column == 9 && p.kind == tables::column_predicate::op::in) in_found = p.values.size() == 2;
  }
  EXPECT_TRUE(numeric_found);
  EXPECT_TRUE(in_found);
  // Projection: the scan reads the filter columns and the output column only.
  EXPECT_EQ(spec2.columns.size(), 3u);
}

TEST_F(BridgeTest, StatisticsOffReadsEverything) {
  add_table("t", all_type_columns(), mixed_batches, 1);
  set_statistics(false);
  run(*con_, "SELECT s FROM t WHERE id = 9000");
  EXPECT_FALSE(service_.specs.back().use_statistics);
  EXPECT_EQ(service_.skipped.back()->load(), 0u);
}

TEST_F(BridgeTest, SelectionHidesRows) {
  add_table("t", all_type_columns(), mixed_batches, 3, tables::table_kind::log, true);
  expect_same("SELECT * FROM {t} ORDER BY id");
  expect_same("SELECT count(*), sum(i32) FROM {t} WHERE i16 > 0");
  expect_same("SELECT id, s FROM {t} WHERE s > 'v5' ORDER BY id");
}

TEST_F(BridgeTest, ParallelScanOfManyUnits) {
  std::vector<tables::column_def> columns = {{"id", {type_id::int64}, true}, {"v", {type_id::int32}}};
  std::vector<uint32_t> batches(200, 3000);
  add_table("t", columns, batches, 64);
  expect_same("SELECT count(*), sum(id), sum(v), min(id), max(id) FROM {t}");
  expect_same("SELECT count(*), sum(v) FROM {t} WHERE id % 2 = 0 AND v > 0");
  EXPECT_EQ(run(*con_, "SELECT count(DISTINCT id) = 600000 AS x FROM t"), run(*con_, "SELECT true AS x"));
}

TEST_F(BridgeTest, ParallelResultKeepsUnitOrder) {
  std::vector<tables::column_def> columns = {{"id", {type_id::int64}, true}};
  std::vector<uint32_t> batches(40, 3000);
  add_table("t", columns, batches, 8);
  std::vector<int64_t> expected;
  for (const auto& unit : service_.tables["t"].units) {
    for (const auto& batch : unit) {
      for (uint32_t r = 0; r < batch.row_count; r++) expected.push_back(std::get<int64_t>(tables::scalar_at(batch.columns[0], r)));
    }
  }
  auto result = con_->Query("SELECT id FROM t");
  ASSERT_FALSE(result->HasError()) << result->GetError();
  ASSERT_EQ(result->RowCount(), expected.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < expected.size(); i++) mismatches += result->GetValue(0, i).GetValue<int64_t>() != expected[i];
  EXPECT_EQ(mismatches, 0u);
}

TEST_F(BridgeTest, EmptyTableAndUnits) {
  std::vector<tables::column_def> columns = {{"id", {type_id::int64}, true}, {"s", {type_id::text}}};
  add_table("t", columns, {}, 4);
  expect_same("SELECT count(*), max(s) FROM {t}");
  expect_same("SELECT * FROM {t}");
}

TEST_F(BridgeTest, NamesAliasesAndSchemas) {
  std::vector<tables::column_def> columns = {{"a", {type_id::int32}}, {"b", {type_id::text}}};
  add_table("t", columns, {10}, 1);
  expect_same("SELECT {t}.a FROM {t} ORDER BY 1");
  expect_same("SELECT x.a, x.b FROM {t} AS x WHERE x.a > 0 ORDER BY 1");
  expect_same("SELECT p.a FROM {t} p JOIN {t} q ON p.a = q.a ORDER BY 1");
  EXPECT_EQ(run(*con_, "SELECT count(*) FROM public.t"), run(*con_, "SELECT count(*) FROM t_native"));
  EXPECT_EQ(run(*con_, "SELECT count(*) FROM T"), run(*con_, "SELECT count(*) FROM t_native"));
  EXPECT_EQ(run(*con_, "SELECT count(*) FROM strata_scan('t')"), run(*con_, "SELECT count(*) FROM t_native"));
}

TEST_F(BridgeTest, MissingTableIsUndefinedTable) {
  auto r = con_->Query("SELECT * FROM nope");
  ASSERT_TRUE(r->HasError());
  auto e = error_of(r->GetErrorObject());
  EXPECT_EQ(e.sqlstate, "42P01");
  EXPECT_EQ(e.message, "relation \"nope\" does not exist");

  auto r2 = con_->Query("SELECT * FROM strata_scan('nope')");
  ASSERT_TRUE(r2->HasError());
  auto e2 = error_of(r2->GetErrorObject());
  EXPECT_EQ(e2.sqlstate, "42P01");
  EXPECT_EQ(e2.message, "relation \"nope\" does not exist");
}

TEST_F(BridgeTest, Changelog) {
  std::vector<tables::column_def> columns = {{"k", {type_id::int64}, true}, {"v", {type_id::text}}};
  add_table("pk", columns, {100, 50}, 2, tables::table_kind::primary_key);
  add_table("logt", columns, {10}, 1);
  fake_table& t = service_.tables["pk"];
  auto cl_columns = tables::changelog_columns(t.schema);
  ASSERT_EQ(cl_columns.size(), 5u);
  t.changelog_units.resize(2);
  for (int u = 0; u < 2; u++) {
    column_batch b;
    for (const auto& c : cl_columns) b.columns.emplace_back(c.type);
    for (int r = 0; r < 30; r++) {
      tables::append_scalar(b.columns[0], std::string(r % 3 == 0 ? "+I" : r % 3 == 1 ? "-U" : "+U"));
      tables::append_scalar(b.columns[1], int64_t(u * 100 + r));
      tables::append_scalar(b.columns[2], int64_t(1700000000000000LL + r));
      tables::append_scalar(b.columns[3], int64_t(r / 3));
      tables::append_scalar(b.columns[4], std::string("row") + std::to_string(r));
    }
    b.row_count = 30;
    t.changelog_units[u].push_back(std::move(b));
  }
  create_native("pk_changelog_native", t, true);
  EXPECT_EQ(run(*con_, "SELECT * FROM \"pk$changelog\" ORDER BY 2"),
            run(*con_, "SELECT * FROM pk_changelog_native ORDER BY 2"));
  EXPECT_EQ(run(*con_, "SELECT k, count(*) FROM \"pk$changelog\" WHERE change_type = '+U' GROUP BY k ORDER BY k"),
            run(*con_, "SELECT k, count(*) FROM pk_changelog_native WHERE change_type = '+U' GROUP BY k ORDER BY k"));
  EXPECT_TRUE(service_.specs.back().changelog);
  EXPECT_EQ(run(*con_, "SELECT count(*) AS n FROM strata_scan('pk', changelog := true)"),
            run(*con_, "SELECT 60::BIGINT AS n"));

  auto r = con_->Query("SELECT * FROM \"logt$changelog\"");
  ASSERT_TRUE(r->HasError());
  EXPECT_EQ(error_of(r->GetErrorObject()).sqlstate, "42P01");
}

TEST_F(BridgeTest, ScanContextFromClientContext) {
  add_table("t", all_type_columns(), {10}, 1);
  con_->context->registered_state->Remove(scan_context::key);
  run(*con_, "SELECT count(*) FROM t");
  EXPECT_TRUE(service_.specs.back().use_statistics);  // default without a context
  set_statistics(false);
  run(*con_, "SELECT count(*) FROM t");
  EXPECT_FALSE(service_.specs.back().use_statistics);
}

// ---------------------------------------------------------------------------
// Conversions.

void expect_same_columns(const column_batch& a, const column_batch& b) {
  ASSERT_EQ(a.row_count, b.row_count);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (size_t c = 0; c < a.columns.size(); c++) {
    ASSERT_EQ(a.columns[c].type, b.columns[c].type) << "column " << c;
    for (uint32_t r = 0; r < a.row_count; r++) {
      EXPECT_TRUE(tables::scalar_at(a.columns[c], r) == tables::scalar_at(b.columns[c], r))
          << "column " << c << " row " << r;
    }
  }
}

TEST_F(BridgeTest, AppendChunkRoundTripsEveryType) {
  auto columns = all_type_columns();
  std::mt19937_64 rng(7);
  int64_t next_id = 0;
  column_batch source = random_batch(columns, 3000, next_id, rng);
  service_.tables["t"].schema.name = "t";
  service_.tables["t"].schema.columns = columns;
  service_.tables["t"].units = {{source}};

  auto result = con_->Query("SELECT * FROM t");
  ASSERT_FALSE(result->HasError()) << result->GetError();
  std::vector<field> fields;
  for (size_t c = 0; c < result->ColumnCount(); c++) fields.push_back(field_of(result->names[c], result->types[c]));
  for (size_t c = 0; c < columns.size(); c++) {
    EXPECT_EQ(fields[c].type, columns[c].type) << columns[c].name;
    EXPECT_FALSE(fields[c].text_only);
  }
  column_batch via_fields;
  column_batch via_table;
  std::vector<column_type> types;
  for (const auto& c : columns) types.push_back(c.type);
  while (auto chunk = result->Fetch()) {
    append_chunk(*chunk, fields, via_fields);
    auto rows = chunk_to_table_rows(*chunk, types);
    ASSERT_TRUE(rows.ok()) << rows.err().message;
    for (size_t c = 0; c < types.size(); c++) {
      for (uint32_t r = 0; r < rows->row_count; r++) {
        tables::append_scalar(c < via_table.columns.size() ? via_table.columns[c]
                                                           : via_table.columns.emplace_back(types[c]),
                              tables::scalar_at(rows->columns[c], r));
      }
    }
    via_table.row_count += rows->row_count;
  }
  expect_same_columns(via_fields, source);
  expect_same_columns(via_table, source);
}

TEST_F(BridgeTest, ChunkToTableRowsCastsWidths) {
  auto result = con_->Query(
      "SELECT 7::TINYINT, 70000::INTEGER, 1.5::DECIMAL(3,1), 12345678901234567890::HUGEINT, "
      "TIMESTAMP_MS '2024-01-02 03:04:05.678', TIMESTAMP_NS '1969-12-31 23:59:59.9999995', NULL::INTEGER, 'x'");
  ASSERT_FALSE(result->HasError()) << result->GetError();
  auto chunk = result->Fetch();
  ASSERT_TRUE(chunk);
  std::vector<column_type> types = {{type_id::int64},
                                    {type_id::int64},
                                    {type_id::numeric, 10, 2},
                                    {type_id::numeric, 38, 0},
                                    {type_id::timestamp},
                                    {type_id::timestamp},
                                    {type_id::int16},
                                    {type_id::text}};
  auto rows = chunk_to_table_rows(*chunk, types);
  ASSERT_TRUE(rows.ok()) << rows.err().message;
  EXPECT_EQ(std::get<int64_t>(tables::scalar_at(rows->columns[0], 0)), 7);
  EXPECT_EQ(std::get<int64_t>(tables::scalar_at(rows->columns[1], 0)), 70000);
  EXPECT_TRUE(std::get<__int128>(tables::scalar_at(rows->columns[2], 0)) == 150);
  EXPECT_TRUE(std::get<__int128>(tables::scalar_at(rows->columns[3], 0)) == __int128(12345678901234567890ULL));
  EXPECT_EQ(std::get<int64_t>(tables::scalar_at(rows->columns[4], 0)), 1704164645678000LL);
  EXPECT_EQ(std::get<int64_t>(tables::scalar_at(rows->columns[5], 0)), -1);  // floor of -0.5 us
  EXPECT_TRUE(rows->columns[6].is_null(0));
  EXPECT_EQ(std::get<std::string>(tables::scalar_at(rows->columns[7], 0)), "x");

  // A value that does not fit is a data error, not a crash.
  auto big = con_->Query("SELECT 70000::INTEGER");
  auto big_chunk = big->Fetch();
  auto bad = chunk_to_table_rows(*big_chunk, {{type_id::int16}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().sqlstate, "22003");
}

TEST_F(BridgeTest, TextOnlyTypesInPostgresForm) {
  auto result = con_->Query(
      "SELECT INTERVAL '1 year 2 months 3 days 04:05:06', INTERVAL '0 seconds', -(INTERVAL '1 day 00:00:01.5'), "
      "INTERVAL '1 day' - INTERVAL '2 hours', TIME '04:05:06.5', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID, "
      "[1, 2, 3], NULL::INTERVAL, INTERVAL '1 month' * -14");
  ASSERT_FALSE(result->HasError()) << result->GetError();
  std::vector<field> fields;
  for (size_t c = 0; c < result->ColumnCount(); c++) fields.push_back(field_of(result->names[c], result->types[c]));
  EXPECT_EQ(fields[0].type_oid, oid::interval);
  EXPECT_EQ(fields[4].type_oid, oid::time);
  EXPECT_EQ(fields[5].type_oid, oid::uuid);
  EXPECT_EQ(fields[6].type_oid, oid::text);
  for (const auto& f : fields) EXPECT_TRUE(f.text_only);
  column_batch out;
  append_chunk(*result->Fetch(), fields, out);
  auto text = [&out](size_t c) { return std::string(out.columns[c].get_bytes(0)); };
  EXPECT_EQ(text(0), "1 year 2 mons 3 days 04:05:06");
  EXPECT_EQ(text(1), "00:00:00");
  EXPECT_EQ(text(2), "-1 days -00:00:01.5");
  EXPECT_EQ(text(3), "1 day -02:00:00");
  EXPECT_EQ(text(4), "04:05:06.5");
  EXPECT_EQ(text(5), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_EQ(text(6), "[1, 2, 3]");
  EXPECT_TRUE(out.columns[7].is_null(0));
  EXPECT_EQ(text(8), "-1 years -2 mons");
}

TEST(BridgeTypes, FieldOids) {
  struct expect_row {
    duckdb::LogicalType type;
    uint32_t oid;
    int16_t size;
    int32_t typmod;
  };
  std::vector<expect_row> rows = {
      {duckdb::LogicalType::BOOLEAN, oid::boolean, 1, -1},
      {duckdb::LogicalType::TINYINT, oid::int2, 2, -1},
      {duckdb::LogicalType::SMALLINT, oid::int2, 2, -1},
      {duckdb::LogicalType::UTINYINT, oid::int2, 2, -1},
      {duckdb::LogicalType::INTEGER, oid::int4, 4, -1},
      {duckdb::LogicalType::USMALLINT, oid::int4, 4, -1},
      {duckdb::LogicalType::BIGINT, oid::int8, 8, -1},
      {duckdb::LogicalType::UINTEGER, oid::int8, 8, -1},
      {duckdb::LogicalType::UBIGINT, oid::numeric, -1, -1},
      {duckdb::LogicalType::HUGEINT, oid::numeric, -1, -1},
      {duckdb::LogicalType::FLOAT, oid::float4, 4, -1},
      {duckdb::LogicalType::DOUBLE, oid::float8, 8, -1},
      {duckdb::LogicalType::DECIMAL(12, 2), oid::numeric, -1, (12 << 16 | 2) + 4},
      {duckdb::LogicalType::VARCHAR, oid::text, -1, -1},
      {duckdb::LogicalType::BLOB, oid::bytea, -1, -1},
      {duckdb::LogicalType::JSON(), oid::json, -1, -1},
      {duckdb::LogicalType::DATE, oid::date, 4, -1},
      {duckdb::LogicalType::TIMESTAMP, oid::timestamp, 8, -1},
      {duckdb::LogicalType::TIMESTAMP_MS, oid::timestamp, 8, -1},
      {duckdb::LogicalType::TIMESTAMP_NS, oid::timestamp, 8, -1},
      {duckdb::LogicalType::TIMESTAMP_TZ, oid::timestamptz, 8, -1},
      {duckdb::LogicalType::INTERVAL, oid::interval, 16, -1},
      {duckdb::LogicalType::TIME, oid::time, 8, -1},
      {duckdb::LogicalType::UUID, oid::uuid, 16, -1},
      {duckdb::LogicalType::LIST(duckdb::LogicalType::INTEGER), oid::text, -1, -1},
  };
  for (const auto& r : rows) {
    auto f = field_of("c", r.type);
    EXPECT_EQ(f.type_oid, r.oid) << r.type.ToString();
    EXPECT_EQ(f.type_size, r.size) << r.type.ToString();
    EXPECT_EQ(f.type_modifier, r.typmod) << r.type.ToString();
    EXPECT_EQ(f.name, "c");
  }
  // Every Strata type maps to DuckDB and back to itself.
  for (const auto& c : all_type_columns()) {
    EXPECT_EQ(field_of("x", to_duckdb_type(c.type)).type, c.type) << tables::type_name(c.type);
  }
}

TEST(BridgeValues, ToDuckdbValue) {
  EXPECT_EQ(to_duckdb_value(int64_t(5), {type_id::int16}).ToString(), "5");
  EXPECT_EQ(to_duckdb_value(int64_t(5), {type_id::int16}).type(), duckdb::LogicalType::SMALLINT);
  EXPECT_EQ(to_duckdb_value(__int128(-12345), {type_id::numeric, 10, 2}).ToString(), "-123.45");
  __int128 big = __int128(1000000000000000000LL) * 1000000000LL + 7;  // 10^27 + 7
  EXPECT_EQ(to_duckdb_value(big, {type_id::numeric, 38, 6}).ToString(), "1000000000000000000000.000007");
  EXPECT_EQ(to_duckdb_value(int64_t(0), {type_id::date}).ToString(), "1970-01-01");
  EXPECT_EQ(to_duckdb_value(int64_t(1500000), {type_id::timestamp}).ToString(), "1970-01-01 00:00:01.5");
  EXPECT_TRUE(to_duckdb_value(std::monostate{}, {type_id::text}).IsNull());
  EXPECT_TRUE(to_duckdb_value(std::string("{}"), {type_id::json}).type().IsJSONType());
  EXPECT_EQ(to_duckdb_value(std::string("\x01", 1), {type_id::bytea}).type(), duckdb::LogicalType::BLOB);
}

TEST(BridgeValues, ParameterValue) {
  parameter p;
  p.text = "42";
  auto v = parameter_value(p, duckdb::LogicalType::INTEGER);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->GetValue<int32_t>(), 42);

  p.text = "abc";
  auto bad = parameter_value(p, duckdb::LogicalType::INTEGER);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().sqlstate, "22P02");
  EXPECT_EQ(bad.err().message, "invalid input syntax for type integer: \"abc\"");

  p.text = "99999999999";
  auto range = parameter_value(p, duckdb::LogicalType::INTEGER);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.err().sqlstate, "22003");

  p.text = "\\x41420a";
  auto bytes = parameter_value(p, duckdb::LogicalType::BLOB);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(duckdb::StringValue::Get(*bytes), std::string("AB\n"));

  p.text = "on";
  auto b = parameter_value(p, duckdb::LogicalType::BOOLEAN);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->GetValue<bool>());

  p.text = "12.345";
  auto n = parameter_value(p, duckdb::LogicalType::DECIMAL(10, 3));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->ToString(), "12.345");

  p.text = "2024-01-02 03:04:05+02";
  auto tz = parameter_value(p, duckdb::LogicalType::TIMESTAMP_TZ);
  ASSERT_TRUE(tz.ok()) << tz.err().message;
  EXPECT_EQ(tz->GetValue<duckdb::timestamp_tz_t>().value, 1704157445000000LL);  // 01:04:05 UTC

  p.text = "{\"a\": [1, 2]}";
  auto json = parameter_value(p, duckdb::LogicalType::JSON());
  ASSERT_TRUE(json.ok()) << json.err().message;
  EXPECT_TRUE(json->type().IsJSONType());

  p.text = "2024-13-45";
  auto bad_date = parameter_value(p, duckdb::LogicalType::DATE);
  ASSERT_FALSE(bad_date.ok());
  EXPECT_EQ(bad_date.err().sqlstate, "22P02");
  EXPECT_EQ(bad_date.err().message, "invalid input syntax for type date: \"2024-13-45\"");

  p.is_null = true;
  auto null = parameter_value(p, duckdb::LogicalType::DATE);
  ASSERT_TRUE(null.ok());
  EXPECT_TRUE(null->IsNull());
  EXPECT_EQ(null->type(), duckdb::LogicalType::DATE);

  parameter binary;
  binary.is_text = false;
  binary.type = {type_id::int32};
  binary.value = int64_t(7);
  auto widened = parameter_value(binary, duckdb::LogicalType::BIGINT);
  ASSERT_TRUE(widened.ok());
  EXPECT_EQ(widened->type(), duckdb::LogicalType::BIGINT);
  EXPECT_EQ(widened->GetValue<int64_t>(), 7);
}

TEST(BridgeErrors, RealDuckdbErrors) {
  duckdb::DuckDB db(nullptr);
  duckdb::Connection con(db);
  con.Query("CREATE TABLE x (a INTEGER PRIMARY KEY, b INTEGER NOT NULL)");
  struct expect_row {
    const char* sql;
    const char* sqlstate;
  };
  std::vector<expect_row> rows = {
      {"SELEC 1", "42601"},
      {"SELECT * FROM missing_table", "42P01"},
      {"SELECT nope FROM x", "42703"},
      {"SELECT no_such_function(1)", "42883"},
      {"SELECT 'abc'::INTEGER", "22P02"},
      {"SELECT 100000::SMALLINT", "22003"},
      {"INSERT INTO x VALUES (1, NULL)", "23502"},
      {"INSERT INTO x VALUES (1, 1), (1, 2)", "23505"},
  };
  for (const auto& r : rows) {
    auto result = con.Query(r.sql);
    ASSERT_TRUE(result->HasError()) << r.sql;
    auto e = error_of(result->GetErrorObject());
    EXPECT_EQ(e.sqlstate, r.sqlstate) << r.sql << ": " << result->GetError();
    EXPECT_EQ(e.message.find("Error: "), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("LINE 1"), std::string::npos) << e.message;
    EXPECT_FALSE(e.message.empty());
  }
  auto missing = error_of(con.Query("SELECT * FROM missing_table")->GetErrorObject());
  EXPECT_EQ(missing.message, "relation \"missing_table\" does not exist");
  auto column = error_of(con.Query("SELECT nope FROM x")->GetErrorObject());
  EXPECT_EQ(column.message, "column \"nope\" does not exist");
  EXPECT_EQ(error_of(duckdb::ErrorData(duckdb::InterruptException())).sqlstate, "57014");
  EXPECT_EQ(error_of(duckdb::ErrorData(duckdb::ExceptionType::DIVIDE_BY_ZERO, "x")).sqlstate, "22012");
  EXPECT_EQ(error_of(duckdb::ErrorData(duckdb::OutOfMemoryException("x"))).sqlstate, "53200");
  EXPECT_EQ(error_of(duckdb::ErrorData(duckdb::NotImplementedException("x"))).sqlstate, "0A000");
}

TEST_F(BridgeTest, DISABLED_ScanSpeedAgainstNative) {
  std::vector<tables::column_def> columns = {
      {"l_orderkey", {type_id::int64}, true},     {"l_quantity", {type_id::numeric, 15, 2}},
      {"l_extendedprice", {type_id::numeric, 15, 2}}, {"l_discount", {type_id::numeric, 15, 2}},
      {"l_shipdate", {type_id::date}},            {"l_returnflag", {type_id::text}},
      {"l_comment", {type_id::text}},
  };
  fake_table t;
  t.schema.name = "li";
  t.schema.columns = columns;
  t.units.resize(16);
  std::mt19937_64 rng(1);
  const uint32_t batch_rows = 122880;
  for (int b = 0; b < 48; b++) {
    column_batch batch;
    for (const auto& c : columns) batch.columns.emplace_back(c.type);
    for (uint32_t r = 0; r < batch_rows; r++) {
      tables::append_scalar(batch.columns[0], int64_t(b) * batch_rows + r);
      tables::append_scalar(batch.columns[1], __int128(100 + rng() % 4900));
      tables::append_scalar(batch.columns[2], __int128(90000 + rng() % 10000000));
      tables::append_scalar(batch.columns[3], __int128(rng() % 11));
      tables::append_scalar(batch.columns[4], int64_t(8036 + rng() % 2500));
      tables::append_scalar(batch.columns[5], std::string(1, "ANR"[rng() % 3]));
      tables::append_scalar(batch.columns[6], std::string("carefully final deposits ") + std::to_string(rng() % 100000));
    }
    batch.row_count = batch_rows;
    t.units[b % t.units.size()].push_back(std::move(batch));
  }
  service_.tables["li"] = std::move(t);
  ASSERT_EQ(run(*con_, "CREATE TABLE li_native AS SELECT * FROM li").rfind("ERROR", 0), std::string::npos);
  const char* queries[] = {
      "SELECT l_returnflag, sum(l_quantity), sum(l_extendedprice * (1 - l_discount)), avg(l_discount), count(*) "
      "FROM {t} WHERE l_shipdate <= DATE '1998-09-02' GROUP BY 1 ORDER BY 1",
      "SELECT sum(l_extendedprice * l_discount) FROM {t} WHERE l_shipdate >= DATE '1994-01-01' "
      "AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24",
      "SELECT count(*) FROM {t} WHERE l_comment LIKE '%deposits 99%'",
      "SELECT sum(l_quantity) FROM {t}",
      "SELECT count(*) FROM {t} WHERE l_shipdate <= DATE '1998-09-02'",
      "SELECT sum(l_extendedprice * (1 - l_discount)) FROM {t}",
      "SELECT max(l_orderkey), max(l_shipdate) FROM {t}",
      "SELECT l_orderkey, l_comment FROM {t} WHERE l_orderkey = 4000000",
  };
  set_statistics(true);
  for (const char* q : queries) {
    auto time_of = [&](const std::string& table) {
      auto sql = duckdb::StringUtil::Replace(q, "{t}", table);
      run(*con_, sql);  // warm
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < 5; i++) run(*con_, sql);
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / 5;
    };
    double strata_ms = time_of("li");
    double native_ms = time_of("li_native");
    std::printf("%8.2f ms strata %8.2f ms native  ratio %.2f  %s\n", strata_ms, native_ms, strata_ms / native_ms, q);
    EXPECT_EQ(run(*con_, duckdb::StringUtil::Replace(q, "{t}", "li")),
              run(*con_, duckdb::StringUtil::Replace(q, "{t}", "li_native")));
  }
}

}  // namespace
}  // namespace strata::sql
