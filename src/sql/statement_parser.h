// Internal to the statement parsers (statements.cc: CREATE/DROP TABLE,
// copy_statement.cc: COPY): the tokens, the token cursor and the name rules
// they share. The lexer itself is statement_parser.cc. Not a public API.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/statements.h"

namespace strata::sql::stmt {

enum class tok : uint8_t {
  ident,         // unquoted word, lower-cased
  quoted_ident,  // "Word", kept as written
  string,        // 'text', E'text' or $tag$text$tag$, unescaped
  number,
  punct,  // one character
  bad,    // a lexing error; `text` is the message
  end,
};

struct token {
  tok kind = tok::end;
  std::string text;
  size_t begin = 0;  // byte range in the statement
  size_t end = 0;
};

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// Tokenizes `sql` (at most `tokens_max` tokens, so callers reading only the
// first words of a huge statement do not lex all of it); stops after the first
// `bad` token; always ends with `end`.
std::vector<token> lex(std::string_view sql, size_t tokens_max = SIZE_MAX);

error make_sql_error(std::string sqlstate, std::string message, std::string hint = {});
error unsupported(std::string message, std::string hint = {});

class parser {
 public:
  explicit parser(std::string_view sql) : sql_(sql), toks_(lex(sql)) {}

  const token& peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  const token& next() {
    const token& t = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  bool is_kw(std::string_view kw, size_t ahead = 0) const {
    const token& t = peek(ahead);
    return t.kind == tok::ident && t.text == kw;
  }
  bool is_punct(char c, size_t ahead = 0) const {
    const token& t = peek(ahead);
    return t.kind == tok::punct && t.text.size() == 1 && t.text[0] == c;
  }
  bool accept_kw(std::string_view kw) {
    if (!is_kw(kw)) return false;
    next();
    return true;
  }
  bool accept_punct(char c) {
    if (!is_punct(c)) return false;
    next();
    return true;
  }
  bool at_end() const { return peek().kind == tok::end; }
  size_t position() const { return pos_; }
  std::string_view sql() const { return sql_; }

  // "syntax error at or near ..." for the next token (or its lexing error).
  error syntax_error() const {
    const token& t = peek();
    if (t.kind == tok::bad) return make_sql_error("42601", t.text);
    if (t.kind == tok::end) return make_sql_error("42601", "syntax error at end of input");
    std::string near(sql_.substr(t.begin, std::min<size_t>(t.end - t.begin, 64)));
    return make_sql_error("42601", "syntax error at or near \"" + near + "\"");
  }

  // Optional trailing ';', then the end of the text.
  bool finish() {
    accept_punct(';');
    return at_end();
  }

 private:
  std::string_view sql_;
  std::vector<token> toks_;
  size_t pos_ = 0;
};

#define SQL_TRY(expr)                      \
  do {                                     \
    if (auto e_ = (expr)) return *e_;      \
  } while (0)

using maybe_error = std::optional<error>;

// An identifier: a word or "quoted word".
maybe_error parse_name(parser& p, std::string& out);
// [public.]name; other schemas are refused.
maybe_error parse_table_name(parser& p, std::string& out);
// ( name [, name ...] )
maybe_error parse_name_list(parser& p, std::vector<std::string>& out);
bool parse_u32(std::string_view text, uint32_t& out);

template <class T, class F>
std::optional<outcome<T>> run_parser(parser& p, F&& body) {
  T out;
  if (auto e = body(p, out)) return outcome<T>(std::move(*e));
  return outcome<T>(std::move(out));
}

}  // namespace strata::sql::stmt
