// libFuzzer target: Strata's own SQL text handling, all pure functions over
// untrusted text (src/sql/statements.cc, split.cc, copy_format.cc). No DuckDB.
//
// The first input byte picks the mode; the rest is the input:
//   0..63    the text as a statement: parse_create_table, PostgreSQL's parser (pg_parse.h),
//            parse_copy and split_statements. A parsed CREATE TABLE must pass
//            tables::validate; split pieces must be non-empty and trimmed.
//   64..127  the text as COPY FROM STDIN data. The next 4 bytes choose the
//            options, the column types, where feed() splits the input and
//            (top bit of the fourth) the binary format. Whatever parses must
//            encode and decode back to the same values.
//   128..255 the text as one value of a type (byte % 13): what parses must
//            print and parse back to the same text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sql/binary_value.h"
#include "sql/copy_format.h"
#include "sql/pg_parse.h"
#include "sql/pg_types.h"
#include "sql/session.h"
#include "sql/statements.h"
#include "tables/schema.h"

namespace {

using namespace strata;
using namespace strata::sql;
using tables::column_type;
using tables::type_id;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "SQL text contract violated: %s\n", what);
    std::abort();
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

const column_type types[] = {
    {type_id::boolean}, {type_id::int16},    {type_id::int32},       {type_id::int64},          {type_id::float32},
    {type_id::float64}, {type_id::numeric, 12, 2}, {type_id::numeric, 38, 6}, {type_id::text},
    {type_id::text, 0, 0, 4}, {type_id::bytea}, {type_id::json}, {type_id::date},
};
const column_type time_types[] = {{type_id::timestamp}, {type_id::timestamptz}};

column_type type_at(uint8_t b) {
  b %= 15;
  return b < 13 ? types[b] : time_types[b - 13];
}

void fuzz_statement(std::string_view text) {
  if (auto c = parse_create_table(text); c && c->ok()) {
    require(tables::validate(c->value().schema).ok(), "a parsed CREATE TABLE fails validate");
    require(!c->value().schema.columns.empty(), "a parsed CREATE TABLE has no columns");
  }
  if (auto tree = pg_tree::parse(text); tree.ok()) {
    for (size_t i = 0; i < tree.value().size(); ++i) {
      const PgQuery__Node& n = tree.value().statement(i);
      if (n.node_case == PG_QUERY__NODE__NODE_DROP_STMT && n.drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
        require(!read_drop_table(*n.drop_stmt).tables.empty(), "DROP TABLE without names");
      }
    }
  }
  if (auto c = parse_copy(text); c && c->ok()) {
    require(c->value().table.empty() != c->value().query.empty(), "COPY needs exactly one of table and query");
  }
  for (const auto& piece : split_statements(text)) {
    require(!piece.empty(), "an empty statement from split");
    require(!is_space(piece.front()) && !is_space(piece.back()), "an untrimmed statement from split");
  }
  (void)normalize_identifier(text);
}

std::vector<std::vector<std::string>> cells(const tables::column_batch& b) {
  std::vector<std::vector<std::string>> out(b.row_count);
  for (const auto& c : b.columns) require(c.row_count == b.row_count, "a column's row count differs from the batch's");
  for (uint32_t r = 0; r < b.row_count; ++r) {
    for (const auto& c : b.columns) {
      std::string v = "<null>";
      if (!c.is_null(r)) {
        v.clear();
        append_text_value(c, r, v);
      }
      out[r].push_back(std::move(v));
    }
  }
  return out;
}

copy_statement options_from(uint8_t b) {
  copy_statement o;
  if (b & 1) {
    o.format = copy_format::csv;
    static const char delims[] = {',', ';', '\t', '|'};
    static const char* nulls[] = {"", "NULL", "\\N", ""};
    o.delimiter = delims[(b >> 1) & 3];
    o.null_string = nulls[(b >> 3) & 3];
    o.quote = (b & 0x20) ? '\'' : '"';
    o.escape = (b & 0x40) ? '\\' : o.quote;
  } else {
    // Text: only \N as NULL, so that NULL and '' stay apart in the round trip.
    static const char delims[] = {'\t', ',', '|', ';'};
    o.delimiter = delims[(b >> 1) & 3];
  }
  o.header = (b & 0x80) != 0;
  return o;
}

void fuzz_copy(std::string_view input) {
  if (input.size() < 4) return;
  copy_statement o = options_from(uint8_t(input[0]));
  std::vector<column_type> cols;
  size_t ncols = 1 + uint8_t(input[1]) % 4;
  for (size_t i = 0; i < ncols; ++i) cols.push_back(type_at(uint8_t(input[2]) + uint8_t(i * 5)));
  size_t piece = 1 + uint8_t(input[3]) % 16;
  if ((uint8_t(input[3]) & 0x80) != 0) {
    o = copy_statement{};
    o.format = copy_format::binary;
  }
  std::string_view data = input.substr(4);

  copy_decoder d(o, cols);
  bool ok = true;
  for (size_t at = 0; at < data.size() && ok; at += piece) ok = d.feed(data.substr(at, piece)).ok();
  if (ok) ok = d.finish().ok();
  tables::column_batch batch = d.take_rows();
  auto before = cells(batch);
  if (!ok) return;
  require(d.rows_parsed() == batch.row_count, "rows_parsed differs from the rows taken");

  std::string encoded;
  if (o.format == copy_format::binary) {
    std::vector<field> fields;
    for (const auto& c : cols) {
      field f;
      f.type_oid = pg_type_of(c).oid;
      f.type = c;
      fields.push_back(f);
    }
    encode_copy_binary_header(encoded);
    encode_copy_binary_rows(fields, batch, encoded);
    encode_copy_binary_trailer(encoded);
  } else {
    if (o.header) encode_copy_header(o, std::vector<std::string>(cols.size(), "h"), encoded);
    encode_copy_rows(o, batch, encoded);
  }
  copy_decoder again(o, cols);
  require(again.feed(encoded).ok() && again.finish().ok(), "encoded rows do not decode");
  require(cells(again.take_rows()) == before, "COPY round trip changed the values");
}

void fuzz_value(uint8_t selector, std::string_view text) {
  tables::column_vector col(type_at(selector));
  if (!parse_text_value(text, col).ok()) return;
  require(col.row_count == 1, "a parsed value is not one row");
  std::string printed;
  append_text_value(col, 0, printed);
  tables::column_vector back(col.type);
  require(parse_text_value(printed, back).ok(), "a printed value does not parse");
  std::string printed_again;
  append_text_value(back, 0, printed_again);
  require(printed == printed_again, "a value does not print the same after a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode < 64) {
    fuzz_statement(rest);
  } else if (mode < 128) {
    fuzz_copy(rest);
  } else {
    fuzz_value(mode, rest);
  }
  return 0;
}
