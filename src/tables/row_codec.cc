#include "tables/row_codec.h"

#include <xxhash.h>

#include <cstring>

namespace strata::tables {
namespace {

enum tag : uint8_t { tag_null = 0, tag_false = 1, tag_true = 2, tag_int = 3, tag_double = 4, tag_wide = 5, tag_string = 6 };

template <class T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

// Integers are big-endian with the sign bit flipped, so encoded keys sort
// like their values (sequential keys make sequential RocksDB writes).
void put_ordered(std::string& out, unsigned __int128 v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(char(uint8_t(v >> (i * 8))));
}

bool take_ordered(std::string_view& in, unsigned __int128& v, int bytes) {
  if (in.size() < size_t(bytes)) return false;
  v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | uint8_t(in[size_t(i)]);
  in.remove_prefix(size_t(bytes));
  return true;
}

constexpr uint64_t sign64 = uint64_t(1) << 63;
constexpr unsigned __int128 sign128 = (unsigned __int128)1 << 127;

template <class T>
bool take(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

error truncated() {
  return make_error(errc::corrupt, "an encoded table row is truncated or malformed; the primary-key state is damaged, "
                                   "remove <data_dir>/tables/state to rebuild it from the bucket logs");
}

}  // namespace

namespace {

void put_int(std::string& out, int64_t v) {
  out.push_back(char(tag_int));
  put_ordered(out, uint64_t(v) ^ sign64, 8);
}

void put_double(std::string& out, double v) {
  out.push_back(char(tag_double));
  put(out, v);
}

void put_wide(std::string& out, __int128 v) {
  out.push_back(char(tag_wide));
  put_ordered(out, (unsigned __int128)v ^ sign128, 16);
}

void put_string(std::string& out, std::string_view v) {
  out.push_back(char(tag_string));
  put(out, uint32_t(v.size()));
  out.append(v);
}

// The same bytes as encode_scalar(scalar_at(column, row)), without building
// the scalar (and copying its string) on the primary-key write path.
void encode_value_at(const column_vector& column, uint32_t row, std::string& out) {
  if (column.is_null(row)) {
    out.push_back(char(tag_null));
    return;
  }
  switch (column.type.id) {
    case type_id::boolean: out.push_back(char(column.fixed[row] != 0 ? tag_true : tag_false)); return;
    case type_id::int16: put_int(out, column.get<int16_t>(row)); return;
    case type_id::int32:
    case type_id::date: put_int(out, column.get<int32_t>(row)); return;
    case type_id::int64:
    case type_id::timestamp:
    case type_id::timestamptz: put_int(out, column.get<int64_t>(row)); return;
    case type_id::float32: put_double(out, double(column.get<float>(row))); return;
    case type_id::float64: put_double(out, column.get<double>(row)); return;
    case type_id::numeric:
      put_wide(out, fixed_width(column.type) == 8 ? __int128(column.get<int64_t>(row)) : column.get<__int128>(row));
      return;
    case type_id::text:
    case type_id::bytea:
    case type_id::json: put_string(out, column.get_bytes(row)); return;
  }
  out.push_back(char(tag_null));
}

}  // namespace

void encode_scalar(const scalar& value, std::string& out) {
  switch (value.index()) {
    case 0: out.push_back(char(tag_null)); return;
    case 1: out.push_back(char(std::get<bool>(value) ? tag_true : tag_false)); return;
    case 2: put_int(out, std::get<int64_t>(value)); return;
    case 3: put_double(out, std::get<double>(value)); return;
    case 4: put_wide(out, std::get<__int128>(value)); return;
    default: put_string(out, std::get<std::string>(value)); return;
  }
}

// One result object, filled by the branches: returning a scalar{bool}
// temporary per branch trips GCC 12's -Wmaybe-uninitialized under ASan.
result<scalar> decode_scalar(std::string_view& in) {
  if (in.empty()) return truncated();
  auto t = uint8_t(in.front());
  in.remove_prefix(1);
  scalar out;
  switch (t) {
    case tag_null:
      break;
    case tag_false:
    case tag_true:
      out.emplace<bool>(t == tag_true);
      break;
    case tag_int: {
      unsigned __int128 v;
      if (!take_ordered(in, v, 8)) return truncated();
      out.emplace<int64_t>(int64_t(uint64_t(v) ^ sign64));
      break;
    }
    case tag_double: {
      double v;
      if (!take(in, v)) return truncated();
      out.emplace<double>(v);
      break;
    }
    case tag_wide: {
      unsigned __int128 v;
      if (!take_ordered(in, v, 16)) return truncated();
      out.emplace<__int128>(__int128(v ^ sign128));
      break;
    }
    case tag_string: {
      uint32_t n;
      if (!take(in, n) || in.size() < n) return truncated();
      out.emplace<std::string>(in.substr(0, n));
      in.remove_prefix(n);
      break;
    }
    default:
      return truncated();
  }
  return out;
}

std::string encode_values(const column_batch& rows, uint32_t row, std::span<const uint32_t> columns) {
  std::string out;
  for (uint32_t c : columns) encode_value_at(rows.columns[c], row, out);
  return out;
}

std::string encode_row(const column_batch& rows, uint32_t row) {
  std::string out;
  out.reserve(rows.columns.size() * 9);
  for (const column_vector& c : rows.columns) encode_value_at(c, row, out);
  return out;
}

status decode_row_into(std::string_view row, column_batch& out) {
  std::vector<scalar> values;
  values.reserve(out.columns.size());
  for (size_t i = 0; i < out.columns.size(); ++i) {
    auto v = decode_scalar(row);
    if (!v.ok()) return v.err();
    values.push_back(std::move(v.value()));
  }
  if (!row.empty()) return truncated();
  for (size_t i = 0; i < values.size(); ++i) append_scalar(out.columns[i], values[i]);
  ++out.row_count;
  return {};
}

uint32_t bucket_of(const column_batch& rows, uint32_t row, std::span<const uint32_t> bucket_key, uint32_t buckets) {
  if (buckets <= 1) return 0;
  std::string key = encode_values(rows, row, bucket_key);
  return uint32_t(XXH64(key.data(), key.size(), 0) % buckets);
}

column_batch empty_batch(const std::vector<column_type>& types) {
  column_batch b;
  for (const column_type& t : types) b.columns.emplace_back(t);
  return b;
}

void append_range(column_vector& dst, const column_vector& src, uint32_t from, uint32_t count) {
  if (count == 0) return;
  dst.valid.insert(dst.valid.end(), src.valid.begin() + from, src.valid.begin() + from + count);
  if (is_variable_width(src.type.id)) {
    if (dst.offsets.empty()) dst.offsets.push_back(0);
    uint32_t base = dst.offsets.back();
    uint32_t start = src.offsets[from];
    uint32_t end = src.offsets[from + count];
    STRATA_ASSERT(uint64_t(base) + (end - start) <= UINT32_MAX, "column_vector bytes exceed 4 GiB");
    dst.bytes.insert(dst.bytes.end(), src.bytes.begin() + start, src.bytes.begin() + end);
    for (uint32_t i = 1; i <= count; ++i) dst.offsets.push_back(base + (src.offsets[from + i] - start));
  } else {
    size_t w = fixed_width(src.type);
    dst.fixed.insert(dst.fixed.end(), src.fixed.begin() + from * w, src.fixed.begin() + (from + count) * w);
  }
  dst.row_count += count;
}

void append_rows(column_vector& dst, const column_vector& src, std::span<const uint32_t> rows) {
  if (rows.empty()) return;
  dst.valid.reserve(dst.valid.size() + rows.size());
  if (is_variable_width(src.type.id)) {
    if (dst.offsets.empty()) dst.offsets.push_back(0);
    dst.offsets.reserve(dst.offsets.size() + rows.size());
    for (uint32_t r : rows) {
      std::string_view v = src.get_bytes(r);
      STRATA_ASSERT(dst.bytes.size() + v.size() <= UINT32_MAX, "column_vector bytes exceed 4 GiB");
      dst.bytes.insert(dst.bytes.end(), v.begin(), v.end());
      dst.offsets.push_back(uint32_t(dst.bytes.size()));
      dst.valid.push_back(src.valid[r]);
    }
  } else {
    size_t w = fixed_width(src.type);
    size_t at = dst.fixed.size();
    dst.fixed.resize(at + rows.size() * w);
    uint8_t* out = dst.fixed.data() + at;
    for (uint32_t r : rows) {
      std::memcpy(out, src.fixed.data() + size_t(r) * w, w);
      out += w;
      dst.valid.push_back(src.valid[r]);
    }
  }
  dst.row_count += uint32_t(rows.size());
}

void append_batch(column_batch& dst, const column_batch& src) {
  for (size_t c = 0; c < src.columns.size(); ++c) append_range(dst.columns[c], src.columns[c], 0, src.row_count);
  dst.row_count += src.row_count;
}

column_batch gather(const column_batch& src, std::span<const uint32_t> rows) {
  column_batch out;
  for (const column_vector& c : src.columns) {
    out.columns.emplace_back(c.type);
    append_rows(out.columns.back(), c, rows);
  }
  out.row_count = uint32_t(rows.size());
  return out;
}

column_batch slice(const column_batch& src, uint32_t from, uint32_t count) {
  column_batch out;
  for (const column_vector& c : src.columns) {
    out.columns.emplace_back(c.type);
    append_range(out.columns.back(), c, from, count);
  }
  out.row_count = count;
  return out;
}

}  // namespace strata::tables
