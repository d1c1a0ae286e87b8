#include "sql/binary_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <vector>

#include "base/big_endian.h"
#include "sql/copy_format.h"
#include "sql/pg_types.h"
#include "sql/text_value_internal.h"

namespace strata::sql {

namespace {

using tables::type_id;
using tables::is_integer;

constexpr int16_t numeric_positive = 0x0000;
constexpr int16_t numeric_negative = 0x4000;
constexpr uint16_t numeric_nan = 0xC000;
constexpr int numeric_base_digits = 4;  // decimal digits per base-10000 digit
// A numeric parameter with more base-10000 digits than this cannot fit 38 decimal digits.
constexpr int16_t numeric_ndigits_max = 64;

bool is_text_like(type_id id) { return id == type_id::text || id == type_id::json; }

int64_t integer_at(const tables::column_vector& c, uint32_t row) {
  switch (c.type.id) {
    case type_id::boolean: return c.get<uint8_t>(row);
    case type_id::int16: return c.get<int16_t>(row);
    case type_id::int32:
    case type_id::date: return c.get<int32_t>(row);
    default: return c.get<int64_t>(row);
  }
}

__int128 numeric_at(const tables::column_vector& c, uint32_t row) {
  if (c.type.id != type_id::numeric) return integer_at(c, row);
  if (c.type.precision <= tables::numeric_int64_precision_max) return c.get<int64_t>(row);
  return c.get<__int128>(row);
}

void put_i16(std::string& out, int16_t v) { append_be16(out, uint16_t(v)); }
void put_i32(std::string& out, int32_t v) { append_be32(out, uint32_t(v)); }
void put_i64(std::string& out, int64_t v) { append_be64(out, uint64_t(v)); }
int64_t load_i64(std::span<const uint8_t> b) { return int64_t(load_be64(b.data())); }

error bad_binary(std::string message) {
  return error{"22P03", std::move(message), {}, {}};
}

parameter param(tables::scalar value, tables::column_type type) {
  parameter p;
  p.is_text = false;
  p.value = std::move(value);
  p.type = type;
  return p;
}

std::string uuid_text(std::span<const uint8_t> b) {
  std::string s;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s += fmt::format("{:02x}", b[i]);
  }
  return s;
}

__int128 pow10_128(int n) {
  __int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// Days since 1970 of a 4-byte binary date (days since 2000).
outcome<int64_t> date_from_binary(std::span<const uint8_t> b) {
  const int64_t days = int64_t(int32_t(load_be32(b.data()))) + pg_epoch_days;
  if (!text_detail::days_in_range(days)) return error{"22008", "date out of range", {}, {}};
  return days;
}

// Microseconds since 1970 of an 8-byte binary timestamp (microseconds since 2000).
outcome<int64_t> timestamp_from_binary(std::span<const uint8_t> b) {
  const int64_t since_2000 = load_i64(b);
  // PostgreSQL's infinity timestamps are the extreme int64 values.
  if (since_2000 == std::numeric_limits<int64_t>::max() || since_2000 == std::numeric_limits<int64_t>::min()) {
    return error{"0A000", "infinite timestamps are not supported", {}, {}};
  }
  int64_t days_since_2000 = since_2000 / text_detail::micros_per_day;
  if (since_2000 % text_detail::micros_per_day < 0) --days_since_2000;  // floor, for times before 2000
  if (!text_detail::days_in_range(days_since_2000 + pg_epoch_days)) {
    return error{"22008", "timestamp out of range", {}, {}};
  }
  return since_2000 + pg_epoch_micros;  // cannot overflow: the day is in range
}

}  // namespace

bool binary_encodable(const field& f) { return !f.text_only && binary_encodable_as(f.type_oid, f.type.id); }

bool binary_encodable_as(uint32_t type_oid, tables::type_id id) {
  switch (type_oid) {
    case oid::boolean: return id == type_id::boolean;
    case oid::int2:
    case oid::int4:
    case oid::int8:
    case oid::oid: return is_integer(id);
    case oid::float4:
    case oid::float8: return id == type_id::float32 || id == type_id::float64;
    case oid::numeric: return id == type_id::numeric || is_integer(id);
    case oid::text:
    case oid::varchar:
    case oid::bpchar:
    case oid::name:
    case oid::unknown:
    case oid::json:
    case oid::jsonb: return is_text_like(id);
    case oid::bytea: return id == type_id::bytea;
    case oid::date: return id == type_id::date;
    case oid::timestamp:
    case oid::timestamptz: return id == type_id::timestamp || id == type_id::timestamptz;
    default: return false;
  }
}

void append_binary_value(const field& f, const tables::column_vector& c, uint32_t row, std::string& out) {
  switch (f.type_oid) {
    case oid::boolean: out.push_back(c.get<uint8_t>(row) != 0 ? 1 : 0); return;
    case oid::int2: put_i16(out, int16_t(integer_at(c, row))); return;
    case oid::int4:
    case oid::oid: put_i32(out, int32_t(integer_at(c, row))); return;
    case oid::int8: put_i64(out, integer_at(c, row)); return;
    case oid::float4:
    case oid::float8: {
      const double d = c.type.id == type_id::float32 ? double(c.get<float>(row)) : c.get<double>(row);
      if (f.type_oid == oid::float4) {
        put_i32(out, int32_t(std::bit_cast<uint32_t>(float(d))));
      } else {
        put_i64(out, int64_t(std::bit_cast<uint64_t>(d)));
      }
      return;
    }
    case oid::numeric: {
      const uint8_t scale = c.type.id == type_id::numeric ? c.type.scale : 0;
      append_binary_numeric(numeric_at(c, row), scale, out);
      return;
    }
    case oid::jsonb: out.push_back(1); [[fallthrough]];
    case oid::text:
    case oid::varchar:
    case oid::bpchar:
    case oid::name:
    case oid::unknown:
    case oid::json:
    case oid::bytea: out.append(c.get_bytes(row)); return;
    case oid::date: put_i32(out, int32_t(integer_at(c, row) - pg_epoch_days)); return;
    case oid::timestamp:
    case oid::timestamptz: put_i64(out, c.get<int64_t>(row) - pg_epoch_micros); return;
    default: append_text_value(c, row, out); return;  // binary_encodable() keeps callers from here
  }
}

void append_binary_numeric(__int128 value, uint8_t scale, std::string& out) {
  const bool negative = value < 0;
  unsigned __int128 magnitude = negative ? -static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value);
  std::string decimal;
  while (magnitude > 0) {
    decimal.push_back(char('0' + int(magnitude % 10)));
    magnitude /= 10;
  }
  while (decimal.size() <= scale) decimal.push_back('0');  // at least one integer digit
  std::reverse(decimal.begin(), decimal.end());
  std::string int_part = decimal.substr(0, decimal.size() - scale);
  std::string frac_part = decimal.substr(decimal.size() - scale);
  int_part.insert(0, (numeric_base_digits - int_part.size() % numeric_base_digits) % numeric_base_digits, '0');
  frac_part.append((numeric_base_digits - frac_part.size() % numeric_base_digits) % numeric_base_digits, '0');
  std::vector<int16_t> digits;
  auto group = [&](const std::string& s) {
    for (size_t i = 0; i < s.size(); i += numeric_base_digits) digits.push_back(int16_t(std::stoi(s.substr(i, 4))));
  };
  group(int_part);
  group(frac_part);
  int weight = int(int_part.size() / numeric_base_digits) - 1;
  size_t first = 0;
  while (first < digits.size() && digits[first] == 0) {
    ++first;
    --weight;
  }
  size_t last = digits.size();
  while (last > first && digits[last - 1] == 0) --last;
  if (first == last) weight = 0;
  put_i16(out, int16_t(last - first));
  put_i16(out, int16_t(weight));
  put_i16(out, first == last || !negative ? numeric_positive : numeric_negative);
  put_i16(out, int16_t(scale));
  for (size_t i = first; i < last; ++i) put_i16(out, digits[i]);
}

outcome<decoded_numeric> decode_binary_numeric(std::span<const uint8_t> bytes) {
  constexpr size_t header_bytes = 8;  // ndigits, weight, sign, dscale
  if (bytes.size() < header_bytes) return bad_binary("invalid binary numeric: shorter than its header");
  auto word = [&](size_t i) { return int16_t(load_be16(bytes.data() + 2 * i)); };
  const int16_t ndigits = word(0);
  const int16_t weight = word(1);
  const auto sign = uint16_t(word(2));
  const int16_t dscale = word(3);
  if (ndigits < 0 || dscale < 0 || bytes.size() - header_bytes != size_t(ndigits) * 2) {
    return bad_binary("invalid binary numeric: the digit count does not match the length");
  }
  if (sign != numeric_positive && sign != uint16_t(numeric_negative)) {
    if (sign == numeric_nan || (sign & 0xF000) == 0xD000 || (sign & 0xF000) == 0xF000) {
      return error{"0A000", "numeric NaN and infinity are not supported", {}, {}};
    }
    return bad_binary(fmt::format("invalid sign 0x{:04x} in binary numeric", sign));
  }
  if (ndigits > numeric_ndigits_max || dscale > tables::numeric_precision_max) {
    return error{"22003", "numeric value does not fit numeric(38)", {}, {}};
  }
  const __int128 limit = pow10_128(tables::numeric_precision_max);
  __int128 value = 0;
  for (int i = 0; i < ndigits; ++i) {
    const int16_t d = word(4 + size_t(i));
    if (d < 0 || d > 9999) return bad_binary(fmt::format("invalid digit {} in binary numeric", d));
    if (d == 0) continue;
    const int exponent = numeric_base_digits * (weight - i) + dscale;
    __int128 term;
    if (exponent < 0) {
      // Digits below the display scale are dropped, as PostgreSQL does when it prints.
      term = exponent < -4 ? 0 : d / pow10_128(-exponent);
    } else {
      const __int128 unit = exponent > tables::numeric_precision_max ? 0 : pow10_128(exponent);
      // Checked before multiplying: value + d * unit must stay below 10^38.
      if (unit == 0 || __int128(d) > (limit - 1 - value) / unit) {
        return error{"22003", "numeric value does not fit numeric(38)", {}, {}};
      }
      term = __int128(d) * unit;
    }
    value += term;
    if (value >= limit) {
      return error{"22003", "numeric value does not fit numeric(38)", {}, {}};
    }
  }
  return decoded_numeric{sign == numeric_positive ? value : -value, uint8_t(dscale)};
}

outcome<parameter> decode_binary_parameter(uint32_t type_oid, std::span<const uint8_t> b) {
  auto need = [&](size_t n) { return b.size() == n; };
  auto wrong_size = [&](const char* type) {
    return bad_binary(fmt::format("binary {} parameter has {} bytes", type, b.size()));
  };
  auto as_text = [&]() { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); };
  switch (type_oid) {
    case oid::boolean:
      if (!need(1)) return wrong_size("boolean");
      return param(b[0] != 0, {type_id::boolean});
    case oid::int2:
      if (!need(2)) return wrong_size("smallint");
      return param(int64_t(int16_t((b[0] << 8) | b[1])), {type_id::int16});
    case oid::int4:
      if (!need(4)) return wrong_size("integer");
      return param(int64_t(int32_t(load_be32(b.data()))), {type_id::int32});
    case oid::oid:
      if (!need(4)) return wrong_size("oid");
      return param(int64_t(load_be32(b.data())), {type_id::int64});
    case oid::int8:
      if (!need(8)) return wrong_size("bigint");
      return param(load_i64(b), {type_id::int64});
    case oid::float4:
      if (!need(4)) return wrong_size("real");
      return param(double(std::bit_cast<float>(load_be32(b.data()))), {type_id::float32});
    case oid::float8:
      if (!need(8)) return wrong_size("double precision");
      return param(std::bit_cast<double>(uint64_t(load_i64(b))), {type_id::float64});
    case oid::numeric: {
      auto n = decode_binary_numeric(b);
      if (!n.ok()) return n.err();
      tables::column_type t{type_id::numeric, tables::numeric_precision_max, n->scale};
      return param(n->value, t);
    }
    case oid::text:
    case oid::varchar:
    case oid::bpchar:
    case oid::name:
    case oid::unknown: return param(as_text(), {type_id::text});
    case oid::json: return param(as_text(), {type_id::json});
    case oid::jsonb:
      if (b.empty() || b[0] != 1) return bad_binary("binary jsonb must start with version byte 1");
      return param(std::string(reinterpret_cast<const char*>(b.data()) + 1, b.size() - 1), {type_id::json});
    case oid::bytea: return param(as_text(), {type_id::bytea});
    case oid::date: {
      if (!need(4)) return wrong_size("date");
      auto days = date_from_binary(b);
      if (!days.ok()) return days.err();
      return param(*days, {type_id::date});
    }
    case oid::timestamp:
    case oid::timestamptz: {
      if (!need(8)) return wrong_size("timestamp");
      auto micros = timestamp_from_binary(b);
      if (!micros.ok()) return micros.err();
      return param(*micros, {type_oid == oid::timestamp ? type_id::timestamp : type_id::timestamptz});
    }
    case oid::uuid:
      if (!need(16)) return wrong_size("uuid");
      return param(uuid_text(b), {type_id::text});
    default:
      return error{"0A000",
                        fmt::format("binary format for parameters of type OID {} is not supported", type_oid), {},
                        "send this parameter in text format"};
  }
}

status parse_binary_value(std::span<const uint8_t> b, tables::column_vector& column) {
  const tables::column_type& type = column.type;
  auto wrong_size = [&] {
    return bad_binary(fmt::format("incorrect binary data format: {} bytes for type {}", b.size(), tables::type_name(type)));
  };
  auto fixed = [&](auto value) -> status {
    column.append_fixed(&value);
    return ok_t{};
  };
  const std::string_view text(reinterpret_cast<const char*>(b.data()), b.size());
  switch (type.id) {
    case type_id::boolean:
      if (b.size() != 1) return wrong_size();
      return fixed(uint8_t(b[0] != 0));
    case type_id::int16:
      if (b.size() != 2) return wrong_size();
      return fixed(int16_t(load_be16(b.data())));
    case type_id::int32:
      if (b.size() != 4) return wrong_size();
      return fixed(int32_t(load_be32(b.data())));
    case type_id::int64:
      if (b.size() != 8) return wrong_size();
      return fixed(load_i64(b));
    case type_id::float32:
      if (b.size() != 4) return wrong_size();
      return fixed(std::bit_cast<float>(load_be32(b.data())));
    case type_id::float64:
      if (b.size() != 8) return wrong_size();
      return fixed(std::bit_cast<double>(load_be64(b.data())));
    case type_id::numeric: {
      // Through the text form, so precision, scale and rounding follow the one numeric parser.
      auto n = decode_binary_numeric(b);
      if (!n.ok()) return n.err();
      std::string digits;
      text_detail::append_numeric(digits, n->value, n->scale);
      return parse_text_value(digits, column);
    }
    case type_id::text: return parse_text_value(text, column);
    case type_id::json:
      // A jsonb value starts with its format version, 1; JSON text never does.
      if (!text.empty() && text[0] == '\x01') return parse_text_value(text.substr(1), column);
      return parse_text_value(text, column);
    case type_id::bytea: column.append_bytes(text); return ok_t{};
    case type_id::date: {
      if (b.size() != 4) return wrong_size();
      auto days = date_from_binary(b);
      if (!days.ok()) return days.err();
      return fixed(int32_t(*days));
    }
    case type_id::timestamp:
    case type_id::timestamptz: {
      if (b.size() != 8) return wrong_size();
      auto micros = timestamp_from_binary(b);
      if (!micros.ok()) return micros.err();
      return fixed(*micros);
    }
  }
  return error{"XX000", fmt::format("unknown column type {}", int(type.id)), {}, {}};
}

}  // namespace strata::sql
