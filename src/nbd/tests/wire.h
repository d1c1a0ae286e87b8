// Test helpers: build client messages and parse server messages byte by byte,
// independently of the server's own encoders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nbd/protocol.h"

namespace strata::nbd::testing {

inline void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}
inline void put64(std::vector<uint8_t>& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v >> 32));
  put32(out, static_cast<uint32_t>(v));
}
inline void put_text(std::vector<uint8_t>& out, const std::string& s) { out.insert(out.end(), s.begin(), s.end()); }

// C: IHAVEOPT, option, length, data.
inline std::vector<uint8_t> option_bytes(uint32_t option, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out;
  put_text(out, "IHAVEOPT");
  put32(out, option);
  put32(out, static_cast<uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The data of NBD_OPT_INFO / NBD_OPT_GO.
inline std::vector<uint8_t> info_data(const std::string& name, const std::vector<uint16_t>& requests = {}) {
  std::vector<uint8_t> out;
  put32(out, static_cast<uint32_t>(name.size()));
  put_text(out, name);
  put16(out, static_cast<uint16_t>(requests.size()));
  for (uint16_t r : requests) put16(out, r);
  return out;
}

// The data of NBD_OPT_{LIST,SET}_META_CONTEXT.
inline std::vector<uint8_t> meta_data(const std::string& name, const std::vector<std::string>& queries) {
  std::vector<uint8_t> out;
  put32(out, static_cast<uint32_t>(name.size()));
  put_text(out, name);
  put32(out, static_cast<uint32_t>(queries.size()));
  for (const auto& q : queries) {
    put32(out, static_cast<uint32_t>(q.size()));
    put_text(out, q);
  }
  return out;
}

inline std::vector<uint8_t> request_bytes(uint16_t type, uint16_t flags, uint64_t handle, uint64_t offset,
                                          uint32_t length) {
  std::vector<uint8_t> out;
  put32(out, 0x25609513);
  put16(out, flags);
  put16(out, type);
  put64(out, handle);
  put64(out, offset);
  put32(out, length);
  return out;
}

struct option_reply_msg {
  uint32_t option = 0;
  uint32_t type = 0;
  std::vector<uint8_t> data;
};

// Splits a run of option replies; fails the parse (returns false) on bad magic or truncation.
inline bool parse_option_replies(const std::vector<uint8_t>& bytes, std::vector<option_reply_msg>& out) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 20) return false;
    if (load_u64(&bytes[at]) != 0x3e889045565a9ULL) return false;
    option_reply_msg m;
    m.option = load_u32(&bytes[at + 8]);
    m.type = load_u32(&bytes[at + 12]);
    uint32_t length = load_u32(&bytes[at + 16]);
    at += 20;
    if (bytes.size() - at < length) return false;
    m.data.assign(bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + length));
    at += length;
    out.push_back(std::move(m));
  }
  return true;
}

struct chunk {
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t handle = 0;
  std::vector<uint8_t> payload;
};

// Splits a run of structured reply chunks.
inline bool parse_chunks(const std::vector<uint8_t>& bytes, std::vector<chunk>& out) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 20 || load_u32(&bytes[at]) != 0x668e33ef) return false;
    chunk c;
    c.flags = load_u16(&bytes[at + 4]);
    c.type = load_u16(&bytes[at + 6]);
    c.handle = load_u64(&bytes[at + 8]);
    uint32_t length = load_u32(&bytes[at + 16]);
    at += 20;
    if (bytes.size() - at < length) return false;
    c.payload.assign(bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + length));
    at += length;
    out.push_back(std::move(c));
  }
  return true;
}

}  // namespace strata::nbd::testing
