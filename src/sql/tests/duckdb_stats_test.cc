// Column statistics strata_scan gives DuckDB's planner, and the check that
// keeps results exact when data changes after a statement was planned: over
// the fake service (deterministic) and over the real tables::service.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "io/fs.h"
#include "meta/kv.h"
#include "sql/tests/bridge_fixture.h"

namespace strata::sql {
namespace {

using namespace bridge_test;
using tables::column_batch;
using tables::column_type;
using tables::column_vector;
using tables::type_id;

// ---------------------------------------------------------------------------
// Statistics for DuckDB's planner, and their staleness check.

column_batch amounts_batch(uint32_t rows, __int128 amount, int64_t first_id, bool with_null = false) {
  column_batch batch;
  batch.columns.emplace_back(column_type{type_id::int64});
  batch.columns.emplace_back(column_type{type_id::numeric, 15, 2});
  for (uint32_t r = 0; r < rows; r++) {
    tables::append_scalar(batch.columns[0], int64_t(first_id + r));
    if (with_null && r == 0) {
      batch.columns[1].append_null();
    } else {
      tables::append_scalar(batch.columns[1], amount);
    }
  }
  batch.row_count = rows;
  return batch;
}

std::string text_of(__int128 v, int scale) {
  bool negative = v < 0;
  unsigned __int128 u = negative ? -(unsigned __int128)v : (unsigned __int128)v;
  std::string digits;
  do {
    digits.insert(digits.begin(), char('0' + int(u % 10)));
    u /= 10;
  } while (u != 0);
  while (int(digits.size()) <= scale) digits.insert(digits.begin(), '0');
  digits.insert(digits.end() - scale, '.');
  return (negative ? "-" : "") + digits;
}

// Runs a prepared statement to a materialized result (errors included).
std::unique_ptr<duckdb::QueryResult> execute(duckdb::PreparedStatement& p) {
  duckdb::vector<duckdb::Value> none;
  return p.Execute(none, false);
}

std::string first_value(duckdb::QueryResult& result) {
  auto chunk = result.Fetch();
  if (!chunk || chunk->size() == 0) return result.HasError() ? "ERROR: " + result.GetError() : "<no rows>";
  return chunk->GetValue(0, 0).ToString();
}

class StatisticsTest : public BridgeTest {
 protected:
  void SetUp() override {
    BridgeTest::SetUp();
    set_statistics(true);
    fake_table t;
    t.schema.name = "acc";
    t.schema.columns = {{"id", {type_id::int64}}, {"amount", {type_id::numeric, 15, 2}}};
    t.units.push_back({amounts_batch(1000, 12345, 0)});  // 123.45 each
    service_.tables["acc"] = std::move(t);
    expected_sum_ = __int128(1000) * 12345;
    next_id_ = 1000;
  }

  // Adds rows in a new unit (the batches already there keep their addresses).
  void add_rows(uint32_t rows, __int128 amount, bool with_null = false) {
    service_.tables["acc"].units.push_back({amounts_batch(rows, amount, next_id_, with_null)});
    next_id_ += rows;
    expected_sum_ += __int128(rows - (with_null ? 1 : 0)) * amount;
    fake_scan_cursor::clear_stats_cache();
  }

  // Runs `commit` when the next query's scan of `table` opens, after that
  // query was planned: a commit racing between bind and execution.
  void commit_during_next_query(const std::string& table, std::function<void()> commit) {
    auto calls = std::make_shared<int>(0);
    service_.before_scan = [this, table, calls, commit](const std::string& scanned) {
      if (scanned != table || ++*calls != 2) return;
      commit();
      service_.before_scan = nullptr;
    };
  }

  std::unique_ptr<duckdb::PreparedStatement> prepare(const std::string& sql) {
    auto p = con_->Prepare(sql);
    EXPECT_FALSE(p->HasError()) << p->GetError();
    return p;
  }

  // What the engine does: on a stale-statistics error prepare again and rerun,
  // and the second time without statistics. Counts the retries.
  std::string run_prepared(std::unique_ptr<duckdb::PreparedStatement>& p, const std::string& sql, int& retries) {
    for (int attempt = 0;; attempt++) {
      auto r = execute(*p);
      if (!r->HasError()) {
        set_statistics(true);
        return r->ToString();
      }
      if (!is_stale_statistics_error(r->GetErrorObject()) || attempt == 2) {
        set_statistics(true);
        return "ERROR: " + r->GetError();
      }
      retries++;
      if (attempt == 1) set_statistics(true, false);
      p = prepare(sql);
    }
  }

  std::string stats_of(const std::string& expression) {
    auto r = con_->Query("SELECT stats(" + expression + ") FROM acc LIMIT 1");
    if (r->HasError()) return "ERROR: " + r->GetError();
    return r->GetValue(0, 0).ToString();
  }

  __int128 expected_sum_ = 0;
  int64_t next_id_ = 0;
};

TEST_F(StatisticsTest, DuckdbSeesMinMaxNullsAndRowCount) {
  set_statistics(true);
  auto amount = stats_of("amount");
  EXPECT_NE(amount.find("Min: 123.45"), std::string::npos) << amount;
  EXPECT_NE(amount.find("Max: 123.45"), std::string::npos) << amount;
  EXPECT_NE(amount.find("Has Null: false"), std::string::npos) << amount;
  auto id = stats_of("id");
  EXPECT_NE(id.find("Min: 0"), std::string::npos) << id;
  EXPECT_NE(id.find("Max: 999"), std::string::npos) << id;
  // A filter the statistics prove empty, or always true, still gives the right answer.
  EXPECT_EQ(con_->Query("SELECT count(*) FROM acc WHERE id > 5000")->GetValue(0, 0).ToString(), "0");
  EXPECT_EQ(con_->Query("SELECT count(*) FROM acc WHERE id >= 0")->GetValue(0, 0).ToString(), "1000");
  // What the statistics buy: a decimal sum in int64 without overflow checks.
  auto plan = run(*con_, "EXPLAIN SELECT sum(amount) FROM acc");
  EXPECT_NE(plan.find("sum_no_overflow"), std::string::npos) << plan;
  // Without reported statistics DuckDB knows nothing.
  set_statistics(true, false);
  plan = run(*con_, "EXPLAIN SELECT sum(amount) FROM acc");
  EXPECT_EQ(plan.find("sum_no_overflow"), std::string::npos) << plan;
  amount = stats_of("amount");
  EXPECT_EQ(amount.find("Max: 123.45"), std::string::npos) << amount;
  EXPECT_NE(amount.find("Has Null: true"), std::string::npos) << amount;
}

// A prepared statement is planned again at each execution: rows written
// after it was prepared count, even where the old statistics proved a filter
// false (the scan dropped from the plan could not have checked them).
TEST_F(StatisticsTest, PreparedStatementsSeeRowsWrittenAfterPrepare) {
  auto count = prepare("SELECT count(*) FROM acc WHERE id > 5000");
  auto sum = prepare("SELECT sum(amount)::VARCHAR FROM acc");
  EXPECT_EQ(first_value(*execute(*count)), "0");
  EXPECT_EQ(first_value(*execute(*sum)), text_of(expected_sum_, 2));
  // 9999999999999.99 is the largest numeric(15,2); 20000 of them overflow an
  // int64 of cents (2e19 > 9.2e18): a sum planned with the old max (an int64
  // sum without overflow checks) would wrap silently.
  add_rows(20000, __int128(999999999999999));
  EXPECT_EQ(first_value(*execute(*count)), "15999");
  EXPECT_EQ(first_value(*execute(*sum)), text_of(expected_sum_, 2));
  add_rows(3, -__int128(999999999999999), true);
  EXPECT_EQ(first_value(*execute(*sum)), text_of(expected_sum_, 2));
}

// A commit between a query's bind and its scan: the scan fails as stale
// (40001) instead of reading rows outside what the plan assumed.
TEST_F(StatisticsTest, CommitBetweenBindAndScanIsStale) {
  const std::string sql = "SELECT sum(amount)::VARCHAR FROM acc";
  commit_during_next_query("acc", [this] { add_rows(20000, __int128(999999999999999)); });
  auto r = con_->Query(sql);
  ASSERT_TRUE(r->HasError());
  EXPECT_TRUE(is_stale_statistics_error(r->GetErrorObject())) << r->GetError();
  EXPECT_EQ(error_of(r->GetErrorObject()).sqlstate, "40001");
  r = con_->Query(sql);
  ASSERT_FALSE(r->HasError()) << r->GetError();
  EXPECT_EQ(first_value(*r), text_of(expected_sum_, 2));
}

TEST_F(StatisticsTest, RetryLoopRecoversFromStaleStatistics) {
  const std::string sql = "SELECT sum(amount)::VARCHAR AS s FROM acc WHERE amount > 0";
  auto p = prepare(sql);
  int retries = 0;
  EXPECT_NE(run_prepared(p, sql, retries).find(text_of(expected_sum_, 2)), std::string::npos);
  commit_during_next_query("acc", [this] { add_rows(20000, __int128(999999999999999)); });
  auto text = run_prepared(p, sql, retries);
  EXPECT_NE(text.find(text_of(expected_sum_, 2)), std::string::npos) << text;
  EXPECT_EQ(retries, 1);
  text = run_prepared(p, sql, retries);
  EXPECT_NE(text.find(text_of(expected_sum_, 2)), std::string::npos) << text;
  EXPECT_EQ(retries, 1);
}

TEST_F(StatisticsTest, RowCountPastThePlannedMaximumIsStale) {
  // Values inside the planned min/max of the column read; only the row count
  // grows past the planned maximum (1000 rows + 1024 headroom).
  commit_during_next_query("acc", [this] {
    service_.tables["acc"].units.push_back({amounts_batch(1000, 12345, 0)});
    fake_scan_cursor::clear_stats_cache();
  });
  auto fine = con_->Query("SELECT count(*) FROM acc WHERE amount = 123.45");
  ASSERT_FALSE(fine->HasError()) << fine->GetError();
  EXPECT_EQ(fine->GetValue(0, 0).ToString(), "2000");
  commit_during_next_query("acc", [this] {
    service_.tables["acc"].units.push_back({amounts_batch(2100, 12345, 0)});
    fake_scan_cursor::clear_stats_cache();
  });
  auto r = con_->Query("SELECT count(*) FROM acc WHERE amount = 123.45");
  ASSERT_TRUE(r->HasError());
  EXPECT_TRUE(is_stale_statistics_error(r->GetErrorObject()));
  EXPECT_NE(r->GetError().find("rows now"), std::string::npos) << r->GetError();
}

TEST_F(StatisticsTest, StaleTablesGetWiderThenNoStatistics) {
  const std::string sql = "SELECT max(id) FROM acc";
  commit_during_next_query("acc", [this] { add_rows(10, 12345); });  // ids 1000..1009: past max 999
  auto r = con_->Query(sql);
  ASSERT_TRUE(is_stale_statistics_error(r->GetErrorObject()));
  // Widened by the span on each side: [0, 1009] -> [-1010, 2019]; NULLs allowed.
  auto id = stats_of("id");
  EXPECT_NE(id.find("Min: -1010"), std::string::npos) << id;
  EXPECT_NE(id.find("Max: 2019"), std::string::npos) << id;
  EXPECT_NE(id.find("Has Null: true"), std::string::npos) << id;
  // Commits inside the widened range no longer make queries stale.
  commit_during_next_query("acc", [this] { add_rows(500, 12345); });
  r = con_->Query(sql);
  ASSERT_FALSE(r->HasError()) << r->GetError();
  EXPECT_EQ(first_value(*r), "1509");
  // A second stale failure: no min/max at all for a while.
  commit_during_next_query("acc", [this] { add_rows(5000, 12345); });
  r = con_->Query(sql);
  ASSERT_TRUE(is_stale_statistics_error(r->GetErrorObject()));
  id = stats_of("id");
  EXPECT_NE(id.find("Max: NULL"), std::string::npos) << id;
  commit_during_next_query("acc", [this] { add_rows(100000, -5); });
  r = con_->Query(sql);
  ASSERT_FALSE(r->HasError()) << r->GetError();
  EXPECT_EQ(first_value(*r), std::to_string(next_id_ - 1));
}

// The engine may only retry while no row has reached the client: a stale
// scan must fail before the streamed result hands out its first row, even
// when it is not the first scan of the plan.
TEST_F(StatisticsTest, StaleScanFailsBeforeAnyRowStreams) {
  fake_table other;
  other.schema = service_.tables["acc"].schema;
  other.schema.name = "acc2";
  other.units.push_back({amounts_batch(5000, 100, 0)});
  service_.tables["acc2"] = std::move(other);
  auto p = prepare("SELECT id, amount FROM acc UNION ALL SELECT id, amount FROM acc2");
  commit_during_next_query("acc2", [this] {
    service_.tables["acc2"].units.push_back({amounts_batch(10, 100, 1000000)});
    fake_scan_cursor::clear_stats_cache();
  });
  duckdb::vector<duckdb::Value> none;
  auto pending = p->PendingQuery(none, true);
  ASSERT_FALSE(pending->HasError()) << pending->GetError();
  auto result = pending->Execute();
  // Before the streamed result exists: the engine's retry around Execute sees it.
  EXPECT_TRUE(result->HasError());
  uint64_t rows = 0;
  bool stale = result->HasError() && is_stale_statistics_error(result->GetErrorObject());
  while (!stale && !result->HasError()) {
    auto chunk = result->Fetch();
    if (!chunk || chunk->size() == 0) break;
    rows += chunk->size();
  }
  stale = stale || (result->HasError() && is_stale_statistics_error(result->GetErrorObject()));
  EXPECT_TRUE(stale);
  EXPECT_EQ(rows, 0u);
}

TEST_F(StatisticsTest, StaleErrorsAreRecognizedOnlyByTheirMarker) {
  duckdb::ErrorData other(duckdb::InvalidInputException("some other invalid input"));
  EXPECT_FALSE(is_stale_statistics_error(other));
  commit_during_next_query("acc", [this] { add_rows(1, 99999); });
  auto r = con_->Query("SELECT sum(amount) FROM acc");
  ASSERT_TRUE(r->HasError());
  EXPECT_TRUE(is_stale_statistics_error(r->GetErrorObject()));
  EXPECT_NE(r->GetError().find("amount"), std::string::npos) << r->GetError();
}

// The staleness check over the real service: statistics merged from stored
// batch directories and a transaction's buffered rows.
TEST(BridgeRealService, StaleStatisticsAfterCommitsAndInATransaction) {
  std::string dir = (std::filesystem::temp_directory_path() / "strata-bridge-stale-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  tables::service_config config;
  config.data_dir = dir;
  auto opened = tables::service::open(config, *fs, *kv);
  ASSERT_TRUE(opened.ok()) << opened.err().message;
  auto& svc = *opened.value();
  tables::table_schema schema;
  schema.name = "acc";
  schema.columns = {{"id", {type_id::int64}}, {"amount", {type_id::numeric, 15, 2}}};
  ASSERT_TRUE(svc.create_table(schema, false).ok());
  auto commit = [&](const column_batch& rows) {
    auto txn = svc.begin();
    ASSERT_TRUE(txn->insert("acc", rows, tables::on_conflict::error).ok());
    ASSERT_TRUE(txn->commit().ok());
  };
  commit(amounts_batch(1000, 12345, 0));
  {
    duckdb::DuckDB db(nullptr);
    register_strata_scan(*db.instance, svc);
    duckdb::Connection con(db);
    auto state = duckdb::make_shared_ptr<scan_context>();
    con.context->registered_state->Insert(scan_context::key, state);
    const std::string sql = "SELECT sum(amount)::VARCHAR FROM acc";
    auto p = con.Prepare(sql);
    ASSERT_FALSE(p->HasError()) << p->GetError();
    auto r = execute(*p);
    ASSERT_FALSE(r->HasError()) << r->GetError();
    EXPECT_EQ(first_value(*r), text_of(__int128(1000) * 12345, 2));

    // Planned again when it runs: the new rows' statistics, no stale failure.
    commit(amounts_batch(20000, 999999999999999, 1000));
    r = execute(*p);
    ASSERT_FALSE(r->HasError()) << r->GetError();
    const __int128 committed = __int128(1000) * 12345 + __int128(20000) * 999999999999999;
    EXPECT_EQ(first_value(*r), text_of(committed, 2));

    // A transaction's own rows count at bind and at execution.
    auto txn = svc.begin();
    state->txn = txn.get();
    p = con.Prepare(sql);
    ASSERT_TRUE(txn->insert("acc", amounts_batch(1, -999999999999999, 50000), tables::on_conflict::error).ok());
    ASSERT_TRUE(txn->insert("acc", amounts_batch(2, 1, 50001, true), tables::on_conflict::error).ok());
    r = execute(*p);
    const __int128 with_txn = committed - 999999999999999 + 1;
    if (r->HasError()) {
      EXPECT_TRUE(is_stale_statistics_error(r->GetErrorObject())) << r->GetError();
      p = con.Prepare(sql);
      r = execute(*p);
    }
    ASSERT_FALSE(r->HasError()) << r->GetError();
    EXPECT_EQ(first_value(*r), text_of(with_txn, 2));
    state->txn = nullptr;
    txn->rollback();
  }
  opened.value().reset();
  std::filesystem::remove_all(dir);
}

// Q1/Q6-shaped queries over the real tables::service (decoded cache warm),
// with and without column statistics for DuckDB, against DuckDB native.
TEST(BridgeRealService, DISABLED_ScanSpeedWithStatistics) {
  std::string dir = (std::filesystem::temp_directory_path() / "strata-bridge-speed-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  auto fs = io::make_posix_fs();
  auto kv = meta::make_memory_kv();
  tables::service_config config;
  config.data_dir = dir;
  auto opened = tables::service::open(config, *fs, *kv);
  ASSERT_TRUE(opened.ok()) << opened.err().message;
  auto& svc = *opened.value();
  tables::table_schema schema;
  schema.name = "li";
  schema.columns = {
      {"l_orderkey", {type_id::int64}},      {"l_quantity", {type_id::numeric, 15, 2}},
      {"l_extendedprice", {type_id::numeric, 15, 2}}, {"l_discount", {type_id::numeric, 15, 2}},
      {"l_tax", {type_id::numeric, 15, 2}},  {"l_returnflag", {type_id::text}},
      {"l_linestatus", {type_id::text}},     {"l_shipdate", {type_id::date}},
  };
  ASSERT_TRUE(svc.create_table(schema, false).ok());
  std::mt19937_64 rng(7);
  const uint32_t batch_rows = 122880;
  for (int b = 0; b < 48; b++) {
    column_batch batch;
    for (const auto& c : schema.columns) batch.columns.emplace_back(c.type);
    for (uint32_t r = 0; r < batch_rows; r++) {
      tables::append_scalar(batch.columns[0], int64_t(b) * batch_rows + r);
      tables::append_scalar(batch.columns[1], __int128(100 * (1 + rng() % 50)));
      tables::append_scalar(batch.columns[2], __int128(90000 + rng() % 10000000));
      tables::append_scalar(batch.columns[3], __int128(rng() % 11));
      tables::append_scalar(batch.columns[4], __int128(rng() % 9));
      tables::append_scalar(batch.columns[5], std::string(1, "ANR"[rng() % 3]));
      tables::append_scalar(batch.columns[6], std::string(1, "OF"[rng() % 2]));
      tables::append_scalar(batch.columns[7], int64_t(8036 + rng() % 2500));
    }
    batch.row_count = batch_rows;
    auto txn = svc.begin();
    ASSERT_TRUE(txn->insert("li", batch, tables::on_conflict::error).ok());
    ASSERT_TRUE(txn->commit().ok());
  }
  {
    duckdb::DBConfig db_config;
    duckdb::DuckDB db(nullptr, &db_config);
    register_strata_scan(*db.instance, svc);
    duckdb::Connection con(db);
    auto state = duckdb::make_shared_ptr<scan_context>();
    con.context->registered_state->Insert(scan_context::key, state);
    ASSERT_EQ(run(con, "CREATE TABLE li_native AS SELECT * FROM li").rfind("ERROR", 0), std::string::npos);
    const char* queries[] = {
        "SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice), "
        "sum(l_extendedprice * (1 - l_discount)), sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)), "
        "avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*) FROM {t} "
        "WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL 90 DAY GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT sum(l_extendedprice * l_discount) FROM {t} WHERE l_shipdate >= DATE '1994-01-01' "
        "AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24",
        "SELECT sum(l_extendedprice * (1 - l_discount)) FROM {t}",
        "SELECT sum(l_quantity) FROM {t}",
        "SELECT max(l_orderkey), max(l_shipdate) FROM {t}",
        "SELECT l_orderkey, l_quantity FROM {t} WHERE l_orderkey = 4000000",
        "EXPLAIN SELECT l_orderkey, l_quantity FROM {t} WHERE l_orderkey = 4000000",
    };
    for (const char* q : queries) {
      auto time_of = [&](const std::string& table, bool report) {
        state->report_statistics = report;
        auto sql = duckdb::StringUtil::Replace(q, "{t}", table);
        run(con, sql);  // warm
        auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < 10; i++) run(con, sql);
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / 10;
      };
      double without_ms = time_of("li", false);
      double with_ms = time_of("li", true);
      double native_ms = time_of("li_native", true);
      std::printf("%8.2f ms no-stats %8.2f ms stats %8.2f ms native  ratio %.2f -> %.2f  %.60s\n", without_ms,
                  with_ms, native_ms, without_ms / native_ms, with_ms / native_ms, q);
      state->report_statistics = true;
      if (std::string(q).rfind("EXPLAIN", 0) == 0) continue;
      EXPECT_EQ(run(con, duckdb::StringUtil::Replace(q, "{t}", "li")),
                run(con, duckdb::StringUtil::Replace(q, "{t}", "li_native")));
    }
  }
  opened.value().reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strata::sql
