// Value conversion between DuckDB and Strata's value model: type mapping,
// result chunks to column batches (vectorized per column), scalars and
// protocol parameters to DuckDB values, and DuckDB errors to SQLSTATEs.
#include <cctype>
#include <cmath>
#include <optional>
#include <cstring>

#include "duckdb.hpp"
#include "duckdb/common/types/interval.hpp"
#include "duckdb/common/vector_operations/vector_operations.hpp"
#include "base/assert.h"
#include "sql/duckdb_bridge.h"
#include "sql/pg_types.h"

namespace strata::sql {
namespace {

namespace dd = duckdb;
using tables::column_type;
using tables::column_vector;
using tables::type_id;

__int128 to_int128(dd::hugeint_t h) { return __int128((unsigned __int128)uint64_t(h.upper) << 64 | h.lower); }
dd::hugeint_t to_hugeint(__int128 v) {
  dd::hugeint_t h;
  h.lower = uint64_t(v);
  h.upper = int64_t(v >> 64);
  return h;
}

// ---------------------------------------------------------------------------
// Appending a DuckDB vector to a column_vector.

// Grows `out` by `count` rows (zeroed, valid) and returns the first new row.
uint32_t grow_fixed(column_vector& out, uint32_t count) {
  uint32_t first = out.row_count;
  uint32_t width = tables::fixed_width(out.type);
  out.valid.resize(size_t(first) + count, 1);
  out.fixed.resize((size_t(first) + count) * width, 0);
  out.row_count = first + count;
  return first;
}

struct source {
  dd::UnifiedVectorFormat format;
  idx_t count = 0;
  idx_t index(idx_t i) const { return format.sel->get_index(i); }
  bool valid(idx_t i) const { return format.validity.RowIsValid(index(i)); }
  template <class T>
  const T* data() const {
    return reinterpret_cast<const T*>(format.data);
  }
};

void mark_nulls(const source& src, column_vector& out, uint32_t first) {
  if (src.format.validity.AllValid()) return;
  uint32_t width = tables::fixed_width(out.type);
  for (idx_t i = 0; i < src.count; i++) {
    if (!src.valid(i)) {
      out.valid[first + i] = 0;
      std::memset(out.fixed.data() + size_t(first + i) * width, 0, width);
    }
  }
}

// Converts each row with `convert(From) -> To`, storing To in the fixed slots.
template <class From, class To, class F>
void append_converted(const source& src, column_vector& out, F convert) {
  uint32_t first = grow_fixed(out, uint32_t(src.count));
  auto* dst = reinterpret_cast<To*>(out.fixed.data()) + first;
  const From* data = src.data<From>();
  for (idx_t i = 0; i < src.count; i++) {
    if (src.valid(i)) dst[i] = convert(data[src.index(i)]);
  }
  mark_nulls(src, out, first);
}

template <class From, class To>
void append_cast(const source& src, column_vector& out) {
  append_converted<From, To>(src, out, [](From v) { return To(v); });
}

void append_strings(const source& src, column_vector& out) {
  uint32_t first = out.row_count;
  if (out.offsets.empty()) out.offsets.push_back(0);
  const dd::string_t* data = src.data<dd::string_t>();
  uint64_t total = 0;
  for (idx_t i = 0; i < src.count; i++) {
    if (src.valid(i)) total += data[src.index(i)].GetSize();
  }
  out.bytes.reserve(out.bytes.size() + total);
  out.offsets.reserve(out.offsets.size() + src.count);
  out.valid.resize(size_t(first) + src.count, 1);
  for (idx_t i = 0; i < src.count; i++) {
    if (src.valid(i)) {
      const auto& s = data[src.index(i)];
      out.bytes.insert(out.bytes.end(), s.GetData(), s.GetData() + s.GetSize());
    } else {
      out.valid[first + i] = 0;
    }
    out.offsets.push_back(uint32_t(out.bytes.size()));
  }
  out.row_count = first + uint32_t(src.count);
}

template <class To>
bool append_integer(const source& src, dd::LogicalTypeId id, column_vector& out) {
  switch (id) {
    case dd::LogicalTypeId::TINYINT: append_cast<int8_t, To>(src, out); return true;
    case dd::LogicalTypeId::SMALLINT: append_cast<int16_t, To>(src, out); return true;
    case dd::LogicalTypeId::INTEGER: append_cast<int32_t, To>(src, out); return true;
    case dd::LogicalTypeId::BIGINT: append_cast<int64_t, To>(src, out); return true;
    case dd::LogicalTypeId::UTINYINT: append_cast<uint8_t, To>(src, out); return true;
    case dd::LogicalTypeId::USMALLINT: append_cast<uint16_t, To>(src, out); return true;
    case dd::LogicalTypeId::UINTEGER: append_cast<uint32_t, To>(src, out); return true;
    default: return false;
  }
}

// Integer widths that fit the target without a range check.
bool integer_fits(dd::LogicalTypeId id, type_id target) {
  int bits = 0;
  switch (id) {
    case dd::LogicalTypeId::TINYINT:
    case dd::LogicalTypeId::UTINYINT: bits = 16; break;
    case dd::LogicalTypeId::SMALLINT: bits = 16; break;
    case dd::LogicalTypeId::USMALLINT:
    case dd::LogicalTypeId::INTEGER: bits = 32; break;
    case dd::LogicalTypeId::UINTEGER:
    case dd::LogicalTypeId::BIGINT: bits = 64; break;
    default: return false;
  }
  int target_bits = target == type_id::int16 ? 16 : target == type_id::int32 ? 32 : 64;
  return bits <= target_bits;
}

bool append_decimal(const source& src, const dd::LogicalType& type, column_vector& out) {
  if (dd::DecimalType::GetScale(type) != out.type.scale) return false;
  if (dd::DecimalType::GetWidth(type) > out.type.precision) return false;
  bool wide = out.type.precision > tables::numeric_int64_precision_max;
  switch (type.InternalType()) {
    case dd::PhysicalType::INT16:
      wide ? append_cast<int16_t, __int128>(src, out) : append_cast<int16_t, int64_t>(src, out);
      return true;
    case dd::PhysicalType::INT32:
      wide ? append_cast<int32_t, __int128>(src, out) : append_cast<int32_t, int64_t>(src, out);
      return true;
    case dd::PhysicalType::INT64:
      wide ? append_cast<int64_t, __int128>(src, out) : append_cast<int64_t, int64_t>(src, out);
      return true;
    case dd::PhysicalType::INT128:
      if (!wide) return false;
      append_converted<dd::hugeint_t, __int128>(src, out, to_int128);
      return true;
    default: return false;
  }
}

// Copies rows whose DuckDB type needs no cast; false when a cast is needed first.
bool append_direct(const source& src, const dd::LogicalType& type, column_vector& out) {
  auto id = type.id();
  switch (out.type.id) {
    case type_id::boolean:
      if (id != dd::LogicalTypeId::BOOLEAN) return false;
      append_cast<bool, uint8_t>(src, out);
      return true;
    case type_id::int16:
      return integer_fits(id, type_id::int16) && append_integer<int16_t>(src, id, out);
    case type_id::int32:
      return integer_fits(id, type_id::int32) && append_integer<int32_t>(src, id, out);
    case type_id::int64:
      return integer_fits(id, type_id::int64) && append_integer<int64_t>(src, id, out);
    case type_id::float32:
      if (id != dd::LogicalTypeId::FLOAT) return false;
      append_cast<float, float>(src, out);
      return true;
    case type_id::float64:
      if (id == dd::LogicalTypeId::FLOAT) {
        append_cast<float, double>(src, out);
        return true;
      }
      if (id != dd::LogicalTypeId::DOUBLE) return false;
      append_cast<double, double>(src, out);
      return true;
    case type_id::numeric:
      if (id == dd::LogicalTypeId::DECIMAL) return append_decimal(src, type, out);
      if (id == dd::LogicalTypeId::HUGEINT && out.type.scale == 0 &&
          out.type.precision > tables::numeric_int64_precision_max) {
        append_converted<dd::hugeint_t, __int128>(src, out, to_int128);
        return true;
      }
      return false;
    case type_id::text:
    case type_id::json:
      if (id != dd::LogicalTypeId::VARCHAR) return false;
      append_strings(src, out);
      return true;
    case type_id::bytea:
      if (id != dd::LogicalTypeId::BLOB) return false;
      append_strings(src, out);
      return true;
    case type_id::date:
      if (id != dd::LogicalTypeId::DATE) return false;
      append_cast<int32_t, int32_t>(src, out);
      return true;
    case type_id::timestamp:
    case type_id::timestamptz:
      switch (id) {
        case dd::LogicalTypeId::TIMESTAMP:
        case dd::LogicalTypeId::TIMESTAMP_TZ: append_cast<int64_t, int64_t>(src, out); return true;
        case dd::LogicalTypeId::TIMESTAMP_SEC:
          append_converted<int64_t, int64_t>(src, out, [](int64_t s) { return s * 1000000; });
          return true;
        case dd::LogicalTypeId::TIMESTAMP_MS:
          append_converted<int64_t, int64_t>(src, out, [](int64_t ms) { return ms * 1000; });
          return true;
        case dd::LogicalTypeId::TIMESTAMP_NS:
          append_converted<int64_t, int64_t>(src, out, [](int64_t ns) {
            return ns >= 0 ? ns / 1000 : -((-ns + 999) / 1000);  // floor
          });
          return true;
        default: return false;
      }
  }
  return false;
}

// Appends `count` rows of `vector` to `out` (of the column's type), casting
// with DuckDB's own casts when the physical forms differ. Throws DuckDB
// exceptions on a failed cast (callers catch them at the boundary).
void append_vector(const dd::Vector& vector, idx_t count, column_vector& out) {
  dd::Vector ref(vector.GetType());
  ref.Reference(vector);
  source src;
  src.count = count;
  ref.ToUnifiedFormat(count, src.format);
  if (append_direct(src, vector.GetType(), out)) return;
  dd::Vector cast(to_duckdb_type(out.type), count);
  dd::VectorOperations::DefaultCast(ref, cast, count, true);
  source cast_src;
  cast_src.count = count;
  cast.ToUnifiedFormat(count, cast_src.format);
  if (!append_direct(cast_src, cast.GetType(), out)) {
    throw dd::InternalException("no conversion from %s to %s", vector.GetType().ToString(),
                                tables::type_name(out.type));
  }
}

// PostgreSQL's text form of an interval ("1 year 2 mons 3 days 04:05:06").
void append_int_part(std::string& out, int64_t value, const char* unit, bool& is_zero, bool& is_before) {
  if (value == 0) return;
  if (!is_zero) out += ' ';
  if (is_before && value > 0) out += '+';
  out += std::to_string(value);
  out += ' ';
  out += unit;
  if (value != 1) out += 's';
  is_before = value < 0;
  is_zero = false;
}

std::string pg_interval_text(const dd::interval_t& v) {
  std::string out;
  bool is_zero = true;
  bool is_before = false;
  append_int_part(out, v.months / 12, "year", is_zero, is_before);
  append_int_part(out, v.months % 12, "mon", is_zero, is_before);
  append_int_part(out, v.days, "day", is_zero, is_before);
  if (is_zero || v.micros != 0) {
    bool minus = v.micros < 0;
    uint64_t micros = minus ? uint64_t(0) - uint64_t(v.micros) : uint64_t(v.micros);
    uint64_t hours = micros / 3600000000ULL;
    uint64_t minutes = micros / 60000000ULL % 60;
    uint64_t seconds = micros / 1000000ULL % 60;
    uint64_t fraction = micros % 1000000ULL;
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%s%s%02llu:%02llu:%02llu", is_zero ? "" : " ",
                          minus ? "-" : (is_before ? "+" : ""), (unsigned long long)hours,
                          (unsigned long long)minutes, (unsigned long long)seconds);
    out.append(buf, size_t(n));
    if (fraction != 0) {
      n = std::snprintf(buf, sizeof buf, ".%06llu", (unsigned long long)fraction);
      std::string digits(buf, size_t(n));
      while (digits.back() == '0') digits.pop_back();
      out += digits;
    }
  }
  return out;
}

void append_text_values(dd::Vector& vector, idx_t count, column_vector& out) {
  if (out.offsets.empty()) out.offsets.push_back(0);
  bool is_interval = vector.GetType().id() == dd::LogicalTypeId::INTERVAL;
  for (idx_t i = 0; i < count; i++) {
    dd::Value v = vector.GetValue(i);
    if (v.IsNull()) {
      out.valid.push_back(0);
    } else {
      std::string text = is_interval ? pg_interval_text(v.GetValue<dd::interval_t>()) : v.ToString();
      out.valid.push_back(1);
      out.bytes.insert(out.bytes.end(), text.begin(), text.end());
    }
    out.offsets.push_back(uint32_t(out.bytes.size()));
  }
  out.row_count += uint32_t(count);
}

void append_column(const dd::Vector& vector, idx_t count, bool text_only, column_vector& out) {
  if (text_only) {
    dd::Vector ref(vector.GetType());
    ref.Reference(vector);
    append_text_values(ref, count, out);
    return;
  }
  append_vector(vector, count, out);
}

const char* pg_type_name_of(const dd::LogicalType& type) {
  auto f = field_of("", type);
  return pg_type_of(f.type).name;
}

bool looks_numeric(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isspace((unsigned char)text[i])) i++;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) i++;
  bool digits = false;
  while (i < text.size() && (std::isdigit((unsigned char)text[i]) || text[i] == '.')) {
    digits |= text[i] != '.';
    i++;
  }
  if (digits && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    i++;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) i++;
    while (i < text.size() && std::isdigit((unsigned char)text[i])) i++;
  }
  while (i < text.size() && std::isspace((unsigned char)text[i])) i++;
  return digits && i == text.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// PostgreSQL's bytea input: hex ("\x4142") or escape format ("AB\\101").
bool parse_bytea(const std::string& text, std::string& out) {
  out.clear();
  if (text.size() >= 2 && text[0] == '\\' && (text[1] == 'x' || text[1] == 'X')) {
    size_t i = 2;
    while (i < text.size()) {
      if (std::isspace((unsigned char)text[i])) {
        i++;
        continue;
      }
      if (i + 1 >= text.size()) return false;
      int hi = hex_value(text[i]);
      int lo = hex_value(text[i + 1]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(char(hi << 4 | lo));
      i += 2;
    }
    return true;
  }
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      out.push_back('\\');
      i++;
    } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' && text[i + 2] >= '0' &&
               text[i + 2] <= '7' && text[i + 3] >= '0' && text[i + 3] <= '7') {
      out.push_back(char((text[i + 1] - '0') << 6 | (text[i + 2] - '0') << 3 | (text[i + 3] - '0')));
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

// PostgreSQL's boolean spellings DuckDB does not take.
std::optional<bool> parse_pg_bool(std::string text) {
  text = dd::StringUtil::Lower(dd::StringUtil::Replace(text, " ", ""));
  if (text == "on" || text == "yes" || text == "y") return true;
  if (text == "off" || text == "no" || text == "n" || text == "of") return false;
  return std::nullopt;
}

error make_sql_error(std::string sqlstate, std::string message) {
  error e;
  e.sqlstate = std::move(sqlstate);
  e.message = std::move(message);
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------
// Types.

duckdb::LogicalType to_duckdb_type(const tables::column_type& type) {
  switch (type.id) {
    case type_id::boolean: return dd::LogicalType::BOOLEAN;
    case type_id::int16: return dd::LogicalType::SMALLINT;
    case type_id::int32: return dd::LogicalType::INTEGER;
    case type_id::int64: return dd::LogicalType::BIGINT;
    case type_id::float32: return dd::LogicalType::FLOAT;
    case type_id::float64: return dd::LogicalType::DOUBLE;
    case type_id::numeric:
      return dd::LogicalType::DECIMAL(type.precision == 0 ? tables::numeric_precision_max : type.precision, type.scale);
    case type_id::text: return dd::LogicalType::VARCHAR;
    case type_id::bytea: return dd::LogicalType::BLOB;
    case type_id::json: return dd::LogicalType::JSON();
    case type_id::date: return dd::LogicalType::DATE;
    case type_id::timestamp: return dd::LogicalType::TIMESTAMP;
    case type_id::timestamptz: return dd::LogicalType::TIMESTAMP_TZ;
  }
  return dd::LogicalType::VARCHAR;
}

field field_of(const std::string& name, const duckdb::LogicalType& type) {
  field f;
  f.name = name;
  auto set = [&f](column_type t) {
    f.type = t;
    auto pg = pg_type_of(t);
    f.type_oid = pg.oid;
    f.type_size = pg.typlen;
    f.type_modifier = pg_typmod_of(t);
  };
  auto text_only = [&f](uint32_t type_oid, int16_t size) {
    f.type = column_type{type_id::text};
    f.type_oid = type_oid;
    f.type_size = size;
    f.type_modifier = -1;
    f.text_only = true;
  };
  switch (type.id()) {
    case dd::LogicalTypeId::BOOLEAN: set({type_id::boolean}); break;
    case dd::LogicalTypeId::TINYINT:
    case dd::LogicalTypeId::SMALLINT:
    case dd::LogicalTypeId::UTINYINT: set({type_id::int16}); break;
    case dd::LogicalTypeId::INTEGER:
    case dd::LogicalTypeId::USMALLINT: set({type_id::int32}); break;
    case dd::LogicalTypeId::BIGINT:
    case dd::LogicalTypeId::UINTEGER: set({type_id::int64}); break;
    case dd::LogicalTypeId::UBIGINT:
    case dd::LogicalTypeId::HUGEINT:
    case dd::LogicalTypeId::UHUGEINT:
      set({type_id::numeric, tables::numeric_precision_max, 0});
      f.type_modifier = -1;  // PostgreSQL reports sums and counts as unconstrained numeric
      break;
    case dd::LogicalTypeId::FLOAT: set({type_id::float32}); break;
    case dd::LogicalTypeId::DOUBLE: set({type_id::float64}); break;
    case dd::LogicalTypeId::DECIMAL:
      set({type_id::numeric, dd::DecimalType::GetWidth(type), dd::DecimalType::GetScale(type)});
      break;
    case dd::LogicalTypeId::VARCHAR: set({type.IsJSONType() ? type_id::json : type_id::text}); break;
    case dd::LogicalTypeId::BLOB: set({type_id::bytea}); break;
    case dd::LogicalTypeId::DATE: set({type_id::date}); break;
    case dd::LogicalTypeId::TIMESTAMP:
    case dd::LogicalTypeId::TIMESTAMP_SEC:
    case dd::LogicalTypeId::TIMESTAMP_MS:
    case dd::LogicalTypeId::TIMESTAMP_NS: set({type_id::timestamp}); break;
    case dd::LogicalTypeId::TIMESTAMP_TZ: set({type_id::timestamptz}); break;
    case dd::LogicalTypeId::INTERVAL: text_only(oid::interval, 16); break;
    case dd::LogicalTypeId::TIME: text_only(oid::time, 8); break;
    case dd::LogicalTypeId::UUID: text_only(oid::uuid, 16); break;
    case dd::LogicalTypeId::SQLNULL:
    case dd::LogicalTypeId::ENUM: set({type_id::text}); break;
    default:  // lists, structs, maps, bit strings, ...: DuckDB's text form
      set({type_id::text});
      f.text_only = true;
      break;
  }
  return f;
}

// ---------------------------------------------------------------------------
// Chunks to batches.

void append_chunk(const duckdb::DataChunk& chunk, const std::vector<field>& fields, tables::column_batch& out) {
  STRATA_ASSERT(chunk.ColumnCount() == fields.size(), "append_chunk: the chunk and fields differ in width");
  if (out.columns.empty()) {
    for (const auto& f : fields) out.columns.emplace_back(f.type);
  }
  idx_t count = chunk.size();
  for (size_t c = 0; c < fields.size(); c++) {
    append_column(chunk.data[c], count, fields[c].text_only, out.columns[c]);
  }
  out.row_count += uint32_t(count);
}

outcome<tables::column_batch> chunk_to_table_rows(const duckdb::DataChunk& chunk,
                                                  const std::vector<tables::column_type>& types) {
  if (chunk.ColumnCount() != types.size()) {
    return make_sql_error("42601", "INSERT has " + std::to_string(chunk.ColumnCount()) + " expressions but the table has " +
                                       std::to_string(types.size()) + " columns");
  }
  tables::column_batch batch;
  for (const auto& t : types) batch.columns.emplace_back(t);
  try {
    for (size_t c = 0; c < types.size(); c++) append_vector(chunk.data[c], chunk.size(), batch.columns[c]);
  } catch (const std::exception& e) {
    return error_of(dd::ErrorData(e));
  }
  batch.row_count = uint32_t(chunk.size());
  return batch;
}

// ---------------------------------------------------------------------------
// Values.

duckdb::Value to_duckdb_value(const tables::scalar& value, const tables::column_type& type) {
  auto target = to_duckdb_type(type);
  if (std::holds_alternative<std::monostate>(value)) return dd::Value(target);
  switch (type.id) {
    case type_id::boolean: return dd::Value::BOOLEAN(std::get<bool>(value));
    case type_id::int16: return dd::Value::SMALLINT(int16_t(std::get<int64_t>(value)));
    case type_id::int32: return dd::Value::INTEGER(int32_t(std::get<int64_t>(value)));
    case type_id::int64: return dd::Value::BIGINT(std::get<int64_t>(value));
    case type_id::float32: return dd::Value::FLOAT(float(std::get<double>(value)));
    case type_id::float64: return dd::Value::DOUBLE(std::get<double>(value));
    case type_id::numeric: {
      __int128 v = std::holds_alternative<__int128>(value) ? std::get<__int128>(value)
                                                           : __int128(std::get<int64_t>(value));
      uint8_t width = dd::DecimalType::GetWidth(target);
      uint8_t scale = dd::DecimalType::GetScale(target);
      if (width <= tables::numeric_int64_precision_max) return dd::Value::DECIMAL(int64_t(v), width, scale);
      return dd::Value::DECIMAL(to_hugeint(v), width, scale);
    }
    case type_id::text: return dd::Value(std::get<std::string>(value));
    case type_id::bytea: return dd::Value::BLOB_RAW(std::get<std::string>(value));
    case type_id::json: {
      dd::Value v(std::get<std::string>(value));
      v.Reinterpret(target);
      return v;
    }
    case type_id::date: return dd::Value::DATE(dd::date_t(int32_t(std::get<int64_t>(value))));
    case type_id::timestamp: return dd::Value::TIMESTAMP(dd::timestamp_t(std::get<int64_t>(value)));
    case type_id::timestamptz: return dd::Value::TIMESTAMPTZ(dd::timestamp_tz_t(std::get<int64_t>(value)));
  }
  return dd::Value(target);
}

outcome<duckdb::Value> parameter_value(const parameter& p, const duckdb::LogicalType& target) {
  if (p.is_null) return dd::Value(target);
  try {
    if (!p.is_text) {
      dd::Value v = to_duckdb_value(p.value, p.type);
      if (v.type() == target || target.id() == dd::LogicalTypeId::UNKNOWN ||
          target.id() == dd::LogicalTypeId::ANY) {
        return v;
      }
      dd::Value cast;
      std::string message;
      if (!v.DefaultTryCastAs(target, cast, &message, true)) {
        return make_sql_error("22P02", message.empty() ? "cannot convert parameter" : message);
      }
      return cast;
    }
    switch (target.id()) {
      case dd::LogicalTypeId::UNKNOWN:
      case dd::LogicalTypeId::ANY:
      case dd::LogicalTypeId::SQLNULL:
      case dd::LogicalTypeId::VARCHAR:
        if (target.IsJSONType()) break;
        return dd::Value(p.text);
      case dd::LogicalTypeId::BLOB: {
        std::string bytes;
        if (!parse_bytea(p.text, bytes)) {
          return make_sql_error("22P02", "invalid input syntax for type bytea");
        }
        return dd::Value::BLOB_RAW(bytes);
      }
      case dd::LogicalTypeId::BOOLEAN:
        if (auto b = parse_pg_bool(p.text)) return dd::Value::BOOLEAN(*b);
        break;
      default: break;
    }
    dd::Value cast;
    std::string message;
    if (dd::Value(p.text).DefaultTryCastAs(target, cast, &message, false)) return cast;
    const char* name = pg_type_name_of(target);
    bool numeric_target = target.IsNumeric();
    if (numeric_target && looks_numeric(p.text)) {
      return make_sql_error("22003", "value \"" + p.text + "\" is out of range for type " + name);
    }
    return make_sql_error("22P02", std::string("invalid input syntax for type ") + name + ": \"" + p.text + "\"");
  } catch (const std::exception& e) {
    return error_of(dd::ErrorData(e));
  }
}

// ---------------------------------------------------------------------------
// Errors.

namespace {

bool contains(const std::string& text, const char* needle) { return dd::StringUtil::Contains(text, needle); }
bool icontains(const std::string& text, const char* needle) {
  return dd::StringUtil::Contains(dd::StringUtil::Lower(text), dd::StringUtil::Lower(needle));
}

// DuckDB's message without its "Binder Error: " style prefixes and the
// "LINE 1: ..." excerpt of the query.
std::string clean_message(std::string message) {
  for (;;) {
    auto colon = message.find(" Error: ");
    if (colon == std::string::npos || colon > 40 || message.find(' ') < colon) break;
    message = message.substr(colon + 8);
  }
  auto line = message.find("\n\nLINE ");
  if (line == std::string::npos) line = message.find("\nLINE ");
  if (line != std::string::npos) message.resize(line);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// The first double-quoted name in `message`.
std::string quoted_name(const std::string& message) {
  auto begin = message.find('"');
  if (begin == std::string::npos) return {};
  auto end = message.find('"', begin + 1);
  if (end == std::string::npos) return {};
  return message.substr(begin + 1, end - begin - 1);
}

// Splits DuckDB's "\nDid you mean ...?" suggestion off into the hint.
void split_hint(error& e) {
  auto pos = e.message.find("\nDid you mean");
  if (pos == std::string::npos) return;
  e.hint = e.message.substr(pos + 1);
  e.message.resize(pos);
}

error catalog_error(std::string message) {
  error e;
  e.message = std::move(message);
  split_hint(e);
  const std::string& m = e.message;
  if (contains(m, "already exists")) {
    e.sqlstate = contains(m, "Table") || contains(m, "relation") || contains(m, "View") ? "42P07" : "42710";
  } else if (contains(m, "Table with name") || contains(m, "relation \"")) {
    std::string name = contains(m, "Table with name") ? m.substr(16, m.find(" does not exist") - 16) : "";
    e.sqlstate = "42P01";
    if (!name.empty()) e.message = "relation \"" + name + "\" does not exist";
  } else if (icontains(m, "column")) {
    e.sqlstate = "42703";
  } else if (contains(m, "Schema with name") || contains(m, "schema")) {
    e.sqlstate = "3F000";
  } else if (contains(m, "Function with name") || contains(m, "Macro") || contains(m, "function")) {
    e.sqlstate = "42883";
  } else if (contains(m, "Catalog \"") || contains(m, "database")) {
    e.sqlstate = "3D000";
  } else {
    e.sqlstate = "42704";
  }
  return e;
}

error binder_error(std::string message) {
  error e;
  e.message = std::move(message);
  split_hint(e);
  const std::string& m = e.message;
  if (contains(m, "Referenced column") || (icontains(m, "column") && contains(m, "not found"))) {
    e.sqlstate = "42703";
    std::string name = quoted_name(m);
    if (!name.empty()) e.message = "column \"" + name + "\" does not exist";
  } else if (contains(m, "Referenced table") || contains(m, "missing FROM-clause")) {
    e.sqlstate = "42P01";
  } else if (contains(m, "Ambiguous reference")) {
    e.sqlstate = "42702";
  } else if (contains(m, "GROUP BY")) {
    e.sqlstate = "42803";
  } else if (contains(m, "No function matches") || icontains(m, "function") || contains(m, "operator")) {
    e.sqlstate = "42883";
  } else if (icontains(m, "type") || icontains(m, "cast") || contains(m, "Cannot compare") ||
             contains(m, "Cannot mix")) {
    e.sqlstate = "42804";
  } else {
    e.sqlstate = "42601";
  }
  return e;
}

const char* constraint_state(const std::string& m) {
  if (icontains(m, "NOT NULL")) return "23502";
  if (icontains(m, "foreign key")) return "23503";
  if (icontains(m, "CHECK constraint")) return "23514";
  if (icontains(m, "duplicate key") || icontains(m, "unique") || icontains(m, "primary key")) return "23505";
  return "23000";
}

}  // namespace

constexpr std::string_view sqlstate_marker = "[SQLSTATE ";
constexpr size_t sqlstate_length = 5;

std::string sql_error_message(std::string_view sqlstate, std::string_view message) {
  return std::string(sqlstate_marker) + std::string(sqlstate) + "] " + std::string(message);
}

void throw_sql_error(const std::string& sqlstate, const std::string& message) {
  throw dd::InvalidInputException(sql_error_message(sqlstate, message));
}

error error_of(const duckdb::ErrorData& data) {
  std::string message = clean_message(data.RawMessage().empty() ? data.Message() : data.RawMessage());
  auto make = [&message](const char* state) { return make_sql_error(state, message); };
  if (auto at = message.find(sqlstate_marker); at != std::string::npos) {
    const size_t state_at = at + sqlstate_marker.size();
    const size_t text_at = state_at + sqlstate_length + 2;
    if (text_at <= message.size() && message.compare(state_at + sqlstate_length, 2, "] ") == 0) {
      return make_sql_error(message.substr(state_at, sqlstate_length), message.substr(text_at));
    }
  }
  if (is_stale_statistics_error(data)) {
    error e = make("40001");  // serialization_failure: clients know to retry it
    e.hint = "Run the statement again.";
    return e;
  }
  switch (data.Type()) {
    case dd::ExceptionType::PARSER:
    case dd::ExceptionType::SYNTAX: return make("42601");
    case dd::ExceptionType::CATALOG: return catalog_error(message);
    case dd::ExceptionType::BINDER: return binder_error(message);
    case dd::ExceptionType::CONVERSION:
    case dd::ExceptionType::INVALID_INPUT:
      return make(icontains(message, "out of range") || icontains(message, "overflow") ? "22003" : "22P02");
    case dd::ExceptionType::OUT_OF_RANGE:
    case dd::ExceptionType::DECIMAL: return make("22003");
    case dd::ExceptionType::DIVIDE_BY_ZERO: return make_sql_error("22012", "division by zero");
    case dd::ExceptionType::CONSTRAINT: return make(constraint_state(message));
    case dd::ExceptionType::INTERRUPT: return make_sql_error("57014", "canceling statement due to user request");
    case dd::ExceptionType::OUT_OF_MEMORY: return make("53200");
    case dd::ExceptionType::NOT_IMPLEMENTED: return make("0A000");
    case dd::ExceptionType::TRANSACTION:
      if (contains(message, "Conflict")) return make("40001");
      return make(icontains(message, "aborted") ? "25P02" : "25000");
    case dd::ExceptionType::PERMISSION: return make("42501");
    case dd::ExceptionType::MISMATCH_TYPE:
    case dd::ExceptionType::INVALID_TYPE: return make("42804");
    case dd::ExceptionType::UNKNOWN_TYPE: return make("42704");
    case dd::ExceptionType::PARAMETER_NOT_RESOLVED: return make("42P18");
    case dd::ExceptionType::DEPENDENCY: return make("2BP01");
    case dd::ExceptionType::SETTINGS:
    case dd::ExceptionType::INVALID_CONFIGURATION:
      return make(icontains(message, "unrecognized") ? "42704" : "22023");
    case dd::ExceptionType::IO: return make("58030");
    case dd::ExceptionType::SEQUENCE: return make("2200H");
    default: return make("XX000");
  }
}

}  // namespace strata::sql
