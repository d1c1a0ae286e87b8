#include "sql/point_access.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "base/ascii.h"
#include "sql/copy_format.h"
#include "sql/duckdb_bridge.h"
#include "sql/pg_types.h"

namespace strata::sql::detail {
namespace {

using tables::type_id;

// PostgreSQL accepts at most this many parameters in one statement.
constexpr int32_t parameters_max = 65535;


// Key types whose SQL equality is equality of the stored value, read from
// PostgreSQL's text form without rounding or a time zone.
bool exact_key_type(const tables::column_type& t) {
  switch (t.id) {
    case type_id::boolean:
    case type_id::int16:
    case type_id::int32:
    case type_id::int64:
    case type_id::text:
    case type_id::date:
    case type_id::timestamp: return true;
    default: return false;
  }
}

// The type a value is read as: text without its length, since a longer
// value compares unequal (or fails only when it is stored).
tables::column_type probe_type(tables::column_type t) {
  t.length_max = 0;
  return t;
}

// An A_Const's text when PostgreSQL would read it as a value of `type`
// (an untyped string always; a number into a number or, by assignment, text;
// a boolean into a boolean); nullopt otherwise or for NULL.
std::optional<std::string> literal_for(const PgQuery__Node* n, const tables::column_type& type, bool assignment) {
  const PgQuery__AConst& c = *n->a_const;
  if (c.isnull) return std::nullopt;
  const bool numeric_target = tables::is_integer(type.id) || type.id == type_id::numeric ||
                              type.id == type_id::float32 || type.id == type_id::float64;
  switch (c.val_case) {
    case PG_QUERY__A__CONST__VAL_IVAL:
      if (tables::is_integer(type.id) || (assignment && (numeric_target || type.id == type_id::text))) {
        return std::to_string(const_int(n));
      }
      return std::nullopt;
    case PG_QUERY__A__CONST__VAL_FVAL:
      // Integers past int4 arrive as Float: an integer key or target reads them.
      if (c.fval == nullptr) return std::nullopt;
      if (assignment && type.id != type_id::text && numeric_target && !tables::is_integer(type.id)) return c.fval->fval;
      if (tables::is_integer(type.id) && std::all_of(c.fval->fval, c.fval->fval + strlen(c.fval->fval),
                                                     [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) || ch == '-'; })) {
        return c.fval->fval;
      }
      return std::nullopt;
    case PG_QUERY__A__CONST__VAL_SVAL: return std::string(const_text(n));
    case PG_QUERY__A__CONST__VAL_BOOLVAL:
      if (type.id != type_id::boolean) return std::nullopt;
      return std::string(const_int(n) != 0 ? "true" : "false");
    default: return std::nullopt;
  }
}

std::optional<tables::column_vector> constant_of(const PgQuery__Node* n, const tables::column_type& type, bool assignment) {
  auto text = literal_for(n, type, assignment);
  if (!text) return std::nullopt;
  tables::column_vector v(assignment ? type : probe_type(type));
  if (!parse_text_value(*text, v).ok()) return std::nullopt;
  return v;
}

// The equality conjuncts of a WHERE: `a = b [AND ...]`; false for any other shape.
bool equalities(const PgQuery__Node* n, std::vector<const PgQuery__AExpr*>& out) {
  if (n == nullptr) return false;
  if (n->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR) {
    if (n->bool_expr->boolop != PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) return false;
    for (size_t i = 0; i < n->bool_expr->n_args; ++i) {
      if (!equalities(n->bool_expr->args[i], out)) return false;
    }
    return true;
  }
  if (n->node_case != PG_QUERY__NODE__NODE_A_EXPR) return false;
  const PgQuery__AExpr& e = *n->a_expr;
  if (e.kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || e.n_name != 1 || node_text(e.name[0]) != "=") return false;
  out.push_back(&e);
  return true;
}

const char* range_message(type_id id) {
  switch (id) {
    case type_id::int16: return "smallint out of range";
    case type_id::int32: return "integer out of range";
    default: return "bigint out of range";
  }
}

bool fits(int64_t v, type_id id) {
  switch (id) {
    case type_id::int16: return v >= INT16_MIN && v <= INT16_MAX;
    case type_id::int32: return v >= INT32_MIN && v <= INT32_MAX;
    default: return true;
  }
}

int integer_width(type_id id) { return id == type_id::int16 ? 2 : id == type_id::int32 ? 4 : 8; }

// An operand of integer arithmetic; a $n is typed by the other operand.
std::optional<value_expr> read_operand(const PgQuery__Node* n, const tables::table_schema& schema,
                                       std::string_view qualifier, parameter_types& types);

std::optional<value_expr> read_arithmetic(const PgQuery__AExpr& e, const tables::table_schema& schema,
                                          std::string_view qualifier, parameter_types& types) {
  if (e.kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || e.n_name != 1 || e.lexpr == nullptr || e.rexpr == nullptr) {
    return std::nullopt;
  }
  const std::string_view op = node_text(e.name[0]);
  value_expr out;
  if (op == "+") out.what = value_expr::kind::add;
  else if (op == "-") out.what = value_expr::kind::subtract;
  else if (op == "*") out.what = value_expr::kind::multiply;
  else return std::nullopt;
  const bool left_param = e.lexpr->node_case == PG_QUERY__NODE__NODE_PARAM_REF;
  const bool right_param = e.rexpr->node_case == PG_QUERY__NODE__NODE_PARAM_REF;
  if (left_param && right_param) return std::nullopt;
  auto typed = read_operand(left_param ? e.rexpr : e.lexpr, schema, qualifier, types);
  if (!typed) return std::nullopt;
  std::optional<value_expr> other;
  if (left_param || right_param) {
    const PgQuery__ParamRef& p = *(left_param ? e.lexpr : e.rexpr)->param_ref;
    auto bound = types.bind(p.number, typed->type);
    if (!bound) return std::nullopt;
    other = value_expr{value_expr::kind::parameter, *bound, uint32_t(p.number)};
  } else {
    other = read_operand(e.rexpr, schema, qualifier, types);
    if (!other) return std::nullopt;
  }
  out.type = integer_width(typed->type.id) >= integer_width(other->type.id) ? typed->type : other->type;
  if (left_param) {
    out.operands.push_back(std::move(*other));
    out.operands.push_back(std::move(*typed));
  } else {
    out.operands.push_back(std::move(*typed));
    out.operands.push_back(std::move(*other));
  }
  return out;
}

std::optional<value_expr> read_operand(const PgQuery__Node* n, const tables::table_schema& schema,
                                       std::string_view qualifier, parameter_types& types) {
  switch (n->node_case) {
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
      auto c = column_of_ref(n, schema, qualifier);
      if (!c || !tables::is_integer(schema.columns[*c].type.id)) return std::nullopt;
      return value_expr{value_expr::kind::column, schema.columns[*c].type, *c};
    }
    case PG_QUERY__NODE__NODE_A_CONST: {
      const bool small = n->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL;
      const tables::column_type type{small ? type_id::int32 : type_id::int64};
      auto v = constant_of(n, type, false);
      if (!v) return std::nullopt;
      return value_expr{value_expr::kind::constant, type, 0, std::move(*v)};
    }
    case PG_QUERY__NODE__NODE_A_EXPR: return read_arithmetic(*n->a_expr, schema, qualifier, types);
    default: return std::nullopt;
  }
}

// A parameter's value as a scalar of `type`.
outcome<tables::scalar> parameter_scalar(const parameter& p, uint32_t n, const tables::column_type& type) {
  if (p.is_null) return tables::scalar{};
  if (!p.is_text) {
    if (p.type.id == type.id || (tables::is_integer(p.type.id) && tables::is_integer(type.id))) return p.value;
    return error{"22P02", fmt::format("binary parameter ${} is not of the type the statement expects", n), {}, {}};
  }
  tables::column_vector v(probe_type(type));
  auto parsed = parse_text_value(p.text, v);
  if (!parsed.ok()) return parsed.err();
  return tables::scalar_at(v, 0);
}

struct evaluation {
  const tables::column_batch& rows;
  uint32_t row;
  const std::vector<parameter>& params;
  int64_t now_us;
};

outcome<tables::scalar> evaluate(const value_expr& e, const evaluation& at) {
  using k = value_expr::kind;
  switch (e.what) {
    case k::column: return tables::scalar_at(at.rows.columns[e.index], at.row);
    case k::constant: return tables::scalar_at(e.constant, 0);
    case k::parameter: return parameter_scalar(at.params[e.index - 1], e.index, e.type);
    case k::now: return tables::scalar{at.now_us};
    default: break;
  }
  auto a = evaluate(e.operands[0], at);
  if (!a.ok()) return a;
  auto b = evaluate(e.operands[1], at);
  if (!b.ok()) return b;
  if (std::holds_alternative<std::monostate>(*a) || std::holds_alternative<std::monostate>(*b)) return tables::scalar{};
  const int64_t x = std::get<int64_t>(*a);
  const int64_t y = std::get<int64_t>(*b);
  int64_t r = 0;
  bool overflow = false;
  switch (e.what) {
    case k::add: overflow = __builtin_add_overflow(x, y, &r); break;
    case k::subtract: overflow = __builtin_sub_overflow(x, y, &r); break;
    default: overflow = __builtin_mul_overflow(x, y, &r); break;
  }
  if (overflow || !fits(r, e.type.id)) return error{"22003", range_message(e.type.id), {}, {}};
  return tables::scalar{r};
}

// CURRENT_TIMESTAMP, LOCALTIMESTAMP (without a precision) or now().
bool is_statement_time(const PgQuery__Node* n) {
  if (n->node_case == PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION) {
    const auto op = n->sqlvalue_function->op;
    return n->sqlvalue_function->typmod == -1 && (op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP ||
                                                  op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP);
  }
  const PgQuery__FuncCall& f = *n->func_call;
  if (f.n_args > 0 || f.agg_star || f.agg_distinct || f.func_variadic || f.over != nullptr ||
      f.agg_filter != nullptr || f.n_agg_order > 0) {
    return false;
  }
  const size_t parts = f.n_funcname;
  return (parts == 1 || (parts == 2 && node_text(f.funcname[0]) == "pg_catalog")) &&
         node_text(f.funcname[parts - 1]) == "now";
}

}  // namespace

std::optional<tables::column_type> parameter_types::bind(int32_t n, const tables::column_type& used_as) {
  if (n < 1 || n > parameters_max) return std::nullopt;
  tables::column_type type = used_as;
  uint32_t oid = field_of("", to_duckdb_type(type)).type_oid;
  if (size_t(n) <= hints_.size() && hints_[n - 1] != 0 && hints_[n - 1] != oid) {
    tables::column_type hinted;
    if (!tables::is_integer(type.id) || !column_type_of_oid(hints_[n - 1], hinted) || !tables::is_integer(hinted.id)) {
      return std::nullopt;
    }
    type = hinted;
    oid = hints_[n - 1];
  }
  if (oids_.size() < size_t(n)) {
    oids_.resize(n, 0);
    types_.resize(n);
  }
  if (oids_[n - 1] != 0) {
    if (oids_[n - 1] != oid || types_[n - 1] != type) return std::nullopt;
    return type;
  }
  oids_[n - 1] = oid;
  types_[n - 1] = type;
  return type;
}

std::optional<std::vector<uint32_t>> parameter_types::oids() const {
  if (std::count(oids_.begin(), oids_.end(), 0u) > 0) return std::nullopt;
  std::vector<uint32_t> out = oids_;
  for (size_t i = out.size(); i < hints_.size(); ++i) out.push_back(hints_[i]);
  return out;
}

std::optional<point_range> read_point_range(const PgQuery__RangeVar& from) {
  if (from.catalogname[0] != '\0' || !from.inh || std::string_view(from.relpersistence) != "p") return std::nullopt;
  if (from.alias != nullptr && from.alias->n_colnames > 0) return std::nullopt;
  return point_range{from.schemaname, from.relname, from.alias != nullptr ? from.alias->aliasname : from.relname};
}

std::optional<uint32_t> column_of_ref(const PgQuery__Node* n, const tables::table_schema& schema,
                                      std::string_view qualifier) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF) return std::nullopt;
  const PgQuery__ColumnRef& ref = *n->column_ref;
  if (ref.n_fields == 0 || ref.n_fields > 2) return std::nullopt;
  for (size_t i = 0; i < ref.n_fields; ++i) {
    if (ref.fields[i]->node_case != PG_QUERY__NODE__NODE_STRING) return std::nullopt;
  }
  if (ref.n_fields == 2 && !iequals_ascii(node_text(ref.fields[0]), qualifier)) return std::nullopt;
  return column_named(schema, node_text(ref.fields[ref.n_fields - 1]));
}

std::optional<uint32_t> column_named(const tables::table_schema& schema, std::string_view name) {
  for (uint32_t c = 0; c < schema.columns.size(); ++c) {
    if (schema.columns[c].name == name) return c;
  }
  for (uint32_t c = 0; c < schema.columns.size(); ++c) {
    if (iequals_ascii(schema.columns[c].name, name)) return c;
  }
  return std::nullopt;
}

bool read_key_where(const PgQuery__Node* where, const tables::table_schema& schema, std::string_view qualifier,
                    std::vector<key_source>& key, parameter_types& types) {
  std::vector<const PgQuery__AExpr*> terms;
  const auto& pk = schema.primary_key;
  if (pk.empty() || !equalities(where, terms) || terms.size() != pk.size()) return false;
  key.assign(pk.size(), key_source{});
  std::vector<bool> bound(pk.size(), false);
  for (const PgQuery__AExpr* e : terms) {
    const PgQuery__Node* value = e->rexpr;
    auto c = column_of_ref(e->lexpr, schema, qualifier);
    if (!c) {
      c = column_of_ref(e->rexpr, schema, qualifier);
      value = e->lexpr;
    }
    if (!c || value == nullptr) return false;
    const size_t k = size_t(std::find(pk.begin(), pk.end(), *c) - pk.begin());
    const tables::column_type& type = schema.columns[*c].type;
    if (k == pk.size() || bound[k] || !exact_key_type(type)) return false;
    bound[k] = true;
    if (value->node_case == PG_QUERY__NODE__NODE_PARAM_REF) {
      auto bound = types.bind(value->param_ref->number, type);
      if (!bound) return false;
      key[k].parameter = uint32_t(value->param_ref->number);
      key[k].parameter_type = *bound;
    } else if (value->node_case == PG_QUERY__NODE__NODE_A_CONST) {
      auto constant = constant_of(value, type, false);
      if (!constant) return false;
      key[k].constant = std::move(*constant);
    } else {
      return false;
    }
  }
  return true;
}

outcome<std::optional<tables::column_batch>> key_of(const std::vector<key_source>& key,
                                                    const tables::table_schema& schema,
                                                    const std::vector<parameter>& params) {
  tables::column_batch keys;
  keys.row_count = 1;
  for (size_t k = 0; k < key.size(); ++k) {
    const tables::column_type type = probe_type(schema.columns[schema.primary_key[k]].type);
    tables::column_vector v(type);
    const key_source& source = key[k];
    if (source.parameter == 0) {
      v = source.constant;
    } else {
      auto value = parameter_scalar(params[source.parameter - 1], source.parameter, probe_type(source.parameter_type));
      if (!value.ok()) return value.err();
      if (std::holds_alternative<std::monostate>(*value)) return std::optional<tables::column_batch>{};
      // A wider integer than the key's type equals no key.
      if (tables::is_integer(type.id) && !fits(std::get<int64_t>(*value), type.id)) {
        return std::optional<tables::column_batch>{};
      }
      tables::append_scalar(v, *value);
    }
    keys.columns.push_back(std::move(v));
  }
  return std::optional<tables::column_batch>{std::move(keys)};
}

std::optional<value_expr> read_value_expr(const PgQuery__Node* n, const tables::column_type& target,
                                          const tables::table_schema& schema, std::string_view qualifier,
                                          parameter_types& types) {
  if (n == nullptr) return std::nullopt;
  switch (n->node_case) {
    case PG_QUERY__NODE__NODE_PARAM_REF: {
      auto bound = types.bind(n->param_ref->number, target);
      if (!bound) return std::nullopt;
      return value_expr{value_expr::kind::parameter, *bound, uint32_t(n->param_ref->number)};
    }
    case PG_QUERY__NODE__NODE_A_CONST: {
      value_expr out{value_expr::kind::constant, target, 0, tables::column_vector(target)};
      if (n->a_const->isnull) {
        out.constant.append_null();
        return out;
      }
      auto v = constant_of(n, target, true);
      if (!v) return std::nullopt;
      out.constant = std::move(*v);
      return out;
    }
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
      auto c = column_of_ref(n, schema, qualifier);
      if (!c) return std::nullopt;
      const tables::column_type& type = schema.columns[*c].type;
      if (type != target && !(tables::is_integer(type.id) && tables::is_integer(target.id))) return std::nullopt;
      return value_expr{value_expr::kind::column, type, *c};
    }
    case PG_QUERY__NODE__NODE_A_EXPR:
      if (!tables::is_integer(target.id)) return std::nullopt;
      return read_arithmetic(*n->a_expr, schema, qualifier, types);
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION:
    case PG_QUERY__NODE__NODE_FUNC_CALL:
      // Strata works in UTC, so the time is the same instant in a timestamp column.
      if (!is_statement_time(n) || (target.id != type_id::timestamp && target.id != type_id::timestamptz)) {
        return std::nullopt;
      }
      return value_expr{value_expr::kind::now, target};
    default: return std::nullopt;
  }
}

status append_value(const value_expr& e, const tables::column_batch& rows, uint32_t row,
                    const std::vector<parameter>& params, int64_t now_us, tables::column_vector& out) {
  auto v = evaluate(e, evaluation{rows, row, params, now_us});
  if (!v.ok()) return v.err();
  if (std::holds_alternative<std::monostate>(*v)) {
    out.append_null();
    return ok_t{};
  }
  if (tables::is_integer(out.type.id) && !fits(std::get<int64_t>(*v), out.type.id)) {
    return error{"22003", range_message(out.type.id), {}, {}};
  }
  tables::append_scalar(out, *v);
  return ok_t{};
}

}  // namespace strata::sql::detail
