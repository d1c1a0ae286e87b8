// The byte-level pieces of the auth store's values (docs/formats/auth-store.md):
// little-endian integers and length-prefixed byte strings, read with bounds
// checks. Internal to auth/.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata::auth::codec {

class writer {
 public:
  void u8(uint8_t v) { out_.push_back(char(v)); }
  void u16(uint16_t v) {
    u8(uint8_t(v));
    u8(uint8_t(v >> 8));
  }
  void u32(uint32_t v) {
    u16(uint16_t(v));
    u16(uint16_t(v >> 16));
  }
  // A u16 length, then the bytes; callers keep fields within 65535 bytes.
  void bytes16(std::string_view b) {
    u16(uint16_t(b.size()));
    out_.append(b);
  }
  void bytes16(std::span<const uint8_t> b) { bytes16(std::string_view(reinterpret_cast<const char*>(b.data()), b.size())); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Every read returns nullopt once the input is short; at_end() tells trailing bytes apart.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  std::optional<uint8_t> u8() {
    if (in_.empty()) return std::nullopt;
    const uint8_t v = uint8_t(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::optional<uint16_t> u16() {
    auto lo = u8();
    auto hi = u8();
    if (!lo || !hi) return std::nullopt;
    return uint16_t(*lo | (*hi << 8));
  }
  std::optional<uint32_t> u32() {
    auto lo = u16();
    auto hi = u16();
    if (!lo || !hi) return std::nullopt;
    return uint32_t(*lo) | (uint32_t(*hi) << 16);
  }
  std::optional<std::string_view> bytes16() {
    auto n = u16();
    if (!n || *n > in_.size()) return std::nullopt;
    const std::string_view b = in_.substr(0, *n);
    in_.remove_prefix(*n);
    return b;
  }
  bool at_end() const { return in_.empty(); }

 private:
  std::string_view in_;
};

inline std::vector<uint8_t> to_vector(std::string_view b) { return {b.begin(), b.end()}; }

}  // namespace strata::auth::codec
