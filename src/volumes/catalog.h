// The durable volume catalog in meta::kv: which layers exist and how they
// stack, and which volume or snapshot each name points at. Every change is
// one kv batch, so a crash leaves either the old catalog or the new one.
// Keys and JSON values are in docs/formats/volume.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace strata::meta {
class kv;
}

namespace strata::volumes {

struct layer_record {
  uint64_t id = 0;
  uint64_t parent_id = 0;  // 0: none
  uint64_t size_blocks = 0;
};

struct volume_record {
  std::string name;
  uint64_t top_layer_id = 0;
  int64_t created_ms = 0;
  std::string origin;  // "VOLUME@SNAPSHOT" for a clone
};

struct snapshot_record {
  std::string volume;
  std::string name;
  uint64_t layer_id = 0;
  int64_t created_ms = 0;
};

struct catalog {
  std::vector<layer_record> layers;
  std::vector<volume_record> volumes;
  std::vector<snapshot_record> snapshots;
  uint64_t next_layer_id = 1;
};

using kv_op = std::pair<std::string, std::optional<std::string>>;

kv_op put_layer(const layer_record& r);
kv_op remove_layer(uint64_t id);
kv_op put_volume(const volume_record& r);
kv_op remove_volume(const std::string& name);
kv_op put_snapshot(const snapshot_record& r);
kv_op remove_snapshot(const std::string& volume, const std::string& name);
kv_op put_next_layer_id(uint64_t id);

// errc::corrupt names the first record that does not parse.
result<catalog> load_catalog(meta::kv& kv);

}  // namespace strata::volumes
