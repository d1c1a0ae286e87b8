// CREATE SEQUENCE's and ALTER SEQUENCE's options as PostgreSQL's parse tree
// gives them (DefElems), also inside an identity column's
// GENERATED ... AS IDENTITY ( ... ), and their effect on a definition.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "sql/pg_parse.h"
#include "tables/sequences.h"

namespace strata::sql {

struct sequence_options {
  std::optional<uint8_t> value_bytes;  // AS smallint | integer | bigint
  std::optional<int64_t> increment;
  std::optional<int64_t> start;
  std::optional<int64_t> cache;
  std::optional<bool> cycle;
  // Outer empty: not named. Inner empty: NO MINVALUE / NO MAXVALUE / RESTART
  // without a value.
  std::optional<std::optional<int64_t>> min_value;
  std::optional<std::optional<int64_t>> max_value;
  std::optional<std::optional<int64_t>> restart;
  // OWNED BY table.column; both empty for OWNED BY NONE.
  std::optional<std::pair<std::string, std::string>> owned_by;
  std::optional<std::string> sequence_name;  // an identity column's SEQUENCE NAME
};

// 42601 for an option given twice (PostgreSQL's "conflicting or redundant
// options"), 22023 for a value out of range.
outcome<sequence_options> read_sequence_options(PgQuery__Node* const* options, size_t count);

// `base` with the options applied: for CREATE, `base` holds only the name
// and the unset bounds take PostgreSQL's defaults; for ALTER it is the
// current definition, whose bounds stay unless the options change them.
// 22023 with PostgreSQL's words when the result is inconsistent.
outcome<tables::sequence_def> apply_sequence_options(tables::sequence_def base, const sequence_options& o,
                                                     bool creating);

}  // namespace strata::sql
