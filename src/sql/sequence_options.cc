#include "sql/sequence_options.h"

#include <fmt/format.h>

#include <charconv>

#include "sql/statement_parser.h"

namespace strata::sql {
namespace {

using stmt::make_sql_error;

// NumericOnly: an Integer node, or a Float node for what does not fit int32.
outcome<int64_t> number_of(const PgQuery__DefElem& d) {
  const PgQuery__Node* n = d.arg;
  if (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_INTEGER) return int64_t(n->integer->ival);
  if (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_FLOAT) {
    std::string_view text = n->float_->fval;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) return v;
    return make_sql_error("22003", fmt::format("value \"{}\" is out of range for type bigint", text));
  }
  return make_sql_error("42601", fmt::format("{} requires a numeric value", d.defname));
}

outcome<uint8_t> bytes_of_type(const PgQuery__Node* n) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_TYPE_NAME || n->type_name->n_names == 0) {
    return make_sql_error("42601", "AS needs a type");
  }
  const PgQuery__TypeName& t = *n->type_name;
  std::string name(node_text(t.names[t.n_names - 1]));
  if (name == "int2" || name == "smallint") return uint8_t(2);
  if (name == "int4" || name == "integer" || name == "int") return uint8_t(4);
  if (name == "int8" || name == "bigint") return uint8_t(8);
  return make_sql_error("22023", "sequence type must be smallint, integer, or bigint");
}

outcome<std::pair<std::string, std::string>> owner_of(const PgQuery__Node* n) {
  std::vector<std::string> parts = name_parts(n);
  if (parts.size() == 1 && parts[0] == "none") return std::pair<std::string, std::string>{};
  if (parts.size() == 3 && (parts[0] == "public" || parts[0] == "main")) parts.erase(parts.begin());
  if (parts.size() != 2) {
    return make_sql_error("42601", "invalid OWNED BY option", "Specify OWNED BY table.column or OWNED BY NONE.");
  }
  return std::pair<std::string, std::string>{parts[0], parts[1]};
}

template <class T>
std::optional<error> set_once(std::optional<T>& slot, T value) {
  if (slot) return make_sql_error("42601", "conflicting or redundant options");
  slot = std::move(value);
  return std::nullopt;
}

std::optional<error> read_one(const PgQuery__DefElem& d, sequence_options& o) {
  const std::string_view name = d.defname;
  auto number = [&]() -> outcome<int64_t> { return number_of(d); };
  auto optional_number = [&]() -> outcome<std::optional<int64_t>> {
    if (d.arg == nullptr) return std::optional<int64_t>{};
    auto v = number_of(d);
    if (!v.ok()) return v.err();
    return std::optional<int64_t>{*v};
  };
  if (name == "as") {
    auto b = bytes_of_type(d.arg);
    return b.ok() ? set_once(o.value_bytes, *b) : b.err();
  }
  if (name == "increment" || name == "start" || name == "cache") {
    auto v = number();
    if (!v.ok()) return v.err();
    auto& slot = name == "increment" ? o.increment : name == "start" ? o.start : o.cache;
    return set_once(slot, *v);
  }
  if (name == "minvalue" || name == "maxvalue" || name == "restart") {
    auto v = optional_number();
    if (!v.ok()) return v.err();
    auto& slot = name == "minvalue" ? o.min_value : name == "maxvalue" ? o.max_value : o.restart;
    return set_once(slot, *v);
  }
  if (name == "cycle") {
    const bool on = d.arg != nullptr && d.arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN && d.arg->boolean->boolval;
    return set_once(o.cycle, on);
  }
  if (name == "owned_by") {
    auto owner = owner_of(d.arg);
    return owner.ok() ? set_once(o.owned_by, *owner) : owner.err();
  }
  if (name == "sequence_name") {
    std::vector<std::string> parts = name_parts(d.arg);
    if (parts.empty()) return make_sql_error("42601", "SEQUENCE NAME needs a name");
    return set_once(o.sequence_name, parts.back());
  }
  return make_sql_error("42601", fmt::format("option \"{}\" not recognized", name));
}

}  // namespace

outcome<sequence_options> read_sequence_options(PgQuery__Node* const* options, size_t count) {
  sequence_options o;
  for (size_t i = 0; i < count; ++i) {
    const PgQuery__Node* n = options[i];
    if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
    if (auto e = read_one(*n->def_elem, o)) return *e;
  }
  return o;
}

outcome<tables::sequence_def> apply_sequence_options(tables::sequence_def def, const sequence_options& o,
                                                     bool creating) {
  const tables::sequence_def before = def;
  if (o.value_bytes) def.value_bytes = *o.value_bytes;
  if (o.increment) def.increment = *o.increment;
  if (o.cache) def.cache = *o.cache;
  if (o.cycle) def.cycle = *o.cycle;
  if (o.start) def.start = *o.start;
  if (o.min_value && *o.min_value) def.min_value = **o.min_value;
  if (o.max_value && *o.max_value) def.max_value = **o.max_value;
  bool min_given = o.min_value && o.min_value->has_value();
  bool max_given = o.max_value && o.max_value->has_value();
  if (!creating) {
    // ALTER keeps the bounds it is not given, except where they were the
    // old type's own limits and AS changes the type (as PostgreSQL does).
    const auto [old_min, old_max] = tables::sequence_type_bounds(before.value_bytes);
    const bool retyped = o.value_bytes && *o.value_bytes != before.value_bytes;
    if (!o.min_value) min_given = !(retyped && before.min_value == old_min);
    if (!o.max_value) max_given = !(retyped && before.max_value == old_max);
  }
  if (o.owned_by) {
    def.owned_table = o.owned_by->first;
    def.owned_column = o.owned_by->second;
  }
  auto done = tables::complete_sequence_def(def, min_given, max_given, creating ? o.start.has_value() : true);
  if (!done.ok()) return make_sql_error("22023", done.err().message);
  return *done;
}

}  // namespace strata::sql
