#include "sql/statements.h"

#include <gtest/gtest.h>

namespace strata::sql {
namespace {

using tables::partition_kind;
using tables::table_kind;
using tables::time_unit;
using tables::type_id;

create_table_statement create_ok(std::string_view sql) {
  auto r = parse_create_table(sql);
  EXPECT_TRUE(r.has_value()) << sql;
  if (!r) return {};
  EXPECT_TRUE(r->ok()) << sql << " -> " << r->err().sqlstate << " " << r->err().message;
  if (!r->ok()) return {};
  return r->value();
}

error create_error(std::string_view sql) {
  auto r = parse_create_table(sql);
  EXPECT_TRUE(r.has_value()) << sql;
  if (!r) return {};
  EXPECT_FALSE(r->ok()) << sql;
  if (r->ok()) return {};
  return r->err();
}

copy_statement copy_ok(std::string_view sql) {
  auto r = parse_copy(sql);
  EXPECT_TRUE(r.has_value()) << sql;
  if (!r) return {};
  EXPECT_TRUE(r->ok()) << sql << " -> " << r->err().sqlstate << " " << r->err().message;
  if (!r->ok()) return {};
  return r->value();
}

error copy_error(std::string_view sql) {
  auto r = parse_copy(sql);
  EXPECT_TRUE(r.has_value()) << sql;
  if (!r) return {};
  EXPECT_FALSE(r->ok()) << sql;
  if (r->ok()) return {};
  return r->err();
}

// ------------------------------------------------------------ CREATE TABLE

TEST(CreateTable, LogTableWithEveryType) {
  auto st = create_ok(
      "CREATE TABLE events (b boolean, s smallint, i int, l bigint, r real, d double precision, "
      "n numeric(12,2), t text, v character varying(20), y bytea, j json, dt date, ts timestamp, "
      "tz timestamp with time zone, tz2 timestamptz, ts2 timestamp without time zone)");
  const auto& s = st.schema;
  EXPECT_EQ(s.name, "events");
  EXPECT_EQ(s.kind, table_kind::log);
  EXPECT_FALSE(st.if_not_exists);
  ASSERT_EQ(s.columns.size(), 16u);
  EXPECT_EQ(s.columns[0].type.id, type_id::boolean);
  EXPECT_EQ(s.columns[1].type.id, type_id::int16);
  EXPECT_EQ(s.columns[2].type.id, type_id::int32);
  EXPECT_EQ(s.columns[3].type.id, type_id::int64);
  EXPECT_EQ(s.columns[4].type.id, type_id::float32);
  EXPECT_EQ(s.columns[5].type.id, type_id::float64);
  EXPECT_EQ(s.columns[6].type.id, type_id::numeric);
  EXPECT_EQ(s.columns[6].type.precision, 12);
  EXPECT_EQ(s.columns[6].type.scale, 2);
  EXPECT_EQ(s.columns[7].type.id, type_id::text);
  EXPECT_EQ(s.columns[7].type.length_max, 0u);
  EXPECT_EQ(s.columns[8].type.id, type_id::text);
  EXPECT_EQ(s.columns[8].type.length_max, 20u);
  EXPECT_EQ(s.columns[9].type.id, type_id::bytea);
  EXPECT_EQ(s.columns[10].type.id, type_id::json);
  EXPECT_EQ(s.columns[11].type.id, type_id::date);
  EXPECT_EQ(s.columns[12].type.id, type_id::timestamp);
  EXPECT_EQ(s.columns[13].type.id, type_id::timestamptz);
  EXPECT_EQ(s.columns[14].type.id, type_id::timestamptz);
  EXPECT_EQ(s.columns[15].type.id, type_id::timestamp);
  EXPECT_TRUE(s.primary_key.empty());
  EXPECT_EQ(s.buckets, 1u);
  EXPECT_EQ(s.partitioning.kind, partition_kind::none);
}

TEST(CreateTable, ColumnPrimaryKeyMakesPrimaryKeyTable) {
  auto st = create_ok("create table IF NOT EXISTS public.Users (id bigint primary key, name text not null, age int null);");
  EXPECT_TRUE(st.if_not_exists);
  EXPECT_EQ(st.schema.name, "users");
  EXPECT_EQ(st.schema.kind, table_kind::primary_key);
  ASSERT_EQ(st.schema.primary_key, std::vector<uint32_t>{0});
  EXPECT_TRUE(st.schema.columns[0].not_null);
  EXPECT_TRUE(st.schema.columns[1].not_null);
  EXPECT_FALSE(st.schema.columns[2].not_null);
}

TEST(CreateTable, TablePrimaryKeyAndConstraintName) {
  auto a = create_ok("CREATE TABLE t (a int, b text, c int, PRIMARY KEY (b, a))");
  EXPECT_EQ(a.schema.primary_key, (std::vector<uint32_t>{1, 0}));
  EXPECT_TRUE(a.schema.columns[0].not_null);
  EXPECT_TRUE(a.schema.columns[1].not_null);
  EXPECT_FALSE(a.schema.columns[2].not_null);
  auto b = create_ok("CREATE TABLE t (a int, b text, CONSTRAINT t_pk PRIMARY KEY (a))");
  EXPECT_EQ(b.schema.primary_key, std::vector<uint32_t>{0});
  auto c = create_ok("CREATE TABLE t (a int CONSTRAINT a_pk PRIMARY KEY, b text)");
  EXPECT_EQ(c.schema.primary_key, std::vector<uint32_t>{0});
}

TEST(CreateTable, QuotedIdentifiersKeepCase) {
  auto st = create_ok(R"(CREATE TABLE "public"."My ""Table""" ("Id" int PRIMARY KEY, "select" text))");
  EXPECT_EQ(st.schema.name, "My \"Table\"");
  EXPECT_EQ(st.schema.columns[0].name, "Id");
  EXPECT_EQ(st.schema.columns[1].name, "select");
}

TEST(CreateTable, CommentsAndWhitespace) {
  auto st = create_ok("-- leading\nCREATE /* a /* nested */ comment */ TABLE t (\n  a int, -- the key\n  b text\n)\n;");
  EXPECT_EQ(st.schema.columns.size(), 2u);
}

TEST(CreateTable, MultiWordAndModifiedTypes) {
  auto st = create_ok(
      "CREATE TABLE t (a character varying (20), b double   precision, c numeric ( 10 , 3 ), d decimal(5), "
      "e varchar(3), f timestamp(6) with time zone, g int8, h float4, i bool, j int2)");
  const auto& c = st.schema.columns;
  EXPECT_EQ(c[0].type.length_max, 20u);
  EXPECT_EQ(c[1].type.id, type_id::float64);
  EXPECT_EQ(c[2].type.precision, 10);
  EXPECT_EQ(c[2].type.scale, 3);
  EXPECT_EQ(c[3].type.precision, 5);
  EXPECT_EQ(c[3].type.scale, 0);
  EXPECT_EQ(c[4].type.length_max, 3u);
  EXPECT_EQ(c[5].type.id, type_id::timestamptz);
  EXPECT_EQ(c[6].type.id, type_id::int64);
  EXPECT_EQ(c[7].type.id, type_id::float32);
  EXPECT_EQ(c[8].type.id, type_id::boolean);
  EXPECT_EQ(c[9].type.id, type_id::int16);
}

TEST(CreateTable, PartitionByRangeWithInterval) {
  auto st = create_ok(
      "CREATE TABLE m (ts timestamptz, host text, v double precision) PARTITION BY RANGE (ts) INTERVAL 'hour'");
  EXPECT_EQ(st.schema.partitioning.kind, partition_kind::range_time);
  EXPECT_EQ(st.schema.partitioning.column, 0u);
  EXPECT_EQ(st.schema.partitioning.interval, time_unit::hour);
  auto d = create_ok("CREATE TABLE m (v int, day date) PARTITION BY RANGE (day)");
  EXPECT_EQ(d.schema.partitioning.column, 1u);
  EXPECT_EQ(d.schema.partitioning.interval, time_unit::day);
  EXPECT_EQ(create_ok("CREATE TABLE m (d date) PARTITION BY RANGE (d) INTERVAL 'MONTH'").schema.partitioning.interval,
            time_unit::month);
  EXPECT_EQ(create_ok("CREATE TABLE m (d date) PARTITION BY RANGE (d) INTERVAL '1 year'").schema.partitioning.interval,
            time_unit::year);
  auto e = create_error("CREATE TABLE m (d date) PARTITION BY RANGE (d) INTERVAL 'week'");
  EXPECT_EQ(e.sqlstate, "0A000");
  EXPECT_NE(e.message.find("week"), std::string::npos);
}

TEST(CreateTable, PartitionByList) {
  auto st = create_ok("CREATE TABLE t (region text, id int, PRIMARY KEY (region, id)) PARTITION BY LIST (region)");
  EXPECT_EQ(st.schema.partitioning.kind, partition_kind::list);
  EXPECT_EQ(st.schema.partitioning.column, 0u);
  EXPECT_EQ(st.schema.kind, table_kind::primary_key);
}

TEST(CreateTable, PartitionByHashSetsBuckets) {
  auto st = create_ok("CREATE TABLE t (a int, b int, c text, PRIMARY KEY (a, b)) PARTITION BY HASH (a) BUCKETS 8");
  EXPECT_EQ(st.schema.partitioning.kind, partition_kind::none);
  EXPECT_EQ(st.schema.buckets, 8u);
  EXPECT_EQ(st.schema.bucket_key, std::vector<uint32_t>{0});
  auto w = create_ok("CREATE TABLE t (a int, b int, PRIMARY KEY (a, b)) PARTITION BY HASH (a, b) WITH (buckets = 4)");
  EXPECT_EQ(w.schema.buckets, 4u);
  EXPECT_EQ(w.schema.bucket_key, (std::vector<uint32_t>{0, 1}));
  auto e = create_error("CREATE TABLE t (a int PRIMARY KEY) PARTITION BY HASH (a)");
  EXPECT_EQ(e.sqlstate, "42601");
  EXPECT_NE(e.message.find("bucket"), std::string::npos);
  auto conflict = create_error("CREATE TABLE t (a int PRIMARY KEY) PARTITION BY HASH (a) BUCKETS 4 WITH (buckets = 8)");
  EXPECT_EQ(conflict.sqlstate, "42601");
}

TEST(CreateTable, WithBucketsDefaultsBucketKeyToPrimaryKey) {
  auto st = create_ok("CREATE TABLE t (a int, b int, PRIMARY KEY (b)) WITH (buckets = 16)");
  EXPECT_EQ(st.schema.buckets, 16u);
  EXPECT_EQ(st.schema.bucket_key, std::vector<uint32_t>{1});
  auto log = create_ok("CREATE TABLE t (a int) WITH (BUCKETS=3)");
  EXPECT_EQ(log.schema.buckets, 3u);
  EXPECT_TRUE(log.schema.bucket_key.empty());
  auto both = create_ok("CREATE TABLE t (ts timestamp, a int) PARTITION BY RANGE (ts) INTERVAL 'day' WITH (buckets = 2)");
  EXPECT_EQ(both.schema.buckets, 2u);
  EXPECT_EQ(both.schema.partitioning.kind, partition_kind::range_time);
}

TEST(CreateTable, BucketCountOutOfRange) {
  for (auto sql : {"CREATE TABLE t (a int) WITH (buckets = 0)", "CREATE TABLE t (a int) WITH (buckets = 100000)",
                   "CREATE TABLE t (a int) WITH (buckets = 99999999999999999999)"}) {
    EXPECT_EQ(create_error(sql).sqlstate, "22023") << sql;
  }
}

// PostgreSQL's storage parameters are accepted (they change nothing here) and
// checked as PostgreSQL checks them; unknown ones are refused.
TEST(CreateTable, PostgreSqlStorageParametersAreCheckedAndAccepted) {
  auto ok = create_ok("CREATE TABLE t (a int) WITH (fillfactor = 100, autovacuum_enabled = off, "
                      "toast.autovacuum_enabled, autovacuum_vacuum_scale_factor = 0.2, buckets = 2, "
                      "log_autovacuum_min_duration = -1, vacuum_index_cleanup = auto)");
  EXPECT_EQ(ok.schema.buckets, 2u);
  auto low = create_error("CREATE TABLE t (a int) WITH (fillfactor = 5)");
  EXPECT_EQ(low.sqlstate, "22023");
  EXPECT_EQ(low.message, "value 5 out of bounds for option \"fillfactor\"");
  EXPECT_EQ(low.detail, "Valid values are between \"10\" and \"100\".");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) WITH (fillfactor = x)").message,
            "invalid value for integer option \"fillfactor\": x");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) WITH (autovacuum_enabled = maybe)").sqlstate, "22023");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) WITH (toast.fillfactor = 50)").message,
            "unrecognized parameter \"toast.fillfactor\"");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) WITH (colour = 3)").message, "unrecognized parameter \"colour\"");
}

TEST(CreateTable, TempTablesAndOtherStatementsAreNotOurs) {
  EXPECT_FALSE(parse_create_table("CREATE TEMP TABLE t (a int)"));
  EXPECT_FALSE(parse_create_table("create temporary table t (a int)"));
  EXPECT_FALSE(parse_create_table("CREATE LOCAL TEMPORARY TABLE t (a int)"));
  EXPECT_FALSE(parse_create_table("CREATE VIEW v AS SELECT 1"));
  EXPECT_FALSE(parse_create_table("CREATE INDEX i ON t (a)"));
  EXPECT_FALSE(parse_create_table("SELECT 1"));
  EXPECT_FALSE(parse_create_table(""));
  EXPECT_FALSE(parse_create_table("-- just a comment"));
  EXPECT_FALSE(parse_create_table("CREATE SCHEMA s"));
}

TEST(CreateTable, UnloggedIsAccepted) {
  EXPECT_EQ(create_ok("CREATE UNLOGGED TABLE t (a int)").schema.name, "t");
}

TEST(CreateTable, DefaultsKeepTheirTextUpToTheNextConstraint) {
  auto s = create_ok("CREATE TABLE t (a int DEFAULT 1 + (2 * 3) NOT NULL, b text DEFAULT 'x, y', "
                     "c timestamptz DEFAULT now(), d int DEFAULT NULL, e bigint DEFAULT nextval('s'::regclass))");
  EXPECT_EQ(s.schema.columns[0].default_expr, "1 + (2 * 3)");
  EXPECT_TRUE(s.schema.columns[0].not_null);
  EXPECT_EQ(s.schema.columns[1].default_expr, "'x, y'");
  EXPECT_EQ(s.schema.columns[2].default_expr, "now()");
  EXPECT_EQ(s.schema.columns[3].default_expr, "NULL");
  EXPECT_EQ(s.schema.columns[4].default_expr, "nextval('s'::regclass)");
  EXPECT_EQ(create_error("CREATE TABLE t (a int DEFAULT 1 DEFAULT 2)").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t (a int DEFAULT)").sqlstate, "42601");
}

TEST(CreateTable, SerialAndIdentityColumns) {
  auto s = create_ok("CREATE TABLE t (a smallserial, b serial PRIMARY KEY, c bigserial, "
                     "d int GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5), "
                     "e bigint GENERATED BY DEFAULT AS IDENTITY)");
  EXPECT_EQ(s.serial_columns, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(tables::type_name(s.schema.columns[0].type), "smallint");
  EXPECT_EQ(tables::type_name(s.schema.columns[1].type), "integer");
  EXPECT_EQ(tables::type_name(s.schema.columns[2].type), "bigint");
  EXPECT_TRUE(s.schema.columns[0].not_null);
  EXPECT_EQ(s.schema.columns[3].identity, tables::identity_kind::always);
  EXPECT_EQ(s.schema.columns[4].identity, tables::identity_kind::by_default);
  EXPECT_TRUE(s.schema.columns[4].not_null);
  EXPECT_EQ(create_error("CREATE TABLE t (a serial DEFAULT 1)").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t (a int DEFAULT 1 GENERATED ALWAYS AS IDENTITY)").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t (a text GENERATED ALWAYS AS IDENTITY)").sqlstate, "22023");
}

TEST(CreateTable, UnsupportedFeaturesSay0A000) {
  struct c {
    const char* sql;
    const char* word;
  };
  for (auto [sql, word] : {
           c{"CREATE TABLE t (a int REFERENCES u (id))", "REFERENCES"},
           c{"CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES u (id))", "foreign"},
           c{"CREATE TABLE t (a int CHECK (a > 0))", "CHECK"},
           c{"CREATE TABLE t (a int, CHECK (a > 0))", "CHECK"},
           c{"CREATE TABLE t (a int UNIQUE)", "UNIQUE"},
           c{"CREATE TABLE t (a int, UNIQUE (a))", "UNIQUE"},
           c{"CREATE TABLE t (a int, CONSTRAINT u UNIQUE (a))", "UNIQUE"},
           c{"CREATE TABLE t (a int GENERATED ALWAYS AS (1) STORED)", "generated"},
           c{"CREATE TABLE t AS SELECT 1", "AS"},
           c{"CREATE TABLE t (LIKE u)", "LIKE"},
           c{"CREATE TABLE t (a int) INHERITS (u)", "INHERITS"},
           c{"CREATE TABLE t (a int[])", "array"},
           c{"CREATE TABLE t (a text COLLATE \"C\")", "COLLATE"},
           c{"CREATE TABLE t (a int) TABLESPACE fast", "tablespace"},
           c{"CREATE OR REPLACE TABLE t (a int)", "OR REPLACE"},
           c{"CREATE TABLE t PARTITION OF u FOR VALUES IN (1)", "PARTITION OF"},
           c{"CREATE TABLE t (a uuid)", "uuid"},
           c{"CREATE TABLE t (a interval)", "interval"},
       }) {
    auto e = create_error(sql);
    EXPECT_EQ(e.sqlstate, "0A000") << sql << ": " << e.message;
    EXPECT_NE(e.message.find(word), std::string::npos) << sql << ": " << e.message;
    EXPECT_FALSE(e.message.empty() && e.hint.empty());
  }
}

TEST(CreateTable, SyntaxErrorsName42601AndTheToken) {
  auto e = create_error("CREATE TABLE t (a int,, b int)");
  EXPECT_EQ(e.sqlstate, "42601");
  EXPECT_EQ(e.message, "syntax error at or near \",\"");
  auto end = create_error("CREATE TABLE t (a int");
  EXPECT_EQ(end.message, "syntax error at end of input");
  EXPECT_EQ(create_error("CREATE TABLE (a int)").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t a int").message, "syntax error at or near \"a\"");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) garbage").message, "syntax error at or near \"garbage\"");
  EXPECT_EQ(create_error("CREATE TABLE t (a int); CREATE TABLE u (b int)").message,
            "syntax error at or near \"CREATE\"");
  EXPECT_EQ(create_error("CREATE TABLE t (a int NOT)").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t (a numeric(10,))").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) PARTITION BY RANGE").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) PARTITION BY TREE (a)").message,
            "syntax error at or near \"TREE\"");
  EXPECT_EQ(create_error("CREATE TABLE t (\"\" int)").sqlstate, "42601");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) /* open").message, "unterminated /* comment");
  EXPECT_EQ(create_error("CREATE TABLE \"t (a int)").message, "unterminated quoted identifier");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) PARTITION BY RANGE (a) INTERVAL 'day").message,
            "unterminated quoted string");
}

TEST(CreateTable, KeyAndColumnErrors) {
  EXPECT_EQ(create_error("CREATE TABLE t (a int, a text)").sqlstate, "42701");
  EXPECT_EQ(create_error("CREATE TABLE t (a int PRIMARY KEY, b int PRIMARY KEY)").sqlstate, "42P16");
  EXPECT_EQ(create_error("CREATE TABLE t (a int PRIMARY KEY, PRIMARY KEY (a))").sqlstate, "42P16");
  auto missing = create_error("CREATE TABLE t (a int, PRIMARY KEY (b))");
  EXPECT_EQ(missing.sqlstate, "42703");
  EXPECT_EQ(missing.message, "column \"b\" named in key does not exist");
  EXPECT_EQ(create_error("CREATE TABLE t (a int, PRIMARY KEY (a, a))").sqlstate, "42701");
  EXPECT_EQ(create_error("CREATE TABLE t (a int) PARTITION BY LIST (z)").sqlstate, "42703");
  EXPECT_EQ(create_error("CREATE TABLE t (a int PRIMARY KEY) PARTITION BY HASH (z) BUCKETS 2").sqlstate, "42703");
  EXPECT_EQ(create_error("CREATE TABLE t (a int, b int) PARTITION BY RANGE (a, b)").sqlstate, "0A000");
  EXPECT_EQ(create_error("CREATE TABLE other.t (a int)").sqlstate, "3F000");
  EXPECT_EQ(create_error("CREATE TABLE t (a varchar(0))").sqlstate, "22023");
  EXPECT_EQ(create_error("CREATE TABLE t (a timestamp(3))").sqlstate, "22023");
}

TEST(CreateTable, ValidateRulesBecome42P16) {
  // The range partition column must be a date/time column; the primary key
  // must contain the partition column; bucket keys are subsets of the key.
  auto range = create_error("CREATE TABLE t (a int, b text) PARTITION BY RANGE (b)");
  EXPECT_EQ(range.sqlstate, "42P16") << range.message;
  auto pk = create_error("CREATE TABLE t (ts timestamp, id int PRIMARY KEY) PARTITION BY RANGE (ts)");
  EXPECT_EQ(pk.sqlstate, "42P16") << pk.message;
  auto bucket = create_error("CREATE TABLE t (a int, b int, PRIMARY KEY (a)) PARTITION BY HASH (b) BUCKETS 4");
  EXPECT_EQ(bucket.sqlstate, "42P16") << bucket.message;
  EXPECT_EQ(create_error("CREATE TABLE t ()").sqlstate, "42P16");
}

// ------------------------------------------------------------ COPY

TEST(Copy, TextDefaults) {
  auto c = copy_ok("COPY t FROM STDIN");
  EXPECT_TRUE(c.from_stdin);
  EXPECT_EQ(c.table, "t");
  EXPECT_TRUE(c.columns.empty());
  EXPECT_EQ(c.format, copy_format::text);
  EXPECT_EQ(c.delimiter, '\t');
  EXPECT_EQ(c.null_string, "\\N");
  EXPECT_FALSE(c.header);
}

TEST(Copy, ColumnsAndSchema) {
  auto c = copy_ok("copy public.T (A, \"B\") from stdin;");
  EXPECT_EQ(c.table, "t");
  EXPECT_EQ(c.columns, (std::vector<std::string>{"a", "B"}));
}

TEST(Copy, CsvOptionList) {
  auto c = copy_ok("COPY t FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL 'NULL', HEADER true, QUOTE '''', "
                   "ESCAPE '\\', ENCODING 'UTF8')");
  EXPECT_EQ(c.format, copy_format::csv);
  EXPECT_EQ(c.delimiter, ';');
  EXPECT_EQ(c.null_string, "NULL");
  EXPECT_TRUE(c.header);
  EXPECT_EQ(c.quote, '\'');
  EXPECT_EQ(c.escape, '\\');
}

TEST(Copy, CsvDefaults) {
  auto c = copy_ok("COPY t FROM STDIN (FORMAT CSV)");
  EXPECT_EQ(c.delimiter, ',');
  EXPECT_EQ(c.null_string, "");
  EXPECT_EQ(c.quote, '"');
  EXPECT_EQ(c.escape, '"');
  auto q = copy_ok("COPY t FROM STDIN (FORMAT csv, QUOTE '|')");
  EXPECT_EQ(q.escape, '|');  // ESCAPE defaults to QUOTE
  EXPECT_TRUE(copy_ok("COPY t FROM STDIN (FORMAT csv, HEADER)").header);
  EXPECT_TRUE(copy_ok("COPY t FROM STDIN (FORMAT csv, HEADER match)").header);
  EXPECT_FALSE(copy_ok("COPY t FROM STDIN (FORMAT csv, HEADER off)").header);
  EXPECT_TRUE(copy_ok("COPY t FROM STDIN (HEADER on)").header);  // PostgreSQL 15: text too
}

TEST(Copy, EscapeStringOptions) {
  auto c = copy_ok("COPY t FROM STDIN (DELIMITER E'\\t', NULL '')");
  EXPECT_EQ(c.delimiter, '\t');
  EXPECT_EQ(c.null_string, "");
  EXPECT_EQ(copy_ok("COPY t FROM STDIN (DELIMITER E'\\x7c')").delimiter, '|');
}

TEST(Copy, LegacyForms) {
  auto a = copy_ok("COPY t FROM STDIN WITH CSV HEADER");
  EXPECT_EQ(a.format, copy_format::csv);
  EXPECT_TRUE(a.header);
  EXPECT_EQ(a.delimiter, ',');
  auto b = copy_ok("COPY t FROM STDIN WITH DELIMITER ','");
  EXPECT_EQ(b.format, copy_format::text);
  EXPECT_EQ(b.delimiter, ',');
  auto c = copy_ok("COPY t FROM stdin CSV");
  EXPECT_EQ(c.format, copy_format::csv);
  auto d = copy_ok("COPY t FROM STDIN BINARY");
  EXPECT_EQ(d.format, copy_format::binary);
  auto e = copy_ok("COPY BINARY t FROM STDIN");
  EXPECT_EQ(e.format, copy_format::binary);
  auto f = copy_ok("COPY t FROM STDIN WITH DELIMITER AS '|' NULL AS 'nil' CSV HEADER QUOTE AS '\"' ESCAPE AS '\\'");
  EXPECT_EQ(f.delimiter, '|');
  EXPECT_EQ(f.null_string, "nil");
  EXPECT_TRUE(f.header);
  EXPECT_EQ(f.escape, '\\');
  EXPECT_EQ(copy_ok("COPY t FROM STDIN (FORMAT binary)").format, copy_format::binary);
}

TEST(Copy, ToStdout) {
  auto a = copy_ok("COPY t (a) TO STDOUT WITH (FORMAT csv, HEADER)");
  EXPECT_FALSE(a.from_stdin);
  EXPECT_EQ(a.table, "t");
  EXPECT_EQ(a.columns, std::vector<std::string>{"a"});
  EXPECT_TRUE(a.header);
  auto q = copy_ok("COPY ( SELECT a, ')' AS p, (1+2) FROM t WHERE b = $$)$$ ) TO STDOUT");
  EXPECT_TRUE(q.table.empty());
  EXPECT_EQ(q.query, "SELECT a, ')' AS p, (1+2) FROM t WHERE b = $$)$$");
  EXPECT_FALSE(q.from_stdin);
}

TEST(Copy, ServerFilesRefused) {
  for (auto sql : {"COPY t FROM '/etc/passwd'", "COPY t TO '/tmp/x'", "COPY t FROM PROGRAM 'id'",
                   "COPY (SELECT 1) TO '/tmp/x'"}) {
    auto e = copy_error(sql);
    EXPECT_EQ(e.sqlstate, "42501") << sql;
    EXPECT_EQ(e.message, "COPY to or from a server file is not allowed") << sql;
    EXPECT_NE(e.hint.find("\\copy"), std::string::npos);
  }
}

TEST(Copy, Errors) {
  EXPECT_EQ(copy_error("COPY t FROM STDOUT").sqlstate, "42601");
  EXPECT_EQ(copy_error("COPY t TO STDIN").sqlstate, "42601");
  EXPECT_EQ(copy_error("COPY (SELECT 1) FROM STDIN").sqlstate, "0A000");
  EXPECT_EQ(copy_error("COPY t").message, "syntax error at end of input");
  EXPECT_EQ(copy_error("COPY () TO STDOUT").sqlstate, "42601");
  EXPECT_EQ(copy_error("COPY (SELECT 1 TO STDOUT").sqlstate, "42601");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT xml)").sqlstate, "22023");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT csv, FORMAT text)").message, "conflicting or redundant options");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (DELIMITER ',', DELIMITER ';')").sqlstate, "42601");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (DELIMITER ',,')").message,
            "COPY delimiter must be a single one-byte character");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT csv, QUOTE '')").sqlstate, "0A000");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (QUOTE '\"')").message, "COPY quote available only in CSV mode");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (ESCAPE '\\')").message, "COPY escape available only in CSV mode");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (DELIMITER E'\\n')").message,
            "COPY delimiter cannot be newline or carriage return");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (NULL E'a\\nb')").sqlstate, "22023");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (DELIMITER '\\')").message, "COPY delimiter cannot be \"\\\"");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (DELIMITER 'a')").sqlstate, "22023");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT csv, DELIMITER '\"')").message,
            "COPY delimiter and quote must be different");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (DELIMITER ',', NULL 'a,b')").message,
            "COPY delimiter must not appear in the NULL specification");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT csv, NULL '\"')").sqlstate, "22023");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT binary, DELIMITER ',')").sqlstate, "42601");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT binary, HEADER)").sqlstate, "0A000");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (ENCODING 'LATIN1')").sqlstate, "0A000");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORCE_QUOTE *)").sqlstate, "0A000");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORCE_NOT_NULL (a))").sqlstate, "0A000");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (BOGUS 1)").sqlstate, "42601");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (HEADER maybe)").sqlstate, "22023");
  EXPECT_EQ(copy_error("COPY t FROM STDIN WHERE a > 1").sqlstate, "0A000");
  EXPECT_EQ(copy_error("COPY t FROM STDIN junk").message, "syntax error at or near \"junk\"");
  EXPECT_EQ(copy_error("COPY t FROM STDIN (FORMAT csv").sqlstate, "42601");
  EXPECT_TRUE(copy_ok("COPY t FROM STDIN (ENCODING 'utf-8', FREEZE)").from_stdin);
}

TEST(Copy, NotCopy) {
  EXPECT_FALSE(parse_copy("SELECT 1"));
  EXPECT_FALSE(parse_copy("copyx t FROM STDIN"));
  EXPECT_FALSE(parse_copy(""));
}

TEST(Identifiers, Normalize) {
  EXPECT_EQ(normalize_identifier("FooBar"), "foobar");
  EXPECT_EQ(normalize_identifier("\"FooBar\""), "FooBar");
  EXPECT_EQ(normalize_identifier("\"a\"\"b\""), "a\"b");
  EXPECT_EQ(normalize_identifier("x_1$"), "x_1$");
  EXPECT_EQ(normalize_identifier("\"\""), "");
}

}  // namespace
TEST(CreateTable, TypeErrorsUsePostgresCodes) {
  auto stray = create_error("CREATE TABLE b (id bigint name text)");
  EXPECT_EQ(stray.sqlstate, "42601");
  EXPECT_NE(stray.message.find("\"name\""), std::string::npos) << stray.message;
  auto stray_multiword = create_error("CREATE TABLE b (x double precision extra)");
  EXPECT_EQ(stray_multiword.sqlstate, "42601");
  EXPECT_NE(stray_multiword.message.find("\"extra\""), std::string::npos) << stray_multiword.message;
  auto unknown = create_error("CREATE TABLE b (id no_such_type)");
  EXPECT_EQ(unknown.sqlstate, "42704");
  EXPECT_NE(unknown.message.find("no_such_type"), std::string::npos) << unknown.message;
}

}  // namespace strata::sql
