#include "storage/frame.h"

#include <limits>
#include <string>

#include "base/crc32c.h"

namespace strata::storage {
namespace {

// Field positions; see docs/formats/log.md.
constexpr size_t magic_at = 0;
constexpr size_t crc_at = 4;
constexpr size_t crc_covered_from = 8;
constexpr size_t version_at = 8;
constexpr size_t header_bytes_at = 10;
constexpr size_t payload_bytes_at = 12;
constexpr size_t base_offset_at = 16;
constexpr size_t record_count_at = 24;
constexpr size_t reserved_at = 28;
constexpr size_t max_timestamp_at = 32;

uint32_t frame_crc(std::span<const uint8_t> header_bytes, std::span<const uint8_t> payload) {
  uint32_t crc = crc32c(header_bytes.data() + crc_covered_from, frame_header_bytes - crc_covered_from);
  return crc32c(payload.data(), payload.size(), crc);
}

error corrupt(const char* what) { return make_error(errc::corrupt, std::string("log frame: ") + what); }

}  // namespace

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void encode_frame_header(std::span<uint8_t, frame_header_bytes> out, log_offset base_offset, uint32_t record_count,
                         int64_t max_timestamp_ms, std::span<const uint8_t> payload) {
  uint8_t* p = out.data();
  put_u32(p + magic_at, frame_magic);
  put_u16(p + version_at, frame_version);
  put_u16(p + header_bytes_at, static_cast<uint16_t>(frame_header_bytes));
  put_u32(p + payload_bytes_at, static_cast<uint32_t>(payload.size()));
  put_u64(p + base_offset_at, static_cast<uint64_t>(base_offset.value));
  put_u32(p + record_count_at, record_count);
  put_u32(p + reserved_at, 0);
  put_u64(p + max_timestamp_at, static_cast<uint64_t>(max_timestamp_ms));
  put_u32(p + crc_at, frame_crc(out, payload));
}

result<frame_header> decode_frame_header(std::span<const uint8_t> in) {
  if (in.size() < frame_header_bytes) return corrupt("header cut short");
  const uint8_t* p = in.data();
  if (get_u32(p + magic_at) != frame_magic) return corrupt("bad magic");
  if (get_u16(p + version_at) != frame_version) return corrupt("unknown version");
  if (get_u16(p + header_bytes_at) != frame_header_bytes) return corrupt("bad header length");
  if (get_u32(p + reserved_at) != 0) return corrupt("reserved field not zero");
  frame_header h;
  h.crc = get_u32(p + crc_at);
  h.payload_bytes = get_u32(p + payload_bytes_at);
  h.base_offset = log_offset(static_cast<int64_t>(get_u64(p + base_offset_at)));
  h.record_count = get_u32(p + record_count_at);
  h.max_timestamp_ms = static_cast<int64_t>(get_u64(p + max_timestamp_at));
  if (h.payload_bytes > frame_payload_bytes_max) return corrupt("payload length over the format limit");
  if (h.record_count == 0) return corrupt("record count is zero");
  if (h.base_offset.value < 0 || h.base_offset.value > std::numeric_limits<int64_t>::max() - h.record_count) {
    return corrupt("offset out of range");
  }
  return h;
}

bool frame_crc_ok(const frame_header& header, std::span<const uint8_t> header_bytes, std::span<const uint8_t> payload) {
  return header_bytes.size() >= frame_header_bytes && frame_crc(header_bytes, payload) == header.crc;
}

}  // namespace strata::storage
