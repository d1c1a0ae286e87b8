// Internal to the PostgreSQL value code (text_value_parse.cc,
// text_value_format.cc, binary_value.cc) and the COPY codecs (copy_format.cc,
// copy_binary.cc): the error and time helpers they share. Not a public API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sql/session.h"

namespace strata::sql::text_detail {

// An error with a SQLSTATE, for a client.
error sql_error(const char* sqlstate, std::string message, std::string detail = {}, std::string hint = {});

// A value quoted for a message, cut short when long.
std::string quoted(std::string_view text);

inline status ok() { return ok_t{}; }

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A numeric scaled by 10^scale in PostgreSQL's text form ("-1.50").
void append_numeric(std::string& out, __int128 v, uint8_t scale);

// Days since 1970-01-01 that a date may hold: years 1 to 294246, so that
// every timestamp fits int64 microseconds.
bool days_in_range(int64_t days);

inline constexpr int64_t micros_per_second = 1000000;
inline constexpr int64_t micros_per_day = 86400 * micros_per_second;

}  // namespace strata::sql::text_detail
