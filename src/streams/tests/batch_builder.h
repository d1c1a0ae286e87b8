// Builds real magic-2 RecordBatches for tests (uncompressed, CRC32C set).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "kafka/protocol/wire.h"
#include "streams/tests/compress_util.h"

namespace strata::streams::testing {

struct test_record {
  std::string key;
  std::string value;
  int64_t timestamp_delta_ms = 0;
};

struct batch_options {
  int64_t base_timestamp_ms = 1'700'000'000'000;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int16_t attributes = 0;
  codec compression = codec::none;
};

inline std::vector<uint8_t> build_batch(const std::vector<test_record>& records, batch_options o = {}) {
  std::vector<uint8_t> body;  // records
  kafka::writer rw(body);
  int64_t max_ts = o.base_timestamp_ms;
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<uint8_t> rec;
    kafka::writer w(rec);
    w.i8(0);
    w.varlong(records[i].timestamp_delta_ms);
    w.varint(static_cast<int32_t>(i));
    w.varint(static_cast<int32_t>(records[i].key.size()));
    w.raw({reinterpret_cast<const uint8_t*>(records[i].key.data()), records[i].key.size()});
    w.varint(static_cast<int32_t>(records[i].value.size()));
    w.raw({reinterpret_cast<const uint8_t*>(records[i].value.data()), records[i].value.size()});
    w.varint(0);  // headers
    rw.varint(static_cast<int32_t>(rec.size()));
    rw.raw(rec);
    max_ts = std::max(max_ts, o.base_timestamp_ms + records[i].timestamp_delta_ms);
  }
  std::vector<uint8_t> out;
  kafka::writer w(out);
  w.i64(0);                 // baseOffset
  size_t length_at = w.reserve_i32();
  w.i32(0);                 // partitionLeaderEpoch
  w.i8(2);                  // magic
  size_t crc_at = w.reserve_i32();
  w.i16(static_cast<int16_t>(o.attributes | static_cast<int16_t>(o.compression)));
  w.i32(static_cast<int32_t>(records.size()) - 1);
  w.i64(o.base_timestamp_ms);
  w.i64(max_ts);
  w.i64(o.producer_id);
  w.i16(o.producer_epoch);
  w.i32(o.base_sequence);
  w.i32(static_cast<int32_t>(records.size()));
  w.raw(testing::compress(o.compression, body));
  w.patch_i32(length_at, static_cast<int32_t>(out.size() - 12));
  uint32_t crc = crc32c(out.data() + 21, out.size() - 21);
  w.patch_i32(crc_at, static_cast<int32_t>(crc));
  return out;
}

}  // namespace strata::streams::testing
