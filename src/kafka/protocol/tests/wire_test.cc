#include "kafka/protocol/wire.h"

#include <gtest/gtest.h>

#include <limits>

namespace strata::kafka {

TEST(Wire, RoundTripsEveryPrimitive) {
  std::vector<uint8_t> buf;
  writer w(buf);
  w.i8(-3);
  w.i16(-300);
  w.i32(123456789);
  w.i64(std::numeric_limits<int64_t>::min());
  w.varint(-1);
  w.varint(std::numeric_limits<int32_t>::max());
  w.varlong(std::numeric_limits<int64_t>::min());
  w.uvarint(300);
  w.string("hello", false);
  w.string("compact", true);
  w.nullable_string(std::nullopt, false);
  w.nullable_string(std::nullopt, true);
  w.array_length(-1, true);
  w.array_length(2, false);
  w.empty_tagged_fields();

  reader r(buf);
  EXPECT_EQ(r.i8(), -3);
  EXPECT_EQ(r.i16(), -300);
  EXPECT_EQ(r.i32(), 123456789);
  EXPECT_EQ(r.i64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.varint(), -1);
  EXPECT_EQ(r.varint(), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(r.varlong(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.uvarint(), 300u);
  EXPECT_EQ(r.string(false), "hello");
  EXPECT_EQ(r.string(true), "compact");
  EXPECT_EQ(r.nullable_string(false), std::nullopt);
  EXPECT_EQ(r.nullable_string(true), std::nullopt);
  EXPECT_EQ(r.array_length(true), -1);
  // A count of 2 with no bytes behind it cannot be real: the reader refuses it.
  EXPECT_EQ(r.array_length(false), 0);
  EXPECT_FALSE(r.ok());
}

TEST(Wire, TruncationFailsAndStaysFailed) {
  std::vector<uint8_t> buf{0x00, 0x05, 'a', 'b'};
  reader r(buf);
  EXPECT_EQ(r.string(false), "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.i32(), 0);
  EXPECT_FALSE(r.ok());
}

TEST(Wire, OverlongVarintFails) {
  std::vector<uint8_t> buf(11, 0xFF);
  reader r(buf);
  (void)r.varlong();
  EXPECT_FALSE(r.ok());
  reader r2(buf);
  (void)r2.uvarint();
  EXPECT_FALSE(r2.ok());
}

TEST(Wire, HostileArrayLengthIsRefused) {
  std::vector<uint8_t> buf{0x7F, 0xFF, 0xFF, 0xFF};
  reader r(buf);
  EXPECT_EQ(r.array_length(false), 0);
  EXPECT_FALSE(r.ok());
}

}  // namespace strata::kafka
