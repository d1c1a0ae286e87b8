// Rewrites on PostgreSQL's tree into SQL DuckDB runs; statements that need
// none are left alone.
#include "sql/pg_rewrite.h"

#include <gtest/gtest.h>

namespace strata::sql {
namespace {

std::optional<std::string> rewritten(const std::string& sql) {
  auto tree = pg_tree::parse(sql);
  EXPECT_TRUE(tree.ok()) << sql;
  auto out = rewrite_for_duckdb(tree.value(), sql);
  EXPECT_TRUE(out.ok()) << sql;
  return out.value();
}

TEST(PgRewrite, StatementsWithoutPostgresOnlySyntaxAreLeftAlone) {
  EXPECT_EQ(rewritten("select a, b + 1 from t where c like 'x%'"), std::nullopt);
  EXPECT_EQ(rewritten("select nextval('s'), now()"), std::nullopt);
  // The grammar's own pg_catalog qualifiers (SQL's type syntax) are not the client's.
  EXPECT_EQ(rewritten("select 1::int, d + interval '1' month, x::varchar(3) from t"), std::nullopt);
  EXPECT_EQ(rewritten("select extract(year from d), substring(s from 1 for 2), ts at time zone 'UTC' from t"),
            std::nullopt);
}

TEST(PgRewrite, PgCatalogQualifiersGo) {
  EXPECT_EQ(rewritten("select pg_catalog.version()"), "SELECT version()");
  EXPECT_EQ(rewritten("select '1'::pg_catalog.int4"), "SELECT '1'::int4");
  EXPECT_EQ(rewritten("select '1'::\"pg_catalog\".int4"), "SELECT '1'::int4");
  EXPECT_EQ(rewritten("select 1 operator(pg_catalog.+) 2"), "SELECT 1 + 2");
}

TEST(PgRewrite, AnAliasOfAValueFunctionNamesItsColumn) {
  EXPECT_EQ(rewritten("select g from generate_series(1, 3) g"), "SELECT g FROM generate_series(1, 3) g(g)");
  EXPECT_EQ(rewritten("select s from unnest(array[1]) as s"), "SELECT s FROM unnest(ARRAY[1]) s(s)");
  // Column names given, WITH ORDINALITY, and functions returning rows keep theirs.
  EXPECT_EQ(rewritten("select a from generate_series(1, 3) g(a)"), std::nullopt);
  EXPECT_EQ(rewritten("select g from generate_series(1, 3) with ordinality g"), std::nullopt);
  EXPECT_EQ(rewritten("select * from read_rows(1) r"), std::nullopt);
}

TEST(PgRewrite, AnyAndAllOverAnArrayColumnBecomeAMacro) {
  EXPECT_EQ(rewritten("select 1 from a left join b on a.n = any(b.k)"),
            "SELECT 1 FROM a LEFT JOIN b ON strata_any_equal(a.n, b.k)");
  EXPECT_EQ(rewritten("select x <> all(k) from t"), "SELECT NOT strata_any_equal(x, k) FROM t");
  // A parameter or an ARRAY[...] is DuckDB's to type; other operators are left alone.
  EXPECT_EQ(rewritten("select * from t where id = any($1)"), std::nullopt);
  EXPECT_EQ(rewritten("select * from t where id = any(array[1, 2])"), std::nullopt);
  EXPECT_EQ(rewritten("select * from t where id < any(k)"), std::nullopt);
}

TEST(PgRewrite, DivisionFailsOnZeroAsInPostgres) {
  EXPECT_EQ(rewritten("select a / b, a % 2 from t"),
            "SELECT strata_divide(a, b) AS \"?column?\", strata_modulo(a, 2) AS \"?column?\" FROM t");
  EXPECT_EQ(rewritten("select sum(x) / count(*) as avg from t where y / 2 > 1"),
            "SELECT strata_divide(sum(x), count(*)) AS avg FROM t WHERE strata_divide(y, 2) > 1");
  EXPECT_EQ(rewritten("select 1 operator(pg_catalog./) 2"), "SELECT strata_divide(1, 2)");
  // The result column keeps PostgreSQL's name for an operator.
  EXPECT_EQ(rewritten("select 7 / 2"), "SELECT strata_divide(7, 2) AS \"?column?\"");
}

TEST(PgRewrite, CatalogRelationsDuckDbDefinesOtherwiseAreStratas) {
  EXPECT_EQ(rewritten("select conname from pg_catalog.pg_constraint c join pg_class t on t.oid = c.conrelid"),
            "SELECT conname FROM strata_catalog.pg_constraint c JOIN pg_class t ON t.oid = c.conrelid");
  EXPECT_EQ(rewritten("select pg_index.indkey from pg_index"), "SELECT pg_index.indkey FROM strata_catalog.pg_index");
  EXPECT_EQ(rewritten("select * from myschema.pg_index"), std::nullopt);
}

TEST(PgRewrite, RegexOperatorsSearchAsInPostgres) {
  EXPECT_EQ(rewritten("select a from t where a ~ 'x'"), "SELECT a FROM t WHERE regexp_matches(a, 'x')");
  EXPECT_EQ(rewritten("select a from t where a !~* 'x'"), "SELECT a FROM t WHERE NOT regexp_matches(a, 'x', 'i')");
  EXPECT_EQ(rewritten("select a from t where a operator(pg_catalog.~) 'x'"),
            "SELECT a FROM t WHERE regexp_matches(a, 'x')");
  EXPECT_EQ(rewritten("select 'a' ~ 'b'"), "SELECT regexp_matches('a', 'b') AS \"?column?\"");
}

TEST(PgRewrite, RegclassCastsBecomeLookups) {
  EXPECT_EQ(rewritten("select 't'::regclass"), "SELECT strata_regclass_oid('t') AS regclass");
  EXPECT_EQ(rewritten("select c.oid::regclass from pg_class c"), "SELECT strata_regclass_name(c.oid) AS regclass FROM pg_class c");
  EXPECT_EQ(rewritten("select x from t where r = 't'::pg_catalog.regclass"),
            "SELECT x FROM t WHERE r = strata_regclass_oid('t')");
  EXPECT_EQ(rewritten("select a.attrelid::regclass::text from a"),
            "SELECT strata_regclass_name(a.attrelid) AS text FROM a");
  EXPECT_EQ(rewritten("select x from t where r = $1::regclass::oid"),
            "SELECT x FROM t WHERE r = strata_regclass_oid($1)");
}

TEST(PgRewrite, SqlTypeSyntaxSurvivesARewrite) {
  EXPECT_EQ(rewritten("select a ~ 'x', 1::int, d + interval '1' month from t"),
            "SELECT regexp_matches(a, 'x') AS \"?column?\", 1::int, d + '1 month'::interval FROM t");
}

TEST(PgRewrite, SqlFunctionSyntaxSurvivesARewrite) {
  EXPECT_EQ(rewritten("select extract(year from d) from t where a ~ 'x'"),
            "SELECT extract ('year' FROM d) FROM t WHERE regexp_matches(a, 'x')");
}

TEST(PgRewrite, RenamedFunctionsKeepTheirColumnNames) {
  EXPECT_EQ(rewritten("select json_build_object('a', 1)"), "SELECT json_object('a', 1) AS json_build_object");
  EXPECT_EQ(rewritten("select pg_catalog.format_type(1, -1)"), "SELECT strata_format_type(1, -1) AS format_type");
  EXPECT_EQ(rewritten("select format_type(1, -1) as f"), "SELECT strata_format_type(1, -1) AS f");
}

}  // namespace
}  // namespace strata::sql
