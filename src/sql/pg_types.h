// PostgreSQL's view of Strata's column types: type OIDs (pg_type.oid),
// typlen, the atttypmod that RowDescription carries, and type names.
// The OIDs are PostgreSQL's fixed built-in ones, so clients' type tables
// (psycopg, pgjdbc, libpq users) recognise them.
#pragma once

#include <cstdint>
#include <string_view>

#include "tables/types.h"

namespace strata::sql {

namespace oid {
inline constexpr uint32_t boolean = 16;
inline constexpr uint32_t bytea = 17;
inline constexpr uint32_t name = 19;
inline constexpr uint32_t int8 = 20;
inline constexpr uint32_t int2 = 21;
inline constexpr uint32_t int4 = 23;
inline constexpr uint32_t regproc = 24;
inline constexpr uint32_t text = 25;
inline constexpr uint32_t oid = 26;
inline constexpr uint32_t json = 114;
inline constexpr uint32_t float4 = 700;
inline constexpr uint32_t float8 = 701;
inline constexpr uint32_t unknown = 705;
inline constexpr uint32_t bpchar = 1042;
inline constexpr uint32_t varchar = 1043;
inline constexpr uint32_t date = 1082;
inline constexpr uint32_t time = 1083;
inline constexpr uint32_t timestamp = 1114;
inline constexpr uint32_t timestamptz = 1184;
inline constexpr uint32_t interval = 1186;
inline constexpr uint32_t numeric = 1700;
inline constexpr uint32_t uuid = 2950;
inline constexpr uint32_t jsonb = 3802;
}  // namespace oid

struct pg_type {
  uint32_t oid = oid::text;
  int16_t typlen = -1;  // bytes, or -1 for variable length
  const char* name = "text";
};

// The PostgreSQL type a Strata column is reported as.
pg_type pg_type_of(const tables::column_type& type);
// atttypmod: varchar(n) -> n + 4; numeric(p,s) -> ((p << 16) | s) + 4; otherwise -1.
int32_t pg_typmod_of(const tables::column_type& type);
// The Strata type a parameter of PostgreSQL type `oid` decodes to, when it has one.
bool column_type_of_oid(uint32_t oid, tables::column_type& out);

}  // namespace strata::sql
