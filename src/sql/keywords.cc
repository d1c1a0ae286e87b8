#include "sql/keywords.h"

#include <cctype>

namespace strata::sql {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_word_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }
bool is_word_char(char c) { return is_word_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$'; }

// Skips whitespace and comments from `i`; false when a block comment is unterminated.
bool skip_blank(std::string_view s, size_t& i) {
  while (i < s.size()) {
    if (is_space(s[i])) {
      ++i;
    } else if (s.substr(i, 2) == "--") {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (s.substr(i, 2) == "/*") {
      int depth = 0;
      do {
        if (s.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (s.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (depth > 0 && i < s.size());
      if (depth > 0) return false;
    } else {
      return true;
    }
  }
  return true;
}

// Reads a quoted run starting at s[i] == quote; doubled quotes stand for one.
bool read_quoted(std::string_view s, size_t& i, char quote, bool backslash, std::string& out) {
  ++i;
  while (i < s.size()) {
    char c = s[i];
    if (backslash && c == '\\' && i + 1 < s.size()) {
      out.push_back(s[i + 1]);
      i += 2;
    } else if (c == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        out.push_back(quote);
        i += 2;
      } else {
        ++i;
        return true;
      }
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return false;
}

}  // namespace

std::vector<token> tokenize(std::string_view s, size_t tokens_max) {
  std::vector<token> out;
  size_t i = 0;
  while (out.size() < tokens_max && skip_blank(s, i) && i < s.size()) {
    token t;
    char c = s[i];
    if ((c == 'e' || c == 'E') && i + 1 < s.size() && s[i + 1] == '\'') {
      t.type = token::kind::string;
      ++i;
      if (!read_quoted(s, i, '\'', true, t.text)) break;
    } else if (is_word_start(c)) {
      size_t start = i;
      while (i < s.size() && is_word_char(s[i])) ++i;
      for (char ch : s.substr(start, i - start)) t.text.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    } else if (c == '"') {
      t.type = token::kind::quoted;
      if (!read_quoted(s, i, '"', false, t.text)) break;
    } else if (c == '\'') {
      t.type = token::kind::string;
      if (!read_quoted(s, i, '\'', false, t.text)) break;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      t.type = token::kind::number;
      size_t start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      t.text = std::string(s.substr(start, i - start));
    } else {
      t.type = token::kind::symbol;
      t.text = std::string(1, c);
      ++i;
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool is_blank(std::string_view s) {
  size_t i = 0;
  while (true) {
    if (!skip_blank(s, i)) return false;
    if (i == s.size()) return true;
    if (s[i] != ';') return false;
    ++i;
  }
}

std::vector<std::string> leading_words(std::string_view sql, size_t words_max) {
  std::vector<std::string> words;
  for (auto& t : tokenize(sql, words_max)) {
    if (t.type != token::kind::word) break;
    words.push_back(std::move(t.text));
  }
  return words;
}

}  // namespace strata::sql
