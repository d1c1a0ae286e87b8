// split_statements (declared in sql/session.h): cuts a simple-query string at
// top-level semicolons. Quotes, "identifiers", E'' strings, $tag$ dollar
// quotes and comments (nested /* */ included) hide semicolons. Unterminated
// quotes run to the end of the text; the statement's parser reports them.
#include <string>
#include <string_view>
#include <vector>

#include "sql/session.h"

namespace strata::sql {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

class splitter {
 public:
  explicit splitter(std::string_view sql) : s_(sql) {}

  std::vector<std::string> run() {
    while (i_ < s_.size()) step();
    cut(s_.size());
    return std::move(out_);
  }

 private:
  void step() {
    char c = s_[i_];
    char next = i_ + 1 < s_.size() ? s_[i_ + 1] : '\0';
    if (c == ';') {
      cut(i_);
      start_ = ++i_;
      has_content_ = false;
      return;
    }
    if (c == '-' && next == '-') return skip_line_comment();
    if (c == '/' && next == '*') return skip_block_comment();
    if (!is_space(c)) has_content_ = true;
    if (c == '\'') {
      bool backslashes = i_ > 0 && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E') && (i_ < 2 || !is_ident_char(s_[i_ - 2]));
      return skip_quoted('\'', backslashes);
    }
    if (c == '"') return skip_quoted('"', false);
    if (c == '$' && (i_ == 0 || !is_ident_char(s_[i_ - 1])) && skip_dollar_quote()) return;
    ++i_;
  }

  void skip_line_comment() {
    while (i_ < s_.size() && s_[i_] != '\n') ++i_;
  }

  void skip_block_comment() {
    uint64_t depth = 0;
    while (i_ < s_.size()) {
      if (s_[i_] == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        ++depth;
        i_ += 2;
      } else if (s_[i_] == '*' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        i_ += 2;
        if (--depth == 0) return;
      } else {
        ++i_;
      }
    }
  }

  // 'text' with '' (and \x when `backslashes`), or "ident" with "".
  void skip_quoted(char quote, bool backslashes) {
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (backslashes && c == '\\') {
        i_ += 2;
      } else if (c == quote) {
        if (i_ + 1 < s_.size() && s_[i_ + 1] == quote) {
          i_ += 2;
        } else {
          ++i_;
          return;
        }
      } else {
        ++i_;
      }
    }
    i_ = s_.size();
  }

  // $tag$ ... $tag$; false when this '$' does not open a dollar quote ($1, a$b).
  bool skip_dollar_quote() {
    size_t j = i_ + 1;
    if (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') return false;
    while (j < s_.size() && s_[j] != '$' && is_ident_char(s_[j])) ++j;
    if (j >= s_.size() || s_[j] != '$') return false;
    std::string_view tag = s_.substr(i_, j - i_ + 1);
    size_t close = s_.find(tag, j + 1);
    i_ = close == std::string_view::npos ? s_.size() : close + tag.size();
    return true;
  }

  void cut(size_t end) {
    if (!has_content_) return;
    std::string_view piece = s_.substr(start_, end - start_);
    while (!piece.empty() && is_space(piece.front())) piece.remove_prefix(1);
    while (!piece.empty() && is_space(piece.back())) piece.remove_suffix(1);
    if (!piece.empty()) out_.emplace_back(piece);
    has_content_ = false;
  }

  std::string_view s_;
  size_t i_ = 0;
  size_t start_ = 0;
  bool has_content_ = false;  // something other than blanks and comments since start_
  std::vector<std::string> out_;
};

}  // namespace

std::vector<std::string> split_statements(std::string_view sql) { return splitter(sql).run(); }

}  // namespace strata::sql
