#include "tables/types.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace strata::tables {

namespace {

// PostgreSQL's own limit for varchar(n)/char(n).
constexpr uint32_t varchar_length_max = 10 * 1024 * 1024;

constexpr const char* supported_types =
    "supported types: boolean, smallint, integer, bigint, real, double precision, numeric(p,s), "
    "text, varchar(n), char(n), date, timestamp, timestamptz, bytea, json";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Lower-cases, trims and collapses runs of white space to one space.
std::string normalize_words(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

error type_error(std::string_view text, const std::string& why) {
  return make_error(errc::invalid_argument, "type \"" + std::string(trim(text)) + "\": " + why);
}

// Parses the "(a, b)" modifiers of a type name into numbers.
result<std::vector<uint32_t>> parse_modifiers(std::string_view original, std::string_view inside) {
  std::vector<uint32_t> out;
  while (true) {
    size_t comma = inside.find(',');
    std::string_view item = trim(inside.substr(0, comma));
    if (item.empty() || item.size() > 9) {
      return type_error(original, "type modifiers must be non-negative integers, as in numeric(12,2) or varchar(25)");
    }
    uint32_t value = 0;
    for (char c : item) {
      if (c < '0' || c > '9') {
        return type_error(original, "type modifiers must be non-negative integers, as in numeric(12,2) or varchar(25)");
      }
      value = value * 10 + uint32_t(c - '0');
    }
    out.push_back(value);
    if (comma == std::string_view::npos) break;
    inside.remove_prefix(comma + 1);
  }
  return out;
}

result<column_type> make_numeric(std::string_view original, const std::vector<uint32_t>& mods) {
  column_type t{type_id::numeric, 38, 10, 0};  // plain numeric: documented default
  if (mods.size() > 2) return type_error(original, "numeric takes at most two modifiers: numeric(precision, scale)");
  if (!mods.empty()) {
    if (mods[0] < 1 || mods[0] > numeric_precision_max) {
      return type_error(original, "numeric precision must be between 1 and 38");
    }
    uint32_t scale = mods.size() == 2 ? mods[1] : 0;
    if (scale > mods[0]) return type_error(original, "numeric scale must be between 0 and the precision");
    t.precision = uint8_t(mods[0]);
    t.scale = uint8_t(scale);
  }
  return t;
}

result<column_type> make_string(std::string_view original, const std::vector<uint32_t>& mods, bool has_mods,
                                bool is_char) {
  if (mods.size() > 1) return type_error(original, "takes one modifier, the maximum length in characters");
  uint32_t length = has_mods ? mods[0] : (is_char ? 1 : 0);  // PostgreSQL: bare char means char(1)
  if (has_mods && (length < 1 || length > varchar_length_max)) {
    return type_error(original, "length must be between 1 and 10485760");
  }
  return column_type{type_id::text, 0, 0, length};
}

result<column_type> make_float(std::string_view original, const std::vector<uint32_t>& mods, bool has_mods) {
  if (!has_mods) return column_type{type_id::float64};
  if (mods.size() != 1 || mods[0] < 1 || mods[0] > 53) {
    return type_error(original, "float(p) needs a precision between 1 and 53 bits");
  }
  return column_type{mods[0] <= 24 ? type_id::float32 : type_id::float64};
}

std::optional<type_id> simple_type(const std::string& name) {
  struct entry {
    const char* name;
    type_id id;
  };
  static constexpr entry table[] = {
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
      {"double", type_id::float64},
      {"float8", type_id::float64},
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
  for (const entry& e : table) {
    if (name == e.name) return e.id;
  }
  return std::nullopt;
}

}  // namespace

bool is_variable_width(type_id id) { return id == type_id::text || id == type_id::bytea || id == type_id::json; }

uint32_t fixed_width(const column_type& type) {
  switch (type.id) {
    case type_id::boolean:
      return 1;
    case type_id::int16:
      return 2;
    case type_id::int32:
    case type_id::float32:
    case type_id::date:
      return 4;
    case type_id::int64:
    case type_id::float64:
    case type_id::timestamp:
    case type_id::timestamptz:
      return 8;
    case type_id::numeric:
      return type.precision <= numeric_int64_precision_max ? 8 : 16;
    case type_id::text:
    case type_id::bytea:
    case type_id::json:
      return 0;
  }
  return 0;
}

std::string type_name(const column_type& type) {
  switch (type.id) {
    case type_id::boolean:
      return "boolean";
    case type_id::int16:
      return "smallint";
    case type_id::int32:
      return "integer";
    case type_id::int64:
      return "bigint";
    case type_id::float32:
      return "real";
    case type_id::float64:
      return "double precision";
    case type_id::numeric:
      return "numeric(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
    case type_id::text:
      return type.length_max == 0 ? "text" : "character varying(" + std::to_string(type.length_max) + ")";
    case type_id::bytea:
      return "bytea";
    case type_id::json:
      return "json";
    case type_id::date:
      return "date";
    case type_id::timestamp:
      return "timestamp without time zone";
    case type_id::timestamptz:
      return "timestamp with time zone";
  }
  return "unknown type " + std::to_string(int(type.id));
}

result<column_type> parse_type_name(std::string_view text) {
  std::string_view name_part = text;
  std::vector<uint32_t> mods;
  size_t open = text.find('(');
  bool has_mods = open != std::string_view::npos;
  if (has_mods) {
    size_t close = text.find(')', open);
    if (close == std::string_view::npos) return type_error(text, "missing ')' after the type modifiers");
    if (!trim(text.substr(close + 1)).empty()) {
      return type_error(text, "unexpected text after ')'; " + std::string(supported_types));
    }
    auto parsed = parse_modifiers(text, text.substr(open + 1, close - open - 1));
    if (!parsed.ok()) return parsed.err();
    mods = std::move(parsed.value());
    name_part = text.substr(0, open);
  }
  const std::string name = normalize_words(name_part);
  if (name.empty()) return type_error(text, std::string("a type name is required; ") + supported_types);

  if (name == "numeric" || name == "decimal") return make_numeric(text, mods);
  if (name == "varchar" || name == "character varying") return make_string(text, mods, has_mods, false);
  if (name == "char" || name == "character" || name == "bpchar") return make_string(text, mods, has_mods, true);
  if (name == "float") return make_float(text, mods, has_mods);
  if (auto id = simple_type(name)) {
    if (has_mods) return type_error(text, "type " + name + " takes no modifiers");
    return column_type{*id};
  }
  return type_error(text, std::string("unsupported type; ") + supported_types);
}

column_vector::column_vector(column_type t) : type(t) {
  if (is_variable_width(type.id)) offsets.push_back(0);
}

void column_vector::reserve(uint32_t rows, uint64_t var_bytes) {
  valid.reserve(rows);
  if (is_variable_width(type.id)) {
    offsets.reserve(size_t(rows) + 1);
    bytes.reserve(var_bytes);
  } else {
    fixed.reserve(size_t(rows) * fixed_width(type));
  }
}

void column_vector::append_null() {
  valid.push_back(0);
  if (is_variable_width(type.id)) {
    if (offsets.empty()) offsets.push_back(0);
    offsets.push_back(offsets.back());
  } else {
    fixed.resize(fixed.size() + fixed_width(type), 0);
  }
  ++row_count;
}

void column_vector::append_fixed(const void* value) {
  STRATA_ASSERT(!is_variable_width(type.id), "append_fixed on a variable-width column");
  const auto* p = static_cast<const uint8_t*>(value);
  fixed.insert(fixed.end(), p, p + fixed_width(type));
  valid.push_back(1);
  ++row_count;
}

void column_vector::append_bytes(std::string_view value) {
  STRATA_ASSERT(is_variable_width(type.id), "append_bytes on a fixed-width column");
  STRATA_ASSERT(bytes.size() + value.size() <= UINT32_MAX, "column_vector bytes exceed 4 GiB");
  if (offsets.empty()) offsets.push_back(0);
  bytes.insert(bytes.end(), value.begin(), value.end());
  offsets.push_back(uint32_t(bytes.size()));
  valid.push_back(1);
  ++row_count;
}

uint64_t column_vector::memory_bytes() const {
  return sizeof(*this) + valid.capacity() + fixed.capacity() + offsets.capacity() * sizeof(uint32_t) +
         bytes.capacity();
}

uint64_t column_batch::memory_bytes() const {
  uint64_t total = sizeof(*this);
  for (const column_vector& c : columns) total += c.memory_bytes();
  return total;
}

scalar scalar_at(const column_vector& column, uint32_t row) {
  if (column.is_null(row)) return std::monostate{};
  switch (column.type.id) {
    case type_id::boolean:
      return column.fixed[row] != 0;
    case type_id::int16:
      return int64_t(column.get<int16_t>(row));
    case type_id::int32:
    case type_id::date:
      return int64_t(column.get<int32_t>(row));
    case type_id::int64:
    case type_id::timestamp:
    case type_id::timestamptz:
      return column.get<int64_t>(row);
    case type_id::float32:
      return double(column.get<float>(row));
    case type_id::float64:
      return column.get<double>(row);
    case type_id::numeric:
      if (fixed_width(column.type) == 8) return __int128(column.get<int64_t>(row));
      return column.get<__int128>(row);
    case type_id::text:
    case type_id::bytea:
    case type_id::json:
      return std::string(column.get_bytes(row));
  }
  return std::monostate{};
}

namespace {

// The value as an integer, for integer-like columns. A numeric column takes
// int64 as its scaled representation, like __int128.
__int128 integer_of(const scalar& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  if (const auto* w = std::get_if<__int128>(&value)) return *w;
  if (const auto* b = std::get_if<bool>(&value)) return *b ? 1 : 0;
  STRATA_ASSERT(false, "append_scalar: an integer column needs an integer scalar");
  return 0;
}

template <class T>
void append_integer(column_vector& column, const scalar& value) {
  __int128 v = integer_of(value);
  STRATA_ASSERT(v >= __int128(std::numeric_limits<T>::min()) && v <= __int128(std::numeric_limits<T>::max()),
                "append_scalar: value out of range for the column type");
  T narrow = T(v);
  column.append_fixed(&narrow);
}

double double_of(const scalar& value) {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* i = std::get_if<int64_t>(&value)) return double(*i);
  STRATA_ASSERT(false, "append_scalar: a floating-point column needs a double or int64 scalar");
  return 0;
}

}  // namespace

void append_scalar(column_vector& column, const scalar& value) {
  if (std::holds_alternative<std::monostate>(value)) {
    column.append_null();
    return;
  }
  switch (column.type.id) {
    case type_id::boolean: {
      const bool* b = std::get_if<bool>(&value);
      STRATA_ASSERT(b != nullptr, "append_scalar: a boolean column needs a bool scalar");
      uint8_t byte = *b ? 1 : 0;
      column.append_fixed(&byte);
      return;
    }
    case type_id::int16:
      return append_integer<int16_t>(column, value);
    case type_id::int32:
    case type_id::date:
      return append_integer<int32_t>(column, value);
    case type_id::int64:
    case type_id::timestamp:
    case type_id::timestamptz:
      return append_integer<int64_t>(column, value);
    case type_id::numeric:
      if (fixed_width(column.type) == 8) return append_integer<int64_t>(column, value);
      {
        __int128 v = integer_of(value);
        column.append_fixed(&v);
      }
      return;
    case type_id::float32: {
      float f = float(double_of(value));
      column.append_fixed(&f);
      return;
    }
    case type_id::float64: {
      double d = double_of(value);
      column.append_fixed(&d);
      return;
    }
    case type_id::text:
    case type_id::bytea:
    case type_id::json: {
      const std::string* s = std::get_if<std::string>(&value);
      STRATA_ASSERT(s != nullptr, "append_scalar: a string column needs a string scalar");
      column.append_bytes(*s);
      return;
    }
  }
  STRATA_ASSERT(false, "append_scalar: unknown column type");
}

namespace {

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// PostgreSQL and DuckDB order NaN above every other value and equal to itself.
int compare_doubles(double a, double b) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return int(na) - int(nb);
  return three_way(a, b);
}

// Exact comparison of an integer with a double (no rounding through double).
int compare_int_double(__int128 i, double d) {
  if (std::isnan(d)) return -1;
  // Every int64 and every numeric(38) value lies strictly inside +-2^127.
  constexpr double two_127 = 170141183460469231731687303715884105728.0;
  if (d >= two_127) return -1;
  if (d < -two_127) return 1;
  double whole = std::trunc(d);
  __int128 w = __int128(whole);
  if (i != w) return i < w ? -1 : 1;
  double frac = d - whole;
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

int compare_strings(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  return three_way(a.size(), b.size());
}

std::optional<__int128> as_integer(const scalar& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return __int128(*i);
  if (const auto* w = std::get_if<__int128>(&v)) return *w;
  return std::nullopt;
}

// Families rank NULL < bool < numbers < strings, so even a caller's mistake
// (mixed families) gets a consistent order instead of a crash.
int family_rank(const scalar& v) {
  if (std::holds_alternative<std::monostate>(v)) return 0;
  if (std::holds_alternative<bool>(v)) return 1;
  if (std::holds_alternative<std::string>(v)) return 3;
  return 2;
}

}  // namespace

int compare_scalars(const column_type& type, const scalar& a, const scalar& b) {
  (void)type;  // every family orders the same way whatever the width or scale
  const int ra = family_rank(a), rb = family_rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 0) return 0;
  if (ra == 1) return three_way(int(std::get<bool>(a)), int(std::get<bool>(b)));
  if (ra == 3) return compare_strings(std::get<std::string>(a), std::get<std::string>(b));
  const auto* da = std::get_if<double>(&a);
  const auto* db = std::get_if<double>(&b);
  if (da && db) return compare_doubles(*da, *db);
  auto ia = as_integer(a), ib = as_integer(b);
  if (ia && ib) return three_way(*ia, *ib);
  if (ia) return compare_int_double(*ia, *db);
  return -compare_int_double(*ib, *da);
}

}  // namespace strata::tables
