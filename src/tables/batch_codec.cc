// Columnar batch, version 1: the byte layout is docs/formats/table.md.
#include "tables/batch_codec.h"

#include <zstd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "base/crc32c.h"

namespace strata::tables {

namespace {

constexpr uint32_t batch_magic = 0x42435453;  // "STCB" little endian
constexpr size_t header_bytes = 32;
constexpr size_t header_crc_at = 28;
constexpr size_t entry_fixed_bytes = 20;
constexpr size_t chunk_crc_bytes = 4;
constexpr uint8_t flag_has_ops = 0x01;
constexpr uint8_t stats_flag_min_max = 0x01;
constexpr uint8_t ops_type_byte = 0;
// A batch is one storage-log entry, whose payload is at most 2^30 bytes; a
// decompressed chunk is capped the same way so a hostile batch cannot make a
// reader allocate more than that.
constexpr uint64_t batch_payload_bytes_max = 1ULL << 30;
constexpr uint64_t chunk_raw_bytes_max = 1ULL << 30;
// Each encoding thread keeps a scratch buffer for raw chunks; one grown past
// this by a huge batch is freed rather than held.
constexpr size_t scratch_bytes_kept_max = 64ULL << 20;

error corrupt(const std::string& what) {
  return make_error(errc::corrupt, "columnar batch: " + what + "; the stored batch is damaged");
}

// ---------------------------------------------------------------- bytes

template <class T>
void put(std::vector<uint8_t>& out, T value) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

template <class T>
void put_at(std::vector<uint8_t>& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof(T));
}

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Bounds-checked little-endian reader over untrusted bytes.
class reader {
 public:
  explicit reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  template <class T>
  bool get(T& out) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool get_bytes(size_t n, std::string& out) {
    if (bytes_.size() - pos_ < n) return false;
    out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------- zstd contexts

struct zstd_contexts {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ~zstd_contexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

zstd_contexts& contexts() {
  thread_local zstd_contexts ctx;
  return ctx;
}

// ---------------------------------------------------------------- types

bool valid_type(const column_type& t) {
  uint8_t id = uint8_t(t.id);
  if (id < uint8_t(type_id::boolean) || id > uint8_t(type_id::timestamptz)) return false;
  if (t.id == type_id::numeric) return t.precision >= 1 && t.precision <= numeric_precision_max && t.scale <= t.precision;
  return t.precision == 0 && t.scale == 0 && (t.length_max == 0 || t.id == type_id::text);
}

bool keeps_stats(type_id id) { return id != type_id::bytea && id != type_id::json; }

uint32_t bitmap_bytes(uint32_t rows, uint32_t null_count) { return null_count == 0 ? 0 : (rows + 7) / 8; }

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
