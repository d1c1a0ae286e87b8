// Internal to the COPY FROM decoders: copy_format.cc (text, CSV) and
// copy_binary.cc (binary) share the batch they fill and how a failed row is
// rolled back. Not a public API; copy_format.h's copy_decoder picks one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/copy_format.h"
#include "sql/text_value_internal.h"

namespace strata::sql {

struct copy_decoder::impl {
  impl(const copy_statement& o, std::vector<tables::column_type> t);
  virtual ~impl() = default;

  virtual status feed(std::string_view data) = 0;
  virtual status finish() = 0;
  // Input bytes held back because their row is not complete yet.
  virtual uint64_t carry_bytes() const = 0;

  // A new batch, sized like `last` (the one just taken) so it rarely grows.
  void reset_batch(const tables::column_batch* last = nullptr);
  // Rolls the columns back to batch.row_count rows after a failed row.
  void truncate_batch();
  // "\"name\"" when COPY listed its columns, else the 1-based position.
  std::string column_name(size_t c) const;
  // `e` with "COPY line N[, column c]" in front of its detail.
  error row_error(error e, size_t column) const;
  error row_too_long() const;
  status fail(error e) {
    failed = e;
    return e;
  }

  copy_statement opts;
  std::vector<tables::column_type> types;
  tables::column_batch batch;
  uint64_t line = 0;             // rows read so far (text: lines, header included)
  uint64_t rows = 0;
  std::optional<error> failed;   // the first error; the decoder is dead after it
};

std::shared_ptr<copy_decoder::impl> make_binary_copy_decoder(const copy_statement& options,
                                                             std::vector<tables::column_type> types);

}  // namespace strata::sql
