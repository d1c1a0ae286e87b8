// Test support for the DuckDB bridge: a small in-memory tables::service
// (batches with real statistics, pruning, hidden rows, recorded scan specs),
// random data of every column type, and the fixture that registers
// strata_scan over the fake next to native DuckDB copies of the same data.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "duckdb.hpp"
#include "sql/duckdb_bridge.h"
#include "meta/kv.h"
#include "tables/batch_codec.h"

namespace strata::sql::bridge_test {

using tables::column_batch;
using tables::column_type;
using tables::column_vector;
using tables::type_id;

// ---------------------------------------------------------------------------
// A fake tables::service: each table is a list of units, each unit a list of
// batches. Scans prune batches with the real batch statistics (compute_stats
// and may_match), hide rows through the chunk selection when asked to, and
// record the last scan_spec.

struct fake_table {
  tables::table_schema schema;
  std::vector<std::vector<column_batch>> units;
  std::vector<std::vector<column_batch>> changelog_units;
  bool hide_odd_rows = false;  // odd row indexes are "superseded" (selection)
};

class fake_scan_cursor : public tables::scan_cursor {
 public:
  fake_scan_cursor(const std::vector<column_batch>* batches, tables::scan_spec spec, bool hide_odd,
                   std::atomic<uint64_t>* skipped)
      : batches_(batches), spec_(std::move(spec)), hide_odd_(hide_odd), skipped_(skipped) {}

  result<bool> next(tables::scan_chunk& out) override {
    while (index_ < batches_->size()) {
      const column_batch& batch = (*batches_)[index_++];
      if (spec_.use_statistics && !may_match(batch)) {
        (*skipped_)++;
        continue;
      }
      out = tables::scan_chunk{};
      out.row_count = batch.row_count;
      for (auto c : spec_.columns) out.columns.push_back(std::make_shared<const column_vector>(batch.columns[c]));
      if (hide_odd_) {
        for (uint32_t r = 0; r < batch.row_count; r += 2) out.selection.push_back(r);
        if (out.selection.empty()) continue;
      }
      return true;
    }
    return false;
  }

 private:
  bool may_match(const column_batch& batch) const {
    for (const auto& p : spec_.predicates) {
      tables::chunk_info info;
      info.type = batch.columns[p.column].type;
      info.stats = stats_of(batch, p.column);
      if (!tables::may_match(info, batch.row_count, p)) return false;
    }
    return true;
  }

  // Statistics per batch column, computed once (the real service stores them).
 public:
  static tables::chunk_stats stats_of(const column_batch& batch, uint32_t column) {
    std::lock_guard<std::mutex> lock(stats_mutex());
    auto [it, fresh] = stats_cache().try_emplace(&batch.columns[column]);
    if (fresh) it->second = tables::compute_stats(batch.columns[column]);
    return it->second;
  }

  // Keyed by address: cleared whenever batches may have been freed (a fresh fixture, a changed table).
  static void clear_stats_cache() {
    std::lock_guard<std::mutex> lock(stats_mutex());
    stats_cache().clear();
  }

 private:
  static std::mutex& stats_mutex() {
    static std::mutex mutex;
    return mutex;
  }
  static std::map<const column_vector*, tables::chunk_stats>& stats_cache() {
    static std::map<const column_vector*, tables::chunk_stats> cache;
    return cache;
  }

  const std::vector<column_batch>* batches_;
  tables::scan_spec spec_;
  bool hide_odd_;
  size_t index_ = 0;
  std::atomic<uint64_t>* skipped_;
};

class fake_table_scan : public tables::table_scan {
 public:
  fake_table_scan(const fake_table& table, tables::scan_spec spec, std::shared_ptr<std::atomic<uint64_t>> skipped)
      : table_(table), spec_(std::move(spec)), skipped_(std::move(skipped)) {}
  size_t unit_count() const override { return units().size(); }
  result<std::unique_ptr<tables::scan_cursor>> open_unit(size_t unit) override {
    return std::unique_ptr<tables::scan_cursor>(std::make_unique<fake_scan_cursor>(
        &units()[unit], spec_, table_.hide_odd_rows && !spec_.changelog, skipped_.get()));
  }
  uint64_t estimated_rows() const override {
    uint64_t rows = 0;
    for (const auto& unit : units()) {
      for (const auto& batch : unit) rows += batch.row_count;
    }
    return rows;
  }
  // Over every batch, as the real service merges its batch directories.
  std::vector<tables::column_statistics> column_stats() const override {
    std::vector<tables::column_statistics> out(spec_.columns.size());
    std::vector<bool> unknown(spec_.columns.size(), false);
    for (const auto& unit : units()) {
      for (const auto& batch : unit) {
        for (size_t i = 0; i < spec_.columns.size(); i++) {
          const column_vector& column = batch.columns[spec_.columns[i]];
          auto s = fake_scan_cursor::stats_of(batch, spec_.columns[i]);
          out[i].null_count += s.null_count;
          uint64_t values = column.row_count - s.null_count;
          if (values == 0) continue;
          if (!s.min) {
            unknown[i] = true;
          } else if (out[i].value_count == 0) {
            out[i].min = *s.min;
            out[i].max = *s.max;
          } else {
            if (tables::compare_scalars(column.type, *s.min, out[i].min) < 0) out[i].min = *s.min;
            if (tables::compare_scalars(column.type, *s.max, out[i].max) > 0) out[i].max = *s.max;
          }
          out[i].value_count += values;
        }
      }
    }
    for (size_t i = 0; i < out.size(); i++) out[i].has_min_max = !unknown[i] && out[i].value_count > 0;
    return out;
  }
  uint64_t batches_skipped() const override { return *skipped_; }
  uint32_t partitions_pruned() const override { return 0; }

 private:
  const std::vector<std::vector<column_batch>>& units() const {
    return spec_.changelog ? table_.changelog_units : table_.units;
  }
  const fake_table& table_;
  tables::scan_spec spec_;
  std::shared_ptr<std::atomic<uint64_t>> skipped_;
};

class fake_service : public tables::service {
 public:
  std::map<std::string, fake_table> tables;
  std::mutex mutex;
  std::vector<tables::scan_spec> specs;  // every scan opened, in order
  std::vector<std::shared_ptr<std::atomic<uint64_t>>> skipped;  // batches skipped, per scan
  // Called at the start of every scan (bind-time statistics and execution):
  // tests change tables here to act as a commit racing with a query.
  std::function<void(const std::string& table)> before_scan;

  result<tables::table_info> create_table(const tables::table_schema&, bool,
                                          const std::vector<tables::sequence_def>&) override {
    return make_error(errc::unsupported, "fake");
  }
  strata::status drop_table(const std::string&, bool) override { return make_error(errc::unsupported, "fake"); }
  strata::status create_sequence(const tables::sequence_def&, bool) override {
    return make_error(errc::unsupported, "fake");
  }
  strata::status drop_sequences(const std::vector<std::string>&, bool) override {
    return make_error(errc::unsupported, "fake");
  }
  tables::sequence_store& sequences() override { return sequences_; }
  strata::status truncate_tables(const std::vector<std::string>&) override {
    return make_error(errc::unsupported, "fake");
  }
  result<tables::table_info> alter_table(const std::string&, const tables::table_change&) override {
    return make_error(errc::unsupported, "fake");
  }
  result<tables::table_info> describe(const std::string& name) override {
    auto it = tables.find(name);
    if (it == tables.end()) return make_error(errc::not_found, "no table " + name);
    tables::table_info info;
    info.table_id = std::hash<std::string>{}(name);
    info.schema = it->second.schema;
    for (const auto& u : it->second.units) {
      for (const auto& b : u) info.row_count += b.row_count;
    }
    return info;
  }
  std::vector<tables::table_info> list_tables() override { return {}; }
  std::unique_ptr<tables::transaction> begin() override { return nullptr; }
  result<std::unique_ptr<tables::table_scan>> scan(const std::string& table, const tables::scan_spec& spec,
                                                   const tables::transaction*) override {
    if (before_scan) before_scan(table);
    auto it = tables.find(table);
    if (it == tables.end()) return make_error(errc::not_found, "no table " + table);
    std::lock_guard<std::mutex> lock(mutex);
    specs.push_back(spec);
    skipped.push_back(std::make_shared<std::atomic<uint64_t>>(0));
    return std::unique_ptr<tables::table_scan>(std::make_unique<fake_table_scan>(it->second, spec, skipped.back()));
  }
  strata::status flush_all() override { return {}; }

 private:
  std::unique_ptr<meta::kv> sequence_kv_ = meta::make_memory_kv();
  tables::sequence_store sequences_{*sequence_kv_};
};

// ---------------------------------------------------------------------------
// Data.

inline std::vector<tables::column_def> all_type_columns() {
  return {
      {"id", {type_id::int64}, true},
      {"i16", {type_id::int16}},
      {"i32", {type_id::int32}},
      {"f32", {type_id::float32}},
      {"f64", {type_id::float64}},
      {"n4", {type_id::numeric, 4, 2}},
      {"n9", {type_id::numeric, 9, 3}},
      {"n18", {type_id::numeric, 18, 4}},
      {"n38", {type_id::numeric, 38, 6}},
      {"s", {type_id::text}},
      {"b", {type_id::bytea}},
      {"j", {type_id::json}},
      {"d", {type_id::date}},
      {"ts", {type_id::timestamp}},
      {"tz", {type_id::timestamptz}},
      {"flag", {type_id::boolean}},
  };
}

inline tables::scalar random_value(const column_type& type, int64_t id, std::mt19937_64& rng) {
  if (rng() % 10 == 0) return std::monostate{};
  int64_t r = int64_t(rng() % 2001) - 1000;
  switch (type.id) {
    case type_id::boolean: return bool(rng() & 1);
    case type_id::int16: return int64_t(r * 30);
    case type_id::int32: return int64_t(r * 100000);
    case type_id::int64: return id;
    case type_id::float32: return double(float(r) / 8.0f);
    case type_id::float64: return double(r) / 3.0;
    case type_id::numeric: {
      __int128 limit = 1;
      for (int i = 0; i < type.precision; i++) limit *= 10;
      __int128 v = (__int128(rng()) << 64 | rng()) % limit;
      if (rng() & 1) v = -v;
      if (rng() % 4 == 0) v = r;  // small values too, so filters hit both
      return v;
    }
    case type_id::text: {
      // short (inlined by DuckDB) and long (pointed at) strings
      std::string s = "v" + std::to_string(r);
      if (rng() % 3 == 0) s += std::string(20 + rng() % 30, char('a' + rng() % 26));
      return s;
    }
    case type_id::bytea: return std::string("\x00\x01\xff", 3) + std::to_string(r);
    case type_id::json: return "{\"k\": " + std::to_string(r) + "}";
    case type_id::date: return int64_t(19000 + r);
    case type_id::timestamp:
    case type_id::timestamptz: return int64_t(1700000000000000LL + r * 3600000001LL);
  }
  return std::monostate{};
}

inline column_batch random_batch(const std::vector<tables::column_def>& columns, uint32_t rows, int64_t& next_id,
                          std::mt19937_64& rng) {
  column_batch batch;
  for (const auto& c : columns) batch.columns.emplace_back(c.type);
  for (uint32_t r = 0; r < rows; r++) {
    int64_t id = next_id++;
    for (size_t c = 0; c < columns.size(); c++) {
      // The first column is the id: never NULL, so ORDER BY id is total.
      tables::append_scalar(batch.columns[c], c == 0 ? tables::scalar(id) : random_value(columns[c].type, id, rng));
    }
  }
  batch.row_count = rows;
  return batch;
}

// ---------------------------------------------------------------------------
// Fixture.

inline std::string run(duckdb::Connection& con, const std::string& sql) {
  auto r = con.Query(sql);
  if (r->HasError()) return "ERROR: " + r->GetError();
  return r->ToString();
}

// The first lines where two results differ, or "" when they are equal.
inline std::string first_difference(const std::string& a, const std::string& b) {
  if (a == b) return "";
  auto la = duckdb::StringUtil::Split(a, '\n');
  auto lb = duckdb::StringUtil::Split(b, '\n');
  std::string out;
  int shown = 0;
  for (size_t i = 0; i < std::max(la.size(), lb.size()) && shown < 5; i++) {
    std::string x = i < la.size() ? la[i] : "<missing>";
    std::string y = i < lb.size() ? lb[i] : "<missing>";
    if (x == y) continue;
    out += "line " + std::to_string(i) + ":\n  strata: " + x + "\n  native: " + y + "\n";
    shown++;
  }
  return out.empty() ? "(differ in whitespace only)" : out;
}

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_scan_cursor::clear_stats_cache();
    duckdb::DBConfig config;
    config.options.maximum_threads = 4;
    db_ = std::make_unique<duckdb::DuckDB>(nullptr, &config);
    register_strata_scan(*db_->instance, service_);
    con_ = std::make_unique<duckdb::Connection>(*db_);
  }

  // Adds a table to the fake and the same rows to a native DuckDB table.
  void add_table(const std::string& name, std::vector<tables::column_def> columns, std::vector<uint32_t> batch_rows,
                 size_t units, tables::table_kind kind = tables::table_kind::log, bool hide_odd = false) {
    fake_table t;
    t.schema.name = name;
    t.schema.kind = kind;
    t.schema.columns = columns;
    if (kind == tables::table_kind::primary_key) t.schema.primary_key = {0};
    t.hide_odd_rows = hide_odd;
    t.units.resize(units);
    std::mt19937_64 rng(42);
    int64_t next_id = 0;
    for (size_t i = 0; i < batch_rows.size(); i++) {
      t.units[i % units].push_back(random_batch(columns, batch_rows[i], next_id, rng));
    }
    create_native(name + "_native", t, false);
    service_.tables[name] = std::move(t);
  }

  void create_native(const std::string& name, const fake_table& t, bool changelog) {
    auto columns = changelog ? tables::changelog_columns(t.schema) : t.schema.columns;
    std::string ddl = "CREATE TABLE " + name + " (";
    for (size_t c = 0; c < columns.size(); c++) {
      ddl += (c ? ", " : "") + std::string("\"") + columns[c].name + "\" " + to_duckdb_type(columns[c].type).ToString();
    }
    ASSERT_EQ(run(*con_, ddl + ")").rfind("ERROR", 0), std::string::npos);
    duckdb::Appender appender(*con_, name);
    for (const auto& unit : changelog ? t.changelog_units : t.units) {
      for (const auto& batch : unit) {
        for (uint32_t r = 0; r < batch.row_count; r++) {
          if (!changelog && t.hide_odd_rows && r % 2 == 1) continue;
          appender.BeginRow();
          for (size_t c = 0; c < columns.size(); c++) {
            appender.Append(to_duckdb_value(tables::scalar_at(batch.columns[c], r), columns[c].type));
          }
          appender.EndRow();
        }
      }
    }
    appender.Close();
  }

  // `on`: batch skipping by statistics; `report`: column statistics for DuckDB's planner.
  void set_statistics(bool on, bool report = true) {
    auto state = duckdb::make_shared_ptr<scan_context>();
    state->use_statistics = on;
    state->report_statistics = report;
    con_->context->registered_state->Remove(scan_context::key);
    con_->context->registered_state->Insert(scan_context::key, state);
  }

  // Runs `sql` (with {t} standing for the table) on Strata and on the native copy.
  void expect_same(const std::string& sql, const std::string& table = "t") {
    auto strata_sql = duckdb::StringUtil::Replace(sql, "{t}", table);
    auto native_sql = duckdb::StringUtil::Replace(sql, "{t}", table + "_native");
    std::string expected = run(*con_, native_sql);
    ASSERT_EQ(expected.rfind("ERROR", 0), std::string::npos) << native_sql << "\n" << expected;
    for (int mode = 0; mode < 3; mode++) {
      set_statistics(mode != 1, mode != 2);
      EXPECT_EQ(first_difference(run(*con_, strata_sql), expected), "") << strata_sql << " (mode " << mode << ")";
    }
    set_statistics(true);
  }

  fake_service service_;
  std::unique_ptr<duckdb::DuckDB> db_;
  std::unique_ptr<duckdb::Connection> con_;
};

}  // namespace strata::sql::bridge_test
