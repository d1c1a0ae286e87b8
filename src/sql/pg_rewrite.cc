#include "sql/pg_rewrite.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace strata::sql {
namespace {

using message_ptr = std::unique_ptr<ProtobufCMessage, void (*)(ProtobufCMessage*)>;

void free_message(ProtobufCMessage* m) { protobuf_c_message_free_unpacked(m, nullptr); }

// Calls `visit` on every message under `m`, parents first. protobuf-c's
// descriptors make the walk generic: every node kind is reached without a
// case per kind. A oneof member is followed only when it is the one set.
void walk(ProtobufCMessage* m, const std::function<void(ProtobufCMessage*)>& visit) {
  if (m == nullptr) return;
  visit(m);
  const ProtobufCMessageDescriptor* d = m->descriptor;
  auto* base = reinterpret_cast<char*>(m);
  for (unsigned i = 0; i < d->n_fields; ++i) {
    const ProtobufCFieldDescriptor& f = d->fields[i];
    if (f.type != PROTOBUF_C_TYPE_MESSAGE) continue;
    if (f.label == PROTOBUF_C_LABEL_REPEATED) {
      const size_t n = *reinterpret_cast<size_t*>(base + f.quantifier_offset);
      auto** items = *reinterpret_cast<ProtobufCMessage***>(base + f.offset);
      for (size_t k = 0; k < n; ++k) walk(items[k], visit);
      continue;
    }
    if ((f.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
        *reinterpret_cast<uint32_t*>(base + f.quantifier_offset) != f.id) {
      continue;
    }
    walk(*reinterpret_cast<ProtobufCMessage**>(base + f.offset), visit);
  }
}

bool is_pg_catalog(const PgQuery__Node* n) {
  return n != nullptr && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string != nullptr &&
         std::strcmp(n->string->sval, "pg_catalog") == 0;
}

// Drops a leading "pg_catalog" from a qualified name (a list of String
// nodes); the dropped node is kept in `detached` to be freed with the tree.
bool unqualify(size_t& count, PgQuery__Node** items, std::vector<message_ptr>& detached) {
  if (count < 2 || !is_pg_catalog(items[0])) return false;
  detached.emplace_back(&items[0]->base, free_message);
  std::memmove(items, items + 1, (count - 1) * sizeof(PgQuery__Node*));
  --count;
  return true;
}

template <class T>
T* make(void (*init)(T*)) {
  auto* p = static_cast<T*>(std::malloc(sizeof(T)));  // freed by protobuf-c's default allocator
  init(p);
  return p;
}

PgQuery__String* string_of(const char* text) {
  auto* s = make<PgQuery__String>(pg_query__string__init);
  s->sval = strdup(text);
  return s;
}

PgQuery__Node* string_node(const char* text) {
  auto* n = make<PgQuery__Node>(pg_query__node__init);
  n->node_case = PG_QUERY__NODE__NODE_STRING;
  n->string = string_of(text);
  return n;
}

PgQuery__Node* text_const(const char* text) {
  auto* c = make<PgQuery__AConst>(pg_query__a__const__init);
  c->val_case = PG_QUERY__A__CONST__VAL_SVAL;
  c->sval = string_of(text);
  auto* n = make<PgQuery__Node>(pg_query__node__init);
  n->node_case = PG_QUERY__NODE__NODE_A_CONST;
  n->a_const = c;
  return n;
}

PgQuery__Node** node_array(std::initializer_list<PgQuery__Node*> nodes) {
  auto** a = static_cast<PgQuery__Node**>(std::malloc(nodes.size() * sizeof(PgQuery__Node*)));
  size_t i = 0;
  for (auto* n : nodes) a[i++] = n;
  return a;
}

// FROM generate_series(1, 3) g: in PostgreSQL the alias of a function that
// returns single values names its column too, so `g` is the value; DuckDB
// would make `g` a struct of the row. The alias gets that column name
// (g(g)), for the set-returning functions whose rows are single values.
bool name_function_column(PgQuery__RangeFunction* f) {
  static constexpr std::string_view scalar_functions[] = {
      "generate_series", "unnest", "generate_subscripts", "regexp_split_to_table", "string_to_table",
      "json_array_elements_text", "jsonb_array_elements_text", "json_object_keys", "jsonb_object_keys"};
  PgQuery__Alias* alias = f->alias;
  if (alias == nullptr || alias->n_colnames != 0 || f->ordinality || f->is_rowsfrom || f->n_functions != 1 ||
      f->n_coldeflist != 0) {
    return false;
  }
  const PgQuery__Node* pair = f->functions[0];
  if (pair == nullptr || pair->node_case != PG_QUERY__NODE__NODE_LIST || pair->list->n_items == 0) return false;
  const PgQuery__Node* call = pair->list->items[0];
  if (call == nullptr || call->node_case != PG_QUERY__NODE__NODE_FUNC_CALL || call->func_call->n_funcname == 0) {
    return false;
  }
  const std::string_view name = node_text(call->func_call->funcname[call->func_call->n_funcname - 1]);
  if (std::find(std::begin(scalar_functions), std::end(scalar_functions), name) == std::end(scalar_functions)) {
    return false;
  }
  alias->n_colnames = 1;
  alias->colnames = node_array({string_node(alias->aliasname)});
  return true;
}

// Replaces the operator expression `n` with function(args), or NOT
// function(args); `args` (n_args of them) take over its operands.
void replace_with_call(PgQuery__Node* n, const char* function, PgQuery__Node** args, size_t n_args, bool negated,
                       std::vector<message_ptr>& detached) {
  PgQuery__AExpr* e = n->a_expr;
  auto* call = make<PgQuery__FuncCall>(pg_query__func_call__init);
  call->n_funcname = 1;
  call->funcname = node_array({string_node(function)});
  call->n_args = n_args;
  call->args = args;
  call->funcformat = PG_QUERY__COERCION_FORM__COERCE_EXPLICIT_CALL;
  call->location = e->location;
  e->lexpr = nullptr;
  e->rexpr = nullptr;
  detached.emplace_back(&e->base, free_message);
  if (!negated) {
    n->node_case = PG_QUERY__NODE__NODE_FUNC_CALL;
    n->func_call = call;
    return;
  }
  auto* call_node = make<PgQuery__Node>(pg_query__node__init);
  call_node->node_case = PG_QUERY__NODE__NODE_FUNC_CALL;
  call_node->func_call = call;
  auto* not_expr = make<PgQuery__BoolExpr>(pg_query__bool_expr__init);
  not_expr->boolop = PG_QUERY__BOOL_EXPR_TYPE__NOT_EXPR;
  not_expr->n_args = 1;
  not_expr->args = node_array({call_node});
  not_expr->location = call->location;
  n->node_case = PG_QUERY__NODE__NODE_BOOL_EXPR;
  n->bool_expr = not_expr;
}

// a ~ b as regexp_matches(a, b): PostgreSQL's ~ finds the pattern anywhere,
// DuckDB's ~ must match the whole string. ~* adds the 'i' option; !~ and
// !~* are NOT of it.
bool rewrite_regex_match(PgQuery__Node* n, std::vector<message_ptr>& detached) {
  if (n->node_case != PG_QUERY__NODE__NODE_A_EXPR) return false;
  PgQuery__AExpr* e = n->a_expr;
  if (e->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || e->n_name != 1 || e->lexpr == nullptr || e->rexpr == nullptr ||
      e->name[0]->node_case != PG_QUERY__NODE__NODE_STRING) {
    return false;
  }
  const std::string op = e->name[0]->string->sval;
  if (op != "~" && op != "~*" && op != "!~" && op != "!~*") return false;
  const bool folded = op.back() == '*';
  replace_with_call(n, "regexp_matches",
                    folded ? node_array({e->lexpr, e->rexpr, text_const("i")}) : node_array({e->lexpr, e->rexpr}),
                    folded ? 3 : 2, op[0] == '!', detached);
  return true;
}

// x = ANY(arr) and x <> ALL(arr), where arr is a column, as (NOT)
// strata_any_equal(x, arr). A parameter or ARRAY[...] is left to DuckDB,
// which types a $n from it.
bool rewrite_any_array(PgQuery__Node* n, std::vector<message_ptr>& detached) {
  PgQuery__AExpr* e = n->a_expr;
  const bool any = e->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY;
  if ((!any && e->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP_ALL) || e->n_name != 1 || e->lexpr == nullptr ||
      e->rexpr == nullptr || e->rexpr->node_case != PG_QUERY__NODE__NODE_COLUMN_REF ||
      node_text(e->name[0]) != (any ? "=" : "<>")) {
    return false;
  }
  replace_with_call(n, std::string(any_equal_macro).c_str(), node_array({e->lexpr, e->rexpr}), 2, !any, detached);
  return true;
}

// The macro that stands for division operator `op`, or nullptr.
const char* division_macro(const PgQuery__AExpr& e) {
  if (e.kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || e.n_name != 1 || e.lexpr == nullptr || e.rexpr == nullptr) {
    return nullptr;
  }
  const std::string_view op = node_text(e.name[0]);
  if (op == "/") return divide_macro.data();
  if (op == "%") return modulo_macro.data();
  return nullptr;
}

// a / b and a % b as macros that fail on a zero divisor, as PostgreSQL does.
bool rewrite_division(PgQuery__Node* n, std::vector<message_ptr>& detached) {
  const char* macro = division_macro(*n->a_expr);
  if (macro == nullptr) return false;
  replace_with_call(n, macro, node_array({n->a_expr->lexpr, n->a_expr->rexpr}), 2, false, detached);
  return true;
}

// PostgreSQL functions DuckDB knows by another name.
const char* duckdb_name_of(std::string_view function) {
  if (function == "json_build_object" || function == "jsonb_build_object") return "json_object";
  if (function == "format_type") return format_type_function.data();
  if (function == "current_schemas") return current_schemas_function.data();
  return nullptr;
}

bool rename_function(PgQuery__FuncCall* f) {
  if (f->n_funcname != 1 || f->funcname[0]->node_case != PG_QUERY__NODE__NODE_STRING) return false;
  const char* renamed = duckdb_name_of(f->funcname[0]->string->sval);
  if (renamed == nullptr) return false;
  std::free(f->funcname[0]->string->sval);
  f->funcname[0]->string->sval = strdup(renamed);
  return true;
}

std::string_view type_of(const PgQuery__Node* n) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_TYPE_CAST || n->type_cast->type_name == nullptr) return {};
  const PgQuery__TypeName* t = n->type_cast->type_name;
  if (t->n_names == 0 || t->names[t->n_names - 1]->node_case != PG_QUERY__NODE__NODE_STRING) return {};
  return t->names[t->n_names - 1]->string->sval;
}

bool is_text_type(std::string_view t) { return t == "text" || t == "varchar" || t == "name" || t == "bpchar"; }
bool is_oid_type(std::string_view t) { return t == "oid" || t == "int4" || t == "int8" || t == "regclass"; }

// Replaces the cast node `n` by a call of `function` on `arg`; what the
// cast held besides `arg` goes to `detached`.
void cast_to_call(PgQuery__Node* n, PgQuery__Node* arg, std::string_view function, std::vector<message_ptr>& detached) {
  PgQuery__TypeCast* cast = n->type_cast;
  auto* call = make<PgQuery__FuncCall>(pg_query__func_call__init);
  call->n_funcname = 1;
  call->funcname = node_array({string_node(std::string(function).c_str())});
  call->n_args = 1;
  call->args = node_array({arg});
  call->funcformat = PG_QUERY__COERCION_FORM__COERCE_EXPLICIT_CALL;
  call->location = cast->location;
  detached.emplace_back(&cast->base, free_message);
  n->node_case = PG_QUERY__NODE__NODE_FUNC_CALL;
  n->func_call = call;
}

// x::regclass as PostgreSQL means it: a relation, which prints as its name
// and compares as its oid. Followed by ::text it is the name, by ::oid the
// oid; alone, a literal or parameter names a relation (so the oid is
// meant), anything else gives an oid whose name is shown.
bool rewrite_regclass(PgQuery__Node* n, std::vector<message_ptr>& detached) {
  std::string_view outer = type_of(n);
  if (outer.empty()) return false;
  PgQuery__Node* inner = n->type_cast->arg;
  if (type_of(inner) == "regclass" && (is_text_type(outer) || is_oid_type(outer))) {
    PgQuery__Node* arg = inner->type_cast->arg;
    inner->type_cast->arg = nullptr;
    n->type_cast->arg = nullptr;
    detached.emplace_back(&inner->base, free_message);
    cast_to_call(n, arg, is_text_type(outer) ? regclass_name_function : regclass_oid_function, detached);
    return true;
  }
  if (outer != "regclass") return false;
  PgQuery__Node* arg = n->type_cast->arg;
  n->type_cast->arg = nullptr;
  const bool names_one = arg != nullptr && (arg->node_case == PG_QUERY__NODE__NODE_A_CONST ||
                                            arg->node_case == PG_QUERY__NODE__NODE_PARAM_REF);
  cast_to_call(n, arg, names_one ? regclass_oid_function : regclass_name_function, detached);
  return true;
}

// An operator expression that a rewrite turns into a function call.
bool is_rewritten_op(const PgQuery__Node* n) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_A_EXPR || n->a_expr->n_name == 0) return false;
  const PgQuery__Node* op = n->a_expr->name[n->a_expr->n_name - 1];
  if (op->node_case != PG_QUERY__NODE__NODE_STRING) return false;
  const std::string_view text = op->string->sval;
  return text == "~" || text == "~*" || text == "!~" || text == "!~*" || division_macro(*n->a_expr) != nullptr;
}

// A select-list item whose expression a rewrite turns into a function call
// keeps the name PostgreSQL gives it: the type of a cast, "?column?" for an
// operator. (Its parent is visited before it, so the name is set first.)
bool keep_column_name(PgQuery__ResTarget* r) {
  if (r->name != nullptr && r->name[0] != '\0') return false;
  std::string name;
  if (is_rewritten_op(r->val)) {
    name = "?column?";
  } else if (r->val != nullptr && r->val->node_case == PG_QUERY__NODE__NODE_FUNC_CALL &&
             r->val->func_call->n_funcname > 0 &&
             duckdb_name_of(node_text(r->val->func_call->funcname[r->val->func_call->n_funcname - 1])) != nullptr) {
    name = std::string(node_text(r->val->func_call->funcname[r->val->func_call->n_funcname - 1]));
  } else if (std::string_view t = type_of(r->val);
             !t.empty() && (t == "regclass" || type_of(r->val->type_cast->arg) == "regclass")) {
    name = std::string(t);
  } else {
    return false;
  }
  // An unset string is protobuf-c's shared empty string, which is not ours to free.
  if (r->name != protobuf_c_empty_string) std::free(r->name);
  r->name = strdup(name.c_str());
  return true;
}

// INTERVAL '1' MONTH is a cast whose type carries the field as a typmod,
// which the deparser prints as '1'::interval month, a form DuckDB misreads;
// the field goes into the literal instead ('1 month'::interval).
void fold_interval_field(PgQuery__TypeCast* cast, std::vector<message_ptr>& detached) {
  PgQuery__TypeName* t = cast->type_name;
  if (t == nullptr || t->n_names == 0 || node_text(t->names[t->n_names - 1]) != "interval" || t->n_typmods != 1) return;
  PgQuery__Node* arg = cast->arg;
  if (arg == nullptr || arg->node_case != PG_QUERY__NODE__NODE_A_CONST ||
      arg->a_const->val_case != PG_QUERY__A__CONST__VAL_SVAL) {
    return;
  }
  static constexpr std::pair<int64_t, const char*> fields[] = {
      {1 << 1, "month"}, {1 << 2, "year"}, {1 << 3, "day"}, {1 << 10, "hour"}, {1 << 11, "minute"}, {1 << 12, "second"}};
  const int64_t mask = const_int(t->typmods[0]);
  for (const auto& [bit, unit] : fields) {
    if (mask != bit) continue;
    PgQuery__String* text = arg->a_const->sval;
    std::string folded = std::string(text->sval) + " " + unit;
    if (text->sval != protobuf_c_empty_string) std::free(text->sval);
    text->sval = strdup(folded.c_str());
    detached.emplace_back(&t->typmods[0]->base, free_message);
    t->n_typmods = 0;
    return;
  }
}

bool written_qualifier(std::string_view sql, int32_t location) {
  if (location < 0 || size_t(location) >= sql.size()) return false;
  std::string_view at = sql.substr(size_t(location));
  if (!at.empty() && at[0] == '"') at.remove_prefix(1);
  constexpr std::string_view qualifier = "pg_catalog";
  if (at.size() < qualifier.size()) return false;
  for (size_t i = 0; i < qualifier.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(at[i])) != qualifier[i]) return false;
  }
  return true;
}

// pg_index or pg_catalog.pg_index: Strata's definition (catalog_overrides).
bool use_catalog_override(PgQuery__RangeVar* r) {
  const std::string_view schema = r->schemaname;
  if (r->catalogname[0] != '\0' || (!schema.empty() && schema != "pg_catalog")) return false;
  if (std::find(std::begin(catalog_overrides), std::end(catalog_overrides), std::string_view(r->relname)) ==
      std::end(catalog_overrides)) {
    return false;
  }
  if (r->schemaname != protobuf_c_empty_string) std::free(r->schemaname);
  r->schemaname = strdup(std::string(catalog_override_schema).c_str());
  return true;
}

bool rewrite_one(ProtobufCMessage* m, std::string_view sql, std::vector<message_ptr>& detached) {
  if (m->descriptor == &pg_query__range_var__descriptor) {
    return use_catalog_override(reinterpret_cast<PgQuery__RangeVar*>(m));
  }
  if (m->descriptor == &pg_query__res_target__descriptor) {
    return keep_column_name(reinterpret_cast<PgQuery__ResTarget*>(m));
  }
  if (m->descriptor == &pg_query__func_call__descriptor) {
    // As with types, the grammar qualifies SQL's own syntax (EXTRACT,
    // SUBSTRING ... FROM, AT TIME ZONE), which the deparser prints back as
    // written only while qualified.
    auto* f = reinterpret_cast<PgQuery__FuncCall*>(m);
    const bool unqualified = written_qualifier(sql, f->location) && unqualify(f->n_funcname, f->funcname, detached);
    return rename_function(f) || unqualified;
  }
  if (m->descriptor == &pg_query__range_function__descriptor) {
    return name_function_column(reinterpret_cast<PgQuery__RangeFunction*>(m));
  }
  if (m->descriptor == &pg_query__type_name__descriptor) {
    // PostgreSQL's grammar itself qualifies SQL's own type syntax (int,
    // INTERVAL '1' MONTH) with pg_catalog; only a qualifier the client wrote
    // is taken off.
    auto* t = reinterpret_cast<PgQuery__TypeName*>(m);
    return written_qualifier(sql, t->location) && unqualify(t->n_names, t->names, detached);
  }
  if (m->descriptor == &pg_query__node__descriptor) {
    // An operator is reached through its Node, so that OPERATOR(pg_catalog.~)
    // loses its qualifier before the regular-expression rewrite looks at it.
    auto* n = reinterpret_cast<PgQuery__Node*>(m);
    if (n->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) {
      fold_interval_field(n->type_cast, detached);  // not a reason to rewrite: DuckDB reads the original
      return rewrite_regclass(n, detached);
    }
    if (n->node_case != PG_QUERY__NODE__NODE_A_EXPR) return false;
    const bool unqualified = unqualify(n->a_expr->n_name, n->a_expr->name, detached);
    return rewrite_regex_match(n, detached) || rewrite_any_array(n, detached) || rewrite_division(n, detached) ||
           unqualified;
  }
  return false;
}

}  // namespace

outcome<std::optional<std::string>> rewrite_for_duckdb(pg_tree& tree, std::string_view sql) {
  PgQuery__ParseResult* root = tree.mutable_root();
  std::vector<message_ptr> detached;
  bool changed = false;
  walk(&root->base, [&](ProtobufCMessage* m) { changed |= rewrite_one(m, sql, detached); });
  if (!changed) return std::optional<std::string>{};
  auto out = deparse(*root);
  if (!out.ok()) return out.err();
  return std::optional<std::string>{std::move(out.value())};
}

}  // namespace strata::sql
