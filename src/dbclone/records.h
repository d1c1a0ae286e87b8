// The durable records of the database-clones face, one meta::kv key each
// (docs/formats/dbclone.md): db/source/NAME, db/snapshot/ID, db/clone/ID,
// db/branch/NAME, as JSON objects with a format version "v": 1.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "dbclone/service.h"

namespace strata::dbclone {

inline constexpr int records_version = 1;

struct source_record {
  source_spec spec;        // conninfo as given (with any password): needed to reconnect the sync instance
  std::string status;      // copying | ready | refreshing | error
  std::string reason;
  int64_t created_ms = 0;
  uint32_t base_generation = 1;  // the base dataset is src.NAME.GEN; a logical refresh builds GEN+1
  std::string superuser;   // a superuser role of the copied cluster (found at the first snapshot)
  int64_t data_state_ms = 0;  // logical: when the dump of the current base started
};

struct snapshot_record {
  snapshot_info info;      // clones: derived at read time, not stored
  std::string superuser;
};

struct clone_record {
  clone_info info;         // pid, exclusive_bytes: runtime, not stored
  std::string verifier;    // SCRAM-SHA-256 verifier of the clone user's password; "" until the first start
  std::string superuser;
};

inline constexpr std::string_view source_prefix = "db/source/";
inline constexpr std::string_view snapshot_prefix = "db/snapshot/";
inline constexpr std::string_view clone_prefix = "db/clone/";
inline constexpr std::string_view branch_prefix = "db/branch/";

std::string encode(const source_record& r);
std::string encode(const snapshot_record& r);
std::string encode(const clone_record& r);
std::string encode(const branch_info& r);
result<source_record> decode_source(std::string_view text);
result<snapshot_record> decode_snapshot(std::string_view text);
result<clone_record> decode_clone(std::string_view text);
result<branch_info> decode_branch(std::string_view text);

const char* mode_name(source_mode mode);
result<source_mode> parse_mode(std::string_view text);
result<clone_status> parse_clone_status(std::string_view text);

}  // namespace strata::dbclone
