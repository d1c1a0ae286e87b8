// The CREATE TABLE parser. DROP TABLE is read off PostgreSQL's parse tree
// (pg_parse.h), COPY is copy_statement.cc, and the lexer and shared name
// rules are statement_parser.cc.
#include "sql/statements.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sql/statement_parser.h"
#include "sql/storage_parameters.h"

namespace strata::sql {
namespace stmt {
namespace {

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

const char* serial_integer_type(std::string_view w) {
  if (w == "smallserial" || w == "serial2") return "smallint";
  if (w == "bigserial" || w == "serial8") return "bigint";
  return "integer";
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
    out.serial_columns = std::move(serial_columns_);
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
    serial_ = false;
    SQL_TRY(parse_type(col.name, type_text));
    auto type = tables::parse_type_name(type_text);
    if (!type.ok()) return type_error(col.name, type_text, type.err());
    col.type = *type;
    SQL_TRY(parse_column_constraints(col));
    if (serial_) {
      if (!col.default_expr.empty()) {
        return make_sql_error("42601", "multiple default values specified for column \"" + col.name + "\" of table \"" +
                                           schema_.name + "\"");
      }
      col.not_null = true;
      serial_columns_.push_back(uint32_t(schema_.columns.size()));
    }
    schema_.columns.push_back(std::move(col));
    return std::nullopt;
  }

  // DEFAULT's expression, as written: up to the next column constraint, or
  // the ',' or ')' that ends the column, outside parentheses.
  maybe_error parse_default(tables::column_def& col) {
    if (!col.default_expr.empty() || col.identity != tables::identity_kind::none) {
      return make_sql_error("42601", "multiple default values specified for column \"" + col.name + "\" of table \"" +
                                         schema_.name + "\"");
    }
    const token& first = p_.peek();
    size_t end = first.begin;
    int depth = 0;
    for (bool leading = true;; leading = false) {
      const token& t = p_.peek();
      if (t.kind == tok::end || t.kind == tok::bad) break;
      if (depth == 0 && (p_.is_punct(',') || p_.is_punct(')'))) break;
      if (depth == 0 && !leading && t.kind == tok::ident && ends_default(t.text)) break;
      if (p_.is_punct('(')) ++depth;
      if (p_.is_punct(')')) --depth;
      end = t.end;
      p_.next();
    }
    if (end == first.begin) return p_.syntax_error();
    col.default_expr = std::string(p_.sql().substr(first.begin, end - first.begin));
    return std::nullopt;
  }

  static bool ends_default(std::string_view w) {
    return w == "default" || w == "not" || w == "null" || w == "primary" || w == "references" || w == "check" || w == "unique" ||
           w == "generated" || w == "constraint" || w == "collate" || w == "deferrable" || w == "initially";
  }

  // GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY [ ( sequence options ) ]:
  // the options are read off PostgreSQL's tree, so here they are only skipped.
  maybe_error parse_generated(tables::column_def& col) {
    p_.next();  // generated
    tables::identity_kind kind = tables::identity_kind::always;
    if (p_.accept_kw("by")) {
      if (!p_.accept_kw("default")) return p_.syntax_error();
      kind = tables::identity_kind::by_default;
    } else if (!p_.accept_kw("always")) {
      return p_.syntax_error();
    }
    if (!p_.accept_kw("as")) return p_.syntax_error();
    if (p_.is_punct('(')) {
      return unsupported("generated columns (GENERATED ALWAYS AS (...) STORED) are not supported (column \"" +
                             col.name + "\")",
                         "Compute the value in the INSERT, or in a view over the table.");
    }
    if (!p_.accept_kw("identity")) return p_.syntax_error();
    if (col.identity != tables::identity_kind::none) {
      return make_sql_error("42601", "multiple identity specifications for column \"" + col.name + "\" of table \"" +
                                         schema_.name + "\"");
    }
    if (!col.default_expr.empty() || serial_) {
      return make_sql_error("42601", "both default and identity specified for column \"" + col.name + "\" of table \"" +
                                         schema_.name + "\"");
    }
    if (p_.is_punct('(')) {
      for (int depth = 0;;) {
        if (p_.at_end()) return p_.syntax_error();
        if (p_.is_punct('(')) ++depth;
        if (p_.is_punct(')') && --depth == 0) {
          p_.next();
          break;
        }
        p_.next();
      }
    }
    if (!tables::is_integer(col.type.id)) {
      return make_sql_error("22023", "identity column type must be smallint, integer, or bigint");
    }
    col.identity = kind;
    col.not_null = true;
    return std::nullopt;
  }

  // Types PostgreSQL has and Strata does not store yet: "not supported", not "does not exist".
  static bool is_postgres_type_strata_lacks(const std::string& type_text) {
    static const char* const names[] = {"uuid", "interval", "time", "timetz", "money", "inet", "cidr",
                                        "macaddr", "xml", "point", "bit", "varbit", "tsvector", "oid"};
    std::string first = type_text.substr(0, type_text.find_first_of(" (["));
    for (const char* name : names) {
      if (first == name) return true;
    }
    return type_text.find('[') != std::string::npos;
  }

  // PostgreSQL's answers: a known type followed by stray words is a syntax
  // error (42601) at the first stray word; a name that is no type is 42704.
  static error type_error(const std::string& column, const std::string& type_text, const strata::error& e) {
    if (e.message.find("unsupported type") == std::string::npos) {
      return make_sql_error("22023", "column \"" + column + "\": " + e.message);
    }
    // The longest leading run of words that is a type ("double precision foo").
    for (size_t space = type_text.rfind(' '); space != std::string::npos && space > 0;
         space = type_text.rfind(' ', space - 1)) {
      if (!tables::parse_type_name(type_text.substr(0, space)).ok()) continue;
      std::string rest = type_text.substr(space + 1);
      error err = make_sql_error("42601", "syntax error at or near \"" + rest.substr(0, rest.find(' ')) + "\"");
      err.hint = "Separate column definitions with commas.";
      return err;
    }
    if (is_postgres_type_strata_lacks(type_text)) {
      return make_sql_error("0A000", "column \"" + column + "\": " + e.message);
    }
    error err = make_sql_error("42704", "type \"" + type_text + "\" does not exist");
    err.detail = "column \"" + column + "\": " + e.message;
    return err;
  }

  // The type's words and (modifiers), normalized: "character varying(20)".
  maybe_error parse_type(const std::string& column, std::string& out) {
    bool any = false;
    for (;;) {
      const token& t = p_.peek();
      if (t.kind == tok::ident && !is_column_constraint_word(t.text)) {
        if (!any && is_serial(t.text)) {
          out = serial_integer_type(t.text);
          serial_ = true;
          p_.next();
          return std::nullopt;
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
      } else if (p_.accept_kw("default")) {
        SQL_TRY(parse_default(col));
      } else if (p_.is_kw("references")) {
        return references_unsupported();
      } else if (p_.is_kw("check")) {
        return check_unsupported();
      } else if (p_.is_kw("unique")) {
        return unique_unsupported();
      } else if (p_.is_kw("generated")) {
        SQL_TRY(parse_generated(col));
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
      if (option == "buckets") {
        if (!p_.accept_punct('=')) return p_.syntax_error();
        SQL_TRY(parse_buckets(with_buckets_));
      } else {
        SQL_TRY(parse_storage_parameter(option));
      }
      if (p_.accept_punct(')')) return std::nullopt;
      if (!p_.accept_punct(',')) return p_.syntax_error();
    }
  }

  // One of PostgreSQL's storage parameters (storage_parameters.h): name[.name] [= value].
  maybe_error parse_storage_parameter(std::string option) {
    if (p_.accept_punct('.')) {
      std::string second;
      SQL_TRY(parse_name(p_, second));
      option += "." + second;
    }
    std::optional<std::string> value;
    if (p_.accept_punct('=')) {
      const bool negative = p_.accept_punct('-');
      const token& t = p_.peek();
      if (t.kind != tok::number && t.kind != tok::ident && t.kind != tok::string) return p_.syntax_error();
      value = (negative ? "-" : "") + t.text;
      p_.next();
    }
    if (auto bad = check_storage_parameter(option, value)) return bad;
    return std::nullopt;
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
  bool serial_ = false;  // the column being parsed was declared serial
  std::vector<uint32_t> serial_columns_;
  std::vector<std::string> pk_names_;
  tables::partition_kind partition_kind_ = tables::partition_kind::none;
  std::vector<std::string> range_column_;
  tables::time_unit interval_ = tables::time_unit::day;
  std::vector<std::string> hash_columns_;
  uint32_t hash_buckets_ = 0;
  uint32_t with_buckets_ = 0;
};


}  // namespace
}  // namespace stmt

std::optional<outcome<create_table_statement>> parse_create_table(std::string_view sql) {
  using namespace stmt;
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

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
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
  for (char& c : out) c = stmt::lower(c);
  return out;
}

}  // namespace strata::sql
