// COPY's formats: text and CSV (PostgreSQL's rules: backslash escapes and \N
// in text; quoting, doubled quotes and an unquoted empty NULL in CSV) and
// binary (docs/formats/copy-binary.md). The decoder takes CopyData bytes in
// arbitrary pieces (rows may span messages) and produces column batches
// typed by the target table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sql/session.h"
#include "sql/statements.h"
#include "tables/types.h"

namespace strata::sql {

inline constexpr uint64_t copy_row_bytes_max = 64ULL << 20;  // one row longer than this is refused

class copy_decoder {
 public:
  // `types` are the target columns in input order.
  copy_decoder(const copy_statement& options, std::vector<tables::column_type> types);

  // Consumes bytes; complete rows are parsed into the pending batch. Errors
  // name the line (binary: tuple) number and column (SQLSTATE 22P02 bad
  // value, 22P03 bad binary value, 22P04 bad copy format, 54000 row too long).
  status feed(std::string_view data);
  // Called at CopyDone: a final row without a newline is parsed; "\." ends
  // text input. Binary input must have had its header, and may end without
  // its trailer only between tuples.
  status finish();
  // Moves the parsed rows out (the decoder starts a new empty batch).
  tables::column_batch take_rows();
  uint64_t pending_bytes() const;
  uint64_t rows_parsed() const;

  struct impl;  // one per format (copy_decoder_internal.h)

 private:
  std::shared_ptr<impl> impl_;
};

// Appends the rows of `batch` (columns typed by `types`) as COPY text or CSV.
void encode_copy_rows(const copy_statement& options, const tables::column_batch& batch, std::string& out);
// The header line for CSV with HEADER.
void encode_copy_header(const copy_statement& options, const std::vector<std::string>& names, std::string& out);

// COPY BINARY output: the header (before the first row), the rows of
// `batch` with each column in its field's binary form (the fields must be
// binary_encodable), and the trailer (after the last row).
void encode_copy_binary_header(std::string& out);
void encode_copy_binary_rows(const std::vector<field>& fields, const tables::column_batch& batch, std::string& out);
void encode_copy_binary_trailer(std::string& out);
// The end of the encoded binary row that starts at `begin` of `rows`.
size_t copy_binary_row_end(const std::string& rows, size_t begin);

// PostgreSQL text form of one value, shared with pgwire's text format:
// 't'/'f', shortest round-trip floats, numeric with its scale, ISO dates,
// timestamps "YYYY-MM-DD HH:MM:SS[.ffffff]" (+00 for timestamptz), bytea as \x hex.
void append_text_value(const tables::column_vector& column, uint32_t row, std::string& out);
// Parses the PostgreSQL text form of a value of `type` into `column` (appends).
status parse_text_value(std::string_view text, tables::column_vector& column);

}  // namespace strata::sql
