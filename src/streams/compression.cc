#include "streams/compression.h"

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>

namespace strata::streams {

namespace {

constexpr size_t chunk_bytes = 64 * 1024;

error too_large(uint64_t limit) {
  return make_error(errc::limit_exceeded, fmt::format("decompressed records exceed {} bytes", limit));
}

result<std::vector<uint8_t>> inflate_gzip(std::span<const uint8_t> in, uint64_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return make_error(errc::internal, "zlib inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  std::vector<uint8_t> out;
  for (;;) {
    size_t at = out.size();
    if (at >= limit) return too_large(limit);
    out.resize(std::min<uint64_t>(at + chunk_bytes, limit));
    zs.next_out = out.data() + at;
    zs.avail_out = static_cast<uInt>(out.size() - at);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(out.size() - zs.avail_out);
    if (rc == Z_STREAM_END) return out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return make_error(errc::corrupt, "gzip records are malformed");
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) return make_error(errc::corrupt, "gzip records are truncated");
  }
}

status snappy_block(std::span<const uint8_t> block, uint64_t limit, std::vector<uint8_t>& out) {
  size_t length = 0;
  auto src = reinterpret_cast<const char*>(block.data());
  if (snappy_uncompressed_length(src, block.size(), &length) != SNAPPY_OK) {
    return make_error(errc::corrupt, "snappy records are malformed");
  }
  if (out.size() + length > limit) return too_large(limit);
  size_t at = out.size();
  out.resize(at + length);
  if (snappy_uncompress(src, block.size(), reinterpret_cast<char*>(out.data() + at), &length) != SNAPPY_OK) {
    return make_error(errc::corrupt, "snappy records are malformed");
  }
  return {};
}

// Java clients frame snappy as: magic "\x82SNAPPY\0", version i32, compatible
// version i32, then blocks of [length i32][raw snappy].
result<std::vector<uint8_t>> inflate_snappy(std::span<const uint8_t> in, uint64_t limit) {
  static constexpr uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  constexpr size_t xerial_header_bytes = 16;
  std::vector<uint8_t> out;
  if (in.size() < xerial_header_bytes || std::memcmp(in.data(), xerial_magic, sizeof(xerial_magic)) != 0) {
    STRATA_TRY(snappy_block(in, limit, out));
    return out;
  }
  size_t pos = xerial_header_bytes;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return make_error(errc::corrupt, "snappy block header is truncated");
    uint32_t length = (uint32_t{in[pos]} << 24) | (uint32_t{in[pos + 1]} << 16) | (uint32_t{in[pos + 2]} << 8) | in[pos + 3];
    pos += 4;
    if (length > in.size() - pos) return make_error(errc::corrupt, "snappy block is truncated");
    STRATA_TRY(snappy_block(in.subspan(pos, length), limit, out));
    pos += length;
  }
  return out;
}

result<std::vector<uint8_t>> inflate_lz4(std::span<const uint8_t> in, uint64_t limit) {
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) return make_error(errc::internal, "lz4 context failed");
  std::unique_ptr<LZ4F_dctx, size_t (*)(LZ4F_dctx*)> guard(dctx, LZ4F_freeDecompressionContext);
  std::vector<uint8_t> out;
  size_t pos = 0;
  for (;;) {
    size_t at = out.size();
    if (at >= limit) return too_large(limit);
    out.resize(std::min<uint64_t>(at + chunk_bytes, limit));
    size_t out_bytes = out.size() - at;
    size_t in_bytes = in.size() - pos;
    size_t hint = LZ4F_decompress(dctx, out.data() + at, &out_bytes, in.data() + pos, &in_bytes, nullptr);
    out.resize(at + out_bytes);
    pos += in_bytes;
    if (LZ4F_isError(hint)) return make_error(errc::corrupt, fmt::format("lz4 records are malformed: {}", LZ4F_getErrorName(hint)));
    if (hint == 0) return out;
    if (pos == in.size() && out_bytes == 0) return make_error(errc::corrupt, "lz4 records are truncated");
  }
}

result<std::vector<uint8_t>> inflate_zstd(std::span<const uint8_t> in, uint64_t limit) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(), ZSTD_freeDStream);
  if (!ds) return make_error(errc::internal, "zstd context failed");
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::vector<uint8_t> out;
  for (;;) {
    size_t at = out.size();
    if (at >= limit) return too_large(limit);
    out.resize(std::min<uint64_t>(at + chunk_bytes, limit));
    ZSTD_outBuffer output{out.data() + at, out.size() - at, 0};
    size_t rc = ZSTD_decompressStream(ds.get(), &output, &input);
    out.resize(at + output.pos);
    if (ZSTD_isError(rc)) return make_error(errc::corrupt, fmt::format("zstd records are malformed: {}", ZSTD_getErrorName(rc)));
    if (rc == 0) return out;
    if (input.pos == input.size && output.pos == 0) return make_error(errc::corrupt, "zstd records are truncated");
  }
}

result<std::vector<uint8_t>> deflate_gzip(std::span<const uint8_t> in) {
  z_stream zs{};
  constexpr int gzip_window_bits = 16 + MAX_WBITS;
  constexpr int memory_level = 8;
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip_window_bits, memory_level, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(errc::internal, "zlib deflateInit2 failed");
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) return make_error(errc::internal, "gzip compression failed");
  out.resize(zs.total_out);
  return out;
}

void put_u32_be(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

result<std::vector<uint8_t>> deflate_snappy(std::span<const uint8_t> in) {
  static constexpr uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  constexpr uint32_t xerial_version = 1;
  constexpr size_t block_bytes = 32 * 1024;  // as Java clients write
  std::vector<uint8_t> out(std::begin(xerial_magic), std::end(xerial_magic));
  put_u32_be(out, xerial_version);
  put_u32_be(out, xerial_version);  // compatible version
  std::vector<char> block(snappy_max_compressed_length(block_bytes));
  for (size_t pos = 0; pos < in.size(); pos += block_bytes) {
    size_t n = std::min(block_bytes, in.size() - pos);
    size_t length = block.size();
    if (snappy_compress(reinterpret_cast<const char*>(in.data() + pos), n, block.data(), &length) != SNAPPY_OK) {
      return make_error(errc::internal, "snappy compression failed");
    }
    put_u32_be(out, static_cast<uint32_t>(length));
    out.insert(out.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(length));
  }
  return out;
}

result<std::vector<uint8_t>> deflate_lz4(std::span<const uint8_t> in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;  // Java clients inflate each block on its own
  std::vector<uint8_t> out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return make_error(errc::internal, fmt::format("lz4 compression failed: {}", LZ4F_getErrorName(n)));
  out.resize(n);
  return out;
}

result<std::vector<uint8_t>> deflate_zstd(std::span<const uint8_t> in) {
  constexpr int level = 3;  // zstd's default, as Kafka's
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n)) return make_error(errc::internal, fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

}  // namespace

result<std::vector<uint8_t>> compress(codec c, std::span<const uint8_t> input) {
  switch (c) {
    case codec::none: return std::vector<uint8_t>(input.begin(), input.end());
    case codec::gzip: return deflate_gzip(input);
    case codec::snappy: return deflate_snappy(input);
    case codec::lz4: return deflate_lz4(input);
    case codec::zstd: return deflate_zstd(input);
  }
  return make_error(errc::unsupported, fmt::format("compression codec {} is unknown", static_cast<int>(c)));
}

result<std::vector<uint8_t>> decompress(codec c, std::span<const uint8_t> input, uint64_t output_bytes_max) {
  switch (c) {
    case codec::none: return std::vector<uint8_t>(input.begin(), input.end());
    case codec::gzip: return inflate_gzip(input, output_bytes_max);
    case codec::snappy: return inflate_snappy(input, output_bytes_max);
    case codec::lz4: return inflate_lz4(input, output_bytes_max);
    case codec::zstd: return inflate_zstd(input, output_bytes_max);
  }
  return make_error(errc::unsupported, fmt::format("compression codec {} is unknown", static_cast<int>(c)));
}

}  // namespace strata::streams
