// Helpers shared by the backend .cc files (backend.cc, backend_copy.cc,
// backend_extended.cc, backend_cursor.cc); not part of the pgwire API.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <string>

#include "pgwire/backend.h"
#include "sql/session.h"

namespace strata::pgwire::detail {

inline constexpr int16_t format_text = 0;
inline constexpr int16_t format_binary = 1;

inline sql::error make_sql_error(const char* code, std::string message, std::string hint = {}) {
  return sql::error{code, std::move(message), {}, std::move(hint)};
}

inline std::string printable_type(char type) {
  if (type >= 0x20 && type < 0x7f) return fmt::format("'{}'", type);
  return fmt::format("0x{:02x}", uint8_t(type));
}

}  // namespace strata::pgwire::detail

namespace strata::pgwire {

struct backend::statement_entry {
  std::shared_ptr<sql::prepared> prepared;
  std::vector<uint32_t> parameter_oids;  // the client's types where given, else the inferred ones
};

// A portal: a bound statement (Bind), a SQL cursor (DECLARE) or the
// statement a simple Query is sending.
struct backend::portal_entry {
  std::shared_ptr<sql::prepared> prepared;
  std::vector<sql::parameter> parameters;
  std::vector<sql::field> fields;  // the rows' shape: the statement's, or for FETCH its cursor's
  std::vector<int16_t> formats;  // one per field
  bool holdable = false;         // DECLARE ... WITH HOLD: kept when the transaction ends
  uint64_t position = 0;         // rows read so far (FETCH ABSOLUTE and RELATIVE count from it)
  std::unique_ptr<sql::cursor> cursor;
  std::unique_ptr<sql::copy_out_source> copy_out;
  bool started = false;
  bool finished = false;
  std::string tag;
};

struct backend::simple_work {
  std::vector<std::string> statements;
  size_t next = 0;
  std::unique_ptr<portal_entry> current;  // the statement whose rows or COPY output are being sent
  bool implicit_block = false;            // we sent BEGIN for these statements and owe COMMIT/ROLLBACK
  bool failed = false;                    // an ErrorResponse was sent: the implicit block rolls back
};

struct backend::execute_work {
  std::string portal;
  uint32_t row_limit = 0;  // 0: every row
  uint64_t rows_sent = 0;
};

struct backend::copy_in_work {
  std::unique_ptr<sql::copy_in_sink> sink;
  bool extended = false;
};

}  // namespace strata::pgwire
