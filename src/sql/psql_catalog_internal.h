// Internal to the psql catalog answers (psql_catalog.cc): reading psql's
// catalog query text (psql_query.cc) and its \d name patterns
// (psql_pattern.cc). Not a public API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "sql/session.h"

namespace strata::sql::psql {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
inline bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
         (static_cast<unsigned char>(c) >= 0x80);
}
// The query with whitespace runs outside quotes collapsed to one space, no
// leading or trailing space and no trailing semicolons; `lower` is the same
// text lower-cased, byte for byte at the same offsets.
struct query {
  std::string text;
  std::string lower;

  bool has(std::string_view fragment) const { return lower.find(fragment) != std::string::npos; }
  bool starts(std::string_view prefix) const { return lower.starts_with(prefix); }
};

query normalize(std::string_view sql);

// Reads the SQL string literal at `pos` ('...' or E'...').
std::optional<std::string> string_literal(std::string_view text, size_t pos);

// The oid in `<fragment>'16385'`, e.g. fragment "where c.oid = ".
std::optional<uint32_t> oid_after(const query& q, std::string_view fragment);

// The relkinds in `c.relkind IN ('r','p','')`; empty when the query has no such list.
std::string relkinds_of(const query& q);

class name_regex;

// A name pattern from a \d command; matches every name when the query has none.
struct name_filter {
  std::shared_ptr<const name_regex> regex;
  bool matches(std::string_view name) const;
};

// The filter `column OPERATOR(pg_catalog.~) '<pattern>'` in the query sets.
outcome<name_filter> filter_for(const query& q, std::string_view column);

struct select_item {
  std::string text;   // as written, trimmed
  std::string lower;  // lower-cased
  std::string alias;  // after a top-level AS, unquoted (lower-cased unless it was quoted)
  std::string key;    // the alias lower-cased, which rules compare with
  std::string name;   // the output column name
};

// The top-level items between SELECT and FROM; nullopt when the text has no such shape.
std::optional<std::vector<select_item>> select_items(const query& q);

enum class pg : uint8_t { name, text, chr, boolean, int2, int4, oid, timestamptz, name_array };

field field_of(pg type, std::string name);

}  // namespace strata::sql::psql
