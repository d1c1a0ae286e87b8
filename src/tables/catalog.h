// The durable table catalog in meta::kv: one JSON record per table, one per
// partition, and the table id counter. Keys and values are described in
// docs/formats/table-storage.md ("Catalog records").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "tables/schema.h"

namespace strata::meta {
class kv;
}

namespace strata::tables {

struct table_record {
  uint64_t id = 0;
  int64_t created_ms = 0;
  table_schema schema;
};

struct partition_record {
  uint64_t table_id = 0;
  uint64_t id = 0;
  std::string key;  // see partitioning.h
};

using kv_op = std::pair<std::string, std::optional<std::string>>;

kv_op put_table(const table_record& r);
kv_op remove_table(const std::string& name);
kv_op put_partition(const partition_record& r);
kv_op remove_partition(uint64_t table_id, const std::string& key);
kv_op put_next_table_id(uint64_t id);

struct table_catalog {
  std::vector<table_record> tables;
  std::vector<partition_record> partitions;
  uint64_t next_table_id = 1;
};

// errc::corrupt names the first record that does not parse.
result<table_catalog> load_table_catalog(meta::kv& kv);
// Every partition record of one table.
result<std::vector<partition_record>> load_partitions(meta::kv& kv, uint64_t table_id);

// JSON form of a schema (exposed for tests).
std::string schema_to_json(const table_schema& schema);
result<table_schema> schema_from_json(const std::string& text);

}  // namespace strata::tables
