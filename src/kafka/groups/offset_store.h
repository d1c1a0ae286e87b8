// Committed consumer-group offsets: an in-memory index over meta::kv, which
// holds them durably. Layout of keys and values: docs/formats/kafka-group-offsets.md.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace strata::meta {
class kv;
}

namespace strata::kafka::groups {

struct topic_partition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
};

struct committed_offset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = 0;  // wall clock at commit
  bool operator==(const committed_offset&) const = default;
};

using group_offsets = std::map<topic_partition, committed_offset>;

// One committed offset as its key and value encode it.
struct offset_record {
  std::string group;
  topic_partition tp;
  committed_offset value;
};

class offset_store {
 public:
  offset_store(meta::kv& kv, size_t entries_max) : kv_(kv), entries_max_(entries_max) {}

  // Reads every committed offset from the kv. Fails with errc::corrupt on an
  // entry it cannot parse.
  status load();

  // Writes `entries` of `group` in one synced kv batch and only then makes
  // them visible. errc::limit_exceeded if new keys would pass entries_max.
  status commit(const std::string& group, const std::vector<std::pair<topic_partition, committed_offset>>& entries);

  // Deletes these offsets of `group` (those it has) in one synced kv batch,
  // and only then forgets them.
  status erase(const std::string& group, const std::vector<topic_partition>& tps);

  const committed_offset* find(std::string_view group, const topic_partition& tp) const;
  // Every committed partition of `group`, or nullptr if it has none.
  const group_offsets* find_group(std::string_view group) const;
  const std::map<std::string, group_offsets, std::less<>>& all() const { return groups_; }
  size_t size() const { return entries_; }

  // The kv encoding, exposed for tests.
  static std::string encode_key(std::string_view group, const topic_partition& tp);
  static std::string encode_value(const committed_offset& c);
  // The inverse of both; nullopt for bytes that are not such a record. The
  // same encoding is the record format of __consumer_offsets in cluster mode.
  static std::optional<offset_record> decode(std::string_view key, std::string_view value);

 private:
  size_t new_keys(const std::string& group, const std::vector<std::pair<topic_partition, committed_offset>>& entries) const;

  meta::kv& kv_;
  size_t entries_max_;
  size_t entries_ = 0;
  std::map<std::string, group_offsets, std::less<>> groups_;
};

}  // namespace strata::kafka::groups
