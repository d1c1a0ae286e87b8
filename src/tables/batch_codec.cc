// Columnar batch, version 1, encoding side (statistics and encode_batch);
// batch_decode.cc reads. The byte layout is docs/formats/table.md.
#include "tables/batch_codec.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "base/crc32c.h"
#include "tables/batch_codec_internal.h"

namespace strata::tables {

using namespace batch_detail;

namespace {

// ---------------------------------------------------------------- statistics

template <class T>
void integer_stats(const column_vector& c, chunk_stats& s) {
  const uint8_t* p = c.fixed.data();
  T lo = std::numeric_limits<T>::max(), hi = std::numeric_limits<T>::min();
  if (s.null_count == 0) {
    for (uint32_t i = 0; i < c.row_count; ++i) {
      T v = load<T>(p + size_t(i) * sizeof(T));
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  } else {
    for (uint32_t i = 0; i < c.row_count; ++i) {
      if (!c.valid[i]) continue;
      T v = load<T>(p + size_t(i) * sizeof(T));
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if constexpr (sizeof(T) == 16) {
    s.min = scalar(__int128(lo));
    s.max = scalar(__int128(hi));
  } else {
    s.min = scalar(int64_t(lo));
    s.max = scalar(int64_t(hi));
  }
}

// NaN orders above every number (PostgreSQL and DuckDB agree).
template <class T>
void float_stats(const column_vector& c, chunk_stats& s) {
  const uint8_t* p = c.fixed.data();
  T lo = std::numeric_limits<T>::infinity(), hi = -std::numeric_limits<T>::infinity();
  bool any_number = false, any_nan = false;
  for (uint32_t i = 0; i < c.row_count; ++i) {
    if (!c.valid[i]) continue;
    T v = load<T>(p + size_t(i) * sizeof(T));
    if (std::isnan(v)) {
      any_nan = true;
      continue;
    }
    any_number = true;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.min = scalar(any_number ? double(lo) : nan);
  s.max = scalar(any_nan ? nan : double(hi));
}

void bool_stats(const column_vector& c, chunk_stats& s) {
  bool any_false = false, any_true = false;
  for (uint32_t i = 0; i < c.row_count; ++i) {
    if (!c.valid[i]) continue;
    if (c.fixed[i]) {
      any_true = true;
    } else {
      any_false = true;
    }
  }
  s.min = scalar(!any_false);
  s.max = scalar(any_true);
}

int compare_bytes(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

void string_stats(const column_vector& c, chunk_stats& s) {
  std::string_view lo, hi;
  bool any = false;
  for (uint32_t i = 0; i < c.row_count; ++i) {
    if (!c.valid[i]) continue;
    std::string_view v = c.get_bytes(i);
    if (v.size() > stats_string_bytes_max) return;  // no min/max for this chunk
    if (!any) {
      lo = hi = v;
      any = true;
    } else if (compare_bytes(v, lo) < 0) {
      lo = v;
    } else if (compare_bytes(v, hi) > 0) {
      hi = v;
    }
  }
  s.min = scalar(std::string(lo));
  s.max = scalar(std::string(hi));
}

// ---------------------------------------------------------------- encoding

// Checks that a column's vectors agree with its row count and type.
status check_shape(const column_vector& c, uint32_t rows, size_t index) {
  const std::string where = "column " + std::to_string(index) + ": ";
  if (!valid_type(c.type)) return make_error(errc::invalid_argument, where + "invalid column type");
  if (c.row_count != rows || c.valid.size() != rows) {
    return make_error(errc::invalid_argument, where + "row count differs from the batch's");
  }
  if (!is_variable_width(c.type.id)) {
    if (c.fixed.size() != size_t(rows) * fixed_width(c.type)) {
      return make_error(errc::invalid_argument, where + "fixed-width values do not match the row count");
    }
    if (c.type.id == type_id::boolean) {
      for (uint8_t b : c.fixed) {
        if (b > 1) return make_error(errc::invalid_argument, where + "a boolean must be stored as 0 or 1");
      }
    }
    return {};
  }
  if (c.offsets.size() != size_t(rows) + 1 || c.offsets.back() > c.bytes.size()) {
    return make_error(errc::invalid_argument, where + "offsets do not match the row count or the bytes");
  }
  for (uint32_t i = 0; i < rows; ++i) {
    if (c.offsets[i] > c.offsets[i + 1]) return make_error(errc::invalid_argument, where + "offsets decrease");
  }
  return {};
}

void append_bitmap(std::vector<uint8_t>& raw, const column_vector& c) {
  size_t at = raw.size();
  raw.resize(at + (c.row_count + 7) / 8, 0);
  for (uint32_t i = 0; i < c.row_count; ++i) {
    if (c.valid[i]) raw[at + i / 8] |= uint8_t(1u << (i % 8));
  }
}

// The uncompressed chunk: values (nulls zeroed) then the validity bitmap;
// for variable-width types bytes, then u32 lengths, then the bitmap.
// Returns the bytes to compress, which may be the column's own storage.
std::span<const uint8_t> build_raw(const column_vector& c, uint32_t null_count, std::vector<uint8_t>& scratch) {
  scratch.clear();
  if (!is_variable_width(c.type.id)) {
    if (null_count == 0) return c.fixed;
    const uint32_t width = fixed_width(c.type);
    scratch.assign(c.fixed.begin(), c.fixed.end());
    for (uint32_t i = 0; i < c.row_count; ++i) {
      if (!c.valid[i]) std::memset(scratch.data() + size_t(i) * width, 0, width);
    }
    append_bitmap(scratch, c);
    return scratch;
  }
  const uint8_t* base = reinterpret_cast<const uint8_t*>(c.bytes.data());
  if (null_count == 0) {
    scratch.assign(base + c.offsets.front(), base + c.offsets.back());
  } else {
    for (uint32_t i = 0; i < c.row_count; ++i) {
      if (c.valid[i]) scratch.insert(scratch.end(), base + c.offsets[i], base + c.offsets[i + 1]);
    }
  }
  size_t at = scratch.size();
  scratch.resize(at + size_t(c.row_count) * 4);
  for (uint32_t i = 0; i < c.row_count; ++i) {
    uint32_t length = c.valid[i] ? c.offsets[i + 1] - c.offsets[i] : 0;
    std::memcpy(scratch.data() + at + size_t(i) * 4, &length, 4);
  }
  if (null_count > 0) append_bitmap(scratch, c);
  return scratch;
}

size_t stat_value_bytes(const column_type& t, const scalar& v) {
  switch (t.id) {
    case type_id::text:
      return 1 + std::get<std::string>(v).size();
    case type_id::float32:
      return 4;
    case type_id::float64:
      return 8;
    default:
      return fixed_width(t);
  }
}

void put_stat_value(std::vector<uint8_t>& out, const column_type& t, const scalar& v) {
  switch (t.id) {
    case type_id::boolean:
      put<uint8_t>(out, std::get<bool>(v) ? 1 : 0);
      return;
    case type_id::int16:
      put<int16_t>(out, int16_t(std::get<int64_t>(v)));
      return;
    case type_id::int32:
    case type_id::date:
      put<int32_t>(out, int32_t(std::get<int64_t>(v)));
      return;
    case type_id::int64:
    case type_id::timestamp:
    case type_id::timestamptz:
      put<int64_t>(out, std::get<int64_t>(v));
      return;
    case type_id::float32:
      put<float>(out, float(std::get<double>(v)));
      return;
    case type_id::float64:
      put<double>(out, std::get<double>(v));
      return;
    case type_id::numeric:
      if (fixed_width(t) == 8) {
        put<int64_t>(out, int64_t(std::get<__int128>(v)));
      } else {
        put<__int128>(out, std::get<__int128>(v));
      }
      return;
    case type_id::text: {
      const std::string& s = std::get<std::string>(v);
      put<uint8_t>(out, uint8_t(s.size()));
      out.insert(out.end(), s.begin(), s.end());
      return;
    }
    case type_id::bytea:
    case type_id::json:
      return;
  }
}

size_t entry_bytes(const column_type& t, const chunk_stats& s) {
  size_t n = entry_fixed_bytes;
  if (s.min && s.max) n += stat_value_bytes(t, *s.min) + stat_value_bytes(t, *s.max);
  return n;
}

// Writes one directory entry (sizes are patched in after compression).
void put_entry(std::vector<uint8_t>& out, uint8_t type_byte, const column_type& t, const chunk_stats& s) {
  const bool has_min_max = s.min.has_value() && s.max.has_value();
  put<uint8_t>(out, type_byte);
  put<uint8_t>(out, t.precision);
  put<uint8_t>(out, t.scale);
  put<uint8_t>(out, has_min_max ? stats_flag_min_max : 0);
  put<uint32_t>(out, t.length_max);
  put<uint32_t>(out, s.null_count);
  put<uint32_t>(out, 0);  // raw_bytes
  put<uint32_t>(out, 0);  // compressed_bytes
  if (has_min_max) {
    put_stat_value(out, t, *s.min);
    put_stat_value(out, t, *s.max);
  }
}

// Appends the ZSTD frame of `raw` and its CRC32C; patches the entry's sizes.
status append_chunk(std::vector<uint8_t>& out, size_t entry_at, std::span<const uint8_t> raw, int level) {
  if (raw.size() > chunk_raw_bytes_max) {
    return make_error(errc::limit_exceeded, "columnar batch: a column chunk exceeds 1 GiB; write fewer rows per batch");
  }
  const size_t at = out.size();
  if (at > batch_payload_bytes_max) {
    return make_error(errc::limit_exceeded, "columnar batch: the batch exceeds 1 GiB; write fewer rows per batch");
  }
  const size_t bound = ZSTD_compressBound(raw.size());
  out.resize(at + bound);
  size_t n = ZSTD_compressCCtx(contexts().cctx, out.data() + at, bound, raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) {
    out.resize(at);
    return make_error(errc::internal, std::string("columnar batch: zstd compression failed: ") + ZSTD_getErrorName(n));
  }
  out.resize(at + n);
  put<uint32_t>(out, crc32c(out.data() + at, n));
  put_at<uint32_t>(out, entry_at + 12, uint32_t(raw.size()));
  put_at<uint32_t>(out, entry_at + 16, uint32_t(n));
  return {};
}

}  // namespace

const char* change_type_code(change_type type) {
  switch (type) {
    case change_type::insert:
      return "+I";
    case change_type::update_before:
      return "-U";
    case change_type::update_after:
      return "+U";
    case change_type::remove:
      return "-D";
  }
  return "??";
}

chunk_stats compute_stats(const column_vector& column) {
  chunk_stats s;
  for (uint32_t i = 0; i < column.row_count; ++i) s.null_count += column.valid[i] == 0 ? 1 : 0;
  if (s.null_count == column.row_count || !keeps_stats(column.type.id)) return s;
  switch (column.type.id) {
    case type_id::boolean:
      bool_stats(column, s);
      break;
    case type_id::int16:
      integer_stats<int16_t>(column, s);
      break;
    case type_id::int32:
    case type_id::date:
      integer_stats<int32_t>(column, s);
      break;
    case type_id::int64:
    case type_id::timestamp:
    case type_id::timestamptz:
      integer_stats<int64_t>(column, s);
      break;
    case type_id::numeric:
      if (fixed_width(column.type) == 8) {
        integer_stats<int64_t>(column, s);
        s.min = scalar(__int128(std::get<int64_t>(*s.min)));
        s.max = scalar(__int128(std::get<int64_t>(*s.max)));
      } else {
        integer_stats<__int128>(column, s);
      }
      break;
    case type_id::float32:
      float_stats<float>(column, s);
      break;
    case type_id::float64:
      float_stats<double>(column, s);
      break;
    case type_id::text:
      string_stats(column, s);
      break;
    case type_id::bytea:
    case type_id::json:
      break;
  }
  return s;
}

result<std::vector<uint8_t>> encode_batch(const column_batch& rows, const std::vector<change_type>* ops,
                                          int64_t commit_ts_us, int zstd_level) {
  const uint32_t n = rows.row_count;
  if (n == 0 || n > batch_rows_hard_max) {
    return make_error(errc::invalid_argument, "columnar batch: the row count must be between 1 and 1048576");
  }
  if (rows.columns.empty() || rows.columns.size() > columns_max) {
    return make_error(errc::invalid_argument, "columnar batch: a batch has 1 to 1024 columns");
  }
  if (ops && ops->size() != n) {
    return make_error(errc::invalid_argument, "columnar batch: one change type per row is needed");
  }
  std::vector<chunk_stats> stats;
  stats.reserve(rows.columns.size());
  size_t directory = ops ? entry_fixed_bytes : 0;
  for (size_t i = 0; i < rows.columns.size(); ++i) {
    STRATA_TRY(check_shape(rows.columns[i], n, i));
    stats.push_back(compute_stats(rows.columns[i]));
    directory += entry_bytes(rows.columns[i].type, stats.back());
  }

  std::vector<uint8_t> out;
  out.reserve(header_bytes + directory + 64 * rows.columns.size());
  put<uint32_t>(out, batch_magic);
  put<uint8_t>(out, batch_format_version);
  put<uint8_t>(out, ops ? flag_has_ops : 0);
  put<uint16_t>(out, uint16_t(rows.columns.size()));
  put<uint32_t>(out, n);
  put<uint32_t>(out, uint32_t(directory));
  put<int64_t>(out, commit_ts_us);
  put<uint32_t>(out, 0);  // reserved
  put<uint32_t>(out, 0);  // header CRC, patched below
  std::vector<size_t> entry_at;
  if (ops) {
    entry_at.push_back(out.size());
    put_entry(out, ops_type_byte, column_type{}, chunk_stats{});
  }
  for (size_t i = 0; i < rows.columns.size(); ++i) {
    entry_at.push_back(out.size());
    put_entry(out, uint8_t(rows.columns[i].type.id), rows.columns[i].type, stats[i]);
  }
  STRATA_ASSERT(out.size() == header_bytes + directory, "directory size miscounted");

  thread_local std::vector<uint8_t> scratch;
  size_t e = 0;
  if (ops) {
    scratch.resize(n);
    std::memcpy(scratch.data(), ops->data(), n);
    for (uint8_t b : scratch) {
      if (b > uint8_t(change_type::remove)) return make_error(errc::invalid_argument, "columnar batch: unknown change type");
    }
    STRATA_TRY(append_chunk(out, entry_at[e++], scratch, zstd_level));
  }
  for (size_t i = 0; i < rows.columns.size(); ++i) {
    std::span<const uint8_t> raw = build_raw(rows.columns[i], stats[i].null_count, scratch);
    STRATA_TRY(append_chunk(out, entry_at[e++], raw, zstd_level));
  }
  if (scratch.capacity() > scratch_bytes_kept_max) std::vector<uint8_t>().swap(scratch);
  if (out.size() > batch_payload_bytes_max) {
    return make_error(errc::limit_exceeded, "columnar batch: the batch exceeds 1 GiB; write fewer rows per batch");
  }
  uint32_t crc = crc32c(out.data(), header_crc_at);
  crc = crc32c(out.data() + header_bytes, directory, crc);
  put_at<uint32_t>(out, header_crc_at, crc);
  return out;
}

}  // namespace strata::tables
