#include "sql/pg_types.h"

namespace strata::sql {

using tables::type_id;

pg_type pg_type_of(const tables::column_type& type) {
  switch (type.id) {
    case type_id::boolean: return {oid::boolean, 1, "boolean"};
    case type_id::int16: return {oid::int2, 2, "smallint"};
    case type_id::int32: return {oid::int4, 4, "integer"};
    case type_id::int64: return {oid::int8, 8, "bigint"};
    case type_id::float32: return {oid::float4, 4, "real"};
    case type_id::float64: return {oid::float8, 8, "double precision"};
    case type_id::numeric: return {oid::numeric, -1, "numeric"};
    case type_id::text:
      return type.length_max > 0 ? pg_type{oid::varchar, -1, "character varying"} : pg_type{oid::text, -1, "text"};
    case type_id::bytea: return {oid::bytea, -1, "bytea"};
    case type_id::json: return {oid::json, -1, "json"};
    case type_id::date: return {oid::date, 4, "date"};
    case type_id::timestamp: return {oid::timestamp, 8, "timestamp without time zone"};
    case type_id::timestamptz: return {oid::timestamptz, 8, "timestamp with time zone"};
  }
  return {};
}

int32_t pg_typmod_of(const tables::column_type& type) {
  if (type.id == type_id::numeric) return int32_t((uint32_t(type.precision) << 16) | type.scale) + 4;
  if (type.id == type_id::text && type.length_max > 0) return int32_t(type.length_max) + 4;
  return -1;
}

bool column_type_of_oid(uint32_t type_oid, tables::column_type& out) {
  switch (type_oid) {
    case oid::boolean: out = {type_id::boolean}; return true;
    case oid::int2: out = {type_id::int16}; return true;
    case oid::int4: out = {type_id::int32}; return true;
    case oid::int8: out = {type_id::int64}; return true;
    case oid::float4: out = {type_id::float32}; return true;
    case oid::float8: out = {type_id::float64}; return true;
    case oid::numeric: out = {type_id::numeric, 38, 10}; return true;
    case oid::text:
    case oid::varchar:
    case oid::bpchar:
    case oid::name: out = {type_id::text}; return true;
    case oid::bytea: out = {type_id::bytea}; return true;
    case oid::json:
    case oid::jsonb: out = {type_id::json}; return true;
    case oid::date: out = {type_id::date}; return true;
    case oid::timestamp: out = {type_id::timestamp}; return true;
    case oid::timestamptz: out = {type_id::timestamptz}; return true;
    default: return false;
  }
}

}  // namespace strata::sql
