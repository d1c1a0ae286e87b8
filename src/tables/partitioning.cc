#include "tables/partitioning.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace strata::tables {
namespace {

constexpr int64_t us_per_hour = 3600LL * 1000000;
constexpr int64_t us_per_day = 24 * us_per_hour;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool is_date(const column_type& t) { return t.id == type_id::date; }

// Start of the interval containing `days` and of the next one, in days.
void day_interval(time_unit unit, int64_t days, int64_t& lo, int64_t& hi) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  switch (unit) {
    case time_unit::hour:
    case time_unit::day:
      lo = days;
      hi = days + 1;
      return;
    case time_unit::month:
      lo = days_from_civil(y, m, 1);
      hi = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
      return;
    case time_unit::year:
      lo = days_from_civil(y, 1, 1);
      hi = days_from_civil(y + 1, 1, 1);
      return;
  }
}

// The interval [lo, hi) containing `v` in the column's unit.
void interval_of(const table_schema& schema, int64_t v, int64_t& lo, int64_t& hi) {
  const column_type& t = schema.columns[schema.partitioning.column].type;
  time_unit unit = schema.partitioning.interval;
  if (is_date(t)) return day_interval(unit, v, lo, hi);
  if (unit == time_unit::hour) {
    lo = floor_div(v, us_per_hour) * us_per_hour;
    hi = lo + us_per_hour;
    return;
  }
  int64_t dlo, dhi;
  day_interval(unit, floor_div(v, us_per_day), dlo, dhi);
  lo = dlo * us_per_day;
  hi = dhi * us_per_day;
}

std::string int128_text(__int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
  std::string s;
  while (u > 0) {
    s.push_back(char('0' + int(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  return {s.rbegin(), s.rend()};
}

std::optional<__int128> parse_int128(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = s.front() == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty() || s.size() > 39) return std::nullopt;
  __int128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

std::string value_text(const scalar& v) {
  switch (v.index()) {
    case 1:
      return std::get<bool>(v) ? "true" : "false";
    case 2:
      return std::to_string(std::get<int64_t>(v));
    case 3: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", std::get<double>(v));
      return buf;
    }
    case 4:
      return int128_text(std::get<__int128>(v));
    case 5:
      return std::get<std::string>(v);
    default:
      return "";
  }
}

std::optional<scalar> parse_value(const column_type& t, std::string_view s) {
  switch (t.id) {
    case type_id::boolean:
      if (s == "true") return scalar{true};
      if (s == "false") return scalar{false};
      return std::nullopt;
    case type_id::float32:
    case type_id::float64: {
      std::string copy(s);
      char* end = nullptr;
      double d = std::strtod(copy.c_str(), &end);
      if (end != copy.c_str() + copy.size()) return std::nullopt;
      return scalar{d};
    }
    case type_id::numeric: {
      auto v = parse_int128(s);
      if (!v) return std::nullopt;
      return scalar{*v};
    }
    case type_id::text:
    case type_id::bytea:
    case type_id::json:
      return scalar{std::string(s)};
    default: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
      return scalar{v};
    }
  }
}

const int64_t* as_int(const scalar& v) { return std::get_if<int64_t>(&v); }

// Can a value in [lo, hi) satisfy `value OP v`?
bool range_may_match(int64_t lo, int64_t hi, column_predicate::op kind, const std::vector<scalar>& values) {
  using op = column_predicate::op;
  auto in_range = [&](const scalar& s) {
    const int64_t* v = as_int(s);
    return v == nullptr || (*v >= lo && *v < hi);
  };
  if (kind == op::in) {
    for (const scalar& s : values) {
      if (std::holds_alternative<std::monostate>(s)) continue;
      if (in_range(s)) return true;
    }
    return false;
  }
  if (values.size() != 1) return true;
  const int64_t* v = as_int(values[0]);
  if (v == nullptr) return !std::holds_alternative<std::monostate>(values[0]);
  switch (kind) {
    case op::eq:
      return *v >= lo && *v < hi;
    case op::ne:
      return !(lo == *v && hi == *v + 1);
    case op::lt:
      return lo < *v;
    case op::le:
      return lo <= *v;
    case op::gt:
      return hi - 1 > *v;
    case op::ge:
      return hi - 1 >= *v;
    default:
      return true;
  }
}

bool list_may_match(const column_type& t, const scalar& value, column_predicate::op kind,
                    const std::vector<scalar>& values) {
  using op = column_predicate::op;
  auto same_family = [&](const scalar& s) { return s.index() == value.index(); };
  if (kind == op::in) {
    for (const scalar& s : values) {
      if (!same_family(s)) {
        if (std::holds_alternative<std::monostate>(s)) continue;
        return true;
      }
      if (compare_scalars(t, value, s) == 0) return true;
    }
    return false;
  }
  if (values.size() != 1) return true;
  if (std::holds_alternative<std::monostate>(values[0])) return false;
  if (!same_family(values[0])) return true;
  int c = compare_scalars(t, value, values[0]);
  switch (kind) {
    case op::eq:
      return c == 0;
    case op::ne:
      return c != 0;
    case op::lt:
      return c < 0;
    case op::le:
      return c <= 0;
    case op::gt:
      return c > 0;
    case op::ge:
      return c >= 0;
    default:
      return true;
  }
}

}  // namespace

// Howard Hinnant's civil calendar algorithms (public domain math), restated.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = int64_t(yoe) + era * 400 + (month <= 2);
}

result<std::string> partition_key_of(const table_schema& schema, const column_vector& column, uint32_t row) {
  const partition_spec& spec = schema.partitioning;
  if (spec.kind == partition_kind::none) return std::string("all");
  if (column.is_null(row)) return std::string("null");
  scalar v = scalar_at(column, row);
  if (spec.kind == partition_kind::range_time) {
    const int64_t* x = as_int(v);
    if (x == nullptr) return make_error(errc::invalid_argument, "a range_time partition column must be a date or timestamp");
    int64_t lo, hi;
    interval_of(schema, *x, lo, hi);
    return std::to_string(lo);
  }
  std::string text = "v" + value_text(v);
  if (text.size() > partition_key_bytes_max) {
    return make_error(errc::limit_exceeded,
                      "a list partition value is longer than 255 bytes; partition by a shorter column");
  }
  return text;
}

result<partition_bounds> bounds_of_key(const table_schema& schema, const std::string& key) {
  partition_bounds b;
  const partition_spec& spec = schema.partitioning;
  auto bad = [&] {
    return make_error(errc::corrupt, "partition key \"" + key + "\" of table " + schema.name +
                                         " does not parse; the table catalog is damaged");
  };
  if (spec.kind == partition_kind::none) {
    if (key != "all") return bad();
    b.all = true;
    return b;
  }
  if (key == "null") {
    b.is_null = true;
    return b;
  }
  const column_type& t = schema.columns[spec.column].type;
  if (spec.kind == partition_kind::range_time) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), v);
    if (ec != std::errc() || p != key.data() + key.size()) return bad();
    interval_of(schema, v, b.lo, b.hi);
    if (b.lo != v) return bad();
    return b;
  }
  if (key.empty() || key[0] != 'v') return bad();
  auto v = parse_value(t, std::string_view(key).substr(1));
  if (!v) return bad();
  b.value = std::move(*v);
  return b;
}

bool partition_may_match(const table_schema& schema, const partition_bounds& b, const column_predicate& p) {
  using op = column_predicate::op;
  const partition_spec& spec = schema.partitioning;
  if (b.all || p.column != spec.column) return true;
  if (p.kind == op::is_null) return b.is_null;
  if (p.kind == op::is_not_null) return !b.is_null;
  if (b.is_null) return false;  // NULL satisfies no comparison
  if (spec.kind == partition_kind::range_time) return range_may_match(b.lo, b.hi, p.kind, p.values);
  if (!b.value) return true;
  return list_may_match(schema.columns[spec.column].type, *b.value, p.kind, p.values);
}

}  // namespace strata::tables
