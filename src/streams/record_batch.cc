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
  if (h->control()) return fail(batch_problem::invalid_record, "clients may not produce control batches");
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

std::vector<uint8_t> encode_plain_batch(const std::vector<plain_record>& records, int64_t timestamp_ms) {
  STRATA_ASSERT(!records.empty(), "a batch holds at least one record");
  std::vector<uint8_t> out;
  kafka::writer w(out);
  w.i64(0);  // baseOffset: assigned at append
  size_t length_at = w.reserve_i32();
  w.i32(0);  // partitionLeaderEpoch: assigned at append
  w.i8(2);   // magic
  size_t crc_at = w.reserve_i32();
  w.i16(0);  // attributes: uncompressed, CreateTime
  w.i32(static_cast<int32_t>(records.size()) - 1);
  w.i64(timestamp_ms);
  w.i64(timestamp_ms);
  w.i64(-1);  // producerId
  w.i16(-1);  // producerEpoch
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
