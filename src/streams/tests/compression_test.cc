#include "streams/compression.h"

#include <gtest/gtest.h>

#include <random>

#include "streams/tests/compress_util.h"

namespace strata::streams {

namespace {
std::vector<uint8_t> sample_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(42);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i % 7 == 0 ? rng() : i);
  return v;
}
}  // namespace

class CompressionRoundTrip : public ::testing::TestWithParam<codec> {};

TEST_P(CompressionRoundTrip, InflatesWhatClientsCompress) {
  auto input = sample_bytes(300'000);
  auto compressed = testing::compress(GetParam(), input);
  auto out = decompress(GetParam(), compressed, 1 << 20);
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_EQ(*out, input);
}

TEST_P(CompressionRoundTrip, RefusesOutputPastTheLimit) {
  std::vector<uint8_t> zeros(1 << 20, 0);  // a tiny input that inflates a lot
  auto compressed = testing::compress(GetParam(), zeros);
  auto out = decompress(GetParam(), compressed, 4096);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.code(), errc::limit_exceeded);
}

TEST_P(CompressionRoundTrip, RefusesGarbageAndTruncation) {
  std::vector<uint8_t> garbage(1000, 0xAB);
  EXPECT_FALSE(decompress(GetParam(), garbage, 1 << 20).ok());
  auto compressed = testing::compress(GetParam(), sample_bytes(100'000));
  compressed.resize(compressed.size() / 2);
  EXPECT_FALSE(decompress(GetParam(), compressed, 1 << 20).ok());
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressionRoundTrip, ::testing::Values(codec::gzip, codec::snappy, codec::lz4, codec::zstd));

TEST(Compression, ReadsXerialFramedSnappy) {
  auto input = sample_bytes(200'000);
  auto framed = testing::xerial_snappy(input, 32 * 1024);
  auto out = decompress(codec::snappy, framed, 1 << 20);
  ASSERT_TRUE(out.ok()) << out.err().message;
  EXPECT_EQ(*out, input);
}

}  // namespace strata::streams
