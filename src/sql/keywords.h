// The tokens the session reads to recognise statements by their first words
// (BEGIN, SET, SHOW, ...) before anything reaches DuckDB: the statement
// parsers' lexer (statement_parser.h) in simpler kinds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::sql {

struct token {
  enum class kind : uint8_t { word, quoted, string, number, symbol };
  kind type = kind::word;
  std::string text;  // word: lower-cased; quoted: as written; string: unescaped; symbol: one char
};

// Tokens from the start of `sql`, skipping whitespace and comments, at most
// `tokens_max`. An unterminated literal or comment ends the list early.
std::vector<token> tokenize(std::string_view sql, size_t tokens_max = SIZE_MAX);

// True when `sql` holds only whitespace, comments and semicolons.
bool is_blank(std::string_view sql);

// The lower-cased words at the start of `sql` (tokens up to the first
// non-word), at most `words_max`.
std::vector<std::string> leading_words(std::string_view sql, size_t words_max);

}  // namespace strata::sql
