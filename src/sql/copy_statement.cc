// The COPY statement parser: COPY table [(columns)] FROM STDIN / TO STDOUT
// and COPY (query) TO STDOUT with their options. Shared lexer and name rules:
// statement_parser.cc.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sql/statement_parser.h"
#include "sql/statements.h"

namespace strata::sql {
namespace stmt {
namespace {

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


}  // namespace
}  // namespace stmt

std::optional<outcome<copy_statement>> parse_copy(std::string_view sql) {
  using namespace stmt;
  parser p(sql);
  if (!p.accept_kw("copy")) return std::nullopt;
  return run_parser<copy_statement>(p, [](parser& pp, copy_statement& out) { return copy_parser(pp).run(out); });
}

}  // namespace strata::sql
