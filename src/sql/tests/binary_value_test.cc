// Binary encoders and decoders against PostgreSQL's layouts.
#include "sql/binary_value.h"

#include <gtest/gtest.h>

#include "base/big_endian.h"
#include "sql/copy_format.h"
#include "sql/pg_types.h"

namespace strata::sql {
using namespace std::string_literals;
namespace {

using namespace testing;
using tables::type_id;

constexpr auto* be16 = &be16_bytes;
constexpr auto* be32 = &be32_bytes;

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::string numeric(int16_t ndigits, int16_t weight, uint16_t sign, int16_t dscale, std::vector<int16_t> digits) {
  std::string s = be16(uint16_t(ndigits)) + be16(uint16_t(weight)) + be16(sign) + be16(uint16_t(dscale));
  for (int16_t d : digits) s += be16(uint16_t(d));
  return s;
}

std::string encode_numeric(__int128 v, uint8_t scale) {
  std::string out;
  append_binary_numeric(v, scale, out);
  return out;
}

TEST(Numeric, EncodesAsPostgresDoes) {
  EXPECT_EQ(encode_numeric(0, 0), numeric(0, 0, 0, 0, {}));
  EXPECT_EQ(encode_numeric(0, 2), numeric(0, 0, 0, 2, {}));
  EXPECT_EQ(encode_numeric(123456, 2), numeric(2, 0, 0, 2, {1234, 5600}));       // 1234.56
  EXPECT_EQ(encode_numeric(1, 3), numeric(1, -1, 0, 3, {10}));                   // 0.001
  EXPECT_EQ(encode_numeric(10000, 0), numeric(1, 1, 0, 0, {1}));                 // 10000
  EXPECT_EQ(encode_numeric(-5, 0), numeric(1, 0, 0x4000, 0, {5}));               // -5
  EXPECT_EQ(encode_numeric(-123456789, 4), numeric(3, 1, 0x4000, 4, {1, 2345, 6789}));  // -12345.6789
  EXPECT_EQ(encode_numeric(1, 8), numeric(1, -2, 0, 8, {1}));                    // 0.00000001
}

TEST(Numeric, RoundTrips) {
  const __int128 big = __int128(9999999999999999999ULL) * 10000000000000000000ULL + 9999999999999999999ULL;  // 38 nines
  const std::vector<std::pair<__int128, uint8_t>> cases = {
      {0, 0}, {0, 5}, {1, 0}, {-1, 0}, {123456, 2}, {-123456, 2}, {1, 3}, {-1, 38}, {10000, 0}, {99990000, 4},
      {big, 0}, {-big, 10}, {big, 38}, {42, 1}, {-700, 2}};
  for (auto [v, scale] : cases) {
    const std::string enc = encode_numeric(v, scale);
    auto dec = decode_binary_numeric(bytes(enc));
    ASSERT_TRUE(dec.ok()) << dec.err().message;
    EXPECT_TRUE(dec->value == v) << int64_t(v) << " scale " << int(scale);
    EXPECT_EQ(dec->scale, scale);
  }
}

TEST(Numeric, RejectsNaNInfinityAndGarbage) {
  auto nan = decode_binary_numeric(bytes(numeric(0, 0, 0xC000, 0, {})));
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.err().sqlstate, "0A000");
  auto inf = decode_binary_numeric(bytes(numeric(0, 0, 0xD000, 0, {})));
  ASSERT_FALSE(inf.ok());
  EXPECT_EQ(inf.err().sqlstate, "0A000");
  EXPECT_EQ(decode_binary_numeric(bytes(numeric(2, 0, 0, 0, {1}))).err().sqlstate, "22P03");     // short
  EXPECT_EQ(decode_binary_numeric(bytes(numeric(1, 0, 0, 0, {10000}))).err().sqlstate, "22P03");  // digit too big
  EXPECT_EQ(decode_binary_numeric(bytes(numeric(1, 0, 0x1234, 0, {1}))).err().sqlstate, "22P03");
  EXPECT_EQ(decode_binary_numeric(bytes(numeric(1, 10, 0, 0, {1}))).err().sqlstate, "22003");    // 10^40
  EXPECT_EQ(decode_binary_numeric(bytes("\x00"s)).err().sqlstate, "22P03");
}

TEST(Numeric, DigitsBelowTheDisplayScaleAreDropped) {
  // 1.23456 with dscale 2 (PostgreSQL never sends this, but a client might).
  auto d = decode_binary_numeric(bytes(numeric(2, 0, 0, 2, {1, 2345})));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->value == 123);
}

field field_of(uint32_t oid, tables::column_type t) {
  field f;
  f.type_oid = oid;
  f.type = t;
  return f;
}

std::string encode(uint32_t oid, tables::column_type t, const tables::scalar& v) {
  tables::column_vector c(t);
  tables::append_scalar(c, v);
  std::string out;
  append_binary_value(field_of(oid, t), c, 0, out);
  return out;
}

TEST(Timestamps, BeforeAndAfter2000) {
  // 1970-01-01 00:00:00 is -946684800 s from PostgreSQL's epoch.
  const int64_t unix_zero = -946684800000000LL;
  const std::string at_1970 = encode(oid::timestamp, {type_id::timestamp}, int64_t(0));
  EXPECT_EQ(at_1970, be32(uint32_t(uint64_t(unix_zero) >> 32)) + be32(uint32_t(uint64_t(unix_zero))));
  auto back = decode_binary_parameter(oid::timestamp, bytes(at_1970));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<int64_t>(back->value), 0);
  EXPECT_EQ(back->type.id, type_id::timestamp);
  // 1900-01-01 00:00:00.5 UTC and 2030 as timestamptz.
  for (int64_t unix_micros : {-2208988800000000LL + 500000, 1893456000000000LL, 946684800000000LL}) {
    const std::string enc = encode(oid::timestamptz, {type_id::timestamptz}, unix_micros);
    auto dec = decode_binary_parameter(oid::timestamptz, bytes(enc));
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ(std::get<int64_t>(dec->value), unix_micros);
    EXPECT_EQ(dec->type.id, type_id::timestamptz);
  }
  EXPECT_EQ(encode(oid::timestamptz, {type_id::timestamptz}, int64_t(946684800000000LL)), be32(0) + be32(0));
  // Infinity is refused.
  auto inf = decode_binary_parameter(oid::timestamp, bytes(be32(0x7fffffff) + be32(0xffffffff)));
  EXPECT_FALSE(inf.ok());
}

TEST(Dates, DaysFrom2000) {
  EXPECT_EQ(encode(oid::date, {type_id::date}, int64_t(0)), be32(uint32_t(-10957)));
  EXPECT_EQ(encode(oid::date, {type_id::date}, int64_t(10957)), be32(0));
  auto d = decode_binary_parameter(oid::date, bytes(be32(uint32_t(-36524))));  // 1900-01-01
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<int64_t>(d->value), -36524 + 10957);
}

TEST(Parameters, IntegersFloatsBoolAndText) {
  auto i2 = decode_binary_parameter(oid::int2, bytes(be16(0xfffe)));
  ASSERT_TRUE(i2.ok());
  EXPECT_EQ(std::get<int64_t>(i2->value), -2);
  auto f4 = decode_binary_parameter(oid::float4, bytes(be32(0x3fc00000)));
  ASSERT_TRUE(f4.ok());
  EXPECT_EQ(std::get<double>(f4->value), 1.5);
  auto f8 = decode_binary_parameter(oid::float8, bytes(be32(0xc0020000) + be32(0)));
  ASSERT_TRUE(f8.ok());
  EXPECT_EQ(std::get<double>(f8->value), -2.25);
  auto b = decode_binary_parameter(oid::boolean, bytes("\x01"s));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(std::get<bool>(b->value));
  auto t = decode_binary_parameter(oid::varchar, bytes("abc"s));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(std::get<std::string>(t->value), "abc");
  EXPECT_FALSE(t->is_text);
  auto jb = decode_binary_parameter(oid::jsonb, bytes("\x01{}"s));
  ASSERT_TRUE(jb.ok());
  EXPECT_EQ(std::get<std::string>(jb->value), "{}");
  EXPECT_EQ(jb->type.id, type_id::json);
  EXPECT_FALSE(decode_binary_parameter(oid::jsonb, bytes("\x02{}"s)).ok());
  auto u = decode_binary_parameter(oid::uuid, bytes(std::string("\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef", 16)));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(std::get<std::string>(u->value), "12345678-9abc-def0-0123-456789abcdef");
  // Wrong sizes and unsupported types.
  EXPECT_EQ(decode_binary_parameter(oid::int4, bytes("abc"s)).err().sqlstate, "22P03");
  EXPECT_EQ(decode_binary_parameter(oid::int8, bytes(be32(1))).err().sqlstate, "22P03");
  EXPECT_EQ(decode_binary_parameter(oid::interval, bytes(std::string(16, '\0'))).err().sqlstate, "0A000");
}

TEST(Results, NarrowingAndEncodability) {
  // An int64 column reported as int4 is sent in four bytes.
  EXPECT_EQ(encode(oid::int4, {type_id::int64}, int64_t(-3)), be32(uint32_t(-3)));
  EXPECT_EQ(encode(oid::int8, {type_id::int16}, int64_t(-3)), be32(0xffffffff) + be32(uint32_t(-3)));
  EXPECT_EQ(encode(oid::numeric, {type_id::int32}, int64_t(10000)), numeric(1, 1, 0, 0, {1}));
  EXPECT_EQ(encode(oid::jsonb, {type_id::json}, std::string("{}")), "\x01{}");
  field interval = field_of(oid::interval, {type_id::text});
  EXPECT_FALSE(binary_encodable(interval));
  field text_only = field_of(oid::text, {type_id::text});
  text_only.text_only = true;
  EXPECT_FALSE(binary_encodable(text_only));
  EXPECT_TRUE(binary_encodable(field_of(oid::int4, {type_id::int32})));
  EXPECT_FALSE(binary_encodable(field_of(oid::int4, {type_id::text})));
}

// One field read as a column's type; its text form, or "<sqlstate>" when refused.
std::string column_value(tables::column_type type, const std::string& field_bytes) {
  tables::column_vector column(type);
  auto s = parse_binary_value(bytes(field_bytes), column);
  if (!s.ok()) return "<" + s.err().sqlstate + ">";
  std::string out;
  append_text_value(column, 0, out);
  return out;
}

TEST(ColumnValues, ReadAsTheColumnTypeSays) {
  EXPECT_EQ(column_value({type_id::boolean}, "\x02"s), "t");
  EXPECT_EQ(column_value({type_id::int16}, be16(0xfffe)), "-2");
  EXPECT_EQ(column_value({type_id::int64}, be32(0) + be32(5)), "5");
  EXPECT_EQ(column_value({type_id::int32}, be32(0) + be32(5)), "<22P03>");  // an int8 for an int4 column
  EXPECT_EQ(column_value({type_id::float64}, be32(0xc0020000) + be32(0)), "-2.25");
  // numeric is rounded to the column's scale and checked against its precision.
  EXPECT_EQ(column_value({type_id::numeric, 10, 2}, numeric(2, 0, 0, 4, {1, 2350})), "1.24");
  EXPECT_EQ(column_value({type_id::numeric, 3, 2}, numeric(1, 1, 0, 0, {1})), "<22003>");
  EXPECT_EQ(column_value({type_id::text, 0, 0, 3}, "abcd"s), "<22001>");
  EXPECT_EQ(column_value({type_id::text}, "a\xff"s), "<22021>");
  EXPECT_EQ(column_value({type_id::json}, "\x01[1]"s), "[1]");
  EXPECT_EQ(column_value({type_id::json}, "[1"s), "<22P02>");
  EXPECT_EQ(column_value({type_id::bytea}, "\x00\xff"s), "\\x00ff");
  EXPECT_EQ(column_value({type_id::date}, be32(uint32_t(-1))), "1999-12-31");
  EXPECT_EQ(column_value({type_id::date}, be32(0x7fffffff)), "<22008>");
  EXPECT_EQ(column_value({type_id::timestamptz}, be32(0) + be32(1)), "2000-01-01 00:00:00.000001+00");
  EXPECT_EQ(column_value({type_id::timestamp}, be32(0xffffffff) + be32(0xffffffff)), "1999-12-31 23:59:59.999999");
  EXPECT_EQ(column_value({type_id::timestamp}, be32(0x7fffffff) + be32(0xffffffff)), "<0A000>");  // infinity
  EXPECT_EQ(column_value({type_id::timestamp}, be32(0x7fffffff) + be32(0)), "<22008>");
}

}  // namespace
}  // namespace strata::sql
