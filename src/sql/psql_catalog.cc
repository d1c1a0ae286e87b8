// psql's catalog queries answered from Strata's table catalog (psql_catalog.h).
//
// psql reads every answer by column position, so an answer takes its shape
// from the query's own select list: each top-level item becomes one column,
// and its value comes from the first rule whose key names the item (its alias
// when it has one, else a fragment of its text). Items no rule names are
// NULL text. This keeps answers aligned if psql adds or drops a column.
//
// The relations Strata shows: each table as relkind 'r' in schema "public",
// and each primary key as its index "<table>_pkey" (relkind 'i').
#include "sql/psql_catalog.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "sql/pg_types.h"
#include "sql/psql_catalog_internal.h"
#include "sql/statements.h"
#include "tables/schema.h"

namespace strata::sql {
namespace {

using tables::column_def;
using tables::column_type;
using tables::scalar;
using tables::table_info;
using tables::type_id;

constexpr size_t query_bytes_max = 64 * 1024;  // psql's catalog queries are a few KiB
constexpr size_t name_bytes_max = 63;           // PostgreSQL's NAMEDATALEN - 1
constexpr uint32_t first_normal_oid = 16384;    // PostgreSQL's FirstNormalObjectId
constexpr std::string_view schema_name = "public";

using namespace psql;

// ---- PostgreSQL spellings ---------------------------------------------------

bool is_keyword(std::string_view word) {
  // PostgreSQL quotes every keyword that is not unreserved; these are they.
  static const char* const keywords[] = {
      "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "between",
      "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check", "coalesce",
      "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog",
      "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "dec",
      "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "exists", "extract",
      "false", "fetch", "float", "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group",
      "grouping", "having", "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval",
      "into", "is", "isnull", "join", "lateral", "leading", "least", "left", "like", "limit", "localtime",
      "localtimestamp", "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null", "nullif",
      "numeric", "offset", "on", "only", "or", "order", "out", "outer", "overlaps", "overlay", "placing",
      "position", "precision", "primary", "real", "references", "returning", "right", "row", "select",
      "session_user", "setof", "similar", "smallint", "some", "substring", "symmetric", "table", "tablesample",
      "then", "time", "timestamp", "to", "trailing", "treat", "trim", "true", "union", "unique", "user", "using",
      "values", "varchar", "variadic", "verbose", "when", "where", "window", "with"};
  return std::any_of(std::begin(keywords), std::end(keywords), [&](const char* k) { return word == k; });
}

}  // namespace

std::string quote_ident(std::string_view name) {
  bool plain = !name.empty() && ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_');
  for (char c : name) plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (plain && !is_keyword(name)) return std::string(name);
  return quote_identifier(name);
}

namespace {

// pg_size_pretty(bigint) of PostgreSQL 15: bytes below 10 kB, then halves rounded up.
std::string size_pretty(uint64_t bytes) {
  if (bytes < 10 * 1024) return fmt::format("{} bytes", bytes);
  static const char* const units[] = {"kB", "MB", "GB", "TB", "PB"};
  uint64_t size = bytes >> 9;  // one extra bit for rounding
  for (size_t u = 0;; ++u) {
    if (size < 20 * 1024 - 1 || u + 1 == std::size(units)) return fmt::format("{} {}", (size + 1) / 2, units[u]);
    size >>= 10;
  }
}

// pg_attribute.attstorage: 'p' plain for fixed-width types, 'm' main for numeric, 'x' extended.
std::string storage_of(const column_type& type) {
  if (type.id == type_id::numeric) return "m";
  return tables::is_variable_width(type.id) ? "x" : "p";
}

}  // namespace

std::string pkey_name(const std::string& table) {
  constexpr std::string_view suffix = "_pkey";
  size_t keep = std::min(table.size(), name_bytes_max - suffix.size());
  while (keep > 0 && keep < table.size() && (static_cast<unsigned char>(table[keep]) & 0xC0) == 0x80) --keep;
  return table.substr(0, keep) + std::string(suffix);
}

namespace {

const char* time_unit_name(tables::time_unit unit) {
  switch (unit) {
    case tables::time_unit::hour: return "hour";
    case tables::time_unit::day: return "day";
    case tables::time_unit::month: return "month";
    case tables::time_unit::year: return "year";
  }
  return "day";
}

std::string column_list(const tables::table_schema& schema, const std::vector<uint32_t>& columns) {
  std::string out;
  for (uint32_t c : columns) {
    if (!out.empty()) out += ", ";
    out += quote_ident(schema.columns[c].name);
  }
  return out;
}

// The reloptions \d+ prints as "Options: ...": how the table is partitioned and bucketed.
std::string table_options(const tables::table_schema& schema) {
  std::vector<std::string> parts;
  const auto& p = schema.partitioning;
  if (p.kind == tables::partition_kind::range_time) {
    parts.push_back(fmt::format("partition_by=range({}) interval {}", quote_ident(schema.columns[p.column].name),
                                time_unit_name(p.interval)));
  } else if (p.kind == tables::partition_kind::list) {
    parts.push_back(fmt::format("partition_by=list({})", quote_ident(schema.columns[p.column].name)));
  }
  if (schema.buckets > 1) parts.push_back(fmt::format("buckets={}", schema.buckets));
  if (!schema.bucket_key.empty() && schema.bucket_key != schema.primary_key) {
    parts.push_back(fmt::format("bucket_key=({})", column_list(schema, schema.bucket_key)));
  }
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

// ---- relations ----------------------------------------------------------------

struct relation {
  uint32_t oid = 0;
  std::string name;
  char kind = 'r';  // 'r' a table, 'i' the primary-key index of `table`, 'S' a sequence (no table)
  const table_info* table = nullptr;

  bool has_index() const { return kind == 'r' && !table->schema.primary_key.empty(); }
  std::optional<std::string> access_method() const {
    if (kind == 'S') return std::nullopt;
    if (kind == 'i') return "btree";
    return table->schema.kind == tables::table_kind::primary_key ? "strata_pk" : "strata_log";
  }
};

std::vector<relation> sequences_of(const std::vector<tables::sequence_info>& sequences) {
  std::vector<relation> out;
  for (const auto& s : sequences) out.push_back({uint32_t(sequence_oid(s.def.name)), s.def.name, 'S', nullptr});
  return out;
}

std::vector<relation> relations_of(const std::vector<table_info>& tables) {
  std::vector<relation> out;
  for (const auto& t : tables) {
    out.push_back({table_oid(t.table_id), t.schema.name, 'r', &t});
    if (!t.schema.primary_key.empty()) out.push_back({table_oid(t.table_id) + 1, pkey_name(t.schema.name), 'i', &t});
  }
  std::sort(out.begin(), out.end(), [](const relation& a, const relation& b) { return a.name < b.name; });
  return out;
}

struct context {
  const std::vector<table_info>& tables;
  std::string database;
  std::string owner;
  std::vector<relation> relations;  // tables and their indexes: what psql may ask about by oid
  std::vector<relation> sequences;  // listed by \d and \ds only

  const relation* find(std::optional<uint32_t> oid) const {
    if (!oid) return nullptr;
    for (const auto& r : relations) {
      if (r.oid == *oid) return &r;
    }
    return nullptr;
  }
};

std::string index_columns(const relation& r) {
  return column_list(r.table->schema, r.table->schema.primary_key);
}

std::string index_definition(const relation& r) { return primary_key_index_definition(r.table->schema); }

// ---- answers shaped by the select list ------------------------------------------

template <class Row>
struct rule {
  std::string_view key;  // the alias it names, or a fragment of an unaliased item (lower case)
  pg type;
  std::function<scalar(const Row&)> value;
};

template <class Row>
const rule<Row>* rule_for(const select_item& item, const std::vector<rule<Row>>& rules) {
  for (const auto& r : rules) {
    if (item.key.empty() ? item.lower.find(r.key) != std::string::npos : item.key == r.key) return &r;
  }
  return nullptr;
}

template <class Row>
catalog_answer shape(const std::vector<select_item>& items, const std::vector<rule<Row>>& rules,
                     const std::vector<Row>& rows) {
  catalog_answer a;
  a.rows.row_count = uint32_t(rows.size());
  for (const auto& item : items) {
    const rule<Row>* r = rule_for(item, rules);
    a.fields.push_back(field_of(r ? r->type : pg::text, item.name));
    tables::column_vector column(a.fields.back().type);
    column.reserve(uint32_t(rows.size()));
    for (const auto& row : rows) tables::append_scalar(column, r ? r->value(row) : scalar{});
    a.rows.columns.push_back(std::move(column));
  }
  a.command_tag = fmt::format("SELECT {}", rows.size());
  return a;
}

scalar str(std::string s) { return scalar{std::move(s)}; }
scalar null() { return scalar{}; }
template <class Row>
std::function<scalar(const Row&)> constant(scalar v) {
  return [v](const Row&) { return v; };
}

using answer_fn = std::optional<outcome<catalog_answer>> (*)(const query&, const context&);

std::optional<outcome<catalog_answer>> answer_from(const query& q, const auto& rules, const auto& rows) {
  auto items = select_items(q);
  if (!items) return std::nullopt;
  return outcome<catalog_answer>(shape(*items, rules, rows));
}

// Zero rows in the query's shape: the features Strata lacks (policies, publications, ...).
std::optional<outcome<catalog_answer>> answer_empty(const query& q) {
  std::vector<rule<int>> none;
  return answer_from(q, none, std::vector<int>{});
}

// ---- \d, \dt, \di, \dv, ...: lists of relations ----------------------------

bool is_relation_list(const query& q) {
  return q.starts("select n.nspname as \"schema\", c.relname as \"name\", case c.relkind when ") &&
         q.has(" from pg_catalog.pg_class c ") && q.has("c.relkind in (");
}

std::optional<outcome<catalog_answer>> answer_relation_list(const query& q, const context& ctx) {
  auto names = filter_for(q, "c.relname");
  if (!names.ok()) return names.err();
  auto schemas = filter_for(q, "n.nspname");
  if (!schemas.ok()) return schemas.err();
  const std::string kinds = relkinds_of(q);
  std::vector<relation> rows;
  if (schemas->matches(std::string(schema_name))) {
    for (const auto* list : {&ctx.relations, &ctx.sequences}) {
      for (const auto& r : *list) {
        if (kinds.find(r.kind) != std::string::npos && names->matches(r.name)) rows.push_back(r);
      }
    }
    std::sort(rows.begin(), rows.end(), [](const relation& a, const relation& b) { return a.name < b.name; });
  }
  const std::vector<rule<relation>> rules = {
      {"schema", pg::name, constant<relation>(str(std::string(schema_name)))},
      {"name", pg::name, [](const relation& r) { return str(r.name); }},
      {"type", pg::text,
       [](const relation& r) { return str(r.kind == 'i' ? "index" : r.kind == 'S' ? "sequence" : "table"); }},
      {"owner", pg::name, constant<relation>(str(ctx.owner))},
      {"table", pg::name, [](const relation& r) { return r.kind == 'i' ? str(r.table->schema.name) : null(); }},
      {"persistence", pg::text, constant<relation>(str("permanent"))},
      {"access method", pg::name,
       [](const relation& r) { return r.access_method() ? str(*r.access_method()) : null(); }},
      {"size", pg::text,
       [](const relation& r) { return r.kind == 'r' ? str(size_pretty(r.table->stored_bytes)) : null(); }},
  };
  return answer_from(q, rules, rows);
}

// ---- \d NAME: find the relations, then describe each by oid ------------------

bool is_relation_lookup(const query& q) {
  return q.starts("select c.oid, n.nspname, c.relname from pg_catalog.pg_class c ") && q.has("order by 2, 3");
}

std::optional<outcome<catalog_answer>> answer_relation_lookup(const query& q, const context& ctx) {
  auto names = filter_for(q, "c.relname");
  if (!names.ok()) return names.err();
  auto schemas = filter_for(q, "n.nspname");
  if (!schemas.ok()) return schemas.err();
  std::vector<relation> rows;
  if (schemas->matches(std::string(schema_name))) {
    for (const auto& r : ctx.relations) {
      if (names->matches(r.name)) rows.push_back(r);
    }
  }
  const std::vector<rule<relation>> rules = {
      {"nspname", pg::name, constant<relation>(str(std::string(schema_name)))},
      {"relname", pg::name, [](const relation& r) { return str(r.name); }},
      {"oid", pg::oid, [](const relation& r) { return scalar{int64_t(r.oid)}; }},
  };
  return answer_from(q, rules, rows);
}

bool is_table_info(const query& q) {
  return q.starts("select c.relchecks, c.relkind, c.relhasindex,") && q.has("from pg_catalog.pg_class c ") &&
         q.has("where c.oid = '") &&
         oid_after(q, "where c.oid = ").has_value();  // psql names a relation by its oid
}

std::optional<outcome<catalog_answer>> answer_table_info(const query& q, const context& ctx) {
  std::vector<relation> rows;
  if (const relation* r = ctx.find(oid_after(q, "where c.oid = "))) rows.push_back(*r);
  const scalar f{false};
  const std::vector<rule<relation>> rules = {
      {"relchecks", pg::int2, constant<relation>(scalar{int64_t(0)})},
      {"relkind", pg::chr, [](const relation& r) { return str(std::string(1, r.kind)); }},
      {"relhasindex", pg::boolean, [](const relation& r) { return scalar{r.has_index()}; }},
      {"relhasrules", pg::boolean, constant<relation>(f)},
      {"relhastriggers", pg::boolean, constant<relation>(f)},
      {"relforcerowsecurity", pg::boolean, constant<relation>(f)},
      {"relrowsecurity", pg::boolean, constant<relation>(f)},
      {"relhasoids", pg::boolean, constant<relation>(f)},
      {"relispartition", pg::boolean, constant<relation>(f)},
      {"reloptions", pg::text,
       [](const relation& r) { return str(r.kind == 'r' ? table_options(r.table->schema) : std::string()); }},
      {"reloftype", pg::text, constant<relation>(str(""))},
      {"''", pg::text, constant<relation>(str(""))},
      {"reltablespace", pg::oid, constant<relation>(scalar{int64_t(0)})},
      {"relpersistence", pg::chr, constant<relation>(str("p"))},
      {"relreplident", pg::chr, [](const relation& r) { return str(r.kind == 'i' ? "n" : "d"); }},
      {"amname", pg::name, [](const relation& r) { return r.access_method() ? str(*r.access_method()) : null(); }},
  };
  return answer_from(q, rules, rows);
}

struct column_row {
  const column_def* column = nullptr;
  bool in_key = false;
};

std::vector<column_row> columns_of(const relation& r) {
  const auto& schema = r.table->schema;
  std::vector<column_row> rows;
  if (r.kind == 'i') {
    for (uint32_t c : schema.primary_key) rows.push_back({&schema.columns[c], true});
    return rows;
  }
  for (uint32_t i = 0; i < schema.columns.size(); ++i) {
    bool in_key = std::find(schema.primary_key.begin(), schema.primary_key.end(), i) != schema.primary_key.end();
    rows.push_back({&schema.columns[i], in_key});
  }
  return rows;
}

bool is_column_list(const query& q) {
  return q.starts("select a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),") &&
         q.has(" from pg_catalog.pg_attribute a where a.attrelid = '") &&
         oid_after(q, "where a.attrelid = ").has_value();  // psql names a relation by its oid
}

std::optional<outcome<catalog_answer>> answer_column_list(const query& q, const context& ctx) {
  std::vector<column_row> rows;
  const relation* r = ctx.find(oid_after(q, "where a.attrelid = "));
  // The index form asks is_key and indexdef; a table's form does not.
  const char wanted = q.has(" as is_key") ? 'i' : 'r';
  if (r != nullptr && r->kind == wanted) rows = columns_of(*r);
  using row = column_row;
  const std::vector<rule<row>> rules = {
      {"attcollation", pg::name, constant<row>(null())},
      {"adbin", pg::text,
       [](const row& c) {
         const auto& d = c.column->default_expr;
         return d.empty() || c.column->identity != tables::identity_kind::none ? null() : str(d);
       }},
      {"attnotnull", pg::boolean, [](const row& c) { return scalar{c.column->not_null || c.in_key}; }},
      {"attidentity", pg::chr,
       [](const row& c) {
         using k = tables::identity_kind;
         return str(c.column->identity == k::always ? "a" : c.column->identity == k::by_default ? "d" : "");
       }},
      {"attgenerated", pg::chr, constant<row>(str(""))},
      {"attstorage", pg::chr, [](const row& c) { return str(storage_of(c.column->type)); }},
      {"attcompression", pg::chr, constant<row>(str(""))},
      {"attstattarget", pg::int2, constant<row>(null())},
      {"col_description", pg::text, constant<row>(null())},
      {"is_key", pg::text, constant<row>(str("yes"))},
      {"indexdef", pg::text, [](const row& c) { return str(quote_ident(c.column->name)); }},
      {"format_type", pg::text, [](const row& c) { return str(tables::type_name(c.column->type)); }},
      {"attname", pg::name, [](const row& c) { return str(c.column->name); }},
  };
  return answer_from(q, rules, rows);
}

bool is_table_indexes(const query& q) {
  return q.starts("select c2.relname, i.indisprimary, i.indisunique,") &&
         q.has(" from pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i ") &&
         q.has("where c.oid = '") &&
         oid_after(q, "where c.oid = ").has_value();  // psql names a relation by its oid
}

std::optional<outcome<catalog_answer>> answer_table_indexes(const query& q, const context& ctx) {
  std::vector<relation> rows;
  if (const relation* t = ctx.find(oid_after(q, "where c.oid = ")); t != nullptr && t->has_index()) {
    if (const relation* index = ctx.find(t->oid + 1)) rows.push_back(*index);
  }
  const scalar t{true}, f{false};
  const std::vector<rule<relation>> rules = {
      {"pg_get_indexdef", pg::text, [](const relation& r) { return str(index_definition(r)); }},
      {"pg_get_constraintdef", pg::text,
       [](const relation& r) { return str(fmt::format("PRIMARY KEY ({})", index_columns(r))); }},
      {"indisprimary", pg::boolean, constant<relation>(t)},
      {"indisunique", pg::boolean, constant<relation>(t)},
      {"indisclustered", pg::boolean, constant<relation>(f)},
      {"indisvalid", pg::boolean, constant<relation>(t)},
      {"indisreplident", pg::boolean, constant<relation>(f)},
      {"contype", pg::chr, constant<relation>(str("p"))},
      {"condeferrable", pg::boolean, constant<relation>(f)},
      {"condeferred", pg::boolean, constant<relation>(f)},
      {"reltablespace", pg::oid, constant<relation>(scalar{int64_t(0)})},
      {"relname", pg::name, [](const relation& r) { return str(r.name); }},
  };
  return answer_from(q, rules, rows);
}

bool is_index_info(const query& q) {
  return q.starts("select i.indisunique, i.indisprimary, i.indisclustered,") &&
         q.has(" from pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_am a ") &&
         q.has("and c.oid = '") &&
         oid_after(q, "and c.oid = ").has_value();  // psql names a relation by its oid
}

std::optional<outcome<catalog_answer>> answer_index_info(const query& q, const context& ctx) {
  std::vector<relation> rows;
  if (const relation* r = ctx.find(oid_after(q, "and c.oid = ")); r != nullptr && r->kind == 'i') {
    rows.push_back(*r);
  }
  const scalar t{true}, f{false};
  const std::vector<rule<relation>> rules = {
      {"indpred", pg::text, constant<relation>(null())},
      {"indisunique", pg::boolean, constant<relation>(t)},
      {"indisprimary", pg::boolean, constant<relation>(t)},
      {"indisclustered", pg::boolean, constant<relation>(f)},
      {"indisvalid", pg::boolean, constant<relation>(t)},
      {"condeferrable", pg::boolean, constant<relation>(f)},
      {"condeferred", pg::boolean, constant<relation>(f)},
      {"indisreplident", pg::boolean, constant<relation>(f)},
      {"indnullsnotdistinct", pg::boolean, constant<relation>(f)},
      {"amname", pg::name, constant<relation>(str("btree"))},
      {"relname", pg::name, [](const relation& r) { return str(r.table->schema.name); }},
  };
  return answer_from(q, rules, rows);
}

// The footers of \d TABLE for features Strata lacks: always zero rows.
bool is_lacking_feature(const query& q) {
  return (q.starts("select pol.polname, pol.polpermissive,") && q.has(" from pg_catalog.pg_policy pol ")) ||
         (q.starts("select oid, stxrelid::pg_catalog.regclass,") && q.has(" from pg_catalog.pg_statistic_ext ")) ||
         (q.starts("select pubname ") && q.has(" from pg_catalog.pg_publication p ")) ||
         (q.starts("select c.oid::pg_catalog.regclass") && q.has("pg_catalog.pg_inherits i"));
}

// ---- \l, \dn, \du and the empty lists (\df, \dT, \dx) --------------------------

bool is_database_list(const query& q) {
  return q.starts("select d.datname as \"name\",") && q.has(" from pg_catalog.pg_database d");
}

std::optional<outcome<catalog_answer>> answer_database_list(const query& q, const context& ctx) {
  auto names = filter_for(q, "d.datname");
  if (!names.ok()) return names.err();
  std::vector<int> rows;
  if (names->matches(ctx.database)) rows.push_back(0);
  uint64_t bytes = 0;
  for (const auto& t : ctx.tables) bytes += t.stored_bytes;
  const std::vector<rule<int>> rules = {
      {"name", pg::name, constant<int>(str(ctx.database))},
      {"owner", pg::name, constant<int>(str(ctx.owner))},
      {"encoding", pg::name, constant<int>(str("UTF8"))},
      {"collate", pg::text, constant<int>(str("C"))},
      {"ctype", pg::text, constant<int>(str("C"))},
      {"locale provider", pg::text, constant<int>(str("libc"))},
      {"size", pg::text, constant<int>(str(size_pretty(bytes)))},
      {"tablespace", pg::name, constant<int>(str("pg_default"))},
  };
  return answer_from(q, rules, rows);
}

bool is_schema_list(const query& q) {
  return q.starts("select n.nspname as \"name\",") && q.has(" from pg_catalog.pg_namespace n");
}

std::optional<outcome<catalog_answer>> answer_schema_list(const query& q, const context& ctx) {
  auto names = filter_for(q, "n.nspname");
  if (!names.ok()) return names.err();
  std::vector<int> rows;
  if (names->matches(std::string(schema_name))) rows.push_back(0);
  const std::vector<rule<int>> rules = {
      {"name", pg::name, constant<int>(str(std::string(schema_name)))},
      {"owner", pg::name, constant<int>(str(ctx.owner))},
      {"access privileges", pg::text, constant<int>(str(fmt::format("{0}=UC/{0}\n=U/{0}", ctx.owner)))},
      {"description", pg::text, constant<int>(str("standard public schema"))},
  };
  return answer_from(q, rules, rows);
}

bool is_role_list(const query& q) {
  return q.starts("select r.rolname, r.rolsuper, r.rolinherit,") && q.has(" from pg_catalog.pg_roles r");
}

std::optional<outcome<catalog_answer>> answer_role_list(const query& q, const context& ctx) {
  auto names = filter_for(q, "r.rolname");
  if (!names.ok()) return names.err();
  std::vector<int> rows;
  if (names->matches(ctx.owner)) rows.push_back(0);
  const scalar t{true}, f{false};
  const std::vector<rule<int>> rules = {
      {"memberof", pg::name_array, constant<int>(str("{}"))},
      {"description", pg::text, constant<int>(null())},
      {"rolname", pg::name, constant<int>(str(ctx.owner))},
      {"rolsuper", pg::boolean, constant<int>(t)},
      {"rolinherit", pg::boolean, constant<int>(t)},
      {"rolcreaterole", pg::boolean, constant<int>(t)},
      {"rolcreatedb", pg::boolean, constant<int>(t)},
      {"rolcanlogin", pg::boolean, constant<int>(t)},
      {"rolconnlimit", pg::int4, constant<int>(scalar{int64_t(-1)})},
      {"rolvaliduntil", pg::timestamptz, constant<int>(null())},
      {"rolreplication", pg::boolean, constant<int>(f)},
      {"rolbypassrls", pg::boolean, constant<int>(f)},
  };
  return answer_from(q, rules, rows);
}

// \df, \dT and \dx: Strata has no user functions, types or extensions.
bool is_empty_object_list(const query& q) {
  return (q.starts("select n.nspname as \"schema\", p.proname as \"name\",") && q.has(" from pg_catalog.pg_proc p")) ||
         (q.starts("select n.nspname as \"schema\", pg_catalog.format_type(t.oid, null) as \"name\",") &&
          q.has(" from pg_catalog.pg_type t")) ||
         (q.starts("select e.extname as \"name\",") && q.has(" from pg_catalog.pg_extension e"));
}

struct handler {
  bool (*recognise)(const query&);
  answer_fn answer;
};

std::optional<outcome<catalog_answer>> answer_lacking(const query& q, const context&) { return answer_empty(q); }

constexpr handler handlers[] = {
    {is_relation_list, answer_relation_list},   {is_relation_lookup, answer_relation_lookup},
    {is_table_info, answer_table_info},         {is_column_list, answer_column_list},
    {is_table_indexes, answer_table_indexes},   {is_index_info, answer_index_info},
    {is_lacking_feature, answer_lacking},       {is_database_list, answer_database_list},
    {is_schema_list, answer_schema_list},       {is_role_list, answer_role_list},
    {is_empty_object_list, answer_lacking},
};

}  // namespace

std::string primary_key_index_definition(const tables::table_schema& schema) {
  return fmt::format("CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})", quote_ident(pkey_name(schema.name)),
                     schema_name, quote_ident(schema.name), column_list(schema, schema.primary_key));
}

uint32_t table_oid(uint64_t table_id) {
  // Two oids per table (the table and its primary-key index), above PostgreSQL's built-in range.
  constexpr uint64_t ids_max = (uint64_t(UINT32_MAX) - first_normal_oid) / 2;
  return uint32_t(first_normal_oid + 2 * (table_id % ids_max));
}

int64_t sequence_oid(const std::string& name) {
  uint32_t hash = 2166136261u;  // FNV-1a: the same oid in every process
  for (unsigned char c : name) hash = (hash ^ c) * 16777619u;
  return int64_t(0x80000000u | (hash & 0x7fffffffu));
}

std::optional<outcome<catalog_answer>> answer_catalog_query(std::string_view sql,
                                                            const std::vector<tables::table_info>& tables,
                                                            std::string_view database, std::string_view user,
                                                            const std::vector<tables::sequence_info>& sequences) {
  if (sql.size() > query_bytes_max) return std::nullopt;
  const query q = normalize(sql);
  if (!q.has("pg_catalog.")) return std::nullopt;  // every psql catalog query names pg_catalog
  for (const auto& h : handlers) {
    if (!h.recognise(q)) continue;
    const std::string_view owner = user.empty() ? "strata" : user;
    context ctx{tables, std::string(database.empty() ? "strata" : database), std::string(owner), relations_of(tables),
                sequences_of(sequences)};
    return h.answer(q, ctx);
  }
  return std::nullopt;
}

}  // namespace strata::sql
