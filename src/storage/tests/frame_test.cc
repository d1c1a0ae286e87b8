#include "storage/frame.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace strata::storage {
namespace {

std::array<uint8_t, frame_header_bytes> header_for(std::span<const uint8_t> payload, int64_t base = 7, uint32_t count = 3,
                                                   int64_t ts = 1'700'000'000'000) {
  std::array<uint8_t, frame_header_bytes> h{};
  encode_frame_header(h, log_offset(base), count, ts, payload);
  return h;
}

TEST(Frame, RoundTrip) {
  std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  auto bytes = header_for(payload);
  auto h = decode_frame_header(bytes);
  ASSERT_TRUE(h.ok()) << h.err().message;
  EXPECT_EQ(h->payload_bytes, 5u);
  EXPECT_EQ(h->base_offset, log_offset(7));
  EXPECT_EQ(h->record_count, 3u);
  EXPECT_EQ(h->max_timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(h->next_offset(), log_offset(10));
  EXPECT_EQ(h->frame_bytes(), frame_header_bytes + 5);
  EXPECT_TRUE(frame_crc_ok(*h, bytes, payload));
}

TEST(Frame, ByteLayoutMatchesTheFormatDoc) {
  std::vector<uint8_t> payload = {0xAA};
  auto b = header_for(payload, 0x0102030405060708, 9, -1);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "STRL");
  EXPECT_EQ(b[8], 1);   // version, little-endian u16
  EXPECT_EQ(b[9], 0);
  EXPECT_EQ(b[10], 40); // header length
  EXPECT_EQ(b[12], 1);  // payload length
  EXPECT_EQ(b[16], 0x08);  // base offset, little-endian
  EXPECT_EQ(b[23], 0x01);
  EXPECT_EQ(b[24], 9);     // record count
  for (int i = 28; i < 32; ++i) EXPECT_EQ(b[i], 0) << "reserved";
  for (int i = 32; i < 40; ++i) EXPECT_EQ(b[i], 0xFF) << "timestamp -1";
}

TEST(Frame, CrcCoversHeaderFieldsAndPayload) {
  std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  auto bytes = header_for(payload);
  auto h = decode_frame_header(bytes);
  ASSERT_TRUE(h.ok());
  auto bad_payload = payload;
  bad_payload[2] ^= 1;
  EXPECT_FALSE(frame_crc_ok(*h, bytes, bad_payload));
  for (size_t i = 8; i < frame_header_bytes; ++i) {
    if (i >= 28 && i < 32) continue;  // reserved bytes are rejected by decode instead
    auto changed = bytes;
    changed[i] ^= 0x10;
    auto hc = decode_frame_header(changed);
    if (hc.ok()) {
      EXPECT_FALSE(frame_crc_ok(*hc, changed, payload)) << "byte " << i;
    }
  }
}

TEST(Frame, DecodeRejectsMalformedHeaders) {
  std::vector<uint8_t> payload = {1};
  auto good = header_for(payload);
  auto expect_corrupt = [](std::span<const uint8_t> b) {
    auto h = decode_frame_header(b);
    EXPECT_EQ(h.code(), errc::corrupt);
  };
  expect_corrupt(std::span<const uint8_t>(good).first(39));
  auto b = good;
  b[0] = 'X';
  expect_corrupt(b);
  b = good;
  b[8] = 2;  // version
  expect_corrupt(b);
  b = good;
  b[10] = 41;  // header length
  expect_corrupt(b);
  expect_corrupt(header_for(payload, 5, 0));  // zero records
  expect_corrupt(header_for(payload, -1, 1));  // negative offset
  expect_corrupt(header_for(payload, INT64_MAX, 1));  // offset overflow
  b = good;
  b[15] = 0x80;  // payload length over the format limit
  expect_corrupt(b);
  std::array<uint8_t, frame_header_bytes> zeros{};
  expect_corrupt(zeros);
}

TEST(Frame, LittleEndianHelpers) {
  uint8_t b[8];
  put_u64(b, 0x1122334455667788ULL);
  EXPECT_EQ(b[0], 0x88);
  EXPECT_EQ(get_u64(b), 0x1122334455667788ULL);
  put_u32(b, 0xA1B2C3D4);
  EXPECT_EQ(b[3], 0xA1);
  EXPECT_EQ(get_u32(b), 0xA1B2C3D4u);
  put_u16(b, 0xBEEF);
  EXPECT_EQ(get_u16(b), 0xBEEF);
}

}  // namespace
}  // namespace strata::storage
