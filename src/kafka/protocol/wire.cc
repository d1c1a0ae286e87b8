#include "kafka/protocol/wire.h"

#include <bit>
#include <cstring>

namespace strata::kafka {

namespace {
template <class T>
T load_be(const uint8_t* p) {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((v << 8) | p[i]);
  return static_cast<T>(v);
}
template <class T>
void store_be(std::vector<uint8_t>& out, T value) {
  using U = std::make_unsigned_t<T>;
  U v = static_cast<U>(value);
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i))));
}
}  // namespace

bool reader::need(size_t n) {
  if (!ok_ || remaining() < n) {
    fail();
    return false;
  }
  return true;
}

int8_t reader::i8() {
  if (!need(1)) return 0;
  return static_cast<int8_t>(bytes_[pos_++]);
}
int16_t reader::i16() {
  if (!need(2)) return 0;
  auto v = load_be<int16_t>(bytes_.data() + pos_);
  pos_ += 2;
  return v;
}
int32_t reader::i32() {
  if (!need(4)) return 0;
  auto v = load_be<int32_t>(bytes_.data() + pos_);
  pos_ += 4;
  return v;
}
int64_t reader::i64() {
  if (!need(8)) return 0;
  auto v = load_be<int64_t>(bytes_.data() + pos_);
  pos_ += 8;
  return v;
}
uint32_t reader::u32() { return static_cast<uint32_t>(i32()); }
double reader::f64() { return std::bit_cast<double>(static_cast<uint64_t>(i64())); }

uuid reader::read_uuid() {
  uuid v{};
  auto b = raw(16);
  if (ok()) std::memcpy(v.data(), b.data(), 16);
  return v;
}

uint32_t reader::uvarint() {
  uint32_t v = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (!need(1)) return 0;
    uint8_t b = bytes_[pos_++];
    if (shift == 28 && (b & 0xF0) != 0) break;  // more than 32 bits
    v |= static_cast<uint32_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail();
  return 0;
}

int32_t reader::varint() {
  uint32_t v = uvarint();
  return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
}

int64_t reader::varlong() {
  uint64_t v = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (!need(1)) return 0;
    uint8_t b = bytes_[pos_++];
    if (shift == 63 && (b & 0xFE) != 0) break;  // more than 64 bits
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  fail();
  return 0;
}

std::span<const uint8_t> reader::raw(size_t n) {
  if (!need(n)) return {};
  auto s = bytes_.subspan(pos_, n);
  pos_ += n;
  return s;
}

std::optional<std::span<const uint8_t>> reader::nullable_bytes(bool flexible) {
  int64_t len = flexible ? static_cast<int64_t>(uvarint()) - 1 : i32();
  if (!ok_) return std::nullopt;
  if (len < 0) {
    if (len != -1) fail();
    return std::nullopt;
  }
  return raw(static_cast<size_t>(len));
}

std::span<const uint8_t> reader::bytes(bool flexible) {
  auto b = nullable_bytes(flexible);
  if (!b) {
    fail();
    return {};
  }
  return *b;
}

std::optional<std::string> reader::nullable_string(bool flexible) {
  int64_t len = flexible ? static_cast<int64_t>(uvarint()) - 1 : i16();
  if (!ok_) return std::nullopt;
  if (len < 0) {
    if (len != -1) fail();
    return std::nullopt;
  }
  auto b = raw(static_cast<size_t>(len));
  if (!ok_) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string reader::string(bool flexible) {
  auto s = nullable_string(flexible);
  if (!s) {
    fail();
    return {};
  }
  return std::move(*s);
}

int32_t reader::array_length(bool flexible) {
  int64_t n = flexible ? static_cast<int64_t>(uvarint()) - 1 : i32();
  if (!ok_) return 0;
  if (n < -1 || (n > 0 && static_cast<uint64_t>(n) > remaining())) {
    fail();
    return 0;
  }
  return static_cast<int32_t>(n);
}

void reader::skip_tagged_fields() {
  uint32_t count = uvarint();
  if (count > remaining()) {
    fail();
    return;
  }
  for (uint32_t i = 0; i < count && ok_; ++i) {
    (void)uvarint();  // tag
    uint32_t size = uvarint();
    (void)raw(size);
  }
}

void writer::i8(int8_t v) { out_->push_back(static_cast<uint8_t>(v)); }
void writer::i16(int16_t v) { store_be(*out_, v); }
void writer::i32(int32_t v) { store_be(*out_, v); }
void writer::i64(int64_t v) { store_be(*out_, v); }
void writer::u32(uint32_t v) { store_be(*out_, v); }
void writer::f64(double v) { store_be(*out_, std::bit_cast<uint64_t>(v)); }
void writer::write_uuid(const uuid& v) { out_->insert(out_->end(), v.begin(), v.end()); }

void writer::uvarint(uint32_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<uint8_t>(v));
}

void writer::varint(int32_t v) {
  uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

void writer::varlong(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out_->push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out_->push_back(static_cast<uint8_t>(z));
}

void writer::raw(std::span<const uint8_t> b) { out_->insert(out_->end(), b.begin(), b.end()); }

void writer::string(std::string_view s, bool flexible) {
  if (flexible) {
    uvarint(static_cast<uint32_t>(s.size() + 1));
  } else {
    i16(static_cast<int16_t>(s.size()));
  }
  out_->insert(out_->end(), s.begin(), s.end());
}

void writer::nullable_string(const std::optional<std::string>& s, bool flexible) {
  if (s) {
    string(*s, flexible);
  } else if (flexible) {
    uvarint(0);
  } else {
    i16(-1);
  }
}

void writer::bytes(std::span<const uint8_t> b, bool flexible) {
  if (flexible) {
    uvarint(static_cast<uint32_t>(b.size() + 1));
  } else {
    i32(static_cast<int32_t>(b.size()));
  }
  raw(b);
}

void writer::nullable_bytes(const std::optional<std::span<const uint8_t>>& b, bool flexible) {
  if (b) {
    bytes(*b, flexible);
  } else if (flexible) {
    uvarint(0);
  } else {
    i32(-1);
  }
}

void writer::array_length(int32_t n, bool flexible) {
  if (flexible) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(n);
  }
}

size_t writer::reserve_i32() {
  size_t at = out_->size();
  i32(0);
  return at;
}

void writer::patch_i32(size_t at, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) (*out_)[at + i] = static_cast<uint8_t>(u >> (8 * (3 - i)));
}

}  // namespace strata::kafka
