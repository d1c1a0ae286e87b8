// Kafka primitive types on the wire: big-endian integers, zig-zag varints,
// (compact) strings, bytes and arrays, and tagged fields. See
// docs/formats/kafka-wire.md for the framing and the version rules.
//
// reader never throws and never reads out of bounds: the first malformed or
// truncated field makes it fail(), every later read returns a zero value, and
// the caller checks ok() once at the end of decoding.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata::kafka {

using uuid = std::array<uint8_t, 16>;

class reader {
 public:
  explicit reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  int8_t i8();
  int16_t i16();
  int32_t i32();
  int64_t i64();
  uint32_t u32();
  bool boolean() { return i8() != 0; }
  double f64();
  uuid read_uuid();
  int32_t varint();    // zig-zag signed
  int64_t varlong();   // zig-zag signed
  uint32_t uvarint();  // unsigned

  // STRING / COMPACT_STRING. A null where a non-null string is required fails.
  std::string string(bool flexible);
  std::optional<std::string> nullable_string(bool flexible);
  // BYTES / COMPACT_BYTES as a view into the input; nullopt for null.
  std::optional<std::span<const uint8_t>> nullable_bytes(bool flexible);
  std::span<const uint8_t> bytes(bool flexible);
  // ARRAY / COMPACT_ARRAY length; -1 for null. Fails if the count could not
  // possibly fit in the remaining bytes (each element takes >= 1 byte), which
  // bounds the memory a hostile length can make the decoder reserve.
  int32_t array_length(bool flexible);
  // Skips a tagged-field section (flexible versions only).
  void skip_tagged_fields();

  std::span<const uint8_t> raw(size_t n);
  void fail() { ok_ = false; pos_ = bytes_.size(); }
  bool ok() const { return ok_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  bool need(size_t n);
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

class writer {
 public:
  writer() = default;
  explicit writer(std::vector<uint8_t>& out) : out_(&out) {}
  writer(const writer&) = delete;  // out_ may point at own_
  writer& operator=(const writer&) = delete;

  void i8(int8_t v);
  void i16(int16_t v);
  void i32(int32_t v);
  void i64(int64_t v);
  void u32(uint32_t v);
  void boolean(bool v) { i8(v ? 1 : 0); }
  void f64(double v);
  void write_uuid(const uuid& v);
  void varint(int32_t v);
  void varlong(int64_t v);
  void uvarint(uint32_t v);

  void string(std::string_view s, bool flexible);
  void nullable_string(const std::optional<std::string>& s, bool flexible);
  void bytes(std::span<const uint8_t> b, bool flexible);
  void nullable_bytes(const std::optional<std::span<const uint8_t>>& b, bool flexible);
  // Writes an array length; -1 for a null array.
  void array_length(int32_t n, bool flexible);
  // Writes an empty tagged-field section (flexible versions only).
  void empty_tagged_fields() { uvarint(0); }
  void raw(std::span<const uint8_t> b);

  // Reserves 4 bytes for a length filled in later by patch_i32.
  size_t reserve_i32();
  void patch_i32(size_t at, int32_t v);

  std::vector<uint8_t>& buffer() { return *out_; }
  size_t size() const { return out_->size(); }

 private:
  std::vector<uint8_t> own_;
  std::vector<uint8_t>* out_ = &own_;
};

}  // namespace strata::kafka
