// The on-disk frame of one log entry: a fixed 40-byte header, then the
// payload. Byte layout and recovery rules: docs/formats/log.md (version 1).
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "base/strong.h"

namespace strata::storage {

inline constexpr uint32_t frame_magic = 0x4C525453;  // bytes "STRL"
inline constexpr uint16_t frame_version = 1;
inline constexpr size_t frame_header_bytes = 40;
inline constexpr uint32_t frame_payload_bytes_max = 1u << 30;  // format limit, above any configured entry_bytes_max

struct frame_header {
  uint32_t crc = 0;
  uint32_t payload_bytes = 0;
  log_offset base_offset;
  uint32_t record_count = 0;
  int64_t max_timestamp_ms = 0;

  uint64_t frame_bytes() const { return frame_header_bytes + payload_bytes; }
  log_offset next_offset() const { return base_offset + record_count; }
};

// Writes the header of a frame carrying `payload` into out, CRC included.
void encode_frame_header(std::span<uint8_t, frame_header_bytes> out, log_offset base_offset, uint32_t record_count,
                         int64_t max_timestamp_ms, std::span<const uint8_t> payload);

// Parses and checks a header's fields (not its CRC, which needs the payload).
// errc::corrupt says which field is wrong.
result<frame_header> decode_frame_header(std::span<const uint8_t> in);

// Whether the CRC in `header` (as decoded from header_bytes) covers them and the payload.
bool frame_crc_ok(const frame_header& header, std::span<const uint8_t> header_bytes, std::span<const uint8_t> payload);

// Little-endian field access, shared with the index files.
void put_u16(uint8_t* p, uint16_t v);
void put_u32(uint8_t* p, uint32_t v);
void put_u64(uint8_t* p, uint64_t v);
uint16_t get_u16(const uint8_t* p);
uint32_t get_u32(const uint8_t* p);
uint64_t get_u64(const uint8_t* p);

}  // namespace strata::storage
