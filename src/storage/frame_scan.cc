#include "storage/frame_scan.h"

#include <algorithm>
#include <array>

#include "base/crc32c.h"

namespace strata::storage {

result<std::span<const uint8_t>> file_window::get(uint64_t pos, size_t n) {
  if (pos >= end_pos_) return std::span<const uint8_t>();
  n = static_cast<size_t>(std::min<uint64_t>(n, end_pos_ - pos));
  bool inside = pos >= buf_pos_ && pos + n <= buf_pos_ + buf_.size();
  if (!inside) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(std::max(n, chunk_bytes_), end_pos_ - pos));
    buf_.resize(len);
    auto got = file_.read_at(pos, buf_);
    STRATA_TRY(got);
    buf_.resize(*got);
    buf_pos_ = pos;
    n = std::min(n, *got);
  }
  return std::span<const uint8_t>(buf_.data() + (pos - buf_pos_), n);
}

namespace {

// The CRC over the header fields and the payload, read in chunk-sized pieces
// so that a bogus length never makes us hold a huge frame in memory.
result<bool> crc_matches(file_window& w, const frame_header& h, std::span<const uint8_t> header_bytes, uint64_t pos,
                         size_t chunk_bytes) {
  constexpr size_t covered_from = 8;
  uint32_t crc = crc32c(header_bytes.data() + covered_from, frame_header_bytes - covered_from);
  uint64_t at = pos + frame_header_bytes;
  uint64_t left = h.payload_bytes;
  while (left > 0) {
    auto piece = w.get(at, static_cast<size_t>(std::min<uint64_t>(left, chunk_bytes)));
    STRATA_TRY(piece);
    if (piece->empty()) return false;
    crc = crc32c(piece->data(), piece->size(), crc);
    at += piece->size();
    left -= piece->size();
  }
  return crc == h.crc;
}

}  // namespace

result<scan_result> scan_frames(io::file& f, uint64_t pos, uint64_t end_pos, log_offset expected, crc_check crc,
                                size_t chunk_bytes, const frame_visitor& visit) {
  file_window w(f, end_pos, chunk_bytes);
  scan_result out{pos, expected, false, false, {}};
  auto bad = [&](std::string why) {
    out.bad_frame = true;
    out.problem = std::move(why);
    return out;
  };
  while (out.end_pos < end_pos) {
    auto bytes = w.get(out.end_pos, frame_header_bytes);
    STRATA_TRY(bytes);
    if (bytes->size() < frame_header_bytes) return bad("frame header cut short");
    auto h = decode_frame_header(*bytes);
    if (!h.ok()) return bad(h.err().message);
    if (h->frame_bytes() > end_pos - out.end_pos) return bad("frame runs past the end of the file");
    if (h->base_offset != out.next_offset) return bad("frame offset breaks the sequence");
    if (crc == crc_check::verify) {
      std::array<uint8_t, frame_header_bytes> header_copy;
      std::copy(bytes->begin(), bytes->end(), header_copy.begin());
      auto ok = crc_matches(w, *h, header_copy, out.end_pos, chunk_bytes);
      STRATA_TRY(ok);
      if (!*ok) return bad("frame CRC mismatch");
    }
    if (!visit(*h, out.end_pos)) {
      out.stopped = true;
      return out;
    }
    out.end_pos += h->frame_bytes();
    out.next_offset = h->next_offset();
  }
  return out;
}

}  // namespace strata::storage
