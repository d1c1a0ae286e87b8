#include "sql/keywords.h"

#include "sql/statement_parser.h"

namespace strata::sql {
namespace {

// Statements the session inspects are usually short; past this many leading
// semicolons is_blank looks at the whole text.
constexpr size_t blank_probe_tokens = 16;

}  // namespace

// The statement parsers' lexer, in the session's simpler token kinds.
std::vector<token> tokenize(std::string_view s, size_t tokens_max) {
  std::vector<token> out;
  for (auto& t : stmt::lex(s, tokens_max)) {
    token::kind kind = token::kind::word;
    switch (t.kind) {
      case stmt::tok::ident: kind = token::kind::word; break;
      case stmt::tok::quoted_ident: kind = token::kind::quoted; break;
      case stmt::tok::string: kind = token::kind::string; break;
      case stmt::tok::number: kind = token::kind::number; break;
      case stmt::tok::punct: kind = token::kind::symbol; break;
      case stmt::tok::bad:
      case stmt::tok::end: return out;
    }
    out.push_back(token{kind, std::move(t.text)});
  }
  return out;
}

bool is_blank(std::string_view s) {
  // `complete`: the lexer reached the end of the text, not just its token limit.
  auto all_semicolons = [&s](const std::vector<stmt::token>& toks, bool& complete) {
    for (const auto& t : toks) {
      if (t.kind == stmt::tok::end) {
        complete = t.begin >= s.size();
        return true;
      }
      if (t.kind != stmt::tok::punct || t.text != ";") return false;
    }
    return true;
  };
  bool complete = false;
  if (!all_semicolons(stmt::lex(s, blank_probe_tokens), complete)) return false;
  if (complete) return true;
  return all_semicolons(stmt::lex(s), complete) && complete;
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
