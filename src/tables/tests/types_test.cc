#include "tables/types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace strata::tables {
namespace {

column_type parse_ok(std::string_view text) {
  auto t = parse_type_name(text);
  EXPECT_TRUE(t.ok()) << text << ": " << (t.ok() ? "" : t.err().message);
  return t.ok() ? t.value() : column_type{};
}

TEST(ParseTypeName, PostgresSpellingsOfSimpleTypes) {
  struct c {
    const char* text;
    type_id id;
  };
  const c cases[] = {
      {"boolean", type_id::boolean},
      {"bool", type_id::boolean},
      {"smallint", type_id::int16},
      {"int2", type_id::int16},
      {"integer", type_id::int32},
      {"int", type_id::int32},
      {"int4", type_id::int32},
      {"bigint", type_id::int64},
      {"int8", type_id::int64},
      {"real", type_id::float32},
      {"float4", type_id::float32},
      {"double precision", type_id::float64},
      {"float8", type_id::float64},
      {"double", type_id::float64},  // DuckDB's spelling
      {"float", type_id::float64},
      {"text", type_id::text},
      {"date", type_id::date},
      {"timestamp", type_id::timestamp},
      {"timestamp without time zone", type_id::timestamp},
      {"timestamptz", type_id::timestamptz},
      {"timestamp with time zone", type_id::timestamptz},
      {"bytea", type_id::bytea},
      {"json", type_id::json},
      {"jsonb", type_id::json},
  };
  for (const c& x : cases) {
    column_type t = parse_ok(x.text);
    EXPECT_EQ(t.id, x.id) << x.text;
    EXPECT_EQ(t.precision, 0) << x.text;
    EXPECT_EQ(t.length_max, 0u) << x.text;
  }
}

TEST(ParseTypeName, CaseAndSpacesDoNotMatter) {
  EXPECT_EQ(parse_ok("  BIGINT ").id, type_id::int64);
  EXPECT_EQ(parse_ok("Double   Precision").id, type_id::float64);
  EXPECT_EQ(parse_ok("TIMESTAMP\tWITH  TIME ZONE").id, type_id::timestamptz);
  EXPECT_EQ(parse_ok("NUMERIC ( 12 , 2 )"), (column_type{type_id::numeric, 12, 2, 0}));
  EXPECT_EQ(parse_ok("Character Varying (25)"), (column_type{type_id::text, 0, 0, 25}));
}

TEST(ParseTypeName, NumericForms) {
  EXPECT_EQ(parse_ok("numeric"), (column_type{type_id::numeric, 38, 10, 0}));
  EXPECT_EQ(parse_ok("decimal"), (column_type{type_id::numeric, 38, 10, 0}));
  EXPECT_EQ(parse_ok("numeric(10)"), (column_type{type_id::numeric, 10, 0, 0}));
  EXPECT_EQ(parse_ok("decimal(15,2)"), (column_type{type_id::numeric, 15, 2, 0}));
  EXPECT_EQ(parse_ok("numeric(38,38)"), (column_type{type_id::numeric, 38, 38, 0}));
  EXPECT_EQ(parse_ok("numeric(1,0)"), (column_type{type_id::numeric, 1, 0, 0}));
}

TEST(ParseTypeName, StringForms) {
  EXPECT_EQ(parse_ok("varchar"), (column_type{type_id::text, 0, 0, 0}));
  EXPECT_EQ(parse_ok("varchar(20)"), (column_type{type_id::text, 0, 0, 20}));
  EXPECT_EQ(parse_ok("char(10)"), (column_type{type_id::text, 0, 0, 10}));
  EXPECT_EQ(parse_ok("character(3)"), (column_type{type_id::text, 0, 0, 3}));
  EXPECT_EQ(parse_ok("char"), (column_type{type_id::text, 0, 0, 1}));
  EXPECT_EQ(parse_ok("float(24)").id, type_id::float32);
  EXPECT_EQ(parse_ok("float(25)").id, type_id::float64);
}

void expect_invalid(std::string_view text, std::string_view message_part) {
  auto t = parse_type_name(text);
  ASSERT_FALSE(t.ok()) << text;
  EXPECT_EQ(t.code(), errc::invalid_argument) << text;
  EXPECT_NE(t.err().message.find(message_part), std::string::npos) << t.err().message;
}

TEST(ParseTypeName, RejectsWithClearMessages) {
  expect_invalid("time", "supported types: boolean");
  expect_invalid("time", "\"time\"");
  expect_invalid("", "type name is required");
  expect_invalid("numeric(0)", "precision must be between 1 and 38");
  expect_invalid("numeric(39,2)", "precision must be between 1 and 38");
  expect_invalid("numeric(10,11)", "scale must be between 0 and the precision");
  expect_invalid("numeric(10,2,1)", "at most two");
  expect_invalid("numeric(-1)", "non-negative integers");
  expect_invalid("numeric(a)", "non-negative integers");
  expect_invalid("numeric(10", "missing ')'");
  expect_invalid("numeric(10) x", "unexpected text");
  expect_invalid("varchar(0)", "length must be between");
  expect_invalid("varchar(99999999)", "length must be between");
  expect_invalid("integer(4)", "takes no modifiers");
  expect_invalid("int[]", "unsupported");
  expect_invalid("float(54)", "between 1 and 53");
  expect_invalid("numeric(9999999999)", "non-negative integers");
}

TEST(TypeName, IsThePostgresSpellingAndParsesBack) {
  const column_type types[] = {
      {type_id::boolean}, {type_id::int16},   {type_id::int32},       {type_id::int64},
      {type_id::float32}, {type_id::float64}, {type_id::numeric, 12, 2, 0}, {type_id::numeric, 38, 0, 0},
      {type_id::text},    {type_id::text, 0, 0, 25}, {type_id::bytea}, {type_id::json},
      {type_id::date},    {type_id::timestamp}, {type_id::timestamptz},
  };
  for (const column_type& t : types) EXPECT_EQ(parse_ok(type_name(t)), t) << type_name(t);
  EXPECT_EQ(type_name({type_id::numeric, 12, 2, 0}), "numeric(12,2)");
  EXPECT_EQ(type_name({type_id::text, 0, 0, 25}), "character varying(25)");
  EXPECT_EQ(type_name({type_id::float64}), "double precision");
  EXPECT_EQ(type_name({type_id::timestamptz}), "timestamp with time zone");
}

TEST(FixedWidth, MatchesTheDocumentedLayout) {
  EXPECT_EQ(fixed_width({type_id::boolean}), 1u);
  EXPECT_EQ(fixed_width({type_id::int16}), 2u);
  EXPECT_EQ(fixed_width({type_id::int32}), 4u);
  EXPECT_EQ(fixed_width({type_id::date}), 4u);
  EXPECT_EQ(fixed_width({type_id::float32}), 4u);
  EXPECT_EQ(fixed_width({type_id::int64}), 8u);
  EXPECT_EQ(fixed_width({type_id::timestamptz}), 8u);
  EXPECT_EQ(fixed_width({type_id::numeric, 18, 2, 0}), 8u);
  EXPECT_EQ(fixed_width({type_id::numeric, 19, 2, 0}), 16u);
  EXPECT_EQ(fixed_width({type_id::text}), 0u);
  EXPECT_TRUE(is_variable_width(type_id::json));
  EXPECT_FALSE(is_variable_width(type_id::date));
}

TEST(ColumnVector, AppendsAndReadsBackScalars) {
  column_vector ints(column_type{type_id::int16});
  append_scalar(ints, scalar(int64_t(-32768)));
  append_scalar(ints, scalar(std::monostate{}));
  append_scalar(ints, scalar(int64_t(32767)));
  ASSERT_EQ(ints.row_count, 3u);
  EXPECT_EQ(std::get<int64_t>(scalar_at(ints, 0)), -32768);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(scalar_at(ints, 1)));
  EXPECT_EQ(ints.get<int16_t>(1), 0);  // a null slot is zeroed
  EXPECT_EQ(std::get<int64_t>(scalar_at(ints, 2)), 32767);

  column_vector text(column_type{type_id::text});
  append_scalar(text, scalar(std::string("abc")));
  append_scalar(text, scalar(std::monostate{}));
  append_scalar(text, scalar(std::string()));
  ASSERT_EQ(text.offsets.size(), 4u);
  EXPECT_EQ(text.get_bytes(0), "abc");
  EXPECT_EQ(text.get_bytes(1), "");
  EXPECT_TRUE(text.is_null(1));
  EXPECT_FALSE(text.is_null(2));

  column_vector big(column_type{type_id::numeric, 38, 2, 0});
  __int128 huge = __int128(std::numeric_limits<int64_t>::max()) * 1000000;
  append_scalar(big, scalar(-huge));
  EXPECT_TRUE(std::get<__int128>(scalar_at(big, 0)) == -huge);

  column_vector small(column_type{type_id::numeric, 10, 2, 0});
  append_scalar(small, scalar(__int128(-12345)));
  EXPECT_EQ(small.get<int64_t>(0), -12345);
  EXPECT_TRUE(std::get<__int128>(scalar_at(small, 0)) == -12345);

  column_vector reals(column_type{type_id::float32});
  append_scalar(reals, scalar(1.5));
  EXPECT_EQ(std::get<double>(scalar_at(reals, 0)), 1.5);

  column_vector flags(column_type{type_id::boolean});
  append_scalar(flags, scalar(true));
  EXPECT_EQ(flags.fixed[0], 1);
  EXPECT_TRUE(std::get<bool>(scalar_at(flags, 0)));
}

TEST(CompareScalars, OrdersEachFamily) {
  column_type t{type_id::int64};
  EXPECT_LT(compare_scalars(t, scalar(int64_t(-1)), scalar(int64_t(0))), 0);
  EXPECT_EQ(compare_scalars(t, scalar(int64_t(7)), scalar(int64_t(7))), 0);
  EXPECT_GT(compare_scalars(t, scalar(std::numeric_limits<int64_t>::max()), scalar(std::numeric_limits<int64_t>::min())),
            0);
  column_type s{type_id::text};
  EXPECT_LT(compare_scalars(s, scalar(std::string("ab")), scalar(std::string("abc"))), 0);
  EXPECT_GT(compare_scalars(s, scalar(std::string("\xff")), scalar(std::string("a"))), 0);  // bytewise, unsigned
  EXPECT_EQ(compare_scalars(s, scalar(std::string()), scalar(std::string())), 0);
  column_type n{type_id::numeric, 38, 0, 0};
  EXPECT_LT(compare_scalars(n, scalar(-(__int128(1) << 100)), scalar(__int128(1))), 0);
  column_type d{type_id::float64};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_GT(compare_scalars(d, scalar(nan), scalar(1e300)), 0);
  EXPECT_EQ(compare_scalars(d, scalar(nan), scalar(nan)), 0);
  EXPECT_EQ(compare_scalars(d, scalar(-0.0), scalar(0.0)), 0);
  column_type b{type_id::boolean};
  EXPECT_LT(compare_scalars(b, scalar(false), scalar(true)), 0);
}

TEST(CompareScalars, MixedIntegerAndDoubleCompareExactly) {
  column_type t{type_id::int64};
  EXPECT_LT(compare_scalars(t, scalar(int64_t(1)), scalar(1.5)), 0);
  EXPECT_GT(compare_scalars(t, scalar(int64_t(2)), scalar(1.5)), 0);
  EXPECT_EQ(compare_scalars(t, scalar(int64_t(3)), scalar(3.0)), 0);
  EXPECT_GT(compare_scalars(t, scalar(int64_t(-1)), scalar(-1.5)), 0);
  // 2^53 + 1 is not representable as a double; rounding would say equal.
  const int64_t big = (int64_t(1) << 53) + 1;
  EXPECT_GT(compare_scalars(t, scalar(big), scalar(double(int64_t(1) << 53))), 0);
  EXPECT_LT(compare_scalars(t, scalar(std::numeric_limits<int64_t>::max()), scalar(9.3e18)), 0);
  EXPECT_GT(compare_scalars(t, scalar(std::numeric_limits<int64_t>::min()), scalar(-1e300)), 0);
  EXPECT_LT(compare_scalars(t, scalar(int64_t(0)), scalar(std::numeric_limits<double>::quiet_NaN())), 0);
  EXPECT_GT(compare_scalars(t, scalar(1.5), scalar(int64_t(1))), 0);
}

TEST(CompareScalars, MixedFamiliesGetAConsistentOrderNotACrash) {
  column_type t{type_id::text};
  const scalar ordered[] = {scalar(std::monostate{}), scalar(false), scalar(true), scalar(int64_t(-5)),
                            scalar(2.5), scalar(__int128(3)), scalar(std::string("a"))};
  for (size_t i = 0; i < std::size(ordered); ++i) {
    for (size_t j = 0; j < std::size(ordered); ++j) {
      int c = compare_scalars(t, ordered[i], ordered[j]);
      EXPECT_EQ(c < 0, i < j) << i << " " << j;
      EXPECT_EQ(c == 0, i == j) << i << " " << j;
    }
  }
}

}  // namespace
}  // namespace strata::tables
