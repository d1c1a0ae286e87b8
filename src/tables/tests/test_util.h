// Helpers for the tables service tests: a temp data dir, schemas and row builders.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/fs.h"
#include "meta/kv.h"
#include "tables/row_codec.h"
#include "tables/service.h"

namespace strata::tables::testing {

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "strata-tables-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline column_def col(std::string name, type_id id, bool not_null = false) {
  return column_def{std::move(name), column_type{id}, not_null};
}

// (id bigint, name text, amount double precision)
inline table_schema log_schema(const std::string& name, uint32_t buckets = 1) {
  table_schema s;
  s.name = name;
  s.kind = table_kind::log;
  s.columns = {col("id", type_id::int64), col("name", type_id::text), col("amount", type_id::float64)};
  s.buckets = buckets;
  return s;
}

// (id bigint primary key, name text, amount double precision)
inline table_schema pk_schema(const std::string& name, uint32_t buckets = 1) {
  table_schema s = log_schema(name, buckets);
  s.kind = table_kind::primary_key;
  s.columns[0].not_null = true;
  s.primary_key = {0};
  return s;
}

struct row {
  int64_t id;
  std::string name;
  double amount;
};

inline column_batch rows_of(const std::vector<row>& rows) {
  column_batch b;
  b.columns.emplace_back(column_type{type_id::int64});
  b.columns.emplace_back(column_type{type_id::text});
  b.columns.emplace_back(column_type{type_id::float64});
  for (const row& r : rows) {
    b.columns[0].append_fixed(&r.id);
    b.columns[1].append_bytes(r.name);
    b.columns[2].append_fixed(&r.amount);
  }
  b.row_count = uint32_t(rows.size());
  return b;
}

inline column_batch range_rows(int64_t from, int64_t to, double amount = 1.0) {
  std::vector<row> rows;
  for (int64_t i = from; i < to; ++i) rows.push_back(row{i, "name" + std::to_string(i), amount});
  return rows_of(rows);
}

inline column_batch keys_of(const std::vector<int64_t>& ids) {
  column_batch b;
  b.columns.emplace_back(column_type{type_id::int64});
  for (int64_t id : ids) b.columns[0].append_fixed(&id);
  b.row_count = uint32_t(ids.size());
  return b;
}

// Every live row of a scan, as scalars per row, in unit order.
inline std::vector<std::vector<scalar>> scan_all(service& svc, const std::string& table, scan_spec spec = {},
                                                 const transaction* txn = nullptr, table_scan** keep = nullptr) {
  auto scan = svc.scan(table, spec, txn);
  EXPECT_TRUE(scan.ok()) << (scan.ok() ? "" : scan.err().message);
  std::vector<std::vector<scalar>> out;
  if (!scan.ok()) return out;
  for (size_t u = 0; u < (*scan)->unit_count(); ++u) {
    auto cursor = (*scan)->open_unit(u);
    EXPECT_TRUE(cursor.ok());
    scan_chunk chunk;
    while (true) {
      auto more = (*cursor)->next(chunk);
      EXPECT_TRUE(more.ok()) << (more.ok() ? "" : more.err().message);
      if (!more.ok() || !*more) break;
      auto emit = [&](uint32_t r) {
        std::vector<scalar> values;
        for (const auto& c : chunk.columns) values.push_back(scalar_at(*c, r));
        out.push_back(std::move(values));
      };
      if (chunk.selection.empty()) {
        for (uint32_t r = 0; r < chunk.row_count; ++r) emit(r);
      } else {
        for (uint32_t r : chunk.selection) emit(r);
      }
    }
  }
  if (keep != nullptr) *keep = scan->release();
  return out;
}

inline int64_t sum_ids(const std::vector<std::vector<scalar>>& rows, size_t column = 0) {
  int64_t s = 0;
  for (const auto& r : rows) s += std::get<int64_t>(r[column]);
  return s;
}

inline std::unique_ptr<service> open_service(const std::string& dir, io::fs& fs, meta::kv& kv,
                                             uint32_t batch_rows_max = 1000) {
  service_config cfg;
  cfg.data_dir = dir;
  cfg.batch_rows_max = batch_rows_max;
  cfg.decoded_cache_bytes_max = 64ULL << 20;
  cfg.segment_bytes_max = 1ULL << 20;
  auto svc = service::open(cfg, fs, kv);
  EXPECT_TRUE(svc.ok()) << (svc.ok() ? "" : svc.err().message);
  return svc.ok() ? std::move(svc.value()) : nullptr;
}

// alter_table with a rewrite into `target`, every column kept (ADD PRIMARY KEY's shape).
inline result<table_info> rewrite_table(service& svc, const std::string& name, const table_schema& target) {
  table_change change{.target = target, .rewrite = true};
  change.target.name = name;
  for (uint32_t i = 0; i < target.columns.size(); ++i) change.continues.emplace_back(i);
  return svc.alter_table(name, change);
}

inline void must(const status& s) { ASSERT_TRUE(s.ok()) << s.err().message; }

// A service on a temp dir (posix fs, in-memory kv), opened before each test.
class service_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = io::make_posix_fs();
    kv_ = meta::make_memory_kv();
    svc_ = open_service(dir_.path(), *fs_, *kv_);
    ASSERT_NE(svc_, nullptr);
  }
  temp_dir dir_;
  std::unique_ptr<io::fs> fs_;
  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<service> svc_;
};

inline void commit_rows(service& svc, const std::string& table, const column_batch& rows,
                        on_conflict action = on_conflict::error) {
  auto txn = svc.begin();
  auto w = txn->insert(table, rows, action);
  ASSERT_TRUE(w.ok()) << w.err().message;
  auto c = txn->commit();
  ASSERT_TRUE(c.ok()) << c.err().message;
}

}  // namespace strata::tables::testing
