// Parses the PostgreSQL text form of values (COPY input, pgwire text
// parameters); text_value_format.cc writes it.
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

#include <nlohmann/json.hpp>

#include "base/ascii.h"
#include "sql/text_value_internal.h"

namespace strata::sql {

using tables::column_type;
using tables::column_vector;
using tables::type_id;

namespace text_detail {

error sql_error(const char* sqlstate, std::string message, std::string detail, std::string hint) {
  error e;
  e.sqlstate = sqlstate;
  e.message = std::move(message);
  e.detail = std::move(detail);
  e.hint = std::move(hint);
  return e;
}

// A value quoted for a message, cut short when long.
std::string quoted(std::string_view text) {
  constexpr size_t shown_max = 100;
  std::string out = "\"";
  out.append(text.substr(0, shown_max));
  if (text.size() > shown_max) out += "...";
  out += "\"";
  return out;
}

}  // namespace text_detail

using namespace text_detail;

namespace {

error bad_syntax(const column_type& type, std::string_view text) {
  return sql_error("22P02", "invalid input syntax for type " + tables::type_name(type) + ": " + quoted(text));
}

error out_of_range(const column_type& type, std::string_view text) {
  return sql_error("22003", "value " + quoted(text) + " is out of range for type " + tables::type_name(type));
}

error bad_datetime(const column_type& type, std::string_view text) {
  return sql_error("22007", "invalid input syntax for type " + tables::type_name(type) + ": " + quoted(text));
}

error datetime_range(std::string_view text) {
  return sql_error("22008", "date/time field value out of range: " + quoted(text));
}

// ---------------------------------------------------------------- small helpers

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Index of the first byte that is not valid UTF-8 (NUL counts as invalid, as
// in PostgreSQL), or npos.
size_t invalid_utf8_at(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t v;
      std::memcpy(&v, p + i, 8);
      constexpr uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
      if ((v & highs) == 0 && ((v - ones) & ~v & highs) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i];
    if (c == 0) return i;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

error bad_encoding(std::string_view s, size_t at) {
  std::string bytes;
  for (size_t k = at; k < s.size() && k < at + 2; ++k) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%s0x%02x", k == at ? "" : " ", static_cast<unsigned char>(s[k]));
    bytes += hex;
  }
  return sql_error("22021", "invalid byte sequence for encoding \"UTF8\": " + bytes);
}

// ---------------------------------------------------------------- calendar

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}
bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}
constexpr int64_t year_max = 294246;  // timestamps stay inside int64 microseconds since 1970

// Reads 1..max_digits digits.
bool read_number(std::string_view s, size_t& i, size_t max_digits, int64_t& out) {
  size_t start = i;
  out = 0;
  while (i < s.size() && is_digit(s[i]) && i - start < max_digits) out = out * 10 + (s[i++] - '0');
  return i > start && (i >= s.size() || !is_digit(s[i]));
}

struct datetime {
  int64_t days = 0;
  int64_t time_micros = 0;  // since midnight; 24:00:00 allowed
  bool has_time = false;
  bool has_offset = false;
  int64_t offset_seconds = 0;  // east of UTC
};

enum class dt_result { ok, syntax, range };

dt_result parse_date_part(std::string_view s, size_t& i, int64_t& days) {
  int64_t y = 0, m = 0, d = 0;
  if (!read_number(s, i, 7, y) || i >= s.size() || s[i] != '-') return dt_result::syntax;
  ++i;
  if (!read_number(s, i, 2, m) || i >= s.size() || s[i] != '-') return dt_result::syntax;
  ++i;
  if (!read_number(s, i, 2, d)) return dt_result::syntax;
  if (y < 1 || y > year_max || m < 1 || m > 12 || d < 1 || d > days_in_month(y, unsigned(m))) return dt_result::range;
  days = days_from_civil(y, unsigned(m), unsigned(d));
  return dt_result::ok;
}

// HH:MM[:SS[.ffffff...]], fractions rounded to microseconds.
dt_result parse_time_part(std::string_view s, size_t& i, int64_t& micros) {
  int64_t h = 0, m = 0, sec = 0, frac = 0;
  if (!read_number(s, i, 2, h) || i >= s.size() || s[i] != ':') return dt_result::syntax;
  ++i;
  if (!read_number(s, i, 2, m)) return dt_result::syntax;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!read_number(s, i, 2, sec)) return dt_result::syntax;
    if (i < s.size() && s[i] == '.') {
      ++i;
      int64_t scale = 100000;
      size_t start = i;
      while (i < s.size() && is_digit(s[i])) {
        if (scale > 0) {
          frac += (s[i] - '0') * scale;
          scale /= 10;
        } else if (i == start + 6 && s[i] >= '5') {
          ++frac;  // round half up at the seventh digit
        }
        ++i;
      }
      if (i == start) return dt_result::syntax;
    }
  }
  if (m > 59 || sec > 60 || h > 24 || (h == 24 && (m != 0 || sec != 0 || frac != 0))) return dt_result::range;
  micros = ((h * 60 + m) * 60 + sec) * micros_per_second + frac;
  return dt_result::ok;
}

// Z, UTC, GMT, +H, +HH, +HH:MM, +HH:MM:SS, +HHMM, +HHMMSS (and -).
dt_result parse_offset(std::string_view s, size_t& i, int64_t& seconds) {
  std::string_view rest = s.substr(i);
  if (rest == "Z" || rest == "z" || iequals_ascii(rest, "utc") || iequals_ascii(rest, "gmt")) {
    i = s.size();
    seconds = 0;
    return dt_result::ok;
  }
  if (s[i] != '+' && s[i] != '-') return dt_result::syntax;
  int64_t sign = s[i] == '-' ? -1 : 1;
  size_t start = ++i;
  while (i < s.size() && is_digit(s[i])) ++i;
  std::string_view run = s.substr(start, i - start);
  auto two = [&](size_t at) { return int64_t((run[at] - '0') * 10 + (run[at + 1] - '0')); };
  int64_t h = 0, m = 0, sec = 0;
  if (run.size() == 1) {
    h = run[0] - '0';
  } else if (run.size() == 2) {
    h = two(0);
  } else if (run.size() == 4) {
    h = two(0), m = two(2);
  } else if (run.size() == 6) {
    h = two(0), m = two(2), sec = two(4);
  } else {
    return dt_result::syntax;
  }
  if (run.size() <= 2 && i < s.size() && s[i] == ':') {
    size_t at = ++i;
    if (!read_number(s, i, 2, m) || i - at != 2) return dt_result::syntax;
    if (i < s.size() && s[i] == ':') {
      at = ++i;
      if (!read_number(s, i, 2, sec) || i - at != 2) return dt_result::syntax;
    }
  }
  if (h > 15 || m > 59 || sec > 59) return dt_result::range;
  seconds = sign * ((h * 60 + m) * 60 + sec);
  return dt_result::ok;
}

// The common exact "YYYY-MM-DD"; false sends the text to the general parser.
bool parse_plain_date(std::string_view s, int64_t& days) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int v[8];
  static constexpr int at[8] = {0, 1, 2, 3, 5, 6, 8, 9};
  for (int k = 0; k < 8; ++k) {
    if (!is_digit(s[size_t(at[k])])) return false;
    v[k] = s[size_t(at[k])] - '0';
  }
  int64_t y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
  unsigned m = unsigned(v[4] * 10 + v[5]), d = unsigned(v[6] * 10 + v[7]);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return false;
  days = days_from_civil(y, m, d);
  return true;
}

dt_result parse_datetime(std::string_view text, datetime& out) {
  if (parse_plain_date(text, out.days)) return dt_result::ok;
  std::string_view s = trim(text);
  size_t i = 0;
  if (auto r = parse_date_part(s, i, out.days); r != dt_result::ok) return r;
  if (i == s.size()) return dt_result::ok;
  if (s[i] != ' ' && s[i] != 'T' && s[i] != 't') return dt_result::syntax;
  while (i < s.size() && (s[i] == ' ' || s[i] == 'T' || s[i] == 't')) ++i;
  if (auto r = parse_time_part(s, i, out.time_micros); r != dt_result::ok) return r;
  out.has_time = true;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i == s.size()) return dt_result::ok;
  if (auto r = parse_offset(s, i, out.offset_seconds); r != dt_result::ok) return r;
  out.has_offset = true;
  return i == s.size() ? dt_result::ok : dt_result::syntax;
}

// ---------------------------------------------------------------- value parsers

status parse_bool(std::string_view text, column_vector& column) {
  std::string_view s = trim(text);
  auto prefix_of = [&](std::string_view word, size_t min_len) {
    if (s.size() < min_len || s.size() > word.size()) return false;
    return iequals_ascii(s, word.substr(0, s.size()));
  };
  uint8_t v;
  if (prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || s == "1") {
    v = 1;
  } else if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0") {
    v = 0;
  } else {
    return sql_error("22P02", "invalid input syntax for type boolean: " + quoted(text));
  }
  column.append_fixed(&v);
  return ok();
}

template <class T>
status parse_integer(std::string_view text, column_vector& column) {
  std::string_view s = trim(text);
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return out_of_range(column.type, text);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return bad_syntax(column.type, text);
  if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return out_of_range(column.type, text);
  T narrow = static_cast<T>(v);
  column.append_fixed(&narrow);
  return ok();
}

template <class T>
status parse_float(std::string_view text, column_vector& column) {
  std::string_view s = trim(text);
  T v = 0;
  bool negative = !s.empty() && s[0] == '-';
  std::string_view word = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? s.substr(1) : s;
  if (iequals_ascii(word, "infinity") || iequals_ascii(word, "inf")) {
    v = negative ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  } else if (iequals_ascii(s, "nan")) {
    v = std::numeric_limits<T>::quiet_NaN();
  } else {
    if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) {
      return sql_error("22003", quoted(text) + " is out of range for type " + tables::type_name(column.type));
    }
    if (ec != std::errc() || ptr != s.data() + s.size() || s.empty() || std::isnan(v) || std::isinf(v)) {
      return bad_syntax(column.type, text);
    }
  }
  column.append_fixed(&v);
  return ok();
}

// 10^n for n in 0..38.
unsigned __int128 pow10_128(int n) {
  static const auto table = [] {
    std::array<unsigned __int128, 39> t{};
    t[0] = 1;
    for (size_t k = 1; k < t.size(); ++k) t[k] = t[k - 1] * 10;
    return t;
  }();
  return table[size_t(n)];
}

// Decimal text into an integer scaled by 10^scale, rounded half away from zero.
status parse_numeric(std::string_view text, column_vector& column) {
  const column_type& type = column.type;
  std::string_view s = trim(text);
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  // The significant digits (leading zeros dropped) and the power of ten they are scaled by.
  // They gather in 64 bits while they fit, which is the common case.
  uint64_t narrow_mantissa = 0;
  unsigned __int128 mantissa = 0;
  int digits = 0, dropped_first = -1;  // dropped_first: the first digit past 38 significant ones
  int64_t exp10 = 0;
  bool any_digit = false, seen_point = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (!is_digit(c)) break;
    any_digit = true;
    if (digits == 0 && c == '0') {
      if (seen_point) --exp10;
      continue;
    }
    if (digits < 19) {
      narrow_mantissa = narrow_mantissa * 10 + unsigned(c - '0');
      ++digits;
      if (seen_point) --exp10;
    } else if (digits < tables::numeric_precision_max) {
      if (digits == 19) mantissa = narrow_mantissa;
      mantissa = mantissa * 10 + unsigned(c - '0');
      ++digits;
      if (seen_point) --exp10;
    } else {
      if (dropped_first < 0) dropped_first = c - '0';
      if (!seen_point) ++exp10;
    }
  }
  if (!any_digit) return bad_syntax(type, text);
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    int64_t e = 0;
    size_t start = i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return bad_syntax(type, text);
    auto [ptr, ec] = std::from_chars(s.data() + start + (s[start] == '+'), s.data() + s.size(), e);
    if (ec == std::errc::result_out_of_range) e = s[start] == '-' ? -100000 : 100000;
    else if (ec != std::errc()) return bad_syntax(type, text);
    i = size_t(ptr - s.data());
    if (ec == std::errc::result_out_of_range) {
      while (i < s.size() && is_digit(s[i])) ++i;
    }
    exp10 += std::clamp<int64_t>(e, -100000, 100000);
  }
  if (i != s.size()) return bad_syntax(type, text);
  if (digits <= 19) mantissa = narrow_mantissa;

  uint8_t precision = type.precision != 0 ? type.precision : tables::numeric_precision_max;
  int64_t shift = exp10 + type.scale;  // value * 10^scale = mantissa * 10^shift
  auto overflow = [&] {
    return sql_error("22003", "numeric field overflow",
                     "A field with precision " + std::to_string(precision) + ", scale " + std::to_string(type.scale) +
                         " must round to an absolute value less than 10^" + std::to_string(precision - type.scale) +
                         ".");
  };
  if (shift >= 0) {
    if (mantissa != 0 && digits + shift > precision) return overflow();
    if (mantissa != 0) mantissa *= pow10_128(int(shift));
    if (shift == 0 && dropped_first >= 5) ++mantissa;  // digits past the 38th are fractional here
  } else {
    int round_digit = dropped_first;
    for (int64_t k = 0; k < -shift; ++k) {
      if (mantissa == 0) {
        round_digit = 0;
        break;
      }
      round_digit = int(mantissa % 10);
      mantissa /= 10;
    }
    if (round_digit >= 5) ++mantissa;
  }
  if (mantissa >= pow10_128(precision)) return overflow();
  __int128 v = negative ? -static_cast<__int128>(mantissa) : static_cast<__int128>(mantissa);
  if (tables::fixed_width(type) == 8) {
    int64_t narrow = static_cast<int64_t>(v);
    column.append_fixed(&narrow);
  } else {
    column.append_fixed(&v);
  }
  return ok();
}

status parse_text(std::string_view text, column_vector& column) {
  if (size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) return bad_encoding(text, bad);
  uint32_t length_max = column.type.length_max;
  if (length_max != 0 && text.size() > length_max) {
    size_t chars = 0, cut = text.size();
    for (size_t i = 0; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) continue;
      if (chars == length_max) cut = std::min(cut, i);
      ++chars;
    }
    if (chars > length_max) {
      // PostgreSQL trims excess characters when they are all spaces.
      if (text.find_first_not_of(' ', cut) != std::string_view::npos) {
        return sql_error("22001", "value too long for type " + tables::type_name(column.type));
      }
      text = text.substr(0, cut);
    }
  }
  column.append_bytes(text);
  return ok();
}

status parse_json(std::string_view text, column_vector& column) {
  if (size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) return bad_encoding(text, bad);
  if (!nlohmann::json::accept(text.begin(), text.end())) {
    return sql_error("22P02", "invalid input syntax for type json", "The input " + quoted(text) + " is not valid JSON.");
  }
  column.append_bytes(text);
  return ok();
}

status parse_bytea(std::string_view text, column_vector& column) {
  thread_local std::string scratch;
  scratch.clear();
  if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
    for (size_t i = 2; i < text.size();) {
      if (is_space(text[i])) {
        ++i;
        continue;
      }
      int hi = hex_value(text[i]);
      if (hi < 0) return sql_error("22023", "invalid hexadecimal digit: " + quoted(text.substr(i, 1)));
      if (i + 1 >= text.size()) return sql_error("22023", "invalid hexadecimal data: odd number of digits");
      int lo = hex_value(text[i + 1]);
      if (lo < 0) return sql_error("22023", "invalid hexadecimal digit: " + quoted(text.substr(i + 1, 1)));
      scratch.push_back(char(hi * 16 + lo));
      i += 2;
    }
  } else {
    for (size_t i = 0; i < text.size();) {
      char c = text[i];
      if (c != '\\') {
        scratch.push_back(c);
        ++i;
      } else if (i + 1 < text.size() && text[i + 1] == '\\') {
        scratch.push_back('\\');
        i += 2;
      } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' && text[i + 2] >= '0' &&
                 text[i + 2] <= '7' && text[i + 3] >= '0' && text[i + 3] <= '7') {
        scratch.push_back(char(((text[i + 1] - '0') << 6) | ((text[i + 2] - '0') << 3) | (text[i + 3] - '0')));
        i += 4;
      } else {
        return sql_error("22P02", "invalid input syntax for type bytea");
      }
    }
  }
  column.append_bytes(scratch);
  return ok();
}

status parse_date(std::string_view text, column_vector& column) {
  datetime dt;
  dt_result r = parse_datetime(text, dt);
  if (r == dt_result::syntax) return bad_datetime(column.type, text);
  if (r == dt_result::range) return datetime_range(text);
  int32_t days = static_cast<int32_t>(dt.days);
  column.append_fixed(&days);
  return ok();
}

status parse_timestamp(std::string_view text, column_vector& column, bool with_zone) {
  datetime dt;
  dt_result r = parse_datetime(text, dt);
  if (r == dt_result::syntax) return bad_datetime(column.type, text);
  if (r == dt_result::range) return datetime_range(text);
  int64_t micros = dt.days * micros_per_day + dt.time_micros;
  // A zone on a plain timestamp is ignored, as PostgreSQL does.
  if (with_zone && dt.has_offset) micros -= dt.offset_seconds * micros_per_second;
  column.append_fixed(&micros);
  return ok();
}

}  // namespace

namespace text_detail {

bool days_in_range(int64_t days) {
  return days >= days_from_civil(1, 1, 1) && days <= days_from_civil(year_max, 12, 31);
}

}  // namespace text_detail

status parse_text_value(std::string_view text, column_vector& column) {
  switch (column.type.id) {
    case type_id::boolean: return parse_bool(text, column);
    case type_id::int16: return parse_integer<int16_t>(text, column);
    case type_id::int32: return parse_integer<int32_t>(text, column);
    case type_id::int64: return parse_integer<int64_t>(text, column);
    case type_id::float32: return parse_float<float>(text, column);
    case type_id::float64: return parse_float<double>(text, column);
    case type_id::numeric: return parse_numeric(text, column);
    case type_id::text: return parse_text(text, column);
    case type_id::json: return parse_json(text, column);
    case type_id::bytea: return parse_bytea(text, column);
    case type_id::date: return parse_date(text, column);
    case type_id::timestamp: return parse_timestamp(text, column, false);
    case type_id::timestamptz: return parse_timestamp(text, column, true);
  }
  return sql_error("XX000", "unknown column type " + std::to_string(int(column.type.id)));
}

}  // namespace strata::sql
