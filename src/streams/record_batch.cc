#include "streams/record_batch.h"

#include <fmt/format.h>

#include <limits>

#include "base/crc32c.h"
#include "kafka/protocol/wire.h"
#include "streams/compression.h"

namespace strata::streams {

int32_t batch_header::last_sequence() const {
  if (base_sequence < 0) return -1;
  int64_t last = int64_t{base_sequence} + last_offset_delta;
  // Sequences wrap at INT32_MAX, as in Kafka.
  return static_cast<int32_t>(last > std::numeric_limits<int32_t>::max()
                                  ? last - std::numeric_limits<int32_t>::max() - 1
                                  : last);
}

std::optional<batch_header> read_batch_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < batch_header_bytes) return std::nullopt;
  kafka::reader r(bytes.first(batch_header_bytes));
  batch_header h;
  h.base_offset = r.i64();
  h.batch_length = r.i32();
  (void)r.i32();  // partitionLeaderEpoch
  h.magic = r.i8();
  h.crc = r.u32();
  h.attributes = r.i16();
  h.last_offset_delta = r.i32();
  h.base_timestamp_ms = r.i64();
  h.max_timestamp_ms = r.i64();
  h.producer_id = r.i64();
  h.producer_epoch = r.i16();
  h.base_sequence = r.i32();
  h.record_count = r.i32();
  if (!r.ok()) return std::nullopt;
  return h;
}

int64_t offset_after_batches(std::span<const uint8_t> batches, int64_t if_none) {
  int64_t after = if_none;
  while (auto h = read_batch_header(batches)) {
    if (h->batch_length < 0 || h->total_bytes() > batches.size()) break;
    after = h->base_offset + h->offset_count();
    batches = batches.subspan(h->total_bytes());
  }
  return after;
}

batch_check check_single_batch(std::span<const uint8_t> bytes) {
  batch_check out;
  auto fail = [&out](batch_problem p, std::string msg) {
    out.problem = p;
    out.message = std::move(msg);
    return out;
  };
  // Message sets of magic 0 and 1 are shorter than a v2 header, so the magic
  // byte (at the same place in every format) is checked first.
  constexpr size_t magic_offset = 16;
  if (bytes.size() > magic_offset && bytes[magic_offset] != 2) {
    return fail(batch_problem::unsupported_magic,
                fmt::format("record batch magic {} is not supported; Strata stores magic 2 batches (Kafka 0.11+ clients)",
                            static_cast<int>(bytes[magic_offset])));
  }
  auto h = read_batch_header(bytes);
  if (!h) return fail(batch_problem::corrupt, fmt::format("record batch of {} bytes is shorter than its header", bytes.size()));
  out.header = *h;
  if (h->batch_length < 0 || h->total_bytes() != bytes.size()) {
    return fail(batch_problem::corrupt,
                fmt::format("record batch length {} does not match the {} bytes sent (Produce v3+ takes exactly one batch per partition)",
                            h->batch_length, bytes.size()));
  }
  auto covered = bytes.subspan(batch_crc_covered_from);
  uint32_t actual = crc32c(covered.data(), covered.size());
  if (actual != h->crc) {
    return fail(batch_problem::corrupt, fmt::format("record batch CRC32C mismatch: header says {:08x}, bytes give {:08x}", h->crc, actual));
  }
  if (h->last_offset_delta < 0 || h->record_count <= 0 || h->record_count != h->last_offset_delta + 1) {
    return fail(batch_problem::invalid_record,
                fmt::format("record batch has {} records but lastOffsetDelta {}", h->record_count, h->last_offset_delta));
  }
  // A control batch (a transaction marker) is well-formed: a follower copies
  // the leader's. Produce refuses clients' own (INVALID_RECORD).
  return out;
}

void assign_batch_offset(std::span<uint8_t> batch, int64_t base_offset, int32_t leader_epoch) {
  STRATA_ASSERT(batch.size() >= batch_header_bytes, "batch shorter than its header");
  auto u = static_cast<uint64_t>(base_offset);
  for (int i = 0; i < 8; ++i) batch[i] = static_cast<uint8_t>(u >> (8 * (7 - i)));
  auto e = static_cast<uint32_t>(leader_epoch);
  for (int i = 0; i < 4; ++i) batch[12 + i] = static_cast<uint8_t>(e >> (8 * (3 - i)));
}

namespace {

// Walks the records of a batch (uncompressed bytes) for the first one at or
// after timestamp_ms.
std::optional<record_position> walk_records(const batch_header& h, std::span<const uint8_t> records, int64_t timestamp_ms) {
  kafka::reader r(records);
  for (int32_t i = 0; i < h.record_count && r.ok(); ++i) {
    int64_t length = r.varint();
    size_t start = r.position();
    (void)r.i8();  // attributes
    int64_t timestamp_delta = r.varlong();
    int64_t offset_delta = r.varint();
    if (!r.ok()) break;
    int64_t record_timestamp_ms = h.base_timestamp_ms + timestamp_delta;
    if (record_timestamp_ms >= timestamp_ms) return record_position{h.base_offset + offset_delta, record_timestamp_ms};
    size_t consumed = r.position() - start;
    if (length < 0 || static_cast<size_t>(length) < consumed) break;
    (void)r.raw(static_cast<size_t>(length) - consumed);
  }
  return std::nullopt;
}

}  // namespace

record_position first_record_at_or_after(std::span<const uint8_t> batch, int64_t timestamp_ms) {
  auto h = read_batch_header(batch);
  if (!h) return {};
  const record_position whole_batch{h->base_offset, h->max_timestamp_ms};
  if (h->log_append_time()) return whole_batch;
  auto records = batch.subspan(batch_header_bytes);
  std::optional<record_position> found;
  if (h->compression() == 0) {
    found = walk_records(*h, records, timestamp_ms);
  } else {
    auto inflated = decompress(static_cast<codec>(h->compression()), records, decompressed_records_bytes_max);
    if (inflated.ok()) found = walk_records(*h, *inflated, timestamp_ms);
  }
  return found.value_or(whole_batch);
}

namespace {

constexpr size_t crc_field_offset = 17;
constexpr size_t attributes_field_offset = 21;
constexpr size_t max_timestamp_field_offset = 35;
constexpr int16_t codec_mask = 0x7;
constexpr int16_t log_append_time_flag = 0x8;

void put_be(std::span<uint8_t> at, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) at[i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
}

result<std::vector<uint8_t>> inflated_records(const batch_header& h, std::span<const uint8_t> batch) {
  auto records = batch.subspan(batch_header_bytes);
  return decompress(static_cast<codec>(h.compression()), records, decompressed_records_bytes_max);
}

}  // namespace

bool rewrite_needed(const batch_header& h, const batch_rewrite& how) {
  return (how.codec && *how.codec != h.compression()) || how.log_append_time_ms.has_value();
}

result<std::vector<uint8_t>> rewrite_batch(std::span<const uint8_t> batch, const batch_rewrite& how) {
  auto h = read_batch_header(batch);
  STRATA_ASSERT(h && h->total_bytes() == batch.size(), "rewrite_batch takes one checked batch");
  std::vector<uint8_t> out(batch.begin(), batch.begin() + batch_header_bytes);
  int16_t attributes = h->attributes;
  if (how.codec && *how.codec != h->compression()) {
    auto plain = inflated_records(*h, batch);
    STRATA_TRY(plain);
    auto packed = compress(static_cast<codec>(*how.codec), *plain);
    STRATA_TRY(packed);
    out.insert(out.end(), packed->begin(), packed->end());
    attributes = static_cast<int16_t>((attributes & ~codec_mask) | *how.codec);
  } else {
    out.insert(out.end(), batch.begin() + batch_header_bytes, batch.end());
  }
  if (how.log_append_time_ms) {
    attributes = static_cast<int16_t>(attributes | log_append_time_flag);
    put_be(std::span(out).subspan(max_timestamp_field_offset), static_cast<uint64_t>(*how.log_append_time_ms), 8);
  }
  put_be(std::span(out).subspan(attributes_field_offset), static_cast<uint16_t>(attributes), 2);
  put_be(std::span(out).subspan(batch_length_field_offset), out.size() - batch_length_field_offset - 4, 4);
  put_be(std::span(out).subspan(crc_field_offset), crc32c(out.data() + batch_crc_covered_from, out.size() - batch_crc_covered_from), 4);
  return out;
}

result<std::optional<int64_t>> timestamp_out_of_range(std::span<const uint8_t> batch, int64_t now_ms,
                                                      int64_t max_difference_ms) {
  auto h = read_batch_header(batch);
  STRATA_ASSERT(h.has_value(), "timestamp_out_of_range takes a checked batch");
  auto outside = [&](int64_t ts) {
    return ts < now_ms ? static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(ts) > static_cast<uint64_t>(max_difference_ms)
                       : static_cast<uint64_t>(ts) - static_cast<uint64_t>(now_ms) > static_cast<uint64_t>(max_difference_ms);
  };
  if (h->log_append_time()) return std::optional<int64_t>();
  std::vector<uint8_t> inflated;
  std::span<const uint8_t> records = batch.subspan(batch_header_bytes);
  if (h->compression() != 0) {
    auto plain = inflated_records(*h, batch);
    STRATA_TRY(plain);
    inflated = std::move(*plain);
    records = inflated;
  }
  kafka::reader r(records);
  for (int32_t i = 0; i < h->record_count && r.ok(); ++i) {
    int64_t length = r.varint();
    size_t start = r.position();
    (void)r.i8();  // attributes
    int64_t ts = h->base_timestamp_ms + r.varlong();
    if (!r.ok()) break;
    if (outside(ts)) return std::optional<int64_t>(ts);
    size_t consumed = r.position() - start;
    if (length < 0 || static_cast<size_t>(length) < consumed) {
      r.fail();
      break;
    }
    (void)r.raw(static_cast<size_t>(length) - consumed);
  }
  if (!r.ok()) return make_error(errc::corrupt, "the batch's records do not parse");
  return std::optional<int64_t>();
}

namespace {

void write_bytes(kafka::writer& w, const std::string& bytes) {
  w.varint(static_cast<int32_t>(bytes.size()));
  w.raw({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

std::optional<std::string> read_bytes(kafka::reader& r) {
  int32_t n = r.varint();
  if (!r.ok() || n < 0 || static_cast<size_t>(n) > r.remaining()) return std::nullopt;
  auto raw = r.raw(static_cast<size_t>(n));
  return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
}

}  // namespace

std::vector<uint8_t> encode_plain_batch(const std::vector<plain_record>& records, int64_t timestamp_ms,
                                        const batch_writer_identity& writer) {
  STRATA_ASSERT(!records.empty(), "a batch holds at least one record");
  std::vector<uint8_t> out;
  kafka::writer w(out);
  w.i64(0);  // baseOffset: assigned at append
  size_t length_at = w.reserve_i32();
  w.i32(0);  // partitionLeaderEpoch: assigned at append
  w.i8(2);   // magic
  size_t crc_at = w.reserve_i32();
  w.i16(writer.attributes);
  w.i32(static_cast<int32_t>(records.size()) - 1);
  w.i64(timestamp_ms);
  w.i64(timestamp_ms);
  w.i64(writer.producer_id);
  w.i16(writer.producer_epoch);
  w.i32(-1);  // baseSequence
  w.i32(static_cast<int32_t>(records.size()));
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<uint8_t> rec;
    kafka::writer rw(rec);
    rw.i8(0);      // attributes
    rw.varlong(0); // timestamp delta
    rw.varint(static_cast<int32_t>(i));
    write_bytes(rw, records[i].key);
    write_bytes(rw, records[i].value);
    rw.varint(0);  // headers
    w.varint(static_cast<int32_t>(rec.size()));
    w.raw(rec);
  }
  w.patch_i32(length_at, static_cast<int32_t>(out.size() - batch_length_field_offset - 4));
  w.patch_i32(crc_at, static_cast<int32_t>(crc32c(out.data() + batch_crc_covered_from, out.size() - batch_crc_covered_from)));
  return out;
}

std::optional<std::vector<plain_record>> decode_plain_batch(std::span<const uint8_t> batch) {
  auto h = read_batch_header(batch);
  if (!h || h->compression() != 0 || h->total_bytes() > batch.size()) return std::nullopt;
  kafka::reader r(batch.subspan(batch_header_bytes, h->total_bytes() - batch_header_bytes));
  std::vector<plain_record> out;
  for (int32_t i = 0; i < h->record_count && r.ok(); ++i) {
    (void)r.varint();   // length
    (void)r.i8();       // attributes
    (void)r.varlong();  // timestamp delta
    (void)r.varint();   // offset delta
    auto key = read_bytes(r);
    auto value = read_bytes(r);
    if (!key || !value) return std::nullopt;
    int32_t headers = r.varint();
    for (int32_t j = 0; j < headers && r.ok(); ++j) {
      if (!read_bytes(r) || !read_bytes(r)) return std::nullopt;
    }
    out.push_back({std::move(*key), std::move(*value)});
  }
  if (!r.ok()) return std::nullopt;
  return out;
}

}  // namespace strata::streams
