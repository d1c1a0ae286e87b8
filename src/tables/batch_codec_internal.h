// Internal to the columnar batch codec (batch_codec.cc encodes,
// batch_decode.cc reads): layout constants and byte helpers both sides share.
// Not part of the tables API; include only from those two files.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "tables/batch_codec.h"

namespace strata::tables::batch_detail {

inline constexpr uint32_t batch_magic = 0x42435453;  // "STCB" little endian
inline constexpr size_t header_bytes = 32;
inline constexpr size_t header_crc_at = 28;
inline constexpr size_t entry_fixed_bytes = 20;
inline constexpr size_t chunk_crc_bytes = 4;
inline constexpr uint8_t flag_has_ops = 0x01;
inline constexpr uint8_t stats_flag_min_max = 0x01;
inline constexpr uint8_t ops_type_byte = 0;
// A batch is one storage-log entry, whose payload is at most 2^30 bytes; a
// decompressed chunk is capped the same way so a hostile batch cannot make a
// reader allocate more than that.
inline constexpr uint64_t batch_payload_bytes_max = 1ULL << 30;
inline constexpr uint64_t chunk_raw_bytes_max = 1ULL << 30;
// Each encoding thread keeps a scratch buffer for raw chunks; one grown past
// this by a huge batch is freed rather than held.
inline constexpr size_t scratch_bytes_kept_max = 64ULL << 20;

inline error corrupt(const std::string& what) {
  return make_error(errc::corrupt, "columnar batch: " + what + "; the stored batch is damaged");
}

// ---------------------------------------------------------------- bytes

template <class T>
inline void put(std::vector<uint8_t>& out, T value) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

template <class T>
inline void put_at(std::vector<uint8_t>& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof(T));
}

template <class T>
inline T load(const uint8_t* p) {
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

inline zstd_contexts& contexts() {
  thread_local zstd_contexts ctx;
  return ctx;
}

// ---------------------------------------------------------------- types

inline bool valid_type(const column_type& t) {
  uint8_t id = uint8_t(t.id);
  if (id < uint8_t(type_id::boolean) || id > uint8_t(type_id::timestamptz)) return false;
  if (t.id == type_id::numeric) return t.precision >= 1 && t.precision <= numeric_precision_max && t.scale <= t.precision;
  return t.precision == 0 && t.scale == 0 && (t.length_max == 0 || t.id == type_id::text);
}

inline bool keeps_stats(type_id id) { return id != type_id::bytea && id != type_id::json; }

inline uint32_t bitmap_bytes(uint32_t rows, uint32_t null_count) { return null_count == 0 ? 0 : (rows + 7) / 8; }

}  // namespace strata::tables::batch_detail
