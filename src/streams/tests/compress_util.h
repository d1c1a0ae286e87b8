// Test-only compressors, producing what Kafka clients send.
#pragma once

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <span>
#include <vector>

#include "streams/compression.h"

namespace strata::streams::testing {

inline std::vector<uint8_t> compress(codec c, std::span<const uint8_t> in) {
  std::vector<uint8_t> out;
  switch (c) {
    case codec::none: return {in.begin(), in.end()};
    case codec::gzip: {
      z_stream zs{};
      deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      out.resize(deflateBound(&zs, in.size()) + 32);
      zs.next_in = const_cast<Bytef*>(in.data());
      zs.avail_in = static_cast<uInt>(in.size());
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      deflate(&zs, Z_FINISH);
      out.resize(zs.total_out);
      deflateEnd(&zs);
      return out;
    }
    case codec::snappy: {
      size_t n = snappy_max_compressed_length(in.size());
      out.resize(n);
      snappy_compress(reinterpret_cast<const char*>(in.data()), in.size(), reinterpret_cast<char*>(out.data()), &n);
      out.resize(n);
      return out;
    }
    case codec::lz4: {
      out.resize(LZ4F_compressFrameBound(in.size(), nullptr));
      out.resize(LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr));
      return out;
    }
    case codec::zstd: {
      out.resize(ZSTD_compressBound(in.size()));
      out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
      return out;
    }
  }
  return out;
}

// Snappy in the framing Java clients use.
inline std::vector<uint8_t> xerial_snappy(std::span<const uint8_t> in, size_t block_bytes) {
  std::vector<uint8_t> out = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  for (size_t pos = 0; pos < in.size(); pos += block_bytes) {
    auto block = testing::compress(codec::snappy, in.subspan(pos, std::min(block_bytes, in.size() - pos)));
    uint32_t n = static_cast<uint32_t>(block.size());
    out.insert(out.end(), {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}

}  // namespace strata::streams::testing
