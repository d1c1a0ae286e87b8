// Values on the wire: PostgreSQL's binary format for the common types, in
// both directions, and the text format through sql::append_text_value (the
// one text encoder, shared with COPY). Pure code, no I/O.
//
// Binary layouts (PostgreSQL's send/recv functions): big-endian integers and
// IEEE floats; bool one byte; date int32 days since 2000-01-01; timestamp and
// timestamptz int64 microseconds since 2000-01-01 00:00:00 (UTC); numeric
// ndigits, weight, sign, dscale (int16 each) then base-10000 digits; text,
// varchar, json and bytea their raw bytes; jsonb a version byte 1 then text;
// uuid 16 bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sql/session.h"
#include "tables/types.h"

namespace strata::pgwire {

// Days and microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
inline constexpr int64_t pg_epoch_days = 10957;
inline constexpr int64_t pg_epoch_micros = pg_epoch_days * 86400LL * 1000000LL;

// True when a result column of this type can be sent in binary.
bool binary_encodable(const sql::field& f);
// True when values stored as `id` can be sent as type `type_oid` in binary
// (checked per batch too: the columns a cursor returns must match).
bool binary_encodable_as(uint32_t type_oid, tables::type_id id);
// Appends the binary form of row `row` of `column` (not NULL), as the
// field's type OID says (e.g. an int64 column reported as int4 is narrowed).
void append_binary_value(const sql::field& f, const tables::column_vector& column, uint32_t row, std::string& out);
// Appends the text form of a value (sql::append_text_value).
void append_text(const tables::column_vector& column, uint32_t row, std::string& out);

// Decodes one binary-format parameter of PostgreSQL type `type_oid`.
sql::outcome<sql::parameter> decode_binary_parameter(uint32_t type_oid, std::span<const uint8_t> bytes);

// PostgreSQL's binary numeric from a scaled integer (`value` times 10^scale), and back.
void append_binary_numeric(__int128 value, uint8_t scale, std::string& out);
struct decoded_numeric {
  __int128 value = 0;  // times 10^scale
  uint8_t scale = 0;
};
sql::outcome<decoded_numeric> decode_binary_numeric(std::span<const uint8_t> bytes);

}  // namespace strata::pgwire
