// Reading one row of a primary-key table by its whole key, without DuckDB:
// the parts that point_select.cc (SELECT) and point_write.cc (UPDATE and
// DELETE) share. A statement qualifies when PostgreSQL's tree says
// `WHERE k1 = v1 AND k2 = v2 ...` over every key column, each v a $n or a
// constant, and every value it computes is one of the few expressions
// value_expr evaluates with PostgreSQL's rules. Anything else is left to
// DuckDB, so these readers answer "not this way" (nullopt / false), never an
// error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "sql/pg_parse.h"
#include "sql/session.h"
#include "tables/schema.h"
#include "tables/types.h"

namespace strata::sql::detail {

// A key column's value: the $n it equals, or (0) a constant.
struct key_source {
  uint32_t parameter = 0;
  tables::column_type parameter_type = {};  // an integer of another width when the client said so
  tables::column_vector constant{tables::column_type{}};  // one value, of the key column's type
};

// The parameter types a statement infers, as PostgreSQL (and DuckDB) infer
// them from what each $n is compared with or assigned to. A client's hint
// of another integer width stands (PostgreSQL compares and assigns across
// widths); any other hint that disagrees sends the statement to DuckDB.
class parameter_types {
 public:
  explicit parameter_types(const std::vector<uint32_t>& hints) : hints_(hints) {}
  // $n is used where a value of `type` goes: its type, or nullopt when a
  // hint or an earlier use disagrees.
  std::optional<tables::column_type> bind(int32_t n, const tables::column_type& type);
  // Every $n used, typed; nullopt when one below the highest is never used.
  std::optional<std::vector<uint32_t>> oids() const;
  const tables::column_type& type_of(uint32_t n) const { return types_[n - 1]; }

 private:
  const std::vector<uint32_t>& hints_;
  std::vector<uint32_t> oids_;
  std::vector<tables::column_type> types_;
};

// The table a point statement names: `t` or `public.t`, ordinary, with an
// alias at most; the name its columns may be qualified with.
struct point_range {
  std::string_view schema;
  std::string_view name;
  std::string_view qualifier;
};
std::optional<point_range> read_point_range(const PgQuery__RangeVar& from);

// The table column of this name: the one spelled so, else the first that
// matches ignoring case (DuckDB matches names without case).
std::optional<uint32_t> column_named(const tables::table_schema& schema, std::string_view name);
// The table column a ColumnRef names (`c` or `q.c`); nullopt for anything else.
std::optional<uint32_t> column_of_ref(const PgQuery__Node* n, const tables::table_schema& schema,
                                      std::string_view qualifier);

// A WHERE of one equality per key column; false for any other.
bool read_key_where(const PgQuery__Node* where, const tables::table_schema& schema, std::string_view qualifier,
                    std::vector<key_source>& key, parameter_types& types);

// The key for this execution's parameters (one row, key columns in key
// order); nullopt when a part of it is NULL, which no row equals.
outcome<std::optional<tables::column_batch>> key_of(const std::vector<key_source>& key,
                                                    const tables::table_schema& schema,
                                                    const std::vector<parameter>& params);

// A value an UPDATE or INSERT assigns: a column of the row, a $n, a
// constant, the statement's time (CURRENT_TIMESTAMP, now()), or integer +,
// - and * over those, with PostgreSQL's types and overflow errors.
struct value_expr {
  enum class kind : uint8_t { column, parameter, constant, now, add, subtract, multiply };
  kind what = kind::constant;
  tables::column_type type;  // of the result
  uint32_t index = 0;        // column: the table column; parameter: n
  tables::column_vector constant = tables::column_vector(tables::column_type{});  // one value
  std::vector<value_expr> operands = {};  // two, for the arithmetic kinds
};
// The expression assigned to a column of type `target`; nullopt when it is
// not one value_expr evaluates exactly as PostgreSQL would.
std::optional<value_expr> read_value_expr(const PgQuery__Node* n, const tables::column_type& target,
                                          const tables::table_schema& schema, std::string_view qualifier,
                                          parameter_types& types);
// Appends the value of `e` over row `row` of `rows` (every table column; an
// INSERT has none) to `out` (of the assigned column's type): 22003 when it
// does not fit. `now_us`: the statement's time, in microseconds since 1970 (UTC).
status append_value(const value_expr& e, const tables::column_batch& rows, uint32_t row,
                    const std::vector<parameter>& params, int64_t now_us, tables::column_vector& out);

}  // namespace strata::sql::detail
