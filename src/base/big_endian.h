// Big-endian (network order) integers in byte buffers, as PostgreSQL's wire
// and COPY BINARY formats write them.
#pragma once

#include <cstdint>
#include <string>

namespace strata {

inline uint16_t load_be16(const uint8_t* p) { return uint16_t((uint16_t(p[0]) << 8) | p[1]); }

inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

inline uint64_t load_be64(const uint8_t* p) { return (uint64_t(load_be32(p)) << 32) | load_be32(p + 4); }

inline void append_be16(std::string& out, uint16_t v) {
  const char b[2] = {char(v >> 8), char(v & 0xff)};
  out.append(b, 2);
}

inline void append_be32(std::string& out, uint32_t v) {
  const char b[4] = {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
  out.append(b, 4);
}

inline void append_be64(std::string& out, uint64_t v) {
  append_be32(out, uint32_t(v >> 32));
  append_be32(out, uint32_t(v & 0xffffffffu));
}

// The same bytes as a string of their own (fixed message parts, tests).
inline std::string be16_bytes(uint16_t v) {
  std::string out;
  append_be16(out, v);
  return out;
}

inline std::string be32_bytes(uint32_t v) {
  std::string out;
  append_be32(out, v);
  return out;
}

}  // namespace strata
