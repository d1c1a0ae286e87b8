#include "sql/statements.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace strata::sql {
namespace {

// ---------------------------------------------------------------- tokenizer

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

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (static_cast<unsigned char>(c) >= 0x80);
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class lexer {
 public:
  explicit lexer(std::string_view s) : s_(s) {}

  // Tokenizes everything; stops after the first `bad` token.
  std::vector<token> run() {
    std::vector<token> out;
    for (;;) {
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

  token quoted_ident(size_t begin) {
    std::string text;
    ++i_;
    for (;;) {
      if (i_ >= s_.size()) return bad("unterminated quoted identifier", begin);
      char c = s_[i_++];
      if (c == '"') {
        if (i_ < s_.size() && s_[i_] == '"') {
          text.push_back('"');
          ++i_;
          continue;
        }
        break;
      }
      text.push_back(c);
    }
    if (text.empty()) return bad("zero-length delimited identifier at or near \"\"\"\"", begin);
    return make(tok::quoted_ident, std::move(text), begin);
  }

  token plain_string(size_t begin) {
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
      text.push_back(c);
    }
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

// ---------------------------------------------------------------- errors

error make_sql_error(std::string sqlstate, std::string message, std::string hint = {}) {
  error e;
  e.sqlstate = std::move(sqlstate);
  e.message = std::move(message);
  e.hint = std::move(hint);
  return e;
}

error unsupported(std::string message, std::string hint = {}) {
  return make_sql_error("0A000", std::move(message), std::move(hint));
}

// ---------------------------------------------------------------- parser

class parser {
 public:
  explicit parser(std::string_view sql) : sql_(sql), toks_(lexer(sql).run()) {}

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

// ---------------------------------------------------------------- CREATE TABLE

bool is_column_constraint_word(std::string_view w) {
  static constexpr std::string_view words[] = {"not",    "null",       "primary",   "default",     "references",
                                               "check",  "unique",     "generated", "constraint",  "collate",
                                               "deferrable", "initially", "identity", "compression", "storage"};
  for (auto x : words)
    if (w == x) return true;
  return false;
}

bool is_serial(std::string_view w) {
  return w == "serial" || w == "serial4" || w == "serial8" || w == "bigserial" || w == "smallserial" ||
         w == "serial2";
}

class create_table_parser {
 public:
  explicit create_table_parser(parser& p) : p_(p) {}

  maybe_error run(create_table_statement& out) {
    if (p_.accept_kw("if")) {
      if (!p_.accept_kw("not") || !p_.accept_kw("exists")) return p_.syntax_error();
      out.if_not_exists = true;
    }
    SQL_TRY(parse_table_name(p_, schema_.name));
    SQL_TRY(check_table_body_start());
    SQL_TRY(parse_elements());
    SQL_TRY(parse_trailing_clauses());
    SQL_TRY(resolve());
    out.schema = std::move(schema_);
    return std::nullopt;
  }

 private:
  maybe_error check_table_body_start() {
    if (p_.is_kw("as")) {
      return unsupported("CREATE TABLE ... AS is not supported",
                         "Create the table with its columns, then INSERT INTO ... SELECT.");
    }
    if (p_.is_kw("of") || p_.is_kw("partition")) {
      return unsupported("CREATE TABLE ... OF / PARTITION OF is not supported",
                         "Declare partitioning on the table itself with PARTITION BY (see docs/sql.md).");
    }
    if (!p_.is_punct('(')) return p_.syntax_error();
    p_.next();
    return std::nullopt;
  }

  maybe_error parse_elements() {
    if (p_.accept_punct(')')) return std::nullopt;  // a table with no columns: validate() refuses it
    for (;;) {
      SQL_TRY(parse_element());
      if (p_.accept_punct(')')) return std::nullopt;
      if (!p_.accept_punct(',')) return p_.syntax_error();
    }
  }

  maybe_error parse_element() {
    if (p_.is_kw("constraint")) {
      p_.next();
      std::string constraint_name;
      SQL_TRY(parse_name(p_, constraint_name));
      return parse_table_constraint();
    }
    if (p_.is_kw("primary") || p_.is_kw("unique") || p_.is_kw("check") || p_.is_kw("foreign") ||
        p_.is_kw("exclude")) {
      return parse_table_constraint();
    }
    if (p_.is_kw("like")) {
      return unsupported("CREATE TABLE ... (LIKE ...) is not supported", "List the columns explicitly.");
    }
    return parse_column();
  }

  maybe_error parse_table_constraint() {
    if (p_.accept_kw("primary")) {
      if (!p_.accept_kw("key")) return p_.syntax_error();
      std::vector<std::string> cols;
      SQL_TRY(parse_name_list(p_, cols));
      return set_primary_key(std::move(cols));
    }
    if (p_.is_kw("unique")) return unique_unsupported();
    if (p_.is_kw("check")) return check_unsupported();
    if (p_.is_kw("foreign")) return references_unsupported();
    if (p_.is_kw("exclude")) return unsupported("EXCLUDE constraints are not supported", "Remove the constraint.");
    return p_.syntax_error();
  }

  static error unique_unsupported() {
    return unsupported("UNIQUE constraints are not supported",
                       "Make the column(s) the PRIMARY KEY, or drop the UNIQUE constraint.");
  }
  static error check_unsupported() {
    return unsupported("CHECK constraints are not supported", "Drop the CHECK constraint and check values before loading.");
  }
  static error references_unsupported() {
    return unsupported("foreign keys (REFERENCES / FOREIGN KEY) are not supported",
                       "Drop the REFERENCES clause; joins work without it.");
  }

  maybe_error set_primary_key(std::vector<std::string> cols) {
    if (!pk_names_.empty()) {
      return make_sql_error("42P16", "multiple primary keys for table \"" + schema_.name + "\" are not allowed");
    }
    if (cols.empty()) return p_.syntax_error();
    pk_names_ = std::move(cols);
    return std::nullopt;
  }

  maybe_error parse_column() {
    tables::column_def col;
    SQL_TRY(parse_name(p_, col.name));
    for (const auto& c : schema_.columns) {
      if (c.name == col.name) return make_sql_error("42701", "column \"" + col.name + "\" specified more than once");
    }
    std::string type_text;
    SQL_TRY(parse_type(col.name, type_text));
    auto type = tables::parse_type_name(type_text);
    if (!type.ok()) return type_error(col.name, type.err());
    col.type = *type;
    SQL_TRY(parse_column_constraints(col));
    schema_.columns.push_back(std::move(col));
    return std::nullopt;
  }

  static error type_error(const std::string& column, const strata::error& e) {
    bool unknown = e.message.find("unsupported type") != std::string::npos;
    return make_sql_error(unknown ? "0A000" : "22023", "column \"" + column + "\": " + e.message);
  }

  // The type's words and (modifiers), normalized: "character varying(20)".
  maybe_error parse_type(const std::string& column, std::string& out) {
    bool any = false;
    for (;;) {
      const token& t = p_.peek();
      if (t.kind == tok::ident && !is_column_constraint_word(t.text)) {
        if (!any && is_serial(t.text)) {
          return unsupported("serial types are not supported (column \"" + column + "\")",
                             "Declare the column as integer or bigint and supply the values.");
        }
        if (t.text == "array") return array_unsupported(column);
        if (!out.empty() && out.back() != ' ') out.push_back(' ');
        out += t.text;
        p_.next();
        any = true;
      } else if (t.kind == tok::quoted_ident && !any) {
        out += t.text;
        p_.next();
        any = true;
      } else if (any && p_.is_punct('(')) {
        SQL_TRY(parse_type_modifiers(out));
      } else if (any && p_.is_punct('[')) {
        return array_unsupported(column);
      } else {
        break;
      }
    }
    if (!any) return p_.syntax_error();
    while (!out.empty() && out.back() == ' ') out.pop_back();
    // Values are kept in microseconds: timestamp(6) is timestamp.
    if (out.starts_with("timestamp(6)") || out.starts_with("timestamptz(6)")) out.erase(out.find('('), 3);
    return std::nullopt;
  }

  static error array_unsupported(const std::string& column) {
    return unsupported("array types are not supported (column \"" + column + "\")",
                       "Store the values as json or in a separate table.");
  }

  maybe_error parse_type_modifiers(std::string& out) {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    p_.next();  // (
    out.push_back('(');
    for (;;) {
      const token& t = p_.peek();
      if (t.kind != tok::number && t.kind != tok::ident) return p_.syntax_error();
      out += t.text;
      p_.next();
      if (p_.accept_punct(')')) break;
      if (!p_.accept_punct(',')) return p_.syntax_error();
      out.push_back(',');
    }
    out.push_back(')');
    out.push_back(' ');
    return std::nullopt;
  }

  maybe_error parse_column_constraints(tables::column_def& col) {
    for (;;) {
      if (p_.accept_kw("constraint")) {
        std::string constraint_name;
        SQL_TRY(parse_name(p_, constraint_name));
        continue;
      }
      if (p_.accept_kw("not")) {
        if (!p_.accept_kw("null")) return p_.syntax_error();
        col.not_null = true;
      } else if (p_.accept_kw("null")) {
        col.not_null = false;
      } else if (p_.accept_kw("primary")) {
        if (!p_.accept_kw("key")) return p_.syntax_error();
        SQL_TRY(set_primary_key({col.name}));
      } else if (p_.is_kw("default")) {
        return unsupported("DEFAULT values are not supported (column \"" + col.name + "\")",
                           "Drop the DEFAULT clause and supply the value in every INSERT or COPY.");
      } else if (p_.is_kw("references")) {
        return references_unsupported();
      } else if (p_.is_kw("check")) {
        return check_unsupported();
      } else if (p_.is_kw("unique")) {
        return unique_unsupported();
      } else if (p_.is_kw("generated") || p_.is_kw("identity")) {
        return unsupported("generated and identity columns are not supported (column \"" + col.name + "\")",
                           "Drop the GENERATED clause and supply the values.");
      } else if (p_.is_kw("collate")) {
        return unsupported("COLLATE is not supported (column \"" + col.name + "\")",
                           "Drop the COLLATE clause; text compares byte-wise (as collation \"C\").");
      } else if (p_.is_kw("deferrable") || p_.is_kw("initially") || p_.is_kw("compression") ||
                 p_.is_kw("storage")) {
        return unsupported("column option " + p_.peek().text + " is not supported (column \"" + col.name + "\")",
                           "Drop the clause.");
      } else {
        return std::nullopt;
      }
    }
  }

  maybe_error parse_trailing_clauses() {
    bool partitioned = false, with_seen = false;
    for (;;) {
      if (p_.is_kw("partition")) {
        if (partitioned) return p_.syntax_error();
        partitioned = true;
        p_.next();
        if (!p_.accept_kw("by")) return p_.syntax_error();
        SQL_TRY(parse_partition_by());
      } else if (p_.is_kw("with") && p_.is_punct('(', 1)) {
        if (with_seen) return p_.syntax_error();
        with_seen = true;
        p_.next();
        SQL_TRY(parse_with_options());
      } else if (p_.is_kw("inherits")) {
        return unsupported("INHERITS is not supported", "Create a standalone table.");
      } else if (p_.is_kw("tablespace") || p_.is_kw("using") || p_.is_kw("on") || p_.is_kw("without")) {
        return unsupported(p_.peek().text + " is not supported in CREATE TABLE", "Drop the clause.");
      } else {
        break;
      }
    }
    if (!p_.finish()) return p_.syntax_error();
    return std::nullopt;
  }

  maybe_error parse_partition_by() {
    if (p_.accept_kw("range")) {
      SQL_TRY(parse_partition_columns(range_column_, 1));
      partition_kind_ = tables::partition_kind::range_time;
      if (p_.accept_kw("interval")) SQL_TRY(parse_interval());
      return std::nullopt;
    }
    if (p_.accept_kw("list")) {
      SQL_TRY(parse_partition_columns(range_column_, 1));
      partition_kind_ = tables::partition_kind::list;
      return std::nullopt;
    }
    if (p_.accept_kw("hash")) {
      SQL_TRY(parse_partition_columns(hash_columns_, tables::columns_max));
      if (p_.accept_kw("buckets")) SQL_TRY(parse_buckets(hash_buckets_));
      if (hash_buckets_ == 0 && !p_.is_kw("with")) {
        return make_sql_error("42601", "PARTITION BY HASH needs a bucket count",
                              "Write PARTITION BY HASH (col) BUCKETS n, or add WITH (buckets = n).");
      }
      return std::nullopt;
    }
    return p_.syntax_error();
  }

  maybe_error parse_partition_columns(std::vector<std::string>& out, size_t count_max) {
    out.clear();
    SQL_TRY(parse_name_list(p_, out));
    if (out.size() > count_max) {
      return unsupported("PARTITION BY RANGE and LIST take exactly one column",
                         "Partition by one date/timestamp column (RANGE) or one column (LIST).");
    }
    return std::nullopt;
  }

  maybe_error parse_interval() {
    const token& t = p_.peek();
    if (t.kind != tok::string && t.kind != tok::ident) return p_.syntax_error();
    std::string unit;
    for (char c : t.text) unit.push_back(lower(c));
    if (unit.starts_with("1 ")) unit.erase(0, 2);
    if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
    if (unit == "hour") {
      interval_ = tables::time_unit::hour;
    } else if (unit == "day") {
      interval_ = tables::time_unit::day;
    } else if (unit == "month") {
      interval_ = tables::time_unit::month;
    } else if (unit == "year") {
      interval_ = tables::time_unit::year;
    } else {
      return unsupported("partition interval '" + t.text + "' is not supported",
                         "Use INTERVAL 'hour', 'day', 'month' or 'year'.");
    }
    p_.next();
    return std::nullopt;
  }

  maybe_error parse_buckets(uint32_t& out) {
    const token& t = p_.peek();
    if (t.kind != tok::number) return p_.syntax_error();
    if (!parse_u32(t.text, out) || out == 0 || out > tables::buckets_max) {
      return make_sql_error("22023", "bucket count " + t.text + " is out of range",
                            "Use a whole number from 1 to " + std::to_string(tables::buckets_max) + ".");
    }
    p_.next();
    return std::nullopt;
  }

  maybe_error parse_with_options() {
    p_.next();  // (
    for (;;) {
      std::string option;
      SQL_TRY(parse_name(p_, option));
      if (option != "buckets") {
        return make_sql_error("22023", "unrecognized parameter \"" + option + "\"",
                              "The only table option is buckets: WITH (buckets = n).");
      }
      if (!p_.accept_punct('=')) return p_.syntax_error();
      SQL_TRY(parse_buckets(with_buckets_));
      if (p_.accept_punct(')')) return std::nullopt;
      if (!p_.accept_punct(',')) return p_.syntax_error();
    }
  }

  maybe_error column_index(const std::string& name, const char* what, uint32_t& out) const {
    for (uint32_t i = 0; i < schema_.columns.size(); ++i) {
      if (schema_.columns[i].name == name) {
        out = i;
        return std::nullopt;
      }
    }
    return make_sql_error("42703", "column \"" + name + "\" named in " + what + " does not exist");
  }

  maybe_error resolve() {
    for (const auto& name : pk_names_) {
      uint32_t i = 0;
      SQL_TRY(column_index(name, "key", i));
      for (uint32_t j : schema_.primary_key) {
        if (j == i) return make_sql_error("42701", "column \"" + name + "\" appears twice in primary key constraint");
      }
      schema_.primary_key.push_back(i);
      schema_.columns[i].not_null = true;
    }
    schema_.kind = schema_.primary_key.empty() ? tables::table_kind::log : tables::table_kind::primary_key;
    if (partition_kind_ != tables::partition_kind::none) {
      schema_.partitioning.kind = partition_kind_;
      SQL_TRY(column_index(range_column_.front(), "partition key", schema_.partitioning.column));
      schema_.partitioning.interval = interval_;
    }
    for (const auto& name : hash_columns_) {
      uint32_t i = 0;
      SQL_TRY(column_index(name, "partition key", i));
      schema_.bucket_key.push_back(i);
    }
    if (hash_buckets_ != 0 && with_buckets_ != 0 && hash_buckets_ != with_buckets_) {
      return make_sql_error("42601", "conflicting bucket counts in BUCKETS and WITH (buckets = ...)",
                            "Give the bucket count once.");
    }
    schema_.buckets = hash_buckets_ != 0 ? hash_buckets_ : with_buckets_ != 0 ? with_buckets_ : 1;
    if (schema_.buckets > 1 && schema_.bucket_key.empty()) schema_.bucket_key = schema_.primary_key;
    auto valid = tables::validate(schema_);
    if (!valid.ok()) {
      std::string state = valid.err().code == errc::unsupported ? "0A000" : "42P16";
      return make_sql_error(state, valid.err().message);
    }
    return std::nullopt;
  }

  parser& p_;
  tables::table_schema schema_;
  std::vector<std::string> pk_names_;
  tables::partition_kind partition_kind_ = tables::partition_kind::none;
  std::vector<std::string> range_column_;
  tables::time_unit interval_ = tables::time_unit::day;
  std::vector<std::string> hash_columns_;
  uint32_t hash_buckets_ = 0;
  uint32_t with_buckets_ = 0;
};

// ---------------------------------------------------------------- COPY

// Options as written, before defaults and checks.
struct copy_options {
  std::optional<copy_format> format;
  std::optional<std::string> delimiter, null_string, quote, escape;
  std::optional<bool> header;
  bool encoding_seen = false;
  bool freeze_seen = false;
};

error redundant_options() { return make_sql_error("42601", "conflicting or redundant options"); }

template <class T>
maybe_error set_once(std::optional<T>& slot, T value) {
  if (slot) return redundant_options();
  slot = std::move(value);
  return std::nullopt;
}

maybe_error set_format(copy_options& o, std::string_view name) {
  if (name == "text") return set_once(o.format, copy_format::text);
  if (name == "csv") return set_once(o.format, copy_format::csv);
  if (name == "binary") return set_once(o.format, copy_format::binary);
  return make_sql_error("22023", "COPY format \"" + std::string(name) + "\" not recognized",
                        "Use FORMAT text, csv or binary.");
}

maybe_error set_encoding(copy_options& o, std::string_view name) {
  if (o.encoding_seen) return redundant_options();
  o.encoding_seen = true;
  std::string n;
  for (char c : name)
    if (c != '-' && c != '_') n.push_back(lower(c));
  if (n == "utf8" || n == "unicode" || n == "sqlascii") return std::nullopt;
  return unsupported("COPY encoding \"" + std::string(name) + "\" is not supported",
                     "Send UTF8 data (ENCODING 'UTF8', or convert the file first).");
}

// A boolean option value; `match` is accepted for HEADER.
bool parse_bool_word(std::string_view w, bool& out) {
  std::string v;
  for (char c : w) v.push_back(lower(c));
  if (v == "true" || v == "on" || v == "1" || v == "yes" || v == "match") {
    out = true;
    return true;
  }
  if (v == "false" || v == "off" || v == "0" || v == "no") {
    out = false;
    return true;
  }
  return false;
}

class copy_parser {
 public:
  explicit copy_parser(parser& p) : p_(p) {}

  maybe_error run(copy_statement& out) {
    if (p_.accept_kw("binary")) SQL_TRY(set_once(opts_.format, copy_format::binary));
    SQL_TRY(parse_source(out));
    SQL_TRY(parse_direction(out));
    SQL_TRY(parse_options());
    if (p_.is_kw("where")) {
      return unsupported("COPY ... WHERE is not supported", "Load all rows, then DELETE or filter in a query.");
    }
    if (!p_.finish()) return p_.syntax_error();
    return apply(out);
  }

 private:
  maybe_error parse_source(copy_statement& out) {
    if (p_.is_punct('(')) return parse_query(out);
    SQL_TRY(parse_table_name(p_, out.table));
    if (p_.is_punct('(')) SQL_TRY(parse_name_list(p_, out.columns));
    return std::nullopt;
  }

  // ( query ): the text between the parentheses, verbatim.
  maybe_error parse_query(copy_statement& out) {
    size_t open_end = p_.peek().end;
    p_.next();
    int depth = 1;
    for (;;) {
      const token& t = p_.peek();
      if (t.kind == tok::end || t.kind == tok::bad) return p_.syntax_error();
      if (p_.is_punct('(')) ++depth;
      if (p_.is_punct(')') && --depth == 0) {
        std::string_view q = p_.sql().substr(open_end, t.begin - open_end);
        while (!q.empty() && is_space(q.front())) q.remove_prefix(1);
        while (!q.empty() && is_space(q.back())) q.remove_suffix(1);
        if (q.empty()) return p_.syntax_error();
        out.query = std::string(q);
        p_.next();
        return std::nullopt;
      }
      p_.next();
    }
  }

  maybe_error parse_direction(copy_statement& out) {
    if (p_.accept_kw("from")) {
      out.from_stdin = true;
      if (!out.query.empty()) {
        return unsupported("COPY (query) FROM is not supported", "COPY FROM loads into a table: COPY t FROM STDIN.");
      }
      if (p_.accept_kw("stdin")) return std::nullopt;
    } else if (p_.accept_kw("to")) {
      out.from_stdin = false;
      if (p_.accept_kw("stdout")) return std::nullopt;
    } else {
      return p_.syntax_error();
    }
    if (p_.peek().kind == tok::string || p_.is_kw("program") || p_.is_kw("stdin") || p_.is_kw("stdout")) {
      if (p_.is_kw("stdin") || p_.is_kw("stdout")) return p_.syntax_error();
      return make_sql_error("42501", "COPY to or from a server file is not allowed",
                            "Use COPY ... FROM STDIN or COPY ... TO STDOUT (psql's \\copy).");
    }
    return p_.syntax_error();
  }

  maybe_error parse_options() {
    p_.accept_kw("with");
    if (p_.is_punct('(')) return parse_option_list();
    return parse_legacy_options();
  }

  // ( name [value] [, ...] )
  maybe_error parse_option_list() {
    p_.next();
    for (;;) {
      std::string name;
      SQL_TRY(parse_name(p_, name));
      const token& v = p_.peek();
      if (p_.is_punct('(') || p_.is_punct('*')) return force_unsupported(name);  // FORCE_* column lists
      bool has_value = v.kind == tok::ident || v.kind == tok::string || v.kind == tok::number ||
                       v.kind == tok::quoted_ident;
      std::string value = has_value ? v.text : std::string();
      if (has_value) p_.next();
      SQL_TRY(set_option(name, value, has_value));
      if (p_.accept_punct(')')) return std::nullopt;
      if (!p_.accept_punct(',')) return p_.syntax_error();
    }
  }

  static error force_unsupported(const std::string& name) {
    return unsupported("COPY option " + name + " is not supported", "Drop the option.");
  }

  maybe_error set_option(const std::string& name, const std::string& value, bool has_value) {
    if (name == "format") {
      if (!has_value) return make_sql_error("42601", "COPY option format needs a value");
      return set_format(opts_, value);
    }
    if (name == "delimiter") return set_string_option(opts_.delimiter, name, value, has_value);
    if (name == "null") return set_string_option(opts_.null_string, name, value, has_value);
    if (name == "quote") return set_string_option(opts_.quote, name, value, has_value);
    if (name == "escape") return set_string_option(opts_.escape, name, value, has_value);
    if (name == "header") {
      bool b = true;
      if (has_value && !parse_bool_word(value, b)) {
        return make_sql_error("22023", "header requires a Boolean value or \"match\"");
      }
      return set_once(opts_.header, b);
    }
    if (name == "encoding") {
      if (!has_value) return make_sql_error("42601", "COPY option encoding needs a value");
      return set_encoding(opts_, value);
    }
    if (name == "freeze") {
      bool b = true;
      if (opts_.freeze_seen) return redundant_options();
      opts_.freeze_seen = true;
      if (has_value && !parse_bool_word(value, b)) return make_sql_error("22023", "freeze requires a Boolean value");
      return std::nullopt;
    }
    if (name == "force_quote" || name == "force_not_null" || name == "force_null" || name == "default" ||
        name == "oids") {
      return force_unsupported(name);
    }
    return make_sql_error("42601", "option \"" + name + "\" not recognized",
                          "COPY options: FORMAT, DELIMITER, NULL, HEADER, QUOTE, ESCAPE, ENCODING.");
  }

  static maybe_error set_string_option(std::optional<std::string>& slot, const std::string& name,
                                       const std::string& value, bool has_value) {
    if (!has_value) return make_sql_error("42601", "COPY option " + name + " needs a value");
    return set_once(slot, value);
  }

  // PostgreSQL's pre-9.0 syntax: [BINARY] [DELIMITER [AS] 'c'] [NULL [AS] 's'] [CSV [HEADER] [QUOTE [AS] 'q'] [ESCAPE [AS] 'e']]
  maybe_error parse_legacy_options() {
    for (;;) {
      if (p_.accept_kw("binary")) {
        SQL_TRY(set_once(opts_.format, copy_format::binary));
      } else if (p_.accept_kw("csv")) {
        SQL_TRY(set_once(opts_.format, copy_format::csv));
      } else if (p_.accept_kw("header")) {
        SQL_TRY(set_once(opts_.header, true));
      } else if (p_.is_kw("delimiter") || p_.is_kw("null") || p_.is_kw("quote") || p_.is_kw("escape")) {
        std::string name = p_.next().text;
        p_.accept_kw("as");
        if (p_.peek().kind != tok::string) return p_.syntax_error();
        std::string value = p_.next().text;
        SQL_TRY(set_option(name, value, true));
      } else if (p_.is_kw("encoding")) {
        p_.next();
        if (p_.peek().kind != tok::string) return p_.syntax_error();
        SQL_TRY(set_encoding(opts_, p_.next().text));
      } else if (p_.is_kw("force") || p_.is_kw("oids")) {
        return force_unsupported(p_.peek().text);
      } else if (p_.accept_kw("freeze")) {
        opts_.freeze_seen = true;
      } else {
        return std::nullopt;
      }
    }
  }

  static error single_byte(const char* what) {
    return unsupported(std::string("COPY ") + what + " must be a single one-byte character");
  }

  maybe_error apply(copy_statement& out) const {
    out.format = opts_.format.value_or(copy_format::text);
    bool csv = out.format == copy_format::csv;
    if (out.format == copy_format::binary) {
      if (opts_.delimiter) return make_sql_error("42601", "cannot specify DELIMITER in BINARY mode");
      if (opts_.null_string) return make_sql_error("42601", "cannot specify NULL in BINARY mode");
      if (opts_.header.value_or(false)) return make_sql_error("0A000", "cannot specify HEADER in BINARY mode");
    }
    if (!csv && opts_.quote) return unsupported("COPY quote available only in CSV mode");
    if (!csv && opts_.escape) return unsupported("COPY escape available only in CSV mode");
    if (opts_.delimiter && opts_.delimiter->size() != 1) return single_byte("delimiter");
    if (opts_.quote && opts_.quote->size() != 1) return single_byte("quote");
    if (opts_.escape && opts_.escape->size() != 1) return single_byte("escape");
    out.delimiter = opts_.delimiter ? (*opts_.delimiter)[0] : csv ? ',' : '\t';
    out.null_string = opts_.null_string ? *opts_.null_string : csv ? "" : "\\N";
    out.header = opts_.header.value_or(false);
    out.quote = opts_.quote ? (*opts_.quote)[0] : '"';
    out.escape = opts_.escape ? (*opts_.escape)[0] : out.quote;
    return check_characters(out);
  }

  static maybe_error check_characters(const copy_statement& out) {
    if (out.format == copy_format::binary) return std::nullopt;
    bool csv = out.format == copy_format::csv;
    char d = out.delimiter;
    if (d == '\n' || d == '\r') return make_sql_error("22023", "COPY delimiter cannot be newline or carriage return");
    if (out.null_string.find_first_of("\r\n") != std::string::npos) {
      return make_sql_error("22023", "COPY null representation cannot use newline or carriage return");
    }
    if (!csv && std::string_view("\\.abcdefghijklmnopqrstuvwxyz0123456789").find(d) != std::string_view::npos) {
      return make_sql_error("22023", std::string("COPY delimiter cannot be \"") + d + "\"");
    }
    if (csv && d == out.quote) return make_sql_error("22023", "COPY delimiter and quote must be different");
    if (out.null_string.find(d) != std::string::npos) {
      return make_sql_error("22023", "COPY delimiter must not appear in the NULL specification");
    }
    if (csv && out.null_string.find(out.quote) != std::string::npos) {
      return make_sql_error("22023", "CSV quote character must not appear in the NULL specification");
    }
    return std::nullopt;
  }

  parser& p_;
  copy_options opts_;
};

template <class T, class F>
std::optional<outcome<T>> run_parser(parser& p, F&& body) {
  T out;
  if (auto e = body(p, out)) return outcome<T>(std::move(*e));
  return outcome<T>(std::move(out));
}

}  // namespace

std::optional<outcome<create_table_statement>> parse_create_table(std::string_view sql) {
  parser p(sql);
  if (!p.accept_kw("create")) return std::nullopt;
  if (p.is_kw("global") || p.is_kw("local")) p.next();
  if (p.is_kw("temp") || p.is_kw("temporary")) return std::nullopt;  // DuckDB keeps temp tables
  bool or_replace = false;
  if (p.is_kw("or") && p.is_kw("replace", 1)) {
    p.next();
    p.next();
    or_replace = true;
  }
  p.accept_kw("unlogged");  // every Strata table is logged; UNLOGGED only asks for less
  if (!p.accept_kw("table")) return std::nullopt;
  if (or_replace) {
    return outcome<create_table_statement>(
        unsupported("CREATE OR REPLACE TABLE is not supported", "DROP TABLE the old table, then CREATE TABLE."));
  }
  return run_parser<create_table_statement>(
      p, [](parser& pp, create_table_statement& out) { return create_table_parser(pp).run(out); });
}

std::optional<outcome<drop_table_statement>> parse_drop_table(std::string_view sql) {
  parser p(sql);
  if (!p.accept_kw("drop") || !p.accept_kw("table")) return std::nullopt;
  return run_parser<drop_table_statement>(p, [](parser& pp, drop_table_statement& out) -> maybe_error {
    if (pp.accept_kw("if")) {
      if (!pp.accept_kw("exists")) return pp.syntax_error();
      out.if_exists = true;
    }
    for (;;) {
      std::string name;
      SQL_TRY(parse_table_name(pp, name));
      out.names.push_back(std::move(name));
      if (!pp.accept_punct(',')) break;
    }
    if (!pp.accept_kw("cascade")) pp.accept_kw("restrict");
    if (!pp.finish()) return pp.syntax_error();
    return std::nullopt;
  });
}

std::optional<outcome<copy_statement>> parse_copy(std::string_view sql) {
  parser p(sql);
  if (!p.accept_kw("copy")) return std::nullopt;
  return run_parser<copy_statement>(p, [](parser& pp, copy_statement& out) { return copy_parser(pp).run(out); });
}

std::string normalize_identifier(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      out.push_back(text[i]);
      if (text[i] == '"' && i + 2 < text.size() && text[i + 1] == '"') ++i;
    }
    return out;
  }
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

}  // namespace strata::sql
