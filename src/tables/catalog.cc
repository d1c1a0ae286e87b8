#include "tables/catalog.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "meta/kv.h"

namespace strata::tables {
namespace {

using nlohmann::json;

constexpr std::string_view table_prefix = "tables/v1/table/";
constexpr std::string_view partition_prefix = "tables/v1/partition/";
constexpr std::string_view next_table_key = "tables/v1/next_table_id";
constexpr int catalog_version = 1;

std::string partition_table_prefix(uint64_t table_id) { return fmt::format("{}{:016x}/", partition_prefix, table_id); }

std::optional<uint64_t> parse_u64(std::string_view text, int base = 10) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

json indexes_json(const std::vector<uint32_t>& v) {
  json a = json::array();
  for (uint32_t i : v) a.push_back(i);
  return a;
}

json schema_json(const table_schema& s) {
  json cols = json::array();
  for (const column_def& c : s.columns) {
    cols.push_back(json{{"name", c.name},
                        {"type", int(c.type.id)},
                        {"precision", int(c.type.precision)},
                        {"scale", int(c.type.scale)},
                        {"length_max", c.type.length_max},
                        {"not_null", c.not_null}});
    // Written only when set, so records of tables without them read as before.
    if (!c.default_expr.empty()) cols.back()["default"] = c.default_expr;
    if (c.identity != identity_kind::none) cols.back()["identity"] = int(c.identity);
  }
  return json{{"name", s.name},
              {"kind", s.kind == table_kind::log ? "log" : "primary_key"},
              {"columns", cols},
              {"primary_key", indexes_json(s.primary_key)},
              {"partitioning",
               {{"kind", int(s.partitioning.kind)},
                {"column", s.partitioning.column},
                {"interval", int(s.partitioning.interval)}}},
              {"buckets", s.buckets},
              {"bucket_key", indexes_json(s.bucket_key)}};
}

// nlohmann throws on type mismatches; the catalog is a library boundary.
std::optional<table_schema> schema_of(const json& j) {
  try {
    table_schema s;
    s.name = j.at("name").get<std::string>();
    std::string kind = j.at("kind").get<std::string>();
    if (kind != "log" && kind != "primary_key") return std::nullopt;
    s.kind = kind == "log" ? table_kind::log : table_kind::primary_key;
    for (const json& c : j.at("columns")) {
      column_def d;
      d.name = c.at("name").get<std::string>();
      d.type.id = type_id(c.at("type").get<int>());
      d.type.precision = uint8_t(c.at("precision").get<int>());
      d.type.scale = uint8_t(c.at("scale").get<int>());
      d.type.length_max = c.at("length_max").get<uint32_t>();
      d.not_null = c.at("not_null").get<bool>();
      d.default_expr = c.value("default", std::string());
      const int identity = c.value("identity", 0);
      if (identity < 0 || identity > int(identity_kind::by_default)) return std::nullopt;
      d.identity = identity_kind(identity);
      s.columns.push_back(std::move(d));
    }
    s.primary_key = j.at("primary_key").get<std::vector<uint32_t>>();
    const json& p = j.at("partitioning");
    s.partitioning.kind = partition_kind(p.at("kind").get<int>());
    s.partitioning.column = p.at("column").get<uint32_t>();
    s.partitioning.interval = time_unit(p.at("interval").get<int>());
    s.buckets = j.at("buckets").get<uint32_t>();
    s.bucket_key = j.at("bucket_key").get<std::vector<uint32_t>>();
    if (!validate(s).ok()) return std::nullopt;
    return s;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<json> versioned(std::string_view value) {
  auto j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int64_t>() != catalog_version) {
    return std::nullopt;
  }
  return j;
}

std::optional<table_record> table_of(std::string_view value) {
  auto j = versioned(value);
  if (!j) return std::nullopt;
  try {
    table_record r;
    r.id = j->at("id").get<uint64_t>();
    r.created_ms = j->at("created_ms").get<int64_t>();
    auto s = schema_of(j->at("schema"));
    if (!s || r.id == 0) return std::nullopt;
    r.schema = std::move(*s);
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<partition_record> partition_of(std::string_view key, std::string_view value) {
  std::string_view rest = key.substr(partition_prefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto table_id = parse_u64(rest.substr(0, slash), 16);
  auto j = versioned(value);
  if (!table_id || !j || !j->contains("id") || !(*j)["id"].is_number_unsigned()) return std::nullopt;
  return partition_record{*table_id, (*j)["id"].get<uint64_t>(), std::string(rest.substr(slash + 1))};
}

error corrupt_record(std::string_view key) {
  return make_error(errc::corrupt, fmt::format("table catalog record {} does not parse; the data dir was written "
                                               "by another version or is damaged",
                                               key));
}

}  // namespace

std::string schema_to_json(const table_schema& schema) { return schema_json(schema).dump(); }

result<table_schema> schema_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  auto s = j.is_discarded() ? std::nullopt : schema_of(j);
  if (!s) return make_error(errc::corrupt, "table schema JSON does not parse");
  return *s;
}

kv_op put_table(const table_record& r) {
  json j{{"version", catalog_version}, {"id", r.id}, {"created_ms", r.created_ms}, {"schema", schema_json(r.schema)}};
  return {std::string(table_prefix) + r.schema.name, j.dump()};
}

kv_op remove_table(const std::string& name) { return {std::string(table_prefix) + name, std::nullopt}; }

kv_op put_partition(const partition_record& r) {
  json j{{"version", catalog_version}, {"id", r.id}};
  return {partition_table_prefix(r.table_id) + r.key, j.dump()};
}

kv_op remove_partition(uint64_t table_id, const std::string& key) {
  return {partition_table_prefix(table_id) + key, std::nullopt};
}

kv_op put_next_table_id(uint64_t id) { return {std::string(next_table_key), std::to_string(id)}; }

result<table_catalog> load_table_catalog(meta::kv& kv) {
  table_catalog c;
  std::string bad;
  STRATA_TRY(kv.scan_prefix(table_prefix, [&](std::string_view key, std::string_view value) {
    auto r = table_of(value);
    if (!r || r->schema.name != key.substr(table_prefix.size())) {
      if (bad.empty()) bad = std::string(key);
      return;
    }
    c.tables.push_back(std::move(*r));
  }));
  STRATA_TRY(kv.scan_prefix(partition_prefix, [&](std::string_view key, std::string_view value) {
    auto r = partition_of(key, value);
    if (!r) {
      if (bad.empty()) bad = std::string(key);
      return;
    }
    c.partitions.push_back(std::move(*r));
  }));
  auto next = kv.get(next_table_key);
  if (!next.ok()) return next.err();
  if (next->has_value()) {
    auto v = parse_u64(**next);
    if (!v) {
      if (bad.empty()) bad = std::string(next_table_key);
    } else {
      c.next_table_id = *v;
    }
  }
  if (!bad.empty()) return corrupt_record(bad);
  return c;
}

result<std::vector<partition_record>> load_partitions(meta::kv& kv, uint64_t table_id) {
  std::vector<partition_record> out;
  std::string bad;
  STRATA_TRY(kv.scan_prefix(partition_table_prefix(table_id), [&](std::string_view key, std::string_view value) {
    auto r = partition_of(key, value);
    if (!r) {
      if (bad.empty()) bad = std::string(key);
      return;
    }
    out.push_back(std::move(*r));
  }));
  if (!bad.empty()) return corrupt_record(bad);
  return out;
}

}  // namespace strata::tables
