#include "sql/copy_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/big_endian.h"
#include "sql/pg_types.h"

namespace strata::sql {
namespace {

using tables::column_batch;
using tables::column_type;
using tables::column_vector;
using tables::type_id;

const column_type t_bool{type_id::boolean};
const column_type t_i16{type_id::int16};
const column_type t_i32{type_id::int32};
const column_type t_i64{type_id::int64};
const column_type t_f32{type_id::float32};
const column_type t_f64{type_id::float64};
const column_type t_num{type_id::numeric, 12, 2};
const column_type t_num38{type_id::numeric, 38, 10};
const column_type t_text{type_id::text};
const column_type t_varchar5{type_id::text, 0, 0, 5};
const column_type t_bytea{type_id::bytea};
const column_type t_json{type_id::json};
const column_type t_date{type_id::date};
const column_type t_ts{type_id::timestamp};
const column_type t_tstz{type_id::timestamptz};

// Parses one value and prints it back in PostgreSQL's text form ("NULL!" never appears).
std::string round_value(column_type type, std::string_view text) {
  column_vector col(type);
  auto s = parse_text_value(text, col);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.err().message);
  if (!s.ok() || col.row_count != 1) return "<error>";
  std::string out;
  append_text_value(col, 0, out);
  return out;
}

error value_error(column_type type, std::string_view text) {
  column_vector col(type);
  auto s = parse_text_value(text, col);
  EXPECT_FALSE(s.ok()) << tables::type_name(type) << " accepted " << text;
  if (s.ok()) return {};
  return s.err();
}

template <class T>
T parsed(column_type type, std::string_view text) {
  column_vector col(type);
  auto s = parse_text_value(text, col);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.err().message);
  if (!s.ok()) return T{};
  return col.get<T>(0);
}

// Every cell of a batch as text; NULL as "<null>".
std::vector<std::vector<std::string>> cells(const column_batch& b) {
  std::vector<std::vector<std::string>> rows(b.row_count);
  for (uint32_t r = 0; r < b.row_count; ++r) {
    for (const auto& c : b.columns) {
      EXPECT_EQ(c.row_count, b.row_count);
      std::string v;
      if (c.is_null(r)) {
        v = "<null>";
      } else {
        append_text_value(c, r, v);
      }
      rows[r].push_back(v);
    }
  }
  return rows;
}

copy_statement text_opts() { return copy_statement{}; }
copy_statement csv_opts() {
  copy_statement o;
  o.format = copy_format::csv;
  o.delimiter = ',';
  o.null_string = "";
  return o;
}

struct decoded {
  bool ok = true;
  error err;
  std::vector<std::vector<std::string>> rows;
};

// Feeds `input` in pieces of `piece` bytes (0 = all at once), then finish().
decoded decode(const copy_statement& o, std::vector<column_type> types, std::string_view input, size_t piece = 0) {
  copy_decoder d(o, std::move(types));
  decoded out;
  size_t step = piece == 0 ? std::max<size_t>(input.size(), 1) : piece;
  for (size_t at = 0; at < input.size(); at += step) {
    auto s = d.feed(input.substr(at, step));
    if (!s.ok()) {
      out.ok = false;
      out.err = s.err();
      return out;
    }
  }
  auto s = d.finish();
  if (!s.ok()) {
    out.ok = false;
    out.err = s.err();
    return out;
  }
  column_batch b = d.take_rows();
  EXPECT_EQ(d.rows_parsed(), b.row_count);
  out.rows = cells(b);
  return out;
}

using rows_t = std::vector<std::vector<std::string>>;

// ------------------------------------------------------------ values in

TEST(Values, Booleans) {
  for (auto t : {"t", "true", "TRUE", "yes", "y", "on", "1", " tr ", "Ye"}) EXPECT_EQ(round_value(t_bool, t), "t") << t;
  for (auto f : {"f", "false", "no", "n", "off", "of", "0", "FALSE"}) EXPECT_EQ(round_value(t_bool, f), "f") << f;
  for (auto bad : {"o", "2", "", "truex", "yess"}) {
    auto e = value_error(t_bool, bad);
    EXPECT_EQ(e.sqlstate, "22P02") << bad;
  }
  EXPECT_EQ(value_error(t_bool, "x").message, "invalid input syntax for type boolean: \"x\"");
}

TEST(Values, Integers) {
  EXPECT_EQ(parsed<int16_t>(t_i16, "-32768"), -32768);
  EXPECT_EQ(parsed<int16_t>(t_i16, "32767"), 32767);
  EXPECT_EQ(parsed<int32_t>(t_i32, " +42 "), 42);
  EXPECT_EQ(parsed<int32_t>(t_i32, "-2147483648"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(parsed<int64_t>(t_i64, "9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parsed<int64_t>(t_i64, "-9223372036854775808"), std::numeric_limits<int64_t>::min());
  auto e = value_error(t_i16, "32768");
  EXPECT_EQ(e.sqlstate, "22003");
  EXPECT_EQ(e.message, "value \"32768\" is out of range for type smallint");
  EXPECT_EQ(value_error(t_i32, "2147483648").sqlstate, "22003");
  EXPECT_EQ(value_error(t_i64, "9223372036854775808").sqlstate, "22003");
  EXPECT_EQ(value_error(t_i64, "-99999999999999999999").sqlstate, "22003");
  for (auto bad : {"", " ", "1.5", "abc", "1e3", "+-1", "--1", "1 2", "0x10"}) {
    EXPECT_EQ(value_error(t_i32, bad).sqlstate, "22P02") << bad;
  }
  EXPECT_EQ(value_error(t_i32, "abc").message, "invalid input syntax for type integer: \"abc\"");
}

TEST(Values, Floats) {
  EXPECT_EQ(parsed<double>(t_f64, "1.5"), 1.5);
  EXPECT_EQ(parsed<double>(t_f64, " -2.5e3 "), -2500.0);
  EXPECT_EQ(parsed<double>(t_f64, "+7"), 7.0);
  EXPECT_TRUE(std::isnan(parsed<double>(t_f64, "NaN")));
  EXPECT_TRUE(std::isnan(parsed<double>(t_f64, "nan")));
  EXPECT_EQ(parsed<double>(t_f64, "Infinity"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(parsed<double>(t_f64, "-Infinity"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(parsed<double>(t_f64, "inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(parsed<float>(t_f32, "0.1"), 0.1f);
  EXPECT_EQ(value_error(t_f64, "1e400").sqlstate, "22003");
  EXPECT_EQ(value_error(t_f32, "1e40").sqlstate, "22003");
  for (auto bad : {"", "abc", "1.5x", "1e", "--1"}) EXPECT_EQ(value_error(t_f64, bad).sqlstate, "22P02") << bad;
}

TEST(Values, FloatOutputMatchesPostgres) {
  // Values and spellings checked against PostgreSQL 15 (extra_float_digits = 1).
  EXPECT_EQ(round_value(t_f64, "0.1"), "0.1");
  EXPECT_EQ(round_value(t_f64, "1e15"), "1e+15");
  EXPECT_EQ(round_value(t_f64, "123456789012345"), "123456789012345");
  EXPECT_EQ(round_value(t_f64, "1e-5"), "1e-05");
  EXPECT_EQ(round_value(t_f64, "0.0001"), "0.0001");
  EXPECT_EQ(round_value(t_f64, "1.5e300"), "1.5e+300");
  EXPECT_EQ(round_value(t_f64, "-0"), "-0");
  EXPECT_EQ(round_value(t_f64, "100"), "100");
  EXPECT_EQ(round_value(t_f64, "3.141592653589793"), "3.141592653589793");
  EXPECT_EQ(round_value(t_f64, "NaN"), "NaN");
  EXPECT_EQ(round_value(t_f64, "-inf"), "-Infinity");
  EXPECT_EQ(round_value(t_f32, "1000000"), "1e+06");
  EXPECT_EQ(round_value(t_f32, "123456"), "123456");
  EXPECT_EQ(round_value(t_f32, "0.1"), "0.1");
  EXPECT_EQ(round_value(t_f32, "1.1"), "1.1");
}

TEST(Values, NumericScalesAndRounds) {
  EXPECT_EQ(parsed<int64_t>(t_num, "12.34"), 1234);
  EXPECT_EQ(parsed<int64_t>(t_num, "-12.345"), -1235);  // half away from zero
  EXPECT_EQ(parsed<int64_t>(t_num, "12.345"), 1235);
  EXPECT_EQ(parsed<int64_t>(t_num, "12.344999"), 1234);
  EXPECT_EQ(parsed<int64_t>(t_num, " 7 "), 700);
  EXPECT_EQ(parsed<int64_t>(t_num, ".5"), 50);
  EXPECT_EQ(parsed<int64_t>(t_num, "5."), 500);
  EXPECT_EQ(parsed<int64_t>(t_num, "1.5e2"), 15000);
  EXPECT_EQ(parsed<int64_t>(t_num, "15E-3"), 2);
  EXPECT_EQ(parsed<int64_t>(t_num, "0.004"), 0);
  EXPECT_EQ(parsed<int64_t>(t_num, "1e-100000"), 0);
  EXPECT_EQ(parsed<int64_t>(t_num, "0000000000000000000000000000000000000000000012.5"), 1250);
  EXPECT_EQ(parsed<int64_t>(t_num, "9999999999.99"), 999999999999);
  EXPECT_EQ(round_value(t_num, "-0.05"), "-0.05");
  EXPECT_EQ(round_value(t_num, "3"), "3.00");
  EXPECT_EQ(round_value(t_num, "-123.4"), "-123.40");
  auto over = value_error(t_num, "10000000000");
  EXPECT_EQ(over.sqlstate, "22003");
  EXPECT_EQ(over.message, "numeric field overflow");
  EXPECT_EQ(over.detail, "A field with precision 12, scale 2 must round to an absolute value less than 10^10.");
  EXPECT_EQ(value_error(t_num, "9999999999.995").sqlstate, "22003");  // rounds up to 10^10
  EXPECT_EQ(value_error(t_num, "1e10").sqlstate, "22003");
  EXPECT_EQ(value_error(t_num, "1e99999999999999999999").sqlstate, "22003");
  for (auto bad : {"", ".", "abc", "1.2.3", "1e", "NaN", "1,5", "+", "1e+"}) {
    EXPECT_EQ(value_error(t_num, bad).sqlstate, "22P02") << bad;
  }
}

TEST(Values, WideNumeric) {
  column_vector col(t_num38);
  ASSERT_TRUE(parse_text_value("1234567890123456789012345678.0123456789", col).ok());
  ASSERT_TRUE(parse_text_value("-0.00000000005", col).ok());
  ASSERT_TRUE(parse_text_value("9999999999999999999999999999.99999999994", col).ok());
  std::string a, b, c;
  append_text_value(col, 0, a);
  append_text_value(col, 1, b);
  append_text_value(col, 2, c);
  EXPECT_EQ(a, "1234567890123456789012345678.0123456789");
  EXPECT_EQ(b, "-0.0000000001");
  EXPECT_EQ(c, "9999999999999999999999999999.9999999999");
  EXPECT_EQ(value_error(t_num38, "9999999999999999999999999999.99999999995").sqlstate, "22003");
  EXPECT_EQ(value_error(t_num38, "123456789012345678901234567890").sqlstate, "22003");
  EXPECT_EQ(value_error(t_num38, "1234567890123456789012345678901234567890123").sqlstate, "22003");
  // More than 38 significant digits that are all fractional round into the last kept one.
  column_type n38_0{type_id::numeric, 38, 0};
  EXPECT_EQ(round_value(n38_0, "1234567890123456789012345678901234567.5"), "1234567890123456789012345678901234568");
}

TEST(Values, TextAndVarchar) {
  EXPECT_EQ(round_value(t_text, "héllo wörld"), "héllo wörld");
  EXPECT_EQ(round_value(t_text, ""), "");
  EXPECT_EQ(round_value(t_varchar5, "héllo"), "héllo");  // five characters, six bytes
  EXPECT_EQ(round_value(t_varchar5, "abc   "), "abc  ");  // excess spaces are trimmed
  auto e = value_error(t_varchar5, "abcdef");
  EXPECT_EQ(e.sqlstate, "22001");
  EXPECT_EQ(e.message, "value too long for type character varying(5)");
  auto bad = value_error(t_text, std::string_view("a\xff" "b", 3));
  EXPECT_EQ(bad.sqlstate, "22021");
  EXPECT_EQ(bad.message, "invalid byte sequence for encoding \"UTF8\": 0xff 0x62");
  EXPECT_EQ(value_error(t_text, std::string_view("a\0b", 3)).sqlstate, "22021");
  EXPECT_EQ(value_error(t_text, "\xc3").sqlstate, "22021");          // truncated sequence
  EXPECT_EQ(value_error(t_text, "\xed\xa0\x80").sqlstate, "22021");  // a surrogate
  EXPECT_EQ(value_error(t_text, "\xc0\xaf").sqlstate, "22021");      // overlong
  EXPECT_EQ(round_value(t_text, "\xf0\x9f\x98\x80 long enough to take the eight-byte path"),
            "\xf0\x9f\x98\x80 long enough to take the eight-byte path");
}

TEST(Values, Bytea) {
  EXPECT_EQ(round_value(t_bytea, "\\x0102ff"), "\\x0102ff");
  EXPECT_EQ(round_value(t_bytea, "\\xDE AD"), "\\xdead");
  EXPECT_EQ(round_value(t_bytea, "\\x"), "\\x");
  EXPECT_EQ(round_value(t_bytea, "ab\\\\c\\001"), "\\x61625c6301");
  EXPECT_EQ(round_value(t_bytea, "plain"), "\\x706c61696e");
  EXPECT_EQ(value_error(t_bytea, "\\x123").message, "invalid hexadecimal data: odd number of digits");
  EXPECT_EQ(value_error(t_bytea, "\\xzz").sqlstate, "22023");
  EXPECT_EQ(value_error(t_bytea, "a\\b").sqlstate, "22P02");
  EXPECT_EQ(value_error(t_bytea, "a\\").sqlstate, "22P02");
  EXPECT_EQ(value_error(t_bytea, "\\400").sqlstate, "22P02");
}

TEST(Values, Json) {
  EXPECT_EQ(round_value(t_json, "{\"a\": [1, 2.5, null, true]}"), "{\"a\": [1, 2.5, null, true]}");
  EXPECT_EQ(round_value(t_json, "\"x\""), "\"x\"");
  auto e = value_error(t_json, "{\"a\":");
  EXPECT_EQ(e.sqlstate, "22P02");
  EXPECT_EQ(e.message, "invalid input syntax for type json");
  EXPECT_EQ(value_error(t_json, "").sqlstate, "22P02");
  EXPECT_EQ(value_error(t_json, "{} {}").sqlstate, "22P02");
  EXPECT_EQ(value_error(t_json, "\"\xff\"").sqlstate, "22021");
}

TEST(Values, Dates) {
  EXPECT_EQ(parsed<int32_t>(t_date, "1970-01-01"), 0);
  EXPECT_EQ(parsed<int32_t>(t_date, "1970-01-02"), 1);
  EXPECT_EQ(parsed<int32_t>(t_date, "1969-12-31"), -1);
  EXPECT_EQ(parsed<int32_t>(t_date, "2000-03-01"), 11017);
  EXPECT_EQ(round_value(t_date, "2024-02-29"), "2024-02-29");
  EXPECT_EQ(round_value(t_date, "0001-01-01"), "0001-01-01");
  EXPECT_EQ(round_value(t_date, "9999-12-31"), "9999-12-31");
  EXPECT_EQ(round_value(t_date, " 2020-1-5 "), "2020-01-05");
  EXPECT_EQ(round_value(t_date, "2020-01-05 13:00:00"), "2020-01-05");
  EXPECT_EQ(value_error(t_date, "2023-02-29").sqlstate, "22008");
  EXPECT_EQ(value_error(t_date, "2023-13-01").message, "date/time field value out of range: \"2023-13-01\"");
  EXPECT_EQ(value_error(t_date, "0000-01-01").sqlstate, "22008");
  for (auto bad : {"", "2020", "2020-01", "20200101", "2020/01/01", "2020-01-01x", "abc"}) {
    EXPECT_EQ(value_error(t_date, bad).sqlstate, "22007") << bad;
  }
}

TEST(Values, Timestamps) {
  EXPECT_EQ(parsed<int64_t>(t_ts, "1970-01-01 00:00:01"), 1000000);
  EXPECT_EQ(parsed<int64_t>(t_ts, "1969-12-31 23:59:59.5"), -500000);
  EXPECT_EQ(round_value(t_ts, "2024-05-06 07:08:09"), "2024-05-06 07:08:09");
  EXPECT_EQ(round_value(t_ts, "2024-05-06T07:08:09.123"), "2024-05-06 07:08:09.123");
  EXPECT_EQ(round_value(t_ts, "2024-05-06 07:08:09.000001"), "2024-05-06 07:08:09.000001");
  EXPECT_EQ(round_value(t_ts, "2024-05-06 07:08:09.0000015"), "2024-05-06 07:08:09.000002");
  EXPECT_EQ(round_value(t_ts, "2024-05-06 07:08:09.9999995"), "2024-05-06 07:08:10");
  EXPECT_EQ(round_value(t_ts, "2024-05-06 07:08"), "2024-05-06 07:08:00");
  EXPECT_EQ(round_value(t_ts, "2024-05-06"), "2024-05-06 00:00:00");
  EXPECT_EQ(round_value(t_ts, "2024-05-06 24:00:00"), "2024-05-07 00:00:00");
  EXPECT_EQ(round_value(t_ts, "1900-01-01 12:00:00"), "1900-01-01 12:00:00");
  EXPECT_EQ(round_value(t_ts, "2024-05-06 07:08:09+02"), "2024-05-06 07:08:09");  // zone ignored, as PostgreSQL
  EXPECT_EQ(value_error(t_ts, "2024-05-06 25:00:00").sqlstate, "22008");
  EXPECT_EQ(value_error(t_ts, "2024-05-06 24:00:01").sqlstate, "22008");
  EXPECT_EQ(value_error(t_ts, "2024-05-06 10:60:00").sqlstate, "22008");
  for (auto bad : {"2024-05-06 7", "2024-05-06 07:", "2024-05-06 07:08:09.", "2024-05-06 07:08:09 +x",
                   "2024-05-06 07:08:09+123", "2024-05-06x07:08"}) {
    EXPECT_EQ(value_error(t_ts, bad).sqlstate, "22007") << bad;
  }
}

TEST(Values, TimestampsWithZoneConvertToUtc) {
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 07:08:09"), "2024-05-06 07:08:09+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 07:08:09+02"), "2024-05-06 05:08:09+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 07:08:09 +05:30"), "2024-05-06 01:38:09+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 07:08:09-0330"), "2024-05-06 10:38:09+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06T07:08:09.5Z"), "2024-05-06 07:08:09.5+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 00:30:00+01"), "2024-05-05 23:30:00+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 00:30:00 UTC"), "2024-05-06 00:30:00+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 00:30:00-8"), "2024-05-06 08:30:00+00");
  EXPECT_EQ(round_value(t_tstz, "2024-05-06 00:30:00+01:02:03"), "2024-05-05 23:27:57+00");
  EXPECT_EQ(value_error(t_tstz, "2024-05-06 00:30:00+16").sqlstate, "22008");
  EXPECT_EQ(value_error(t_tstz, "2024-05-06 00:30:00+01:2").sqlstate, "22007");
}

TEST(Values, OutputOfEdgeValues) {
  column_vector d(t_date);
  int32_t bc = -719163;  // 0000-12-31, which PostgreSQL prints as 1 BC
  d.append_fixed(&bc);
  std::string out;
  append_text_value(d, 0, out);
  EXPECT_EQ(out, "0001-12-31 BC");
  column_vector b(t_bool);
  uint8_t one = 1;
  b.append_fixed(&one);
  out.clear();
  append_text_value(b, 0, out);
  EXPECT_EQ(out, "t");
}

// ------------------------------------------------------------ COPY text in

TEST(CopyText, BasicRowsAndNulls) {
  auto r = decode(text_opts(), {t_i32, t_text, t_num}, "1\thello\t1.5\n2\t\\N\t\\N\n3\t\t-2\n");
  ASSERT_TRUE(r.ok) << r.err.message;
  EXPECT_EQ(r.rows, (rows_t{{"1", "hello", "1.50"}, {"2", "<null>", "<null>"}, {"3", "", "-2.00"}}));
}

TEST(CopyText, Escapes) {
  auto r = decode(text_opts(), {t_text}, "a\\tb\\nc\\\\d\\re\\bf\\fg\\vh\\101\\x41\\x4a\\q\\\t\n");
  ASSERT_TRUE(r.ok) << r.err.message;
  EXPECT_EQ(r.rows, (rows_t{{"a\tb\nc\\d\re\bf\fg\vhAAJq\t"}}));
}

TEST(CopyText, EscapedDelimiterAndNewline) {
  auto r = decode(text_opts(), {t_text, t_text}, "a\\\tb\tc\\\nd\n");
  ASSERT_TRUE(r.ok) << r.err.message;
  EXPECT_EQ(r.rows, (rows_t{{"a\tb", "c\nd"}}));
}

TEST(CopyText, NullIsMatchedBeforeUnescaping) {
  auto r = decode(text_opts(), {t_text, t_text}, "\\\\N\t\\N\n");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.rows, (rows_t{{"\\N", "<null>"}}));
  copy_statement o = text_opts();
  o.null_string = "";
  o.delimiter = '|';
  auto e = decode(o, {t_i32, t_text}, "|x\n5|\n");
  ASSERT_TRUE(e.ok) << e.err.message;
  EXPECT_EQ(e.rows, (rows_t{{"<null>", "x"}, {"5", "<null>"}}));
}

TEST(CopyText, EndMarkerStopsInput) {
  auto r = decode(text_opts(), {t_i32}, "1\n2\n\\.\nthis is ignored\n");
  ASSERT_TRUE(r.ok) << r.err.message;
  EXPECT_EQ(r.rows, (rows_t{{"1"}, {"2"}}));
  auto crlf = decode(text_opts(), {t_i32}, "1\r\n\\.\r\n");
  ASSERT_TRUE(crlf.ok) << crlf.err.message;
  EXPECT_EQ(crlf.rows, (rows_t{{"1"}}));
}

TEST(CopyText, CrLfAndFinalRowWithoutNewline) {
  auto r = decode(text_opts(), {t_i32, t_text}, "1\ta\r\n2\tb");
  ASSERT_TRUE(r.ok) << r.err.message;
  EXPECT_EQ(r.rows, (rows_t{{"1", "a"}, {"2", "b"}}));
}

TEST(CopyText, HeaderSkipped) {
  copy_statement o = text_opts();
  o.header = true;
  auto r = decode(o, {t_i32}, "id\n7\n");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.rows, (rows_t{{"7"}}));
}

TEST(CopyText, ColumnCountErrors) {
  copy_statement o = text_opts();
  o.columns = {"a", "b"};
  auto extra = decode(o, {t_i32, t_i32}, "1\t2\n3\t4\t5\n");
  ASSERT_FALSE(extra.ok);
  EXPECT_EQ(extra.err.sqlstate, "22P04");
  EXPECT_EQ(extra.err.message, "extra data after last expected column");
  EXPECT_EQ(extra.err.detail, "COPY line 2");
  auto missing = decode(o, {t_i32, t_i32}, "1\t2\n3\t4\n5\n");
  ASSERT_FALSE(missing.ok);
  EXPECT_EQ(missing.err.sqlstate, "22P04");
  EXPECT_EQ(missing.err.message, "missing data for column \"b\"");
  EXPECT_EQ(missing.err.detail, "COPY line 3");
  auto unnamed = decode(text_opts(), {t_i32, t_i32}, "5\n");
  ASSERT_FALSE(unnamed.ok);
  EXPECT_EQ(unnamed.err.message, "missing data for column 2");
  auto empty = decode(o, {t_i32, t_i32}, "\n");
  ASSERT_FALSE(empty.ok);
  EXPECT_EQ(empty.err.sqlstate, "22P02");  // the empty line is one empty field: not an integer
}

TEST(CopyText, BadValueNamesLineAndColumn) {
  copy_statement o = text_opts();
  o.columns = {"id", "n"};
  auto r = decode(o, {t_i32, t_i16}, "1\t2\n2\t99999\n");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.err.sqlstate, "22003");
  EXPECT_EQ(r.err.message, "value \"99999\" is out of range for type smallint");
  EXPECT_EQ(r.err.detail, "COPY line 2, column \"n\"");
  auto header = o;
  header.header = true;
  auto h = decode(header, {t_i32, t_i16}, "id\tn\nx\t1\n");
  ASSERT_FALSE(h.ok);
  EXPECT_EQ(h.err.detail, "COPY line 2, column \"id\"");
}

TEST(CopyText, ErrorsStickAndRollBackThePartialRow) {
  copy_decoder d(text_opts(), {t_i32, t_text});
  ASSERT_TRUE(d.feed("1\ta\n2\tb\n").ok());
  auto s = d.feed("3\tc\nx\td\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err().sqlstate, "22P02");
  EXPECT_FALSE(d.feed("4\te\n").ok());
  EXPECT_FALSE(d.finish().ok());
  auto b = d.take_rows();
  EXPECT_EQ(b.row_count, 3u);
  EXPECT_EQ(cells(b), (rows_t{{"1", "a"}, {"2", "b"}, {"3", "c"}}));
}

TEST(CopyText, FailedLaterColumnRollsBackEarlierOnes) {
  copy_decoder d(text_opts(), {t_text, t_i32});
  ASSERT_TRUE(d.feed("a\t1\n").ok());
  ASSERT_FALSE(d.feed("bb\tnope\n").ok());
  auto b = d.take_rows();
  ASSERT_EQ(b.row_count, 1u);
  EXPECT_EQ(b.columns[0].row_count, 1u);
  EXPECT_EQ(b.columns[0].bytes.size(), 1u);
  EXPECT_EQ(b.columns[1].row_count, 1u);
}

TEST(CopyText, TakeRowsStartsANewBatch) {
  copy_decoder d(text_opts(), {t_i64});
  ASSERT_TRUE(d.feed("1\n2\n3").ok());
  EXPECT_EQ(d.rows_parsed(), 2u);
  EXPECT_GT(d.pending_bytes(), 0u);
  auto first = d.take_rows();
  EXPECT_EQ(first.row_count, 2u);
  ASSERT_TRUE(d.feed("4\n").ok());
  ASSERT_TRUE(d.finish().ok());
  auto second = d.take_rows();
  EXPECT_EQ(cells(second), (rows_t{{"34"}}));
  EXPECT_EQ(d.rows_parsed(), 3u);
}

TEST(CopyText, RowLongerThanTheLimitIsRefused) {
  copy_decoder d(text_opts(), {t_text});
  std::string piece(1 << 20, 'x');
  status s = ok_t{};
  for (uint64_t fed = 0; fed <= copy_row_bytes_max && s.ok(); fed += piece.size()) s = d.feed(piece);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err().sqlstate, "54000");
}

// ------------------------------------------------------------ COPY csv in

TEST(CopyCsv, QuotingRules) {
  auto r = decode(csv_opts(), {t_text, t_text, t_text, t_i32},
                  "plain,\"quoted, with comma\",\"say \"\"hi\"\"\",1\n"
                  ",\"\",\"line1\nline2\",\n"
                  "a\"b\"c,\"x\"y,  spaced  ,2\n");
  ASSERT_TRUE(r.ok) << r.err.message << " " << r.err.detail;
  EXPECT_EQ(r.rows, (rows_t{{"plain", "quoted, with comma", "say \"hi\"", "1"},
                            {"<null>", "", "line1\nline2", "<null>"},
                            {"abc", "xy", "  spaced  ", "2"}}));
}

TEST(CopyCsv, EscapeDifferentFromQuote) {
  copy_statement o = csv_opts();
  o.escape = '\\';
  auto r = decode(o, {t_text, t_text}, "\"a\\\"b\\\\c\",d\\e\n\"\\x\",\"\"\"\"\n");
  ASSERT_TRUE(r.ok) << r.err.message;
  // Inside quotes \" and \\ are escapes; other backslashes, and any outside quotes, are
  // literal. With escape '\', """" is two empty quoted parts: an empty string, not NULL.
  EXPECT_EQ(r.rows, (rows_t{{"a\"b\\c", "d\\e"}, {"\\x", ""}}));
}

TEST(CopyCsv, CustomDelimiterQuoteAndNull) {
  copy_statement o = csv_opts();
  o.delimiter = ';';
  o.quote = '\'';
  o.escape = '\'';
  o.null_string = "NULL";
  auto r = decode(o, {t_text, t_i32, t_text}, "'a;b';NULL;'NULL'\n;1;x\n");
  ASSERT_TRUE(r.ok) << r.err.message;
  EXPECT_EQ(r.rows, (rows_t{{"a;b", "<null>", "NULL"}, {"", "1", "x"}}));
}

TEST(CopyCsv, HeaderAndCrLf) {
  copy_statement o = csv_opts();
  o.header = true;
  auto r = decode(o, {t_i32, t_text}, "id,\"name, full\"\r\n1,\"a\r\nb\"\r\n2,c\r\n");
  ASSERT_TRUE(r.ok) << r.err.message;
  EXPECT_EQ(r.rows, (rows_t{{"1", "a\r\nb"}, {"2", "c"}}));
}

TEST(CopyCsv, EndMarkerAndQuotedEndMarker) {
  auto r = decode(csv_opts(), {t_text}, "a\n\"\\.\"\n\\.\nignored\n");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.rows, (rows_t{{"a"}, {"\\."}}));
}

TEST(CopyCsv, Errors) {
  copy_statement o = csv_opts();
  o.columns = {"a", "b"};
  auto unterminated = decode(o, {t_text, t_text}, "1,2\n\"open,2\n");
  ASSERT_FALSE(unterminated.ok);
  EXPECT_EQ(unterminated.err.sqlstate, "22P04");
  EXPECT_EQ(unterminated.err.message, "unterminated CSV quoted field");
  EXPECT_EQ(unterminated.err.detail, "COPY line 2");
  auto extra = decode(o, {t_text, t_text}, "1,2,3\n");
  EXPECT_EQ(extra.err.message, "extra data after last expected column");
  auto missing = decode(o, {t_text, t_text}, "1\n");
  EXPECT_EQ(missing.err.message, "missing data for column \"b\"");
  auto bad = decode(o, {t_i32, t_text}, "\"12x\",b\n");
  EXPECT_EQ(bad.err.sqlstate, "22P02");
  EXPECT_EQ(bad.err.detail, "COPY line 1, column \"a\"");
}

// Every split of a small input across two or three feed() calls gives the same rows.
void check_every_split(const copy_statement& o, const std::vector<column_type>& types, const std::string& input) {
  auto whole = decode(o, types, input);
  ASSERT_TRUE(whole.ok) << whole.err.message;
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    for (size_t cut2 = cut; cut2 <= input.size(); cut2 += 3) {
      copy_decoder d(o, types);
      ASSERT_TRUE(d.feed(std::string_view(input).substr(0, cut)).ok()) << cut;
      ASSERT_TRUE(d.feed(std::string_view(input).substr(cut, cut2 - cut)).ok()) << cut << "," << cut2;
      ASSERT_TRUE(d.feed(std::string_view(input).substr(cut2)).ok()) << cut << "," << cut2;
      ASSERT_TRUE(d.finish().ok());
      EXPECT_EQ(cells(d.take_rows()), whole.rows) << "cuts at " << cut << " and " << cut2;
    }
  }
  for (size_t piece = 1; piece < 5; ++piece) EXPECT_EQ(decode(o, types, input, piece).rows, whole.rows);
}

TEST(CopySplit, TextAtEveryByte) {
  check_every_split(text_opts(), {t_i32, t_text, t_bytea},
                    "1\tab\\\\c\\\td\t\\\\x00ff\n\\N\t\\N\t\\N\n3\tline\\\nbreak\t\\\\x\r\n4\tlast\t\\\\x01\n\\.\n");
}

TEST(CopySplit, CsvAtEveryByte) {
  copy_statement o = csv_opts();
  o.header = true;
  check_every_split(o, {t_i32, t_text, t_text},
                    "a,b,c\n1,\"x,\"\"y\"\"\nz\",\n2,,\"\"\r\n3,\"q\"\"\",w\n");
  copy_statement e = csv_opts();
  e.escape = '\\';
  check_every_split(e, {t_text, t_text}, "\"a\\\"\\\\\",b\n\"\\\\\\\"\",\"\\\"\"\n");
}

// ------------------------------------------------------------ COPY out

column_batch sample_batch() {
  std::vector<column_type> types{t_bool, t_i16, t_i32, t_i64, t_f32, t_f64, t_num, t_num38,
                                 t_text, t_varchar5, t_bytea, t_json, t_date, t_ts, t_tstz};
  std::vector<std::vector<const char*>> rows{
      {"t", "-32768", "2147483647", "-9223372036854775808", "1.5", "-0.1", "-12.34", "0.0000000001", "tab\there",
       "x", "\\x00ff5c", "{\"k\": \"v\\\\n\"}", "2024-02-29", "1969-12-31 23:59:59.999999", "2000-01-01 00:00:00+05"},
      {"f", "0", "0", "0", "NaN", "Infinity", "0", "-1234567890123456789012345678.9", "back\\slash\nnewline\r\"q\",",
       "", "\\x", "[]", "0001-01-01", "2024-01-01 00:00:00", "1970-01-01 00:00:00Z"},
      {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
       nullptr, nullptr, nullptr},
      {"t", "1", "2", "3", "-Infinity", "1e-300", "9999999999.99", "1", "\\N", "\\.", "\\x5c4e", "null",
       "9999-12-31", "2038-01-19 03:14:08.5", "2024-06-01 12:00:00-07"},
  };
  column_batch b;
  for (const auto& t : types) b.columns.emplace_back(t);
  for (const auto& row : rows) {
    for (size_t c = 0; c < types.size(); ++c) {
      if (row[c] == nullptr) {
        b.columns[c].append_null();
      } else {
        auto s = parse_text_value(row[c], b.columns[c]);
        EXPECT_TRUE(s.ok()) << row[c] << ": " << s.err().message;
      }
    }
    ++b.row_count;
  }
  return b;
}

std::vector<column_type> types_of(const column_batch& b) {
  std::vector<column_type> t;
  for (const auto& c : b.columns) t.push_back(c.type);
  return t;
}

TEST(CopyOut, TextRoundTrip) {
  column_batch b = sample_batch();
  std::string out;
  encode_copy_rows(text_opts(), b, out);
  auto back = decode(text_opts(), types_of(b), out);
  ASSERT_TRUE(back.ok) << back.err.message << " " << back.err.detail << "\n" << out;
  EXPECT_EQ(back.rows, cells(b));
}

TEST(CopyOut, CsvRoundTrip) {
  column_batch b = sample_batch();
  for (char delim : {',', ';', '\t'}) {
    copy_statement o = csv_opts();
    o.delimiter = delim;
    std::string out;
    encode_copy_header(o, {"a", "b,c"}, out);
    o.header = true;
    encode_copy_rows(o, b, out);
    auto back = decode(o, types_of(b), out);
    ASSERT_TRUE(back.ok) << back.err.message << " " << back.err.detail << "\n" << out;
    EXPECT_EQ(back.rows, cells(b));
  }
  copy_statement e = csv_opts();
  e.escape = '\\';
  e.null_string = "\\N";
  std::string out;
  encode_copy_rows(e, b, out);
  auto back = decode(e, types_of(b), out);
  ASSERT_TRUE(back.ok) << back.err.message << "\n" << out;
  EXPECT_EQ(back.rows, cells(b));
}

TEST(CopyOut, TextEncodingIsPostgres) {
  column_batch b;
  b.columns.emplace_back(t_text);
  b.columns.emplace_back(t_i32);
  b.columns.emplace_back(t_tstz);
  ASSERT_TRUE(parse_text_value("a\tb\\c\nd", b.columns[0]).ok());
  ASSERT_TRUE(parse_text_value("-5", b.columns[1]).ok());
  ASSERT_TRUE(parse_text_value("2024-01-02 03:04:05.25+01", b.columns[2]).ok());
  b.columns[0].append_null();
  b.columns[1].append_null();
  b.columns[2].append_null();
  b.row_count = 2;
  std::string out;
  encode_copy_rows(text_opts(), b, out);
  EXPECT_EQ(out, "a\\tb\\\\c\\nd\t-5\t2024-01-02 02:04:05.25+00\n\\N\t\\N\t\\N\n");
  copy_statement pipe = text_opts();
  pipe.delimiter = '-';
  out.clear();
  encode_copy_rows(pipe, b, out);
  EXPECT_EQ(out, "a\\tb\\\\c\\nd-\\-5-2024\\-01\\-02 02:04:05.25+00\n\\N-\\N-\\N\n");
}

TEST(CopyOut, CsvEncodingIsPostgres) {
  column_batch b;
  b.columns.emplace_back(t_text);
  b.columns.emplace_back(t_text);
  for (auto v : {"plain", "", "a,b", "say \"hi\"", "two\nlines"}) {
    ASSERT_TRUE(parse_text_value(v, b.columns[0]).ok());
    ASSERT_TRUE(parse_text_value("x", b.columns[1]).ok());
    ++b.row_count;
  }
  b.columns[0].append_null();
  b.columns[1].append_null();
  ++b.row_count;
  std::string out;
  encode_copy_rows(csv_opts(), b, out);
  EXPECT_EQ(out, "plain,x\n\"\",x\n\"a,b\",x\n\"say \"\"hi\"\"\",x\n\"two\nlines\",x\n,\n");
  std::string header;
  encode_copy_header(csv_opts(), {"id", "a,b", "q\""}, header);
  EXPECT_EQ(header, "id,\"a,b\",\"q\"\"\"\n");
  std::string text_header;
  encode_copy_header(text_opts(), {"id", "t\tab"}, text_header);
  EXPECT_EQ(text_header, "id\tt\\tab\n");
}

TEST(CopyOut, SingleColumnEndMarkerIsQuotedInCsv) {
  column_batch b;
  b.columns.emplace_back(t_text);
  ASSERT_TRUE(parse_text_value("\\.", b.columns[0]).ok());
  b.row_count = 1;
  std::string out;
  encode_copy_rows(csv_opts(), b, out);
  EXPECT_EQ(out, "\"\\.\"\n");
}

// ------------------------------------------------------------ COPY BINARY

copy_statement binary_opts() {
  copy_statement o;
  o.format = copy_format::binary;
  return o;
}

std::vector<field> fields_of(const column_batch& b) {
  std::vector<field> fields;
  for (const auto& c : b.columns) {
    field f;
    f.type_oid = pg_type_of(c.type).oid;
    f.type = c.type;
    fields.push_back(f);
  }
  return fields;
}

std::string binary_file(const column_batch& b) {
  std::string out;
  encode_copy_binary_header(out);
  encode_copy_binary_rows(fields_of(b), b, out);
  encode_copy_binary_trailer(out);
  return out;
}


const std::string binary_header = std::string("PGCOPY\n\377\r\n\0", 11) + be32_bytes(0) + be32_bytes(0);

TEST(CopyBinary, RoundTripsEveryType) {
  column_batch b = sample_batch();
  auto back = decode(binary_opts(), types_of(b), binary_file(b));
  ASSERT_TRUE(back.ok) << back.err.message << " " << back.err.detail;
  EXPECT_EQ(back.rows, cells(b));
}

TEST(CopyBinary, EveryTwoAndThreeWaySplit) {
  column_batch b = sample_batch();
  b.columns.resize(4);  // bool, int2, int4, int8: small enough to cut everywhere
  check_every_split(binary_opts(), types_of(b), binary_file(b));
}

TEST(CopyBinary, HeaderExtensionIsSkippedAndTrailerIsOptional) {
  const std::string tuple = be16_bytes(1) + be32_bytes(4) + be32_bytes(7);
  const std::string with_extension = std::string("PGCOPY\n\377\r\n\0", 11) + be32_bytes(0) + be32_bytes(3) + "xyz";
  EXPECT_EQ(decode(binary_opts(), {t_i32}, with_extension + tuple + be16_bytes(0xffff)).rows, rows_t({{"7"}}));
  EXPECT_EQ(decode(binary_opts(), {t_i32}, binary_header + tuple).rows, rows_t({{"7"}}));
  // Flags in the low half are ignorable; the high half is not.
  const std::string low_flag = std::string("PGCOPY\n\377\r\n\0", 11) + be32_bytes(1) + be32_bytes(0);
  EXPECT_TRUE(decode(binary_opts(), {t_i32}, low_flag + tuple).ok);
}

TEST(CopyBinary, Errors) {
  const std::string tuple = be16_bytes(1) + be32_bytes(4) + be32_bytes(7);
  auto expect = [](const decoded& d, const char* sqlstate, const std::string& message, const std::string& detail) {
    EXPECT_FALSE(d.ok);
    EXPECT_EQ(d.err.sqlstate, sqlstate);
    EXPECT_EQ(d.err.message, message);
    EXPECT_EQ(d.err.detail, detail);
  };
  expect(decode(binary_opts(), {t_i32}, "PGCOPY\n\377\r\n\1"), "22P04", "COPY file signature not recognized", "");
  expect(decode(binary_opts(), {t_i32}, ""), "22P04", "COPY file signature not recognized", "");
  expect(decode(binary_opts(), {t_i32}, std::string("PGCOPY\n\377\r\n\0", 11) + be32_bytes(1u << 16) + be32_bytes(0)), "22P04",
         "invalid COPY file header (WITH OIDS)", "");
  expect(decode(binary_opts(), {t_i32}, std::string("PGCOPY\n\377\r\n\0", 11) + be32_bytes(1u << 20) + be32_bytes(0)), "22P04",
         "unrecognized critical flags in COPY file header", "");
  expect(decode(binary_opts(), {t_i32}, std::string("PGCOPY\n\377\r\n\0", 11) + be32_bytes(0) + be32_bytes(0xffffffff)), "22P04",
         "invalid COPY file header (wrong length)", "");
  expect(decode(binary_opts(), {t_i32, t_i32}, binary_header + tuple), "22P04", "row field count is 1, expected 2",
         "COPY line 1");
  expect(decode(binary_opts(), {t_i32}, binary_header + tuple + be16_bytes(1) + be32_bytes(uint32_t(-5))), "22P04",
         "invalid field size", "COPY line 2, column 1");
  expect(decode(binary_opts(), {t_i32}, binary_header + be16_bytes(1) + be32_bytes(2) + "ab"), "22P03",
         "incorrect binary data format: 2 bytes for type integer", "COPY line 1, column 1");
  expect(decode(binary_opts(), {t_i32}, binary_header + tuple.substr(0, 7)), "22P04", "unexpected EOF in COPY data",
         "COPY line 1");
  expect(decode(binary_opts(), {t_i32}, binary_header + be16_bytes(0xffff) + "x"), "22P04",
         "received copy data after EOF marker", "");
  expect(decode(binary_opts(), {t_varchar5}, binary_header + be16_bytes(1) + be32_bytes(6) + "abcdef"), "22001",
         "value too long for type character varying(5)", "COPY line 1, column 1");
  // A field longer than a row may be is refused from its length alone.
  expect(decode(binary_opts(), {t_text}, binary_header + be16_bytes(1) + be32_bytes(0x7fffffff)), "54000",
         "COPY row is longer than 64 MiB", "COPY line 1");
}

TEST(CopyBinary, FailedRowRollsBackAndErrorsStick) {
  copy_decoder d(binary_opts(), {t_i32, t_i32});
  ASSERT_TRUE(d.feed(binary_header + be16_bytes(2) + be32_bytes(4) + be32_bytes(1) + be32_bytes(4) + be32_bytes(2)).ok());
  EXPECT_FALSE(d.feed(be16_bytes(2) + be32_bytes(4) + be32_bytes(3) + be32_bytes(1) + "x").ok());
  EXPECT_FALSE(d.feed(be16_bytes(0xffff)).ok());
  EXPECT_FALSE(d.finish().ok());
  column_batch b = d.take_rows();
  EXPECT_EQ(cells(b), rows_t({{"1", "2"}}));
}

TEST(CopyBinary, OutputIsPostgres) {
  column_batch b;
  b.columns.emplace_back(t_i32);
  b.columns.emplace_back(t_text);
  b.columns.emplace_back(t_num);
  ASSERT_TRUE(parse_text_value("1", b.columns[0]).ok());
  ASSERT_TRUE(parse_text_value("a", b.columns[1]).ok());
  ASSERT_TRUE(parse_text_value("-0.05", b.columns[2]).ok());
  b.row_count = 1;
  b.columns[1].append_null();
  b.columns[0].append_null();
  b.columns[2].append_null();
  b.row_count = 2;
  std::string rows;
  encode_copy_binary_rows(fields_of(b), b, rows);
  const std::string numeric = be16_bytes(1) + be16_bytes(uint16_t(-1)) + be16_bytes(0x4000) + be16_bytes(2) + be16_bytes(500);
  const std::string first = be16_bytes(3) + be32_bytes(4) + be32_bytes(1) + be32_bytes(1) + "a" + be32_bytes(10) + numeric;
  const std::string second = be16_bytes(3) + be32_bytes(uint32_t(-1)) + be32_bytes(uint32_t(-1)) + be32_bytes(uint32_t(-1));
  EXPECT_EQ(rows, first + second);
  EXPECT_EQ(copy_binary_row_end(rows, 0), first.size());
  EXPECT_EQ(copy_binary_row_end(rows, first.size()), rows.size());
  std::string header, trailer;
  encode_copy_binary_header(header);
  encode_copy_binary_trailer(trailer);
  EXPECT_EQ(header, binary_header);
  EXPECT_EQ(trailer, "\xff\xff");
}

}  // namespace
}  // namespace strata::sql
