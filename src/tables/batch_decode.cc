// Columnar batch, version 1, reading side: the directory, chunk decoding and
// chunk pruning by statistics. The byte layout is docs/formats/table.md.
#include <zstd.h>

#include <array>
#include <cstring>
#include <optional>
#include <string>

#include "base/crc32c.h"
#include "tables/batch_codec.h"
#include "tables/batch_codec_internal.h"

namespace strata::tables {

using namespace batch_detail;

namespace {

// ---------------------------------------------------------------- directory parsing

result<scalar> read_stat_value(reader& r, const column_type& t) {
  switch (t.id) {
    case type_id::boolean: {
      uint8_t b = 0;
      if (!r.get(b) || b > 1) return corrupt("bad boolean statistic");
      return scalar(b == 1);
    }
    case type_id::int16: {
      int16_t v = 0;
      if (!r.get(v)) return corrupt("directory truncated");
      return scalar(int64_t(v));
    }
    case type_id::int32:
    case type_id::date: {
      int32_t v = 0;
      if (!r.get(v)) return corrupt("directory truncated");
      return scalar(int64_t(v));
    }
    case type_id::int64:
    case type_id::timestamp:
    case type_id::timestamptz: {
      int64_t v = 0;
      if (!r.get(v)) return corrupt("directory truncated");
      return scalar(v);
    }
    case type_id::float32: {
      float v = 0;
      if (!r.get(v)) return corrupt("directory truncated");
      return scalar(double(v));
    }
    case type_id::float64: {
      double v = 0;
      if (!r.get(v)) return corrupt("directory truncated");
      return scalar(v);
    }
    case type_id::numeric: {
      if (fixed_width(t) == 8) {
        int64_t v = 0;
        if (!r.get(v)) return corrupt("directory truncated");
        return scalar(__int128(v));
      }
      __int128 v = 0;
      if (!r.get(v)) return corrupt("directory truncated");
      return scalar(v);
    }
    case type_id::text: {
      uint8_t n = 0;
      std::string s;
      if (!r.get(n) || n > stats_string_bytes_max || !r.get_bytes(n, s)) return corrupt("bad text statistic");
      return scalar(std::move(s));
    }
    case type_id::bytea:
    case type_id::json:
      break;
  }
  return corrupt("statistics on a type that keeps none");
}

struct raw_entry {
  uint8_t type_byte = 0;
  chunk_info info;
};

result<raw_entry> read_entry(reader& r, uint32_t row_count) {
  raw_entry e;
  uint8_t flags = 0;
  uint32_t null_count = 0;
  if (!r.get(e.type_byte) || !r.get(e.info.type.precision) || !r.get(e.info.type.scale) || !r.get(flags) ||
      !r.get(e.info.type.length_max) || !r.get(null_count) || !r.get(e.info.raw_bytes) ||
      !r.get(e.info.compressed_bytes)) {
    return corrupt("directory truncated");
  }
  if ((flags & ~stats_flag_min_max) != 0) return corrupt("unknown statistics flags");
  if (null_count > row_count) return corrupt("null count above the row count");
  e.info.stats.null_count = null_count;
  if (e.type_byte == ops_type_byte) {
    if (flags != 0 || e.info.type.precision != 0 || e.info.type.scale != 0 || e.info.type.length_max != 0 ||
        null_count != 0) {
      return corrupt("bad change-type chunk entry");
    }
    e.info.type = column_type{};
    return e;
  }
  e.info.type.id = type_id(e.type_byte);
  if (!valid_type(e.info.type)) return corrupt("unknown column type " + std::to_string(e.type_byte));
  if (flags & stats_flag_min_max) {
    if (!keeps_stats(e.info.type.id) || null_count == row_count) return corrupt("unexpected statistics");
    auto lo = read_stat_value(r, e.info.type);
    if (!lo.ok()) return lo.err();
    auto hi = read_stat_value(r, e.info.type);
    if (!hi.ok()) return hi.err();
    if (compare_scalars(e.info.type, *lo, *hi) > 0) return corrupt("minimum above maximum");
    e.info.stats.min = std::move(lo.value());
    e.info.stats.max = std::move(hi.value());
  }
  return e;
}

// The raw size a chunk must have, or (variable width) the least it may have.
status check_raw_size(const chunk_info& c, uint32_t rows, bool is_ops) {
  if (is_ops) {
    if (c.raw_bytes != rows) return corrupt("change-type chunk size does not match the row count");
    return {};
  }
  const uint64_t bitmap = bitmap_bytes(rows, c.stats.null_count);
  if (!is_variable_width(c.type.id)) {
    if (c.raw_bytes != uint64_t(rows) * fixed_width(c.type) + bitmap) {
      return corrupt("chunk size does not match the row count");
    }
    return {};
  }
  if (c.raw_bytes < uint64_t(rows) * 4 + bitmap || c.raw_bytes > chunk_raw_bytes_max) {
    return corrupt("variable-width chunk size out of range");
  }
  return {};
}

// ---------------------------------------------------------------- chunk decoding

// Expands bit i of the bitmap to valid[i] (1 = value) and counts the nulls.
status expand_bitmap(const uint8_t* bits, uint32_t rows, uint32_t null_count, std::vector<uint8_t>& valid) {
  static const auto table = [] {
    std::array<uint64_t, 256> t{};
    for (uint32_t b = 0; b < 256; ++b) {
      for (uint32_t j = 0; j < 8; ++j) t[b] |= uint64_t((b >> j) & 1) << (8 * j);
    }
    return t;
  }();
  const uint32_t full = rows / 8, tail = rows % 8;
  valid.resize(size_t(full) * 8 + (tail ? 8 : 0));
  uint64_t ones = 0;
  for (uint32_t i = 0; i < full + (tail ? 1 : 0); ++i) {
    std::memcpy(valid.data() + size_t(i) * 8, &table[bits[i]], 8);
    ones += uint64_t(__builtin_popcount(bits[i]));
  }
  if (tail && (bits[full] >> tail) != 0) return corrupt("validity bitmap padding is not zero");
  valid.resize(rows);
  if (ones != uint64_t(rows) - null_count) return corrupt("validity bitmap disagrees with the null count");
  return {};
}

// Checks the chunk's bounds and CRC and decompresses it into `out` (resized to raw_bytes).
template <class Buffer>
status decompress_chunk(std::span<const uint8_t> payload, const chunk_info& c, Buffer& out) {
  if (uint64_t(c.offset) + c.compressed_bytes + chunk_crc_bytes > payload.size()) {
    return corrupt("chunk lies outside the batch");
  }
  const uint8_t* frame = payload.data() + c.offset;
  if (crc32c(frame, c.compressed_bytes) != load<uint32_t>(frame + c.compressed_bytes)) {
    return corrupt("chunk checksum mismatch");
  }
  unsigned long long content = ZSTD_getFrameContentSize(frame, c.compressed_bytes);
  if (content != c.raw_bytes) return corrupt("zstd frame size disagrees with the directory");
  out.resize(c.raw_bytes);
  size_t n = ZSTD_decompressDCtx(contexts().dctx, out.data(), out.size(), frame, c.compressed_bytes);
  if (ZSTD_isError(n) || n != c.raw_bytes) return corrupt("zstd frame does not decompress");
  return {};
}

status decode_fixed(std::span<const uint8_t> payload, const chunk_info& c, uint32_t rows, column_vector& col) {
  STRATA_TRY(decompress_chunk(payload, c, col.fixed));
  const size_t values = size_t(rows) * fixed_width(c.type);
  if (c.stats.null_count == 0) {
    col.valid.assign(rows, 1);
  } else {
    STRATA_TRY(expand_bitmap(col.fixed.data() + values, rows, c.stats.null_count, col.valid));
  }
  col.fixed.resize(values);
  if (c.type.id == type_id::boolean) {
    for (uint8_t b : col.fixed) {
      if (b > 1) return corrupt("boolean value is not 0 or 1");
    }
  }
  return {};
}

status decode_variable(std::span<const uint8_t> payload, const chunk_info& c, uint32_t rows, column_vector& col) {
  STRATA_TRY(decompress_chunk(payload, c, col.bytes));
  const uint64_t bitmap = bitmap_bytes(rows, c.stats.null_count);
  const uint64_t data_bytes = c.raw_bytes - bitmap - uint64_t(rows) * 4;
  const uint8_t* raw = reinterpret_cast<const uint8_t*>(col.bytes.data());
  if (c.stats.null_count == 0) {
    col.valid.assign(rows, 1);
  } else {
    STRATA_TRY(expand_bitmap(raw + c.raw_bytes - bitmap, rows, c.stats.null_count, col.valid));
  }
  const uint8_t* lengths = raw + data_bytes;
  col.offsets.resize(size_t(rows) + 1);
  uint32_t* offsets = col.offsets.data();
  uint64_t at = 0;
  offsets[0] = 0;
  for (uint32_t i = 0; i < rows; ++i) {
    at += load<uint32_t>(lengths + size_t(i) * 4);
    offsets[i + 1] = uint32_t(at);  // checked below: `at` never passes data_bytes < 2^30 unnoticed
    if (at > data_bytes) return corrupt("string lengths run past the chunk");
  }
  if (at != data_bytes) return corrupt("string lengths do not cover the chunk");
  if (c.stats.null_count > 0) {
    for (uint32_t i = 0; i < rows; ++i) {
      if (!col.valid[i] && offsets[i] != offsets[i + 1]) return corrupt("a NULL string has bytes");
    }
  }
  col.bytes.resize(data_bytes);
  return {};
}

// ---------------------------------------------------------------- predicates

std::optional<__int128> integer_value(const scalar& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return __int128(*i);
  if (const auto* w = std::get_if<__int128>(&v)) return *w;
  return std::nullopt;
}

// Compares a statistic of a column of type `t` with a predicate value; empty
// when the two cannot be compared with certainty.
std::optional<int> compare_stat(const column_type& t, const scalar& stat, const scalar& value) {
  if (std::holds_alternative<std::monostate>(value)) return std::nullopt;
  switch (t.id) {
    case type_id::boolean:
      if (!std::holds_alternative<bool>(value)) return std::nullopt;
      break;
    case type_id::text:
      if (!std::holds_alternative<std::string>(value)) return std::nullopt;
      break;
    case type_id::numeric:
      // Only a value already scaled to the column's scale is unambiguous.
      if (!std::holds_alternative<__int128>(value)) return std::nullopt;
      break;
    case type_id::float32:
    case type_id::float64:
      if (!std::holds_alternative<double>(value) && !std::holds_alternative<int64_t>(value)) return std::nullopt;
      break;
    case type_id::int16:
    case type_id::int32:
    case type_id::int64:
    case type_id::date:
    case type_id::timestamp:
    case type_id::timestamptz:
      if (!integer_value(value) && !std::holds_alternative<double>(value)) return std::nullopt;
      break;
    case type_id::bytea:
    case type_id::json:
      return std::nullopt;
  }
  return compare_scalars(t, stat, value);
}

bool in_range(const chunk_info& c, const scalar& value) {
  auto lo = compare_stat(c.type, *c.stats.min, value);
  auto hi = compare_stat(c.type, *c.stats.max, value);
  if (!lo || !hi) return true;
  return *lo <= 0 && *hi >= 0;
}

bool may_match_value(const chunk_info& c, column_predicate::op kind, const scalar& value) {
  using op = column_predicate::op;
  const scalar& lo = *c.stats.min;
  const scalar& hi = *c.stats.max;
  std::optional<int> r;
  switch (kind) {
    case op::eq:
    case op::in:
      return in_range(c, value);
    case op::ne: {
      if (c.stats.null_count > 0) return true;
      auto a = compare_stat(c.type, lo, value), b = compare_stat(c.type, hi, value);
      return !(a && b && *a == 0 && *b == 0);
    }
    case op::lt:
      r = compare_stat(c.type, lo, value);
      return !r || *r < 0;
    case op::le:
      r = compare_stat(c.type, lo, value);
      return !r || *r <= 0;
    case op::gt:
      r = compare_stat(c.type, hi, value);
      return !r || *r > 0;
    case op::ge:
      r = compare_stat(c.type, hi, value);
      return !r || *r >= 0;
    case op::is_null:
    case op::is_not_null:
      break;
  }
  return true;
}

// A floating-point column may be compared in its own precision (the value
// rounded to the column's type) or exactly; a chunk is kept if either may match.
bool may_match_float(const chunk_info& c, column_predicate::op kind, const scalar& value) {
  if (may_match_value(c, kind, value)) return true;
  double rounded;
  if (const auto* d = std::get_if<double>(&value)) {
    rounded = *d;
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    rounded = double(*i);
  } else {
    return false;
  }
  if (c.type.id == type_id::float32) rounded = double(float(rounded));
  return may_match_value(c, kind, scalar(rounded));
}

bool may_match_one(const chunk_info& c, column_predicate::op kind, const scalar& value) {
  if (c.type.id == type_id::float32 || c.type.id == type_id::float64) return may_match_float(c, kind, value);
  return may_match_value(c, kind, value);
}

}  // namespace

result<batch_directory> read_directory(std::span<const uint8_t> payload) {
  if (payload.size() < header_bytes) return corrupt("shorter than its header");
  if (payload.size() > batch_payload_bytes_max) return corrupt("longer than 1 GiB");
  if (load<uint32_t>(payload.data()) != batch_magic) return corrupt("bad magic");
  const uint8_t version = payload[4];
  if (version != batch_format_version) {
    return make_error(errc::unsupported, "columnar batch version " + std::to_string(version) +
                                             " is not supported by this build (it reads version 1)");
  }
  const uint8_t flags = payload[5];
  const uint16_t column_count = load<uint16_t>(payload.data() + 6);
  const uint32_t row_count = load<uint32_t>(payload.data() + 8);
  const uint32_t directory_bytes = load<uint32_t>(payload.data() + 12);
  if (directory_bytes > payload.size() - header_bytes) return corrupt("directory runs past the batch");
  uint32_t crc = crc32c(payload.data(), header_crc_at);
  crc = crc32c(payload.data() + header_bytes, directory_bytes, crc);
  if (crc != load<uint32_t>(payload.data() + header_crc_at)) return corrupt("header checksum mismatch");
  if ((flags & ~flag_has_ops) != 0 || load<uint32_t>(payload.data() + 24) != 0) return corrupt("unknown flags");
  if (row_count == 0 || row_count > batch_rows_hard_max) return corrupt("row count out of range");
  if (column_count == 0 || column_count > columns_max) return corrupt("column count out of range");

  batch_directory dir;
  dir.row_count = row_count;
  dir.commit_ts_us = load<int64_t>(payload.data() + 16);
  dir.has_ops = (flags & flag_has_ops) != 0;
  dir.columns.reserve(column_count);
  reader r(payload.subspan(header_bytes, directory_bytes));
  uint64_t next_offset = header_bytes + uint64_t(directory_bytes);
  const size_t entries = column_count + (dir.has_ops ? 1 : 0);
  for (size_t i = 0; i < entries; ++i) {
    auto entry = read_entry(r, row_count);
    if (!entry.ok()) return entry.err();
    const bool is_ops = dir.has_ops && i == 0;
    if ((entry->type_byte == ops_type_byte) != is_ops) return corrupt("change-type chunk out of place");
    chunk_info& info = entry->info;
    STRATA_TRY(check_raw_size(info, row_count, is_ops));
    info.offset = uint32_t(next_offset);
    next_offset += uint64_t(info.compressed_bytes) + chunk_crc_bytes;
    if (next_offset > payload.size()) return corrupt("chunk lies outside the batch");
    if (is_ops) {
      dir.ops = std::move(info);
    } else {
      dir.columns.push_back(std::move(info));
    }
  }
  if (r.remaining() != 0) return corrupt("directory has trailing bytes");
  if (next_offset != payload.size()) return corrupt("batch has trailing bytes");
  return dir;
}

result<column_vector> decode_column(std::span<const uint8_t> payload, const batch_directory& dir, uint32_t column) {
  if (column >= dir.columns.size()) {
    return make_error(errc::invalid_argument, "columnar batch: column " + std::to_string(column) + " does not exist");
  }
  const chunk_info& c = dir.columns[column];
  // `dir` normally comes from read_directory; recheck what memory safety rests on.
  if (dir.row_count == 0 || dir.row_count > batch_rows_hard_max || !valid_type(c.type) ||
      c.stats.null_count > dir.row_count) {
    return corrupt("bad directory");
  }
  STRATA_TRY(check_raw_size(c, dir.row_count, false));
  column_vector col(c.type);
  col.row_count = dir.row_count;
  if (is_variable_width(c.type.id)) {
    STRATA_TRY(decode_variable(payload, c, dir.row_count, col));
  } else {
    STRATA_TRY(decode_fixed(payload, c, dir.row_count, col));
  }
  return col;
}

result<std::vector<change_type>> decode_ops(std::span<const uint8_t> payload, const batch_directory& dir) {
  if (!dir.has_ops) return make_error(errc::invalid_argument, "columnar batch: this batch has no change types");
  if (dir.row_count == 0 || dir.row_count > batch_rows_hard_max) return corrupt("bad directory");
  STRATA_TRY(check_raw_size(dir.ops, dir.row_count, true));
  std::vector<uint8_t> raw;
  STRATA_TRY(decompress_chunk(payload, dir.ops, raw));
  std::vector<change_type> ops(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] > uint8_t(change_type::remove)) return corrupt("unknown change type");
    ops[i] = change_type(raw[i]);
  }
  return ops;
}

bool may_match(const chunk_info& chunk, uint32_t row_count, const column_predicate& predicate) {
  using op = column_predicate::op;
  const uint32_t nulls = chunk.stats.null_count;
  if (predicate.kind == op::is_null) return nulls > 0;
  if (predicate.kind == op::is_not_null) return nulls < row_count;
  if (row_count > 0 && nulls >= row_count) return false;  // a comparison with NULL is never true
  if (!chunk.stats.min || !chunk.stats.max) return true;
  if (predicate.kind == op::in) {
    if (predicate.values.empty()) return true;
    for (const scalar& v : predicate.values) {
      if (std::holds_alternative<std::monostate>(v)) continue;  // x IN (NULL) is never true
      if (may_match_one(chunk, op::in, v)) return true;
    }
    return false;
  }
  if (predicate.values.size() != 1) return true;
  return may_match_one(chunk, predicate.kind, predicate.values[0]);
}

}  // namespace strata::tables
