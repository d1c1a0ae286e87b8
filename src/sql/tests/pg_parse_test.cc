// PostgreSQL's own parser: statements come back as trees whose kind and
// parts route them, and invalid text gets PostgreSQL's syntax error.
#include "sql/pg_parse.h"

#include <gtest/gtest.h>

namespace strata::sql {
namespace {

const PgQuery__Node& only_statement(const outcome<pg_tree>& t) {
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.err().message);
  EXPECT_EQ(t.value().size(), 1u);
  return t.value().statement(0);
}

TEST(PgParse, StatementsComeBackAsTheirKinds) {
  auto t = pg_tree::parse("begin; select 1; commit");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t.value().size(), 3u);
  EXPECT_EQ(t.value().statement(0).node_case, PG_QUERY__NODE__NODE_TRANSACTION_STMT);
  EXPECT_EQ(t.value().statement(1).node_case, PG_QUERY__NODE__NODE_SELECT_STMT);
  EXPECT_EQ(t.value().statement(2).node_case, PG_QUERY__NODE__NODE_TRANSACTION_STMT);
  EXPECT_EQ(pg_tree::parse("").value().size(), 0u);
  EXPECT_EQ(pg_tree::parse(" ; -- nothing\n").value().size(), 0u);
}

TEST(PgParse, SyntaxErrorsAreThePostgreSqlOnesWithAPosition) {
  auto bad = pg_tree::parse("SELECT FROM WHERE");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().sqlstate, "42601");
  EXPECT_EQ(bad.err().message, "syntax error at or near \"WHERE\"");
  EXPECT_EQ(bad.err().position, 13u);
  auto end = pg_tree::parse("DROP TABLE");
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.err().message, "syntax error at end of input");
}

TEST(PgParse, DropTableReadsEveryNameAndIfExists) {
  auto t = pg_tree::parse("drop table if exists public.A, \"B\", other.c CASCADE;");
  const auto& n = only_statement(t);
  ASSERT_EQ(n.node_case, PG_QUERY__NODE__NODE_DROP_STMT);
  EXPECT_EQ(n.drop_stmt->remove_type, PG_QUERY__OBJECT_TYPE__OBJECT_TABLE);
  auto drop = read_drop_table(*n.drop_stmt);
  EXPECT_TRUE(drop.if_exists);
  ASSERT_EQ(drop.tables.size(), 3u);
  EXPECT_EQ(drop.tables[0].schema, "public");
  EXPECT_EQ(drop.tables[0].name, "a");  // unquoted names fold to lower case
  EXPECT_EQ(drop.tables[1].schema, "");
  EXPECT_EQ(drop.tables[1].name, "B");
  EXPECT_EQ(drop.tables[2].schema, "other");
  auto view = pg_tree::parse("DROP VIEW v");
  EXPECT_NE(only_statement(view).drop_stmt->remove_type, PG_QUERY__OBJECT_TYPE__OBJECT_TABLE);
}

TEST(PgParse, TransactionOptionsAreConstants) {
  auto t = pg_tree::parse("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const auto& n = only_statement(t);
  ASSERT_EQ(n.node_case, PG_QUERY__NODE__NODE_TRANSACTION_STMT);
  ASSERT_EQ(n.transaction_stmt->n_options, 2u);
  const auto* isolation = n.transaction_stmt->options[0]->def_elem;
  EXPECT_STREQ(isolation->defname, "transaction_isolation");
  EXPECT_EQ(const_text(isolation->arg), "repeatable read");
  const auto* read_only = n.transaction_stmt->options[1]->def_elem;
  EXPECT_STREQ(read_only->defname, "transaction_read_only");
  EXPECT_EQ(const_int(read_only->arg), 1);
  auto chain = pg_tree::parse("COMMIT AND CHAIN");
  EXPECT_TRUE(only_statement(chain).transaction_stmt->chain);
}

TEST(PgParse, ConstantsReadBackAsWritten) {
  auto t = pg_tree::parse("SELECT 7, 2.50, 'x', true");
  const auto& select = *only_statement(t).select_stmt;
  ASSERT_EQ(select.n_target_list, 4u);
  auto literal = [&](size_t i) { return const_literal(select.target_list[i]->res_target->val); };
  EXPECT_EQ(literal(0), "7");
  EXPECT_EQ(literal(1), "2.50");
  EXPECT_EQ(literal(2), "x");
  EXPECT_EQ(literal(3), "true");
  EXPECT_EQ(const_literal(nullptr), std::nullopt);
}

TEST(PgParse, KeywordsThatPostgreSqlAllowsAsNamesAreNames) {
  auto t = pg_tree::parse("SELECT at, position, year FROM t WHERE at > 1");
  EXPECT_EQ(only_statement(t).node_case, PG_QUERY__NODE__NODE_SELECT_STMT);
}

TEST(PgParse, LockingClausesAreCutOutAtTheTopLevelOnly) {
  auto cut = [](std::string_view sql) {
    auto r = without_locking_clauses(sql);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::string();
  };
  EXPECT_EQ(cut("SELECT * FROM t FOR UPDATE"), "SELECT * FROM t  ");
  EXPECT_EQ(cut("select id from jobs order by id limit 1 for update skip locked;"),
            "select id from jobs order by id limit 1  ;");
  EXPECT_EQ(cut("SELECT a FROM t AS x FOR NO KEY UPDATE OF x NOWAIT LIMIT 2"), "SELECT a FROM t AS x  LIMIT 2");
  EXPECT_EQ(cut("SELECT 1 FROM t FOR KEY SHARE FOR SHARE OF t OFFSET 3"), "SELECT 1 FROM t   OFFSET 3");
  // Not locking clauses: FOR inside parentheses, and a column named "for".
  EXPECT_EQ(cut("SELECT substring(a for 2), \"for\" FROM t"), "SELECT substring(a for 2), \"for\" FROM t");
  EXPECT_EQ(cut("SELECT 'for update' FROM t"), "SELECT 'for update' FROM t");
}

}  // namespace
}  // namespace strata::sql
