// Writes the PostgreSQL text form of values (COPY output, pgwire text
// results); text_value_parse.cc reads it.
#include "sql/copy_format.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>


#include "sql/text_value_internal.h"

namespace strata::sql {

using tables::column_vector;
using tables::type_id;

using namespace text_detail;

namespace {

// ---------------------------------------------------------------- calendar

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = int64_t(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

// ---------------------------------------------------------------- text output

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ptr);
}

void append_padded(std::string& out, int64_t v, int width) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  for (int k = int(ptr - buf); k < width; ++k) out.push_back('0');
  out.append(buf, ptr);
}

// PostgreSQL 12+ float output: the shortest digits that round-trip, fixed
// notation for decimal exponents in [-4, fixed_exp_max), else d.ddde+XX.
template <class T>
void append_float(std::string& out, T v, int fixed_exp_max) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-Infinity" : "Infinity";
    return;
  }
  if (std::signbit(v)) out.push_back('-');
  v = std::fabs(v);
  if (v == 0) {
    out.push_back('0');
    return;
  }
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, size_t(ptr - buf));
  size_t e_at = sci.find('e');
  char digits[32];
  int nd = 0;
  for (size_t k = 0; k < e_at; ++k)
    if (sci[k] != '.') digits[nd++] = sci[k];
  int exp = 0;
  std::string_view e_text = sci.substr(e_at + 1);
  if (!e_text.empty() && e_text[0] == '+') e_text.remove_prefix(1);
  std::from_chars(e_text.data(), e_text.data() + e_text.size(), exp);
  if (exp < -4 || exp >= fixed_exp_max) {
    out.push_back(digits[0]);
    if (nd > 1) {
      out.push_back('.');
      out.append(digits + 1, size_t(nd - 1));
    }
    out.push_back('e');
    out.push_back(exp < 0 ? '-' : '+');
    append_padded(out, exp < 0 ? -exp : exp, 2);
  } else if (exp < 0) {
    out += "0.";
    out.append(size_t(-exp - 1), '0');
    out.append(digits, size_t(nd));
  } else if (nd <= exp + 1) {
    out.append(digits, size_t(nd));
    out.append(size_t(exp + 1 - nd), '0');
  } else {
    out.append(digits, size_t(exp + 1));
    out.push_back('.');
    out.append(digits + exp + 1, size_t(nd - exp - 1));
  }
}

void append_date_of_days(std::string& out, int64_t days, bool& bc) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  bc = y <= 0;
  append_padded(out, bc ? 1 - y : y, 4);
  out.push_back('-');
  append_padded(out, m, 2);
  out.push_back('-');
  append_padded(out, d, 2);
}

void append_timestamp(std::string& out, int64_t micros, bool with_zone) {
  int64_t days = micros / micros_per_day, rem = micros % micros_per_day;
  if (rem < 0) rem += micros_per_day, --days;
  bool bc = false;
  append_date_of_days(out, days, bc);
  int64_t secs = rem / micros_per_second, frac = rem % micros_per_second;
  out.push_back(' ');
  append_padded(out, secs / 3600, 2);
  out.push_back(':');
  append_padded(out, secs / 60 % 60, 2);
  out.push_back(':');
  append_padded(out, secs % 60, 2);
  if (frac != 0) {
    char f[7];
    for (int k = 5; k >= 0; --k, frac /= 10) f[k] = char('0' + frac % 10);
    int len = 6;
    while (f[len - 1] == '0') --len;
    out.push_back('.');
    out.append(f, size_t(len));
  }
  if (with_zone) out += "+00";
  if (bc) out += " BC";
}

void append_bytea_hex(std::string& out, std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  out += "\\x";
  for (unsigned char c : bytes) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
}

}  // namespace

namespace text_detail {

void append_numeric(std::string& out, __int128 v, uint8_t scale) {
  unsigned __int128 u = v < 0 ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  char buf[48];
  int n = 0;
  do {
    buf[n++] = char('0' + int(u % 10));
    u /= 10;
  } while (u != 0);
  while (n < scale + 1) buf[n++] = '0';
  if (v < 0) out.push_back('-');
  for (int k = n - 1; k >= scale; --k) out.push_back(buf[k]);
  if (scale > 0) {
    out.push_back('.');
    for (int k = scale - 1; k >= 0; --k) out.push_back(buf[k]);
  }
}

}  // namespace text_detail

void append_text_value(const column_vector& column, uint32_t row, std::string& out) {
  switch (column.type.id) {
    case type_id::boolean: out.push_back(column.fixed[row] ? 't' : 'f'); return;
    case type_id::int16: append_int(out, column.get<int16_t>(row)); return;
    case type_id::int32: append_int(out, column.get<int32_t>(row)); return;
    case type_id::int64: append_int(out, column.get<int64_t>(row)); return;
    case type_id::float32: append_float(out, column.get<float>(row), 6); return;
    case type_id::float64: append_float(out, column.get<double>(row), 15); return;
    case type_id::numeric:
      append_numeric(out, tables::fixed_width(column.type) == 8 ? column.get<int64_t>(row) : column.get<__int128>(row),
                     column.type.scale);
      return;
    case type_id::text:
    case type_id::json: out.append(column.get_bytes(row)); return;
    case type_id::bytea: append_bytea_hex(out, column.get_bytes(row)); return;
    case type_id::date: {
      bool bc = false;
      append_date_of_days(out, column.get<int32_t>(row), bc);
      if (bc) out += " BC";
      return;
    }
    case type_id::timestamp: append_timestamp(out, column.get<int64_t>(row), false); return;
    case type_id::timestamptz: append_timestamp(out, column.get<int64_t>(row), true); return;
  }
}

}  // namespace strata::sql
