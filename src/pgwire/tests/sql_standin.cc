// Test-only stand-ins for the two strata_sql functions pgwire calls, used
// when the tests are configured with STRATA_PGWIRE_SQL_STANDIN (or strata_sql
// is not built). They cover what the fake engine produces, nothing more:
// the real ones live in src/sql.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "sql/copy_format.h"
#include "sql/session.h"

namespace strata::sql {

std::vector<std::string> split_statements(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;
  for (char c : text) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      current.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      current.push_back(c);
    } else if (c == ';') {
      if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(current);
  return out;
}

void append_text_value(const tables::column_vector& c, uint32_t row, std::string& out) {
  using tables::type_id;
  switch (c.type.id) {
    case type_id::boolean: out.push_back(c.get<uint8_t>(row) ? 't' : 'f'); return;
    case type_id::int16: out += std::to_string(c.get<int16_t>(row)); return;
    case type_id::int32: out += std::to_string(c.get<int32_t>(row)); return;
    case type_id::int64: out += std::to_string(c.get<int64_t>(row)); return;
    case type_id::float32: out += fmt::format("{}", c.get<float>(row)); return;
    case type_id::float64: out += fmt::format("{}", c.get<double>(row)); return;
    case type_id::bytea:
      out += "\\x";
      for (char ch : c.get_bytes(row)) out += fmt::format("{:02x}", uint8_t(ch));
      return;
    case type_id::text:
    case type_id::json: out.append(c.get_bytes(row)); return;
    default: out += "<value>"; return;  // numeric, dates, timestamps: not needed by the stand-in's users
  }
}

}  // namespace strata::sql
