// COPY's binary format (PostgreSQL's "PGCOPY" file layout, see
// docs/formats/copy-binary.md): the header, one tuple per row (a field
// count, then each field as a length and its binary value, -1 for NULL) and
// the trailer. Values themselves: binary_value.cc.
#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

#include "base/big_endian.h"
#include "sql/binary_value.h"
#include "sql/copy_decoder_internal.h"

namespace strata::sql {

using namespace text_detail;

namespace {

constexpr std::string_view binary_signature("PGCOPY\n\377\r\n\0", 11);
constexpr uint32_t flag_with_oids = 1u << 16;
constexpr uint32_t flags_critical = 0xffff0000u;  // bits a reader must understand
constexpr size_t header_fixed_bytes = 11 + 4 + 4;  // signature, flags, extension length
constexpr int16_t trailer_field_count = -1;
constexpr int32_t null_field_bytes = -1;

const uint8_t* at(const std::string& s, size_t pos) { return reinterpret_cast<const uint8_t*>(s.data()) + pos; }

error bad_format(std::string message) { return sql_error("22P04", std::move(message)); }

struct binary_decoder final : copy_decoder::impl {
  std::string carry;  // input not parsed yet: an unfinished header or tuple
  bool header_done = false;
  bool ended = false;  // the trailer was read

  using impl::impl;

  uint64_t carry_bytes() const override { return carry.size(); }

  status feed(std::string_view data) override {
    if (failed) return *failed;
    if (ended) return data.empty() ? ok() : fail(bad_format("received copy data after EOF marker"));
    carry.append(data);
    size_t pos = 0;
    auto s = parse(pos);
    carry.erase(0, pos);
    if (!s.ok()) return fail(s.err());
    return ok();
  }

  status finish() override {
    if (failed) return *failed;
    if (!header_done) return fail(bad_format("COPY file signature not recognized"));
    if (!ended && !carry.empty()) {
      ++line;  // the cut tuple
      return fail(row_error(bad_format("unexpected EOF in COPY data"), -1));
    }
    return ok();
  }

  // Parses what is complete in carry from `pos` on; leaves `pos` after it.
  status parse(size_t& pos) {
    if (!header_done) {
      auto s = parse_header(pos);
      if (!s.ok() || !header_done) return s;
    }
    while (!ended) {
      if (carry.size() - pos < 2) return ok();
      const auto count = int16_t(load_be16(at(carry, pos)));
      if (count == trailer_field_count) {
        ended = true;
        pos += 2;
        if (pos < carry.size()) return bad_format("received copy data after EOF marker");
        return ok();
      }
      auto end = tuple_end(pos, count);
      if (!end.ok()) return end.err();
      if (*end == 0) return ok();  // not all here yet
      auto s = parse_tuple(pos + 2);
      if (!s.ok()) return s;
      pos = *end;
    }
    return ok();
  }

  status parse_header(size_t& pos) {
    const size_t have = std::min(carry.size(), binary_signature.size());
    if (carry.compare(0, have, binary_signature.substr(0, have)) != 0) {
      return bad_format("COPY file signature not recognized");
    }
    if (carry.size() < header_fixed_bytes) return ok();
    const uint32_t flags = load_be32(at(carry, 11));
    if ((flags & flag_with_oids) != 0) return bad_format("invalid COPY file header (WITH OIDS)");
    if ((flags & flags_critical) != 0) return bad_format("unrecognized critical flags in COPY file header");
    const auto extension_bytes = int32_t(load_be32(at(carry, 15)));
    if (extension_bytes < 0 || uint64_t(extension_bytes) > copy_row_bytes_max) {
      return bad_format("invalid COPY file header (wrong length)");
    }
    if (carry.size() < header_fixed_bytes + size_t(extension_bytes)) return ok();
    pos = header_fixed_bytes + size_t(extension_bytes);  // the extension area is skipped, as PostgreSQL does
    header_done = true;
    return ok();
  }

  // Where the tuple starting at `pos` ends, or 0 while its bytes have not all
  // arrived. Checks the field count and lengths before any value is read; a
  // tuple's length words alone (4 bytes for each of at most 32767 fields)
  // stay far below copy_row_bytes_max, so only field lengths are limited.
  outcome<size_t> tuple_end(size_t pos, int16_t count) {
    if (count < 0 || size_t(count) != types.size()) {
      ++line;
      return row_error(bad_format(fmt::format("row field count is {}, expected {}", count, types.size())), -1);
    }
    size_t p = pos + 2;
    for (int16_t c = 0; c < count; ++c) {
      if (carry.size() - p < 4) return size_t(0);
      const auto bytes = int32_t(load_be32(at(carry, p)));
      p += 4;
      if (bytes < null_field_bytes) {
        ++line;
        return row_error(bad_format("invalid field size"), size_t(c));
      }
      if (bytes == null_field_bytes) continue;
      if (uint64_t(bytes) + (p - pos) > copy_row_bytes_max) {
        ++line;
        return row_too_long();
      }
      if (carry.size() - p < size_t(bytes)) return size_t(0);
      p += size_t(bytes);
    }
    return p;
  }

  // The fields of one complete tuple, from `p` (after its field count).
  status parse_tuple(size_t p) {
    ++line;
    for (size_t c = 0; c < types.size(); ++c) {
      const auto bytes = int32_t(load_be32(at(carry, p)));
      p += 4;
      if (bytes == null_field_bytes) {
        batch.columns[c].append_null();
        continue;
      }
      auto s = parse_binary_value({at(carry, p), size_t(bytes)}, batch.columns[c]);
      p += size_t(bytes);
      if (!s.ok()) {
        truncate_batch();
        return row_error(s.err(), c);
      }
    }
    ++batch.row_count;
    ++rows;
    return ok();
  }
};

}  // namespace

std::shared_ptr<copy_decoder::impl> make_binary_copy_decoder(const copy_statement& options,
                                                             std::vector<tables::column_type> types) {
  return std::make_shared<binary_decoder>(options, std::move(types));
}

void encode_copy_binary_header(std::string& out) {
  out.append(binary_signature);
  append_be32(out, 0);  // flags
  append_be32(out, 0);  // extension area length
}

void encode_copy_binary_rows(const std::vector<field>& fields, const tables::column_batch& batch, std::string& out) {
  for (uint32_t row = 0; row < batch.row_count; ++row) {
    append_be16(out, uint16_t(batch.columns.size()));
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      const tables::column_vector& column = batch.columns[c];
      if (column.is_null(row)) {
        append_be32(out, uint32_t(null_field_bytes));
        continue;
      }
      const size_t length_at = out.size();
      append_be32(out, 0);
      append_binary_value(fields[c], column, row, out);
      const auto bytes = uint32_t(out.size() - length_at - 4);
      std::string length;
      append_be32(length, bytes);
      out.replace(length_at, 4, length);
    }
  }
}

void encode_copy_binary_trailer(std::string& out) { append_be16(out, uint16_t(trailer_field_count)); }

size_t copy_binary_row_end(const std::string& rows, size_t begin) {
  const size_t count = load_be16(at(rows, begin));
  size_t p = begin + 2;
  for (size_t c = 0; c < count; ++c) {
    const auto bytes = int32_t(load_be32(at(rows, p)));
    p += 4 + (bytes > 0 ? size_t(bytes) : 0);
  }
  return p;
}

}  // namespace strata::sql
