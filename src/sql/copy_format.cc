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

namespace strata::sql {

using tables::column_type;
using tables::column_vector;
using tables::type_id;

namespace {

// ---------------------------------------------------------------- errors

error sql_error(const char* sqlstate, std::string message, std::string detail = {}, std::string hint = {}) {
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

status ok() { return ok_t{}; }

// ---------------------------------------------------------------- small helpers

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

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

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

constexpr int64_t micros_per_second = 1000000;
constexpr int64_t micros_per_day = 86400 * micros_per_second;
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
  if (rest == "Z" || rest == "z" || iequals(rest, "utc") || iequals(rest, "gmt")) {
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
    return iequals(s, word.substr(0, s.size()));
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
  if (iequals(word, "infinity") || iequals(word, "inf")) {
    v = negative ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  } else if (iequals(s, "nan")) {
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

// ---------------------------------------------------------------- COPY output escaping

bool needs_text_escape(std::string_view v, char delimiter) {
  for (char c : v) {
    if (c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f' || c == '\v' || c == delimiter) {
      return true;
    }
  }
  return false;
}

void append_text_escaped(std::string& out, std::string_view v, char delimiter) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      default:
        if (c == delimiter) out.push_back('\\');
        out.push_back(c);
    }
  }
}

bool needs_csv_quote(std::string_view v, const copy_statement& o, bool single_column) {
  if (v == o.null_string) return true;
  if (single_column && v == "\\.") return true;
  for (char c : v) {
    if (c == o.delimiter || c == o.quote || c == '\n' || c == '\r') return true;
  }
  return false;
}

void append_csv_quoted(std::string& out, std::string_view v, const copy_statement& o) {
  out.push_back(o.quote);
  for (char c : v) {
    if (c == o.quote || c == o.escape) out.push_back(o.escape);
    out.push_back(c);
  }
  out.push_back(o.quote);
}

// Escapes out[start, end) in place for the format.
void escape_tail(std::string& out, size_t start, const copy_statement& o, bool single_column) {
  std::string_view v(out.data() + start, out.size() - start);
  bool csv = o.format == copy_format::csv;
  if (csv ? !needs_csv_quote(v, o, single_column) : !needs_text_escape(v, o.delimiter)) return;
  thread_local std::string scratch;
  scratch.assign(v);
  out.resize(start);
  if (csv) {
    append_csv_quoted(out, scratch, o);
  } else {
    append_text_escaped(out, scratch, o.delimiter);
  }
}

}  // namespace

// ---------------------------------------------------------------- public: values

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

// ---------------------------------------------------------------- public: output

void encode_copy_rows(const copy_statement& options, const tables::column_batch& batch, std::string& out) {
  bool single = batch.columns.size() == 1;
  for (uint32_t row = 0; row < batch.row_count; ++row) {
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      if (c != 0) out.push_back(options.delimiter);
      const column_vector& col = batch.columns[c];
      if (col.is_null(row)) {
        out += options.null_string;
        continue;
      }
      size_t start = out.size();
      append_text_value(col, row, out);
      escape_tail(out, start, options, single);
    }
    out.push_back('\n');
  }
}

void encode_copy_header(const copy_statement& options, const std::vector<std::string>& names, std::string& out) {
  for (size_t c = 0; c < names.size(); ++c) {
    if (c != 0) out.push_back(options.delimiter);
    size_t start = out.size();
    out += names[c];
    escape_tail(out, start, options, names.size() == 1);
  }
  out.push_back('\n');
}

// ---------------------------------------------------------------- decoder

struct copy_decoder::impl {
  copy_statement opts;
  std::vector<column_type> types;
  tables::column_batch batch;
  std::string carry;             // the start of a row whose end has not arrived
  bool scan_escape = false;      // text: carry ends in an unpaired backslash; csv: in an escape inside quotes
  bool scan_in_quote = false;    // csv: carry ends inside a quoted field
  uint64_t line = 0;             // rows read so far, header included
  uint64_t rows = 0;
  bool header_pending = false;
  bool ended = false;            // "\." seen: later bytes are ignored
  std::optional<error> failed;   // the first error; the decoder is dead after it
  std::string scratch;           // one de-escaped field

  impl(const copy_statement& o, std::vector<column_type> t) : opts(o), types(std::move(t)) {
    header_pending = opts.header;
    reset_batch();
  }

  // A new batch, sized like the last one taken so it rarely grows.
  void reset_batch(const tables::column_batch* last = nullptr) {
    batch = tables::column_batch{};
    batch.columns.reserve(types.size());
    for (size_t c = 0; c < types.size(); ++c) {
      batch.columns.emplace_back(types[c]);
      if (last != nullptr && c < last->columns.size()) {
        batch.columns[c].reserve(last->row_count, last->columns[c].bytes.size());
      }
    }
  }

  bool csv() const { return opts.format == copy_format::csv; }

  std::string column_name(size_t c) const {
    if (opts.columns.size() == types.size()) return "\"" + opts.columns[c] + "\"";
    return std::to_string(c + 1);
  }

  // The offset of the '\n' that ends the row starting at data[0] (scanning
  // from `from` with the saved state), or npos with the state saved.
  size_t find_row_end(std::string_view d, size_t from) {
    return csv() ? find_csv_row_end(d, from) : find_text_row_end(d, from);
  }

  size_t find_text_row_end(std::string_view d, size_t i) {
    if (scan_escape) {
      if (i >= d.size()) return std::string_view::npos;
      scan_escape = false;
      ++i;
    }
    const char* base = d.data();
    const void* nl = i < d.size() ? std::memchr(base + i, '\n', d.size() - i) : nullptr;
    for (;;) {
      size_t limit = nl ? size_t(static_cast<const char*>(nl) - base) : d.size();
      const void* bs = i < limit ? std::memchr(base + i, '\\', limit - i) : nullptr;
      if (bs == nullptr) return nl ? limit : std::string_view::npos;
      size_t b = size_t(static_cast<const char*>(bs) - base);
      if (b + 1 >= d.size()) {
        scan_escape = true;
        return std::string_view::npos;
      }
      i = b + 2;
      if (b + 1 == limit) nl = i < d.size() ? std::memchr(base + i, '\n', d.size() - i) : nullptr;
    }
  }

  // Outside quotes memchr finds the next quote or newline; inside, bytes are
  // read one by one for the closing quote and escapes.
  size_t find_csv_row_end(std::string_view d, size_t i) {
    const char quote = opts.quote, escape = opts.escape;
    const char* base = d.data();
    size_t nl = std::string_view::npos;  // the next '\n' at or after i, once looked up
    for (;;) {
      if (!scan_in_quote) {
        if (i >= d.size()) return std::string_view::npos;
        if (nl == std::string_view::npos || nl < i) {
          const void* p = std::memchr(base + i, '\n', d.size() - i);
          nl = p ? size_t(static_cast<const char*>(p) - base) : d.size();
        }
        const void* q = std::memchr(base + i, quote, nl - i);
        if (q == nullptr) return nl < d.size() ? nl : std::string_view::npos;
        i = size_t(static_cast<const char*>(q) - base) + 1;
        scan_in_quote = true;
      }
      for (; i < d.size(); ++i) {
        char c = d[i];
        if (scan_escape) {
          scan_escape = false;
          if (c == quote || c == escape) continue;
        }
        if (escape != quote && c == escape) {
          scan_escape = true;
        } else if (c == quote) {
          scan_in_quote = false;
          ++i;
          break;
        }
      }
      if (scan_in_quote) return std::string_view::npos;
    }
  }

  status fail(error e) {
    failed = e;
    return e;
  }

  error row_error(error e, size_t column) const {
    std::string where = "COPY line " + std::to_string(line);
    if (column != size_t(-1)) where += ", column " + column_name(column);
    e.detail = e.detail.empty() ? where : where + ": " + e.detail;
    return e;
  }

  // Rolls the columns back to `rows` rows after a failed row.
  void truncate_batch() {
    for (auto& col : batch.columns) {
      if (col.row_count <= batch.row_count) continue;
      col.row_count = batch.row_count;
      col.valid.resize(batch.row_count);
      if (tables::is_variable_width(col.type.id)) {
        col.offsets.resize(size_t(batch.row_count) + 1);
        col.bytes.resize(col.offsets.back());
      } else {
        col.fixed.resize(size_t(batch.row_count) * tables::fixed_width(col.type));
      }
    }
  }

  status value(std::string_view text, size_t c) {
    auto s = parse_text_value(text, batch.columns[c]);
    if (!s.ok()) return row_error(s.err(), c);
    return ok();
  }

  status null_value(size_t c) {
    batch.columns[c].append_null();
    return ok();
  }

  // One row without its '\n'.
  status parse_row(std::string_view row) {
    ++line;
    if (row.size() > copy_row_bytes_max) return row_too_long();
    if (!row.empty() && row.back() == '\r' && (row.size() < 2 || row[row.size() - 2] != '\\')) row.remove_suffix(1);
    if (row == "\\.") {
      ended = true;
      return ok();
    }
    if (header_pending) {
      header_pending = false;
      return ok();
    }
    auto s = csv() ? parse_csv_row(row) : parse_text_row(row);
    if (!s.ok()) {
      truncate_batch();
      return s;
    }
    ++batch.row_count;
    ++rows;
    return ok();
  }

  error row_too_long() const {
    return sql_error("54000", "COPY row is longer than " + std::to_string(copy_row_bytes_max >> 20) + " MiB",
                     "COPY line " + std::to_string(line), "Split the value, or load it with INSERT.");
  }

  status extra_data() const { return row_error(sql_error("22P04", "extra data after last expected column"), -1); }
  status missing_data(size_t c) const {
    return row_error(sql_error("22P04", "missing data for column " + column_name(c)), -1);
  }

  status parse_text_row(std::string_view row) {
    const size_t ncols = types.size();
    if (ncols == 0) return row.empty() ? ok() : extra_data();
    const bool has_escape = std::memchr(row.data(), '\\', row.size()) != nullptr;
    size_t c = 0, i = 0;
    for (;;) {
      if (c >= ncols) return extra_data();
      size_t start = i;
      bool escaped = false;
      if (!has_escape) {
        const void* d = std::memchr(row.data() + i, opts.delimiter, row.size() - i);
        i = d ? size_t(static_cast<const char*>(d) - row.data()) : row.size();
      } else {
        while (i < row.size() && row[i] != opts.delimiter) {
          if (row[i] == '\\') {
            escaped = true;
            ++i;
          }
          ++i;
        }
        if (i > row.size()) i = row.size();
      }
      std::string_view raw = row.substr(start, i - start);
      status s = raw == opts.null_string ? null_value(c) : escaped ? value(unescape_text(raw), c) : value(raw, c);
      if (!s.ok()) return s;
      ++c;
      if (i >= row.size()) break;
      ++i;  // the delimiter
    }
    if (c < ncols) return missing_data(c);
    return ok();
  }

  std::string_view unescape_text(std::string_view raw) {
    scratch.clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c != '\\' || i + 1 >= raw.size()) {
        scratch.push_back(c);
        continue;
      }
      char e = raw[++i];
      switch (e) {
        case 'b': scratch.push_back('\b'); break;
        case 'f': scratch.push_back('\f'); break;
        case 'n': scratch.push_back('\n'); break;
        case 'r': scratch.push_back('\r'); break;
        case 't': scratch.push_back('\t'); break;
        case 'v': scratch.push_back('\v'); break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && i + 1 < raw.size() && hex_value(raw[i + 1]) >= 0) v = v * 16 + hex_value(raw[++i]), ++n;
          scratch.push_back(n == 0 ? 'x' : char(v));
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', n = 1;
            while (n < 3 && i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '7') v = v * 8 + (raw[++i] - '0'), ++n;
            scratch.push_back(char(v & 0xff));
          } else {
            scratch.push_back(e);
          }
      }
    }
    return scratch;
  }

  status parse_csv_row(std::string_view row) {
    const size_t ncols = types.size();
    if (ncols == 0) return row.empty() ? ok() : extra_data();
    const char delim = opts.delimiter, quote = opts.quote, escape = opts.escape;
    size_t c = 0, i = 0;
    for (;;) {
      if (c >= ncols) return extra_data();
      size_t start = i;
      while (i < row.size() && row[i] != delim && row[i] != quote) ++i;
      status s = ok();
      if (i >= row.size() || row[i] == delim) {
        std::string_view raw = row.substr(start, i - start);
        s = raw == opts.null_string ? null_value(c) : value(raw, c);
      } else {
        // A quoted part: the field continues to the next delimiter outside quotes.
        scratch.assign(row.data() + start, i - start);
        bool in_quote = false;
        for (; i < row.size(); ++i) {
          char ch = row[i];
          if (in_quote) {
            if (ch == escape && i + 1 < row.size() && (row[i + 1] == quote || (escape != quote && row[i + 1] == escape))) {
              scratch.push_back(row[++i]);
            } else if (ch == quote) {
              in_quote = false;
            } else {
              scratch.push_back(ch);
            }
          } else if (ch == quote) {
            in_quote = true;
          } else if (ch == delim) {
            break;
          } else {
            scratch.push_back(ch);
          }
        }
        if (in_quote) return row_error(sql_error("22P04", "unterminated CSV quoted field"), -1);
        s = value(scratch, c);
      }
      if (!s.ok()) return s;
      ++c;
      if (i >= row.size()) break;
      ++i;
    }
    if (c < ncols) return missing_data(c);
    return ok();
  }

  // Parses every complete row in `data`; returns the bytes consumed.
  outcome<size_t> parse_rows(std::string_view data) {
    size_t pos = 0;
    while (pos < data.size() && !ended) {
      size_t end = find_row_end(data, pos);
      if (end == std::string_view::npos) return pos;
      auto s = parse_row(data.substr(pos, end - pos));
      if (!s.ok()) return s.err();
      pos = end + 1;
    }
    return ended ? data.size() : pos;
  }

  status feed(std::string_view data) {
    if (failed) return *failed;
    if (ended) return ok();
    if (!carry.empty()) {
      size_t end = find_row_end(data, 0);
      if (end == std::string_view::npos) {
        carry.append(data);
        if (carry.size() > copy_row_bytes_max) return fail(row_too_long());
        return ok();
      }
      carry.append(data.substr(0, end));
      auto s = parse_row(carry);
      carry.clear();
      if (!s.ok()) return fail(s.err());
      data.remove_prefix(end + 1);
      if (ended) return ok();
    }
    scan_escape = false;
    scan_in_quote = false;
    auto used = parse_rows(data);
    if (!used.ok()) return fail(used.err());
    // parse_rows left the scan state describing the unfinished tail.
    carry.assign(data.substr(*used));
    if (carry.size() > copy_row_bytes_max) return fail(row_too_long());
    return ok();
  }

  status finish() {
    if (failed) return *failed;
    if (ended || carry.empty()) return ok();
    if (csv() && scan_in_quote) {
      ++line;
      return fail(row_error(sql_error("22P04", "unterminated CSV quoted field"), -1));
    }
    auto s = parse_row(carry);
    carry.clear();
    if (!s.ok()) return fail(s.err());
    return ok();
  }
};

copy_decoder::copy_decoder(const copy_statement& options, std::vector<column_type> types)
    : impl_(std::make_shared<impl>(options, std::move(types))) {}

status copy_decoder::feed(std::string_view data) { return impl_->feed(data); }

status copy_decoder::finish() { return impl_->finish(); }

tables::column_batch copy_decoder::take_rows() {
  tables::column_batch out = std::move(impl_->batch);
  impl_->reset_batch(&out);
  return out;
}

uint64_t copy_decoder::pending_bytes() const { return impl_->carry.size() + impl_->batch.memory_bytes(); }

uint64_t copy_decoder::rows_parsed() const { return impl_->rows; }

}  // namespace strata::sql
