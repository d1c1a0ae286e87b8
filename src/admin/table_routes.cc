#include "admin/table_routes.h"

#include <nlohmann/json.hpp>

#include "admin/reply.h"
#include "tables/service.h"

namespace strata::admin {
namespace {

using nlohmann::json;

const char* kind_name(tables::table_kind kind) {
  return kind == tables::table_kind::primary_key ? "primary_key" : "log";
}

const char* partition_name(tables::partition_kind kind) {
  switch (kind) {
    case tables::partition_kind::range_time: return "range";
    case tables::partition_kind::list: return "list";
    case tables::partition_kind::none: break;
  }
  return "none";
}

json column_names(const tables::table_schema& schema, const std::vector<uint32_t>& indexes) {
  json names = json::array();
  for (uint32_t i : indexes) names.push_back(schema.columns[i].name);
  return names;
}

json table_json(const tables::table_info& t) {
  const auto& s = t.schema;
  json columns = json::array();
  for (const auto& c : s.columns) {
    columns.push_back({{"name", c.name}, {"type", tables::type_name(c.type)}, {"not_null", c.not_null}});
  }
  json partitioning = {{"kind", partition_name(s.partitioning.kind)}};
  if (s.partitioning.kind != tables::partition_kind::none) {
    partitioning["column"] = s.columns[s.partitioning.column].name;
  }
  return {{"name", s.name},
          {"kind", kind_name(s.kind)},
          {"columns", columns},
          {"primary_key", column_names(s, s.primary_key)},
          {"partitioning", partitioning},
          {"buckets", s.buckets},
          {"bucket_key", column_names(s, s.bucket_key)},
          {"row_count", t.row_count},
          {"stored_bytes", t.stored_bytes},
          {"partition_count", t.partition_count},
          {"batch_count", t.batch_count}};
}

response list_tables(tables::service& svc) {
  json list = json::array();
  for (const auto& t : svc.list_tables()) list.push_back(table_json(t));
  return json_response(200, {{"tables", list}});
}

response describe_table(tables::service& svc, const path_params& params) {
  auto info = svc.describe(params.at("name"));
  if (!info) return error_response(info.err());
  return json_response(200, table_json(*info));
}

using table_handler = response (*)(tables::service&, const path_params&);

handler guarded(tables::service* svc, table_handler fn) {
  return [svc, fn](const request&, const path_params& params) {
    if (svc == nullptr) {
      return error_response(503, "unavailable", "the tables face is not enabled on this server");
    }
    return fn(*svc, params);
  };
}

}  // namespace

void add_table_routes(router& routes, tables::service* svc) {
  routes.add("GET", "/v1/tables",
             guarded(svc, [](tables::service& s, const path_params&) { return list_tables(s); }));
  routes.add("GET", "/v1/tables/{name}", guarded(svc, describe_table));
}

}  // namespace strata::admin
