// PostgreSQL's binary format of values, in both directions: parameters and
// results on the wire (pgwire) and COPY BINARY's fields. The text format is
// append_text_value / parse_text_value (copy_format.h). Pure code, no I/O.
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

namespace strata::sql {

// Days and microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
inline constexpr int64_t pg_epoch_days = 10957;
inline constexpr int64_t pg_epoch_micros = pg_epoch_days * 86400LL * 1000000LL;

// True when a result column of this type can be sent in binary.
bool binary_encodable(const field& f);
// True when values stored as `id` can be sent as type `type_oid` in binary
// (checked per batch too: the columns a cursor returns must match).
bool binary_encodable_as(uint32_t type_oid, tables::type_id id);
// Appends the binary form of row `row` of `column` (not NULL), as the
// field's type OID says (e.g. an int64 column reported as int4 is narrowed).
void append_binary_value(const field& f, const tables::column_vector& column, uint32_t row, std::string& out);

// Appends the binary form of a value to `column`, read as the column's
// type says (COPY BINARY, where PostgreSQL reads each field with its
// column's receive function): sizes must match the type exactly (22P03),
// numeric is rounded to the column's scale, text and varchar are checked
// as their text input is, jsonb's version byte is accepted on json.
status parse_binary_value(std::span<const uint8_t> bytes, tables::column_vector& column);

// Decodes one binary-format parameter of PostgreSQL type `type_oid`.
outcome<parameter> decode_binary_parameter(uint32_t type_oid, std::span<const uint8_t> bytes);

// PostgreSQL's binary numeric from a scaled integer (`value` times 10^scale), and back.
void append_binary_numeric(__int128 value, uint8_t scale, std::string& out);
struct decoded_numeric {
  __int128 value = 0;  // times 10^scale
  uint8_t scale = 0;
};
outcome<decoded_numeric> decode_binary_numeric(std::span<const uint8_t> bytes);

}  // namespace strata::sql
