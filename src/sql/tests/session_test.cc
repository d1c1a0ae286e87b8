// Session-level tests: a real tables::service in a temp dir, the DuckDB engine
// over it, and statements run the way pgwire runs them (prepare, execute, fetch).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "io/fs.h"
#include "meta/kv.h"
#include "sql/copy_format.h"
#include "sql/pg_types.h"
#include "sql/session.h"
#include "tables/service.h"

namespace strata::sql {
namespace {

using rows_t = std::vector<std::vector<std::string>>;

struct run_result {
  bool ok = false;
  error err;
  rows_t rows;
  std::string tag;
  std::vector<field> fields;
};

std::string text_of(const tables::column_vector& c, uint32_t row) {
  if (c.is_null(row)) return "NULL";
  std::string out;
  append_text_value(c, row, out);
  return out;
}

void add_rows(const tables::column_batch& batch, rows_t& rows) {
  for (uint32_t r = 0; r < batch.row_count; ++r) {
    std::vector<std::string> row;
    for (const auto& c : batch.columns) row.push_back(text_of(c, r));
    rows.push_back(std::move(row));
  }
}

parameter text_param(std::string text) {
  parameter p;
  p.text = std::move(text);
  return p;
}

parameter int_param(int64_t v) {
  parameter p;
  p.is_text = false;
  p.value = v;
  p.type = tables::column_type{tables::type_id::int64};
  return p;
}

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "strata-sql-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class session_test : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = io::make_posix_fs();
    kv_ = meta::make_memory_kv();
    tables::service_config tc;
    tc.data_dir = dir_.path();
    auto svc = tables::service::open(tc, *fs_, *kv_);
    ASSERT_TRUE(svc.ok()) << svc.err().message;
    tables_ = std::move(svc.value());
    engine_config ec;
    ec.threads = 2;
    ec.memory_bytes_max = 1ULL << 30;
    ec.copy_buffer_bytes_max = 1 << 20;
    auto eng = engine::open(ec, *tables_);
    ASSERT_TRUE(eng.ok()) << eng.err().message;
    engine_ = std::move(eng.value());
    s_ = new_session();
  }

  void TearDown() override {
    s_.reset();
    engine_.reset();
    tables_.reset();
  }

  std::unique_ptr<session> new_session() {
    auto s = engine_->new_session({"alice", "strata", "tests"});
    EXPECT_TRUE(s.ok());
    return std::move(s.value());
  }

  static run_result run_on(session& s, std::string_view sql, const std::vector<parameter>& params = {}) {
    run_result out;
    auto p = s.prepare(sql, {});
    if (!p.ok()) {
      out.err = p.err();
      return out;
    }
    auto c = s.execute(p.value(), params);
    if (!c.ok()) {
      out.err = c.err();
      return out;
    }
    out.fields = p.value()->fields();
    while (true) {
      tables::column_batch batch;
      auto more = c.value()->fetch(1000, batch);
      if (!more.ok()) {
        out.err = more.err();
        return out;
      }
      add_rows(batch, out.rows);
      if (!more.value()) break;
    }
    out.tag = c.value()->command_tag();
    out.ok = true;
    return out;
  }

  run_result run(std::string_view sql, const std::vector<parameter>& params = {}) { return run_on(*s_, sql, params); }

  rows_t ok(std::string_view sql, const std::vector<parameter>& params = {}) {
    auto r = run(sql, params);
    EXPECT_TRUE(r.ok) << sql << ": " << r.err.sqlstate << " " << r.err.message;
    return r.rows;
  }

  std::string tag(std::string_view sql) {
    auto r = run(sql);
    EXPECT_TRUE(r.ok) << sql << ": " << r.err.sqlstate << " " << r.err.message;
    return r.tag;
  }

  std::string state_of(std::string_view sql) {
    auto r = run(sql);
    EXPECT_FALSE(r.ok) << sql << " succeeded";
    return r.err.sqlstate;
  }

  void make_tables() {
    ASSERT_EQ(tag("CREATE TABLE events (id bigint, name text, amount double precision)"), "CREATE TABLE");
    ASSERT_EQ(tag("CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance integer NOT NULL, note text)"),
              "CREATE TABLE");
  }

  temp_dir dir_;
  std::unique_ptr<io::fs> fs_;
  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<tables::service> tables_;
  std::unique_ptr<engine> engine_;
  std::unique_ptr<session> s_;
};

TEST_F(session_test, log_table_insert_and_select) {
  make_tables();
  EXPECT_EQ(tag("INSERT INTO events VALUES (1, 'a', 1.5), (2, 'b', 2.5)"), "INSERT 0 2");
  EXPECT_EQ(tag("INSERT INTO events (amount, id) VALUES (10, 3)"), "INSERT 0 1");
  EXPECT_EQ(ok("SELECT id, name, amount FROM events ORDER BY id"),
            (rows_t{{"1", "a", "1.5"}, {"2", "b", "2.5"}, {"3", "NULL", "10"}}));
  EXPECT_EQ(tag("INSERT INTO events SELECT id + 10, name, amount FROM events"), "INSERT 0 3");
  EXPECT_EQ(ok("SELECT count(*), sum(id) FROM events"), (rows_t{{"6", "42"}}));
  auto r = run("SELECT count(*) FROM events");
  EXPECT_EQ(r.tag, "SELECT 1");
  ASSERT_EQ(r.fields.size(), 1u);
  EXPECT_EQ(r.fields[0].type_oid, oid::int8);
  // Column names as PostgreSQL gives them.
  auto named = run("SELECT count(*), sum(id), id + 1, id, amount::integer, name AS who FROM events GROUP BY id, name, amount");
  ASSERT_EQ(named.fields.size(), 6u);
  std::vector<std::string> names;
  for (const auto& f : named.fields) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"count", "sum", "?column?", "id", "amount", "who"}));
}

TEST_F(session_test, insert_arity_and_not_null_errors) {
  make_tables();
  EXPECT_EQ(state_of("INSERT INTO events VALUES (1, 'a', 1.5, 9)"), "42601");
  EXPECT_EQ(state_of("INSERT INTO events (id, name) VALUES (1)"), "42601");
  EXPECT_EQ(state_of("INSERT INTO events (nope) VALUES (1)"), "42703");
  EXPECT_EQ(state_of("INSERT INTO events (id, id) VALUES (1, 2)"), "42701");
  auto r = run("INSERT INTO accounts (id, owner) VALUES (1, 'x')");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.err.sqlstate, "23502");
  EXPECT_NE(r.err.message.find("\"balance\""), std::string::npos) << r.err.message;
  EXPECT_EQ(state_of("INSERT INTO accounts VALUES (NULL, 'x', 1, NULL)"), "23502");
  EXPECT_EQ(ok("SELECT count(*) FROM accounts"), (rows_t{{"0"}}));
}

TEST_F(session_test, primary_key_duplicates_and_upserts) {
  make_tables();
  EXPECT_EQ(tag("INSERT INTO accounts VALUES (1, 'ann', 10, 'n1'), (2, 'bob', 20, 'n2')"), "INSERT 0 2");
  EXPECT_EQ(state_of("INSERT INTO accounts VALUES (1, 'dup', 0, NULL)"), "23505");
  EXPECT_EQ(tag("INSERT INTO accounts VALUES (1, 'dup', 0, NULL), (3, 'cy', 30, NULL) ON CONFLICT (id) DO NOTHING"),
            "INSERT 0 1");
  // Every column set from EXCLUDED: a plain replace.
  EXPECT_EQ(tag("INSERT INTO accounts VALUES (2, 'bob2', 21, 'x') ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, "
                "balance = EXCLUDED.balance, note = EXCLUDED.note"),
            "INSERT 0 1");
  // Some columns from EXCLUDED: the others keep their stored values.
  EXPECT_EQ(tag("INSERT INTO accounts VALUES (1, 'ignored', 11, 'ignored'), (4, 'dee', 40, 'n4') "
                "ON CONFLICT (id) DO UPDATE SET balance = excluded.balance"),
            "INSERT 0 2");
  // General expressions over the stored row and EXCLUDED, with a WHERE.
  EXPECT_EQ(tag("INSERT INTO accounts AS a VALUES (1, 'z', 5, NULL), (3, 'z', 5, NULL) ON CONFLICT (id) DO UPDATE "
                "SET balance = a.balance + EXCLUDED.balance, note = 'sum' WHERE a.balance < 20"),
            "INSERT 0 1");
  EXPECT_EQ(ok("SELECT id, owner, balance, note FROM accounts ORDER BY id"),
            (rows_t{{"1", "ann", "16", "sum"}, {"2", "bob2", "21", "x"}, {"3", "cy", "30", "NULL"}, {"4", "dee", "40", "n4"}}));
  auto twice = run("INSERT INTO accounts VALUES (5, 'e', 1, NULL), (5, 'e', 2, NULL) ON CONFLICT (id) DO UPDATE SET balance = 0");
  EXPECT_EQ(twice.err.sqlstate, "21000");
  EXPECT_NE(twice.err.message.find("cannot affect row a second time"), std::string::npos);
  EXPECT_EQ(state_of("INSERT INTO events VALUES (1, 'a', 1) ON CONFLICT DO NOTHING"), "42P10");
  EXPECT_EQ(state_of("INSERT INTO accounts VALUES (1, 'a', 1, NULL) ON CONFLICT (owner) DO NOTHING"), "42P10");
}

TEST_F(session_test, update_delete_and_changelog) {
  make_tables();
  ok("INSERT INTO accounts VALUES (1, 'ann', 10, NULL), (2, 'bob', 20, NULL), (3, 'cy', 30, NULL)");
  EXPECT_EQ(tag("UPDATE accounts SET balance = balance * 2, note = 'x' WHERE id >= 2"), "UPDATE 2");
  EXPECT_EQ(tag("DELETE FROM accounts WHERE owner = 'ann'"), "DELETE 1");
  EXPECT_EQ(tag("DELETE FROM accounts WHERE id = 99"), "DELETE 0");
  EXPECT_EQ(ok("SELECT id, balance, note FROM accounts ORDER BY id"), (rows_t{{"2", "40", "x"}, {"3", "60", "x"}}));
  // Changing the key moves the row.
  EXPECT_EQ(tag("UPDATE accounts SET id = id + 100 WHERE id = 3"), "UPDATE 1");
  EXPECT_EQ(ok("SELECT id FROM accounts ORDER BY id"), (rows_t{{"2"}, {"103"}}));
  EXPECT_EQ(state_of("UPDATE accounts SET balance = NULL"), "23502");
  EXPECT_EQ(state_of("UPDATE accounts SET nope = 1"), "42703");
  auto log_update = run("UPDATE events SET amount = 1");
  EXPECT_EQ(log_update.err.sqlstate, "0A000");
  EXPECT_NE(log_update.err.message.find("log table"), std::string::npos);
  EXPECT_EQ(state_of("DELETE FROM events"), "0A000");
  auto changes = ok("SELECT change_type, id, balance FROM \"accounts$changelog\" ORDER BY log_offset, change_type DESC");
  ASSERT_GE(changes.size(), 8u);
  EXPECT_EQ(changes[0], (std::vector<std::string>{"+I", "1", "10"}));
  int deletes = 0, updates_after = 0;
  for (const auto& c : changes) {
    deletes += c[0] == "-D";
    updates_after += c[0] == "+U";
  }
  EXPECT_GE(deletes, 1);
  EXPECT_GE(updates_after, 2);
}

TEST_F(session_test, transaction_commit_rollback_and_visibility) {
  make_tables();
  auto other = new_session();
  EXPECT_EQ(tag("BEGIN"), "BEGIN");
  EXPECT_EQ(s_->state(), transaction_state::in_block);
  ok("INSERT INTO accounts VALUES (1, 'ann', 10, NULL)");
  ok("UPDATE accounts SET balance = 11 WHERE id = 1");
  EXPECT_EQ(ok("SELECT balance FROM accounts"), (rows_t{{"11"}}));
  EXPECT_EQ(run_on(*other, "SELECT count(*) FROM accounts").rows, (rows_t{{"0"}}));
  EXPECT_EQ(tag("COMMIT"), "COMMIT");
  EXPECT_EQ(s_->state(), transaction_state::idle);
  EXPECT_EQ(run_on(*other, "SELECT balance FROM accounts").rows, (rows_t{{"11"}}));

  ok("BEGIN");
  ok("DELETE FROM accounts");
  EXPECT_EQ(ok("SELECT count(*) FROM accounts"), (rows_t{{"0"}}));
  EXPECT_EQ(tag("ROLLBACK"), "ROLLBACK");
  EXPECT_EQ(ok("SELECT count(*) FROM accounts"), (rows_t{{"1"}}));
}

TEST_F(session_test, failed_block_ignores_commands_until_rollback) {
  make_tables();
  ok("BEGIN");
  ok("INSERT INTO accounts VALUES (1, 'ann', 10, NULL)");
  EXPECT_EQ(state_of("SELECT * FROM missing_table"), "42P01");
  EXPECT_EQ(s_->state(), transaction_state::failed);
  auto r = run("SELECT 1");
  EXPECT_EQ(r.err.sqlstate, "25P02");
  EXPECT_EQ(r.err.message, "current transaction is aborted, commands ignored until end of transaction block");
  EXPECT_EQ(tag("COMMIT"), "ROLLBACK");
  EXPECT_EQ(s_->state(), transaction_state::idle);
  EXPECT_EQ(ok("SELECT count(*) FROM accounts"), (rows_t{{"0"}}));
  EXPECT_EQ(state_of("SAVEPOINT a"), "25P01");  // only in a block
  EXPECT_EQ(state_of("BEGIN ISOLATION LEVEL SERIALIZABLE"), "0A000");
  EXPECT_EQ(tag("BEGIN ISOLATION LEVEL READ COMMITTED"), "BEGIN");
  EXPECT_EQ(tag("END"), "COMMIT");
}

TEST_F(session_test, prepared_statements_with_parameters) {
  make_tables();
  auto ins = s_->prepare("INSERT INTO accounts (id, owner, balance) VALUES ($1, $2, $3)", {});
  ASSERT_TRUE(ins.ok()) << ins.err().message;
  EXPECT_EQ(ins.value()->kind(), statement_kind::command);
  EXPECT_EQ(ins.value()->parameter_oids(), (std::vector<uint32_t>{oid::int8, oid::text, oid::int4}));
  for (int i = 1; i <= 3; ++i) {
    auto c = s_->execute(ins.value(), {int_param(i), text_param("o" + std::to_string(i)), text_param(std::to_string(i * 100))});
    ASSERT_TRUE(c.ok()) << c.err().message;
    EXPECT_EQ(c.value()->command_tag(), "INSERT 0 1");
  }
  auto sel = s_->prepare("SELECT owner, balance FROM accounts WHERE id = $1 OR balance > $2 ORDER BY id", {});
  ASSERT_TRUE(sel.ok()) << sel.err().message;
  EXPECT_EQ(sel.value()->parameter_oids().size(), 2u);
  ASSERT_EQ(sel.value()->fields().size(), 2u);
  EXPECT_EQ(sel.value()->fields()[0].name, "owner");
  EXPECT_EQ(sel.value()->fields()[1].type_oid, oid::int4);
  auto r = run("SELECT owner, balance FROM accounts WHERE id = $1 OR balance > $2 ORDER BY id", {int_param(1), text_param("250")});
  EXPECT_EQ(r.rows, (rows_t{{"o1", "100"}, {"o3", "300"}}));
  // Upsert and update with parameters in the SET list.
  ok("INSERT INTO accounts VALUES ($1, 'p', 1, NULL) ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + $2",
     {int_param(2), int_param(5)});
  ok("UPDATE accounts SET note = $1 WHERE id = $2", {text_param("hello"), int_param(2)});
  EXPECT_EQ(ok("SELECT balance, note FROM accounts WHERE id = 2"), (rows_t{{"205", "hello"}}));
  // Too few parameters.
  auto few = s_->execute(sel.value(), {int_param(1)});
  EXPECT_FALSE(few.ok());
  EXPECT_EQ(few.err().sqlstate, "08P01");
}

TEST_F(session_test, cursor_fetch_returns_exact_row_counts) {
  auto p = s_->prepare("SELECT range AS n FROM range(5000)", {});
  ASSERT_TRUE(p.ok());
  auto c = s_->execute(p.value(), {});
  ASSERT_TRUE(c.ok());
  tables::column_batch b;
  auto more = c.value()->fetch(3, b);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more.value());
  EXPECT_EQ(b.row_count, 3u);
  tables::column_batch b2;
  more = c.value()->fetch(2500, b2);
  EXPECT_TRUE(more.value());
  EXPECT_EQ(b2.row_count, 2500u);
  EXPECT_EQ(text_of(b2.columns[0], 0), "3");
  // Another statement on the session while the portal is open: the portal keeps its rows.
  EXPECT_EQ(ok("SELECT 42"), (rows_t{{"42"}}));
  tables::column_batch b3;
  more = c.value()->fetch(10000, b3);
  ASSERT_TRUE(more.ok()) << more.err().message;
  EXPECT_FALSE(more.value());
  EXPECT_EQ(b3.row_count, 2497u);
  EXPECT_EQ(text_of(b3.columns[0], 2496), "4999");
  EXPECT_EQ(c.value()->command_tag(), "SELECT 5000");
}

TEST_F(session_test, copy_in_and_out) {
  make_tables();
  auto p = s_->prepare("COPY accounts (id, balance, owner) FROM STDIN", {});
  ASSERT_TRUE(p.ok()) << p.err().message;
  EXPECT_EQ(p.value()->kind(), statement_kind::copy_in);
  EXPECT_EQ(p.value()->copy().column_count, 3u);
  auto sink = s_->copy_in(p.value());
  ASSERT_TRUE(sink.ok()) << sink.err().message;
  ASSERT_TRUE(sink.value()->write("1\t10\tann\n2\t2").ok());
  ASSERT_TRUE(sink.value()->write("0\t\\N\n").ok());
  std::string many;
  for (int i = 3; i <= 20000; ++i) many += std::to_string(i) + "\t" + std::to_string(i) + "\tname" + std::to_string(i) + "\n";
  ASSERT_TRUE(sink.value()->write(many).ok());
  auto n = sink.value()->finish();
  ASSERT_TRUE(n.ok()) << n.err().message;
  EXPECT_EQ(n.value(), 20000u);
  EXPECT_EQ(ok("SELECT count(*), sum(balance), count(owner), count(note) FROM accounts"),
            (rows_t{{"20000", "200010027", "19999", "0"}}));

  auto csv = s_->prepare("COPY events FROM STDIN WITH (FORMAT csv)", {});
  ASSERT_TRUE(csv.ok()) << csv.err().message;
  auto csv_sink = s_->copy_in(csv.value());
  ASSERT_TRUE(csv_sink.ok());
  ASSERT_TRUE(csv_sink.value()->write("1,\"a,b\",1.5\n2,,2\n").ok());
  EXPECT_EQ(csv_sink.value()->finish().value(), 2u);

  auto out = s_->prepare("COPY (SELECT id, name FROM events ORDER BY id) TO STDOUT WITH (FORMAT csv)", {});
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_EQ(out.value()->kind(), statement_kind::copy_out);
  auto src = s_->copy_out(out.value());
  ASSERT_TRUE(src.ok()) << src.err().message;
  std::string text;
  while (true) {
    auto more = src.value()->next(1 << 16, text);
    ASSERT_TRUE(more.ok()) << more.err().message;
    if (!more.value()) break;
  }
  EXPECT_EQ(text, "1,\"a,b\"\n2,\n");
  EXPECT_EQ(src.value()->rows(), 2u);

  auto bad = s_->prepare("COPY accounts FROM STDIN", {});
  ASSERT_TRUE(bad.ok());
  auto bad_sink = s_->copy_in(bad.value());
  ASSERT_TRUE(bad_sink.ok());
  auto w = bad_sink.value()->write("999999\tx\tnot_a_number\t\\N\n");
  auto f = w.ok() ? bad_sink.value()->finish().ok() : false;
  EXPECT_FALSE(f);
  // A column without a binary form fails before the COPY starts.
  EXPECT_EQ(state_of("COPY (SELECT INTERVAL '1 day' AS span) TO STDOUT (FORMAT binary)"), "0A000");
}

// copy_buffer_bytes_max is 1 MiB here, so these COPYs commit in several
// pieces, each while the next is parsed.
TEST_F(session_test, a_copy_of_many_pieces_keeps_every_row_and_checks_keys_across_pieces) {
  make_tables();
  auto copy_rows = [&](int64_t from, int64_t to) -> outcome<uint64_t> {
    auto sink = s_->copy_in(s_->prepare("COPY accounts (id, balance, owner) FROM STDIN", {}).value());
    EXPECT_TRUE(sink.ok());
    std::string text;
    for (int64_t i = from; i <= to; ++i) {
      text += std::to_string(i) + "\t" + std::to_string(i % 1000) + "\tsome owner with a longish name " +
              std::to_string(i) + "\n";
      if (text.size() >= (64 << 10)) {
        auto w = sink.value()->write(text);
        if (!w.ok()) return w.err();
        text.clear();
      }
    }
    auto w = sink.value()->write(text);
    if (!w.ok()) return w.err();
    return sink.value()->finish();
  };
  auto n = copy_rows(1, 150000);
  ASSERT_TRUE(n.ok()) << n.err().message;
  EXPECT_EQ(n.value(), 150000u);
  EXPECT_EQ(ok("SELECT count(*), sum(id), sum(balance), count(DISTINCT id) FROM accounts"),
            (rows_t{{"150000", "11250075000", "74925000", "150000"}}));
  EXPECT_EQ(ok("SELECT count(*) FROM \"accounts$changelog\""), (rows_t{{"150000"}}));

  // A key of the first COPY again, far into a second one: the COPY fails with
  // 23505, and the pieces it committed before stay (docs/sql.md, COPY).
  auto clash = [&]() -> outcome<uint64_t> {
    auto sink = s_->copy_in(s_->prepare("COPY accounts (id, balance) FROM STDIN", {}).value());
    std::string text;
    for (int64_t i = 500000; i < 560000; ++i) text += std::to_string(i) + "\t1\n";
    text += "77\t1\n";
    for (size_t at = 0; at < text.size(); at += 64 << 10) {
      auto w = sink.value()->write(std::string_view(text).substr(at, 64 << 10));
      if (!w.ok()) return w.err();
    }
    return sink.value()->finish();
  }();
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.err().sqlstate, "23505") << clash.err().message;
  EXPECT_EQ(ok("SELECT count(*) = count(DISTINCT id), count(*) > 150000, max(balance) < 1000 FROM accounts"),
            (rows_t{{"t", "t", "t"}}));
  EXPECT_EQ(ok("SELECT owner FROM accounts WHERE id = 77"), (rows_t{{"some owner with a longish name 77"}}));
}

TEST_F(session_test, copy_out_gives_one_row_per_call) {
  make_tables();
  ok("INSERT INTO events VALUES (1, 'two\nlines', 1), (2, 'q\"x,\ny', 2), (3, 'plain', 3)");
  for (const char* sql : {"COPY (SELECT id, name FROM events ORDER BY id) TO STDOUT (FORMAT csv, HEADER)",
                          "COPY (SELECT id, name FROM events ORDER BY id) TO STDOUT"}) {
    auto src = s_->copy_out(s_->prepare(sql, {}).value());
    ASSERT_TRUE(src.ok()) << src.err().message;
    std::vector<std::string> pieces;
    for (;;) {
      std::string piece;
      auto more = src.value()->next(1 << 16, piece);
      ASSERT_TRUE(more.ok()) << more.err().message;
      if (!more.value()) {
        EXPECT_EQ(piece, "");
        break;
      }
      pieces.push_back(piece);
    }
    if (std::string_view(sql).find("csv") != std::string_view::npos) {
      EXPECT_EQ(pieces, (std::vector<std::string>{"id,name\n", "1,\"two\nlines\"\n", "2,\"q\"\"x,\ny\"\n", "3,plain\n"}));
    } else {
      EXPECT_EQ(pieces, (std::vector<std::string>{"1\ttwo\\nlines\n", "2\tq\"x,\\ny\n", "3\tplain\n"}));
    }
    EXPECT_EQ(src.value()->rows(), 3u);
  }
}

TEST_F(session_test, varchar_length_is_enforced_on_insert_and_update) {
  ASSERT_EQ(tag("CREATE TABLE vt (id bigint PRIMARY KEY, v varchar(5))"), "CREATE TABLE");
  auto r = run("INSERT INTO vt VALUES (1, 'toolong')");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.err.sqlstate, "22001");
  EXPECT_EQ(r.err.message, "value too long for type character varying(5)");
  EXPECT_EQ(tag("INSERT INTO vt VALUES (1, 'héllo'), (2, 'ab   ')"), "INSERT 0 2");
  EXPECT_EQ(state_of("UPDATE vt SET v = v || 'x' WHERE id = 1"), "22001");
  EXPECT_EQ(state_of("INSERT INTO vt SELECT 3, 'abcdef'"), "22001");
  EXPECT_EQ(ok("SELECT v FROM vt ORDER BY id"), (rows_t{{"héllo"}, {"ab   "}}));
  // RowDescription types: varchar(5) read straight from the table keeps its length.
  auto r2 = run("SELECT *, v AS w, v || 'x', v::text FROM vt");
  ASSERT_TRUE(r2.ok) << r2.err.message;
  ASSERT_EQ(r2.fields.size(), 5u);
  EXPECT_EQ(r2.fields[1].type_oid, oid::varchar);
  EXPECT_EQ(r2.fields[1].type_modifier, 9);
  EXPECT_EQ(r2.fields[2].type_oid, oid::varchar);
  EXPECT_EQ(r2.fields[3].type_oid, oid::text);
  EXPECT_EQ(r2.fields[4].type_oid, oid::text);
  EXPECT_EQ(r2.fields[4].type_modifier, -1);
}

TEST_F(session_test, insert_without_column_list_fills_missing_columns_with_null) {
  make_tables();
  EXPECT_EQ(tag("INSERT INTO events VALUES (1), (3)"), "INSERT 0 2");
  EXPECT_EQ(tag("INSERT INTO events VALUES (2, 'b')"), "INSERT 0 1");
  EXPECT_EQ(ok("SELECT id, name, amount FROM events ORDER BY id"),
            (rows_t{{"1", "NULL", "NULL"}, {"2", "b", "NULL"}, {"3", "NULL", "NULL"}}));
  EXPECT_EQ(state_of("INSERT INTO events (id, name) VALUES (1)"), "42601");
}

TEST_F(session_test, nulls_sort_last_ascending_and_first_descending) {
  make_tables();
  ok("INSERT INTO events VALUES (1, 'b', 1), (2, NULL, 2), (3, 'a', 3)");
  EXPECT_EQ(ok("SELECT id FROM events ORDER BY name"), (rows_t{{"3"}, {"1"}, {"2"}}));
  EXPECT_EQ(ok("SELECT id FROM events ORDER BY name DESC"), (rows_t{{"2"}, {"1"}, {"3"}}));
}

TEST_F(session_test, postgresql_functions_and_sqlstates) {
  auto v = ok("SELECT version()");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0][0].rfind("PostgreSQL 15.0 (Strata", 0), 0u) << v[0][0];
  EXPECT_EQ(ok("SELECT current_setting('standard_conforming_strings')"), (rows_t{{"on"}}));
  EXPECT_EQ(ok("SELECT current_setting('TimeZone')"), (rows_t{{"UTC"}}));
  ok("SET application_name = 'it''s me'");
  EXPECT_EQ(ok("SELECT current_setting('application_name')"), (rows_t{{"it's me"}}));
  EXPECT_EQ(state_of("SELECT current_setting('no_such_setting')"), "42704");
  EXPECT_EQ(state_of("SELECT CAST(123456789012 AS numeric(12,3))"), "22003");
  EXPECT_EQ(state_of("SELECT date '2023-02-29'"), "22008");
  EXPECT_EQ(state_of("SELECT '2023-02-29'::date"), "22008");
  EXPECT_EQ(state_of("SELECT 'abc'::numeric(12,3)"), "22P02");
  EXPECT_EQ(ok("SELECT length(CAST('abc' AS bytea)), length('héllo'), octet_length(CAST('ab' AS bytea))"),
            (rows_t{{"3", "5", "2"}}));
  // Each session reads its own settings.
  auto other = new_session();
  EXPECT_EQ(run_on(*other, "SELECT current_setting('application_name')").rows, (rows_t{{"tests"}}));
}

// A statement prepared before writes that move a column's min/max: its scan
// reports stale statistics and the session prepares and runs it again.
TEST_F(session_test, statements_prepared_before_writes_see_the_new_rows) {
  make_tables();
  ok("INSERT INTO events VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
  ASSERT_EQ(tag("CREATE TABLE copied (id bigint)"), "CREATE TABLE");
  auto count = s_->prepare("SELECT count(*), max(id) FROM events WHERE id >= 2", {});
  auto rows = s_->prepare("SELECT id FROM events WHERE id >= 2 ORDER BY id", {});
  auto plain = s_->prepare("SELECT id FROM events WHERE id >= 2", {});
  auto insert = s_->prepare("INSERT INTO copied SELECT id FROM events WHERE id >= 2", {});
  ASSERT_TRUE(count.ok() && rows.ok() && plain.ok() && insert.ok());
  ok("INSERT INTO events VALUES (100, 'z', 100)");
  auto fetch_all = [&](const std::shared_ptr<prepared>& p) {
    rows_t out;
    auto c = s_->execute(p, {});
    EXPECT_TRUE(c.ok()) << c.err().message;
    if (!c.ok()) return out;
    for (;;) {
      tables::column_batch batch;
      auto more = c.value()->fetch(1000, batch);
      EXPECT_TRUE(more.ok()) << more.err().sqlstate << " " << more.err().message;
      if (!more.ok()) return out;
      add_rows(batch, out);
      if (!more.value()) return out;
    }
  };
  EXPECT_EQ(fetch_all(count.value()), (rows_t{{"3", "100"}}));
  EXPECT_EQ(fetch_all(rows.value()), (rows_t{{"2"}, {"3"}, {"100"}}));
  auto unordered = fetch_all(plain.value());
  std::sort(unordered.begin(), unordered.end());
  EXPECT_EQ(unordered, (rows_t{{"100"}, {"2"}, {"3"}}));
  auto c = s_->execute(insert.value(), {});
  ASSERT_TRUE(c.ok()) << c.err().message;
  EXPECT_EQ(c.value()->command_tag(), "INSERT 0 3");
  EXPECT_EQ(ok("SELECT count(*), max(id) FROM copied"), (rows_t{{"3", "100"}}));
}

TEST_F(session_test, cancel_interrupts_a_long_query) {
  auto p = s_->prepare("SELECT count(*) FROM range(10000000000)", {});
  ASSERT_TRUE(p.ok()) << p.err().message;
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    while (!done.load()) {
      s_->cancel();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto started = std::chrono::steady_clock::now();
  error err;
  auto c = s_->execute(p.value(), {});
  if (!c.ok()) {
    err = c.err();
  } else {
    tables::column_batch b;
    auto more = c.value()->fetch(10, b);
    if (!more.ok()) err = more.err();
  }
  done = true;
  canceller.join();
  EXPECT_EQ(err.sqlstate, "57014");
  EXPECT_EQ(err.message, "canceling statement due to user request");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  // The session works afterwards, and a cancel while idle does nothing.
  s_->cancel();
  EXPECT_EQ(ok("SELECT 1"), (rows_t{{"1"}}));
}

TEST_F(session_test, statement_timeout_cancels) {
  EXPECT_EQ(tag("SET statement_timeout = 300"), "SET");
  EXPECT_EQ(ok("SHOW statement_timeout"), (rows_t{{"300ms"}}));
  auto r = run("SELECT count(*) FROM range(10000000000)");
  EXPECT_EQ(r.err.sqlstate, "57014");
  EXPECT_EQ(r.err.message, "canceling statement due to statement timeout");
  EXPECT_EQ(ok("SELECT 2"), (rows_t{{"2"}}));
  EXPECT_EQ(tag("RESET statement_timeout"), "RESET");
}

TEST_F(session_test, settings) {
  EXPECT_EQ(ok("SHOW DateStyle"), (rows_t{{"ISO, MDY"}}));
  EXPECT_EQ(run("SHOW datestyle").fields.at(0).name, "DateStyle");
  EXPECT_EQ(ok("SHOW transaction isolation level"), (rows_t{{"read committed"}}));
  EXPECT_EQ(tag("SET application_name = 'psql'"), "SET");
  EXPECT_EQ(tag("SET TIME ZONE 'Europe/Berlin'"), "SET");
  EXPECT_EQ(ok("SHOW TimeZone"), (rows_t{{"UTC"}}));
  auto reported = s_->take_reported_parameters();
  EXPECT_NE(std::find(reported.begin(), reported.end(), std::make_pair(std::string("application_name"), std::string("psql"))),
            reported.end());
  EXPECT_TRUE(s_->take_reported_parameters().empty());
  EXPECT_EQ(tag("SET client_encoding TO 'utf8'"), "SET");
  EXPECT_EQ(state_of("SET client_encoding TO 'LATIN1'"), "22023");
  EXPECT_EQ(state_of("SET no_such_setting = 1"), "42704");
  EXPECT_EQ(state_of("SHOW no_such_setting"), "42704");
  EXPECT_EQ(state_of("SET server_version = '1'"), "55P02");
  EXPECT_EQ(tag("SET extra_float_digits = 3"), "SET");
  EXPECT_EQ(state_of("SET extra_float_digits = 9"), "22023");
  EXPECT_EQ(tag("SET search_path TO public, other"), "SET");
  EXPECT_EQ(ok("SHOW search_path"), (rows_t{{"public, other"}}));
  EXPECT_EQ(tag("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED"), "SET");
  EXPECT_EQ(state_of("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"), "0A000");
  EXPECT_EQ(tag("SET strata.pushdown = off"), "SET");
  EXPECT_EQ(ok("SHOW strata.pushdown"), (rows_t{{"off"}}));
  EXPECT_GE(ok("SHOW ALL").size(), 20u);
  auto startup = s_->startup_parameters();
  auto has = [&](const char* k, const char* v) {
    return std::find(startup.begin(), startup.end(), std::make_pair(std::string(k), std::string(v))) != startup.end();
  };
  EXPECT_TRUE(has("server_version", "15.0 (Strata)"));
  EXPECT_TRUE(has("client_encoding", "UTF8"));
  EXPECT_TRUE(has("DateStyle", "ISO, MDY"));
  EXPECT_TRUE(has("integer_datetimes", "on"));
  EXPECT_TRUE(has("application_name", "psql"));
  EXPECT_TRUE(has("session_authorization", "alice"));
}

TEST_F(session_test, pushdown_on_and_off_give_the_same_answer) {
  make_tables();
  ok("INSERT INTO events SELECT range, 'n' || range, range * 0.5 FROM range(3000)");
  auto on = ok("SELECT count(*), sum(amount) FROM events WHERE id BETWEEN 100 AND 2000 AND name IS NOT NULL");
  ok("SET strata.pushdown = off");
  EXPECT_EQ(ok("SELECT count(*), sum(amount) FROM events WHERE id BETWEEN 100 AND 2000 AND name IS NOT NULL"), on);
  EXPECT_EQ(on, (rows_t{{"1901", "998025"}}));
}

TEST_F(session_test, statement_routing_and_errors) {
  make_tables();
  auto empty = s_->prepare("  -- nothing\n /* here */ ;", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value()->kind(), statement_kind::empty);
  EXPECT_EQ(state_of("SELECT * FROM no_such_table"), "42P01");
  EXPECT_EQ(state_of("SELEC 1"), "42601");
  EXPECT_EQ(state_of("CREATE VIEW v AS SELECT 1"), "0A000");
  EXPECT_EQ(state_of("CREATE SCHEMA s"), "0A000");
  EXPECT_EQ(state_of("ALTER TABLE events ADD CONSTRAINT u UNIQUE (id)"), "0A000");
  EXPECT_EQ(state_of("CREATE TABLE events (id int)"), "42P07");
  EXPECT_EQ(tag("CREATE TABLE IF NOT EXISTS events (id int)"), "CREATE TABLE");
  // Session TEMP tables live in DuckDB.
  EXPECT_EQ(tag("CREATE TEMP TABLE scratch (a integer)"), "CREATE TABLE");
  EXPECT_EQ(tag("INSERT INTO scratch VALUES (1), (2)"), "INSERT 0 2");
  EXPECT_EQ(ok("SELECT sum(a) FROM scratch"), (rows_t{{"3"}}));
  EXPECT_EQ(tag("DROP TABLE scratch"), "DROP TABLE");
  EXPECT_EQ(tag("DROP TABLE events"), "DROP TABLE");
  EXPECT_EQ(state_of("SELECT * FROM events"), "42P01");
  EXPECT_EQ(state_of("DROP TABLE events"), "42P01");
  EXPECT_EQ(tag("DROP TABLE IF EXISTS events"), "DROP TABLE");
  EXPECT_EQ(ok("SELECT 7 / 2"), (rows_t{{"3"}}));
}


TEST_F(session_test, more_write_forms) {
  make_tables();
  ok("INSERT INTO accounts VALUES (1, 'ann', 10, NULL), (2, 'bob', 20, NULL), (3, 'cy', 30, NULL)");
  // A bare column in DO UPDATE means the stored row.
  EXPECT_EQ(tag("INSERT INTO accounts VALUES (1, 'x', 5, NULL) ON CONFLICT (id) DO UPDATE SET balance = balance + 1"),
            "INSERT 0 1");
  EXPECT_EQ(ok("SELECT balance FROM accounts WHERE id = 1"), (rows_t{{"11"}}));
  // A WHERE that rejects the update leaves the row and does not count it.
  EXPECT_EQ(tag("INSERT INTO accounts VALUES (2, 'x', 5, NULL) ON CONFLICT (id) DO UPDATE SET balance = 0 "
                "WHERE accounts.balance > 1000"),
            "INSERT 0 0");
  EXPECT_EQ(ok("SELECT balance FROM accounts WHERE id = 2"), (rows_t{{"20"}}));
  ok("CREATE TEMP TABLE bonus (id bigint, extra integer)");
  ok("INSERT INTO bonus VALUES (2, 7), (3, 8)");
  EXPECT_EQ(tag("UPDATE accounts AS a SET balance = a.balance + b.extra FROM bonus b WHERE a.id = b.id"), "UPDATE 2");
  EXPECT_EQ(ok("SELECT id, balance FROM accounts ORDER BY id"), (rows_t{{"1", "11"}, {"2", "27"}, {"3", "38"}}));
  EXPECT_EQ(tag("DELETE FROM accounts USING bonus WHERE accounts.id = bonus.id AND bonus.extra = 8"), "DELETE 1");
  EXPECT_EQ(tag("WITH src AS (SELECT 9 AS id) INSERT INTO accounts SELECT id, 'w', 1, NULL FROM src"), "INSERT 0 1");
  EXPECT_EQ(tag("INSERT INTO events DEFAULT VALUES"), "INSERT 0 1");
  EXPECT_EQ(ok("SELECT id, name FROM events"), (rows_t{{"NULL", "NULL"}}));
  EXPECT_EQ(state_of("INSERT INTO accounts DEFAULT VALUES"), "23502");
  EXPECT_EQ(state_of("INSERT INTO accounts (id, balance) SELECT 1, 2, 3"), "42601");
  EXPECT_EQ(ok("INSERT INTO accounts VALUES (100, 'r', 1, NULL) RETURNING id, owner"), (rows_t{{"100", "r"}}));
  // DO NOTHING returns only the rows it inserted: none, since 100 is stored.
  EXPECT_EQ(ok("INSERT INTO accounts VALUES (100, 'r', 1, NULL), (101, 's', 2, NULL) ON CONFLICT DO NOTHING RETURNING id"),
            (rows_t{{"101"}}));
  EXPECT_EQ(state_of("INSERT INTO accounts VALUES ('not a number', 'a', 1, NULL)"), "22P02");
}

TEST_F(session_test, column_types_round_trip) {
  ASSERT_EQ(tag("CREATE TABLE typed (k integer PRIMARY KEY, s smallint, f real, n numeric(10,2), d date, "
                "ts timestamp, tz timestamptz, b bytea, j json, flag boolean, v varchar(5))"),
            "CREATE TABLE");
  EXPECT_EQ(tag("INSERT INTO typed VALUES (1, 7, 1.5, 12.345, '2024-02-29', '2024-01-02 03:04:05.5', "
                "'2024-01-02 03:04:05+02', '\\x0102', '{\"a\": 1}', true, 'abc')"),
            "INSERT 0 1");
  EXPECT_EQ(ok("SELECT * FROM typed"),
            (rows_t{{"1", "7", "1.5", "12.35", "2024-02-29", "2024-01-02 03:04:05.5", "2024-01-02 01:04:05+00",
                     "\\x0102", "{\"a\": 1}", "t", "abc"}}));
  EXPECT_EQ(tag("UPDATE typed SET n = n * 2, flag = NOT flag"), "UPDATE 1");
  EXPECT_EQ(ok("SELECT n, flag FROM typed"), (rows_t{{"24.70", "f"}}));
}

TEST_F(session_test, copy_inside_a_block) {
  make_tables();
  ok("BEGIN");
  auto p = s_->prepare("COPY events FROM STDIN (FORMAT csv, HEADER true)", {});
  ASSERT_TRUE(p.ok()) << p.err().message;
  auto sink = s_->copy_in(p.value());
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE(sink.value()->write("id,name,amount\n1,a,1\n2,b,2\n").ok());
  EXPECT_EQ(sink.value()->finish().value(), 2u);
  EXPECT_EQ(ok("SELECT count(*) FROM events"), (rows_t{{"2"}}));
  EXPECT_EQ(run_on(*new_session(), "SELECT count(*) FROM events").rows, (rows_t{{"0"}}));
  ok("ROLLBACK");
  EXPECT_EQ(ok("SELECT count(*) FROM events"), (rows_t{{"0"}}));
  // A failed COPY fails the block.
  ok("BEGIN");
  auto bad = s_->copy_in(s_->prepare("COPY events FROM STDIN", {}).value());
  ASSERT_TRUE(bad.ok());
  auto w = bad.value()->write("x\ty\tz\n");
  bool failed = !w.ok() || !bad.value()->finish().ok();
  EXPECT_TRUE(failed);
  EXPECT_EQ(s_->state(), transaction_state::failed);
  EXPECT_EQ(tag("ROLLBACK"), "ROLLBACK");
  // COPY TO STDOUT of a table, CSV with a header.
  ok("INSERT INTO events VALUES (5, 'q\"uote', 0.25)");
  auto out = s_->copy_out(s_->prepare("COPY events (name, id) TO STDOUT (FORMAT csv, HEADER)", {}).value());
  ASSERT_TRUE(out.ok()) << out.err().message;
  std::string text;
  while (out.value()->next(1024, text).value()) {
  }
  EXPECT_EQ(text, "name,id\n\"q\"\"uote\",5\n");
}

TEST_F(session_test, parameter_types_from_hints_and_inference) {
  auto p = s_->prepare("SELECT $1 + 1 AS n", {oid::int4});
  ASSERT_TRUE(p.ok()) << p.err().message;
  EXPECT_EQ(p.value()->parameter_oids(), (std::vector<uint32_t>{oid::int4}));
  auto c = s_->execute(p.value(), {text_param("41")});
  ASSERT_TRUE(c.ok()) << c.err().message;
  tables::column_batch b;
  ASSERT_TRUE(c.value()->fetch(0, b).ok());
  ASSERT_EQ(b.row_count, 1u);
  EXPECT_EQ(text_of(b.columns[0], 0), "42");
  auto q = s_->prepare("SELECT $1 AS t", {});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.value()->parameter_oids(), (std::vector<uint32_t>{oid::text}));
  EXPECT_EQ(run("SELECT $1 AS t", {text_param("hi")}).rows, (rows_t{{"hi"}}));
  parameter null;
  null.is_null = true;
  EXPECT_EQ(run("SELECT $1::int IS NULL", {null}).rows, (rows_t{{"t"}}));
}

TEST_F(session_test, psql_catalog_queries_are_answered) {
  make_tables();
  auto r = run(R"(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)");
  ASSERT_TRUE(r.ok) << r.err.message;
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0][1], "accounts");
  EXPECT_EQ(r.rows[1][1], "events");
  EXPECT_EQ(r.tag, "SELECT 2");
}

TEST_F(session_test, ddl_is_not_transactional_and_blocks_see_other_commits) {
  make_tables();
  auto other = new_session();
  ok("BEGIN");
  ok("INSERT INTO events VALUES (1, 'mine', 0)");
  ASSERT_TRUE(run_on(*other, "INSERT INTO events VALUES (2, 'theirs', 0)").ok);
  EXPECT_EQ(ok("SELECT name FROM events ORDER BY id"), (rows_t{{"mine"}, {"theirs"}}));
  ok("CREATE TABLE made_in_block (id integer)");
  ok("ROLLBACK");
  EXPECT_EQ(ok("SELECT name FROM events"), (rows_t{{"theirs"}}));
  EXPECT_EQ(ok("SELECT count(*) FROM made_in_block"), (rows_t{{"0"}}));
}


TEST_F(session_test, cancel_stops_a_copy_in) {
  make_tables();
  auto sink = s_->copy_in(s_->prepare("COPY events FROM STDIN", {}).value());
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE(sink.value()->write("1\ta\t1\n").ok());
  s_->cancel();  // from pgwire's cancel thread, between two CopyData messages
  auto w = sink.value()->write("2\tb\t2\n");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.err().sqlstate, "57014");
  EXPECT_FALSE(sink.value()->finish().ok());
  sink.value().reset();
  EXPECT_EQ(ok("SELECT count(*) FROM events"), (rows_t{{"0"}}));
  s_->cancel();  // idle: no effect on the next statement
  EXPECT_EQ(ok("SELECT 1"), (rows_t{{"1"}}));
}

TEST_F(session_test, concurrent_blocks_inserting_one_key) {
  make_tables();
  auto other = new_session();
  ok("BEGIN");
  ASSERT_TRUE(run_on(*other, "BEGIN").ok);
  ok("INSERT INTO accounts VALUES (1, 'mine', 1, NULL)");
  ASSERT_TRUE(run_on(*other, "INSERT INTO accounts VALUES (1, 'theirs', 2, NULL)").ok);
  ASSERT_TRUE(run_on(*other, "COMMIT").ok);
  auto r = run("COMMIT");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.err.sqlstate, "23505");
  EXPECT_EQ(s_->state(), transaction_state::idle);
  EXPECT_EQ(ok("SELECT owner FROM accounts"), (rows_t{{"theirs"}}));
}


TEST_F(session_test, displaced_portal_past_its_buffer_limit_fails_cleanly) {
  auto p = s_->prepare("SELECT repeat('x', 10000) AS s FROM range(10000)", {});  // about 100 MB of rows
  ASSERT_TRUE(p.ok());
  auto c = s_->execute(p.value(), {});
  ASSERT_TRUE(c.ok());
  tables::column_batch first;
  ASSERT_TRUE(c.value()->fetch(1, first).value());
  EXPECT_EQ(ok("SELECT 5"), (rows_t{{"5"}}));
  tables::column_batch rest;
  auto more = c.value()->fetch(10, rest);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.err().sqlstate, "55000");
  c.value().reset();
  EXPECT_EQ(ok("SELECT 6"), (rows_t{{"6"}}));
}

}  // namespace
}  // namespace strata::sql
