// The SQL lexer and the shared name rules of the statement parsers.
#include "sql/statement_parser.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace strata::sql::stmt {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (static_cast<unsigned char>(c) >= 0x80);
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class lexer {
 public:
  explicit lexer(std::string_view s) : s_(s) {}

  // Tokenizes up to `tokens_max` tokens; stops after the first `bad` token.
  std::vector<token> run(size_t tokens_max) {
    std::vector<token> out;
    for (;;) {
      if (out.size() >= tokens_max) {
        out.push_back(token{tok::end, {}, i_, i_});
        break;
      }
      token t = next();
      tok kind = t.kind;
      out.push_back(std::move(t));
      if (kind == tok::end) break;
      if (kind == tok::bad) {
        out.push_back(token{tok::end, {}, s_.size(), s_.size()});
        break;
      }
    }
    return out;
  }

 private:
  token make(tok kind, std::string text, size_t begin) { return token{kind, std::move(text), begin, i_}; }
  token bad(std::string message, size_t begin) { return token{tok::bad, std::move(message), begin, i_}; }

  // Skips whitespace and comments; false on an unterminated /* comment.
  bool skip_blank() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (is_space(c)) {
        ++i_;
      } else if (c == '-' && i_ + 1 < s_.size() && s_[i_ + 1] == '-') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        if (!skip_block_comment()) return false;
      } else {
        break;
      }
    }
    return true;
  }

  bool skip_block_comment() {
    uint64_t depth = 0;
    while (i_ + 1 < s_.size()) {
      if (s_[i_] == '/' && s_[i_ + 1] == '*') {
        ++depth;
        i_ += 2;
      } else if (s_[i_] == '*' && s_[i_ + 1] == '/') {
        i_ += 2;
        if (--depth == 0) return true;
      } else {
        ++i_;
      }
    }
    i_ = s_.size();
    return false;
  }

  token next() {
    if (!skip_blank()) return bad("unterminated /* comment", s_.size());
    size_t begin = i_;
    if (i_ >= s_.size()) return make(tok::end, {}, begin);
    char c = s_[i_];
    if ((c == 'e' || c == 'E') && i_ + 1 < s_.size() && s_[i_ + 1] == '\'') {
      ++i_;
      return escape_string(begin);
    }
    if (is_ident_start(c)) return word(begin);
    if (c == '"') return quoted_ident(begin);
    if (c == '\'') return plain_string(begin);
    if (is_digit(c) || (c == '.' && i_ + 1 < s_.size() && is_digit(s_[i_ + 1]))) return number(begin);
    if (c == '$') {
      if (auto t = dollar_string(begin); t.kind != tok::end) return t;
    }
    ++i_;
    return make(tok::punct, std::string(1, c), begin);
  }

  token word(size_t begin) {
    std::string text;
    while (i_ < s_.size() && is_ident_char(s_[i_])) text.push_back(lower(s_[i_++]));
    return make(tok::ident, std::move(text), begin);
  }

  // Reads up to the closing `quote` (a doubled quote stands for one) into
  // `text`; false when the input ends first.
  bool read_quoted(char quote, std::string& text) {
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c != quote) {
        text.push_back(c);
      } else if (i_ < s_.size() && s_[i_] == quote) {
        text.push_back(quote);
        ++i_;
      } else {
        return true;
      }
    }
    return false;
  }

  token quoted_ident(size_t begin) {
    std::string text;
    if (!read_quoted('"', text)) return bad("unterminated quoted identifier", begin);
    if (text.empty()) return bad("zero-length delimited identifier at or near \"\"\"\"", begin);
    return make(tok::quoted_ident, std::move(text), begin);
  }

  token plain_string(size_t begin) {
    std::string text;
    if (!read_quoted('\'', text)) return bad("unterminated quoted string", begin);
    return make(tok::string, std::move(text), begin);
  }


  // E'...': backslash escapes as PostgreSQL's escape string constants.
  token escape_string(size_t begin) {
    std::string text;
    ++i_;
    for (;;) {
      if (i_ >= s_.size()) return bad("unterminated quoted string", begin);
      char c = s_[i_++];
      if (c == '\'') {
        if (i_ < s_.size() && s_[i_] == '\'') {
          text.push_back('\'');
          ++i_;
          continue;
        }
        return make(tok::string, std::move(text), begin);
      }
      if (c != '\\') {
        text.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return bad("unterminated quoted string", begin);
      text.push_back(unescape_one());
    }
  }

  char unescape_one() {
    char e = s_[i_++];
    switch (e) {
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i_ < s_.size() && hex_value(s_[i_]) >= 0) v = v * 16 + hex_value(s_[i_++]), ++n;
        return n == 0 ? 'x' : char(v);
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', n = 1;
          while (n < 3 && i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '7') v = v * 8 + (s_[i_++] - '0'), ++n;
          return char(v & 0xff);
        }
        return e;
    }
  }

  // $tag$...$tag$; returns an `end` token when this '$' does not open one.
  token dollar_string(size_t begin) {
    size_t j = i_ + 1;
    if (j < s_.size() && is_digit(s_[j])) return token{};  // $1 is a parameter
    while (j < s_.size() && s_[j] != '$' && is_ident_char(s_[j])) ++j;
    if (j >= s_.size() || s_[j] != '$') return token{};
    std::string_view tag = s_.substr(i_, j - i_ + 1);
    size_t close = s_.find(tag, j + 1);
    if (close == std::string_view::npos) {
      i_ = s_.size();
      return bad("unterminated dollar-quoted string", begin);
    }
    std::string text(s_.substr(j + 1, close - j - 1));
    i_ = close + tag.size();
    return make(tok::string, std::move(text), begin);
  }

  token number(size_t begin) {
    while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t j = i_ + 1;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
      if (j < s_.size() && is_digit(s_[j])) {
        i_ = j;
        while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
      }
    }
    return make(tok::number, std::string(s_.substr(begin, i_ - begin)), begin);
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::vector<token> lex(std::string_view sql, size_t tokens_max) { return lexer(sql).run(tokens_max); }

// ---------------------------------------------------------------- errors

error make_sql_error(std::string sqlstate, std::string message, std::string hint) {
  error e;
  e.sqlstate = std::move(sqlstate);
  e.message = std::move(message);
  e.hint = std::move(hint);
  return e;
}

error unsupported(std::string message, std::string hint) {
  return make_sql_error("0A000", std::move(message), std::move(hint));
}


// An identifier: a word or "quoted word".
maybe_error parse_name(parser& p, std::string& out) {
  const token& t = p.peek();
  if (t.kind != tok::ident && t.kind != tok::quoted_ident) return p.syntax_error();
  out = t.text;
  p.next();
  return std::nullopt;
}

// [public.]name; other schemas are refused.
maybe_error parse_table_name(parser& p, std::string& out) {
  SQL_TRY(parse_name(p, out));
  if (!p.is_punct('.')) return std::nullopt;
  p.next();
  std::string schema = std::move(out);
  SQL_TRY(parse_name(p, out));
  if (schema != "public") {
    return make_sql_error("3F000", "schema \"" + schema + "\" does not exist",
                          "Strata tables live in the public schema; drop the \"" + schema + ".\" qualifier.");
  }
  return std::nullopt;
}

// ( name [, name ...] )
maybe_error parse_name_list(parser& p, std::vector<std::string>& out) {
  if (!p.accept_punct('(')) return p.syntax_error();
  for (;;) {
    std::string name;
    SQL_TRY(parse_name(p, name));
    out.push_back(std::move(name));
    if (p.accept_punct(')')) return std::nullopt;
    if (!p.accept_punct(',')) return p.syntax_error();
  }
}

bool parse_u32(std::string_view text, uint32_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace strata::sql::stmt
