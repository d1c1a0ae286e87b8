// A byte-bounded LRU of decoded column chunks shared by every scan, so a hot
// scan neither reads the log nor decompresses: cursors hand out the cached
// column_vector itself (shared_ptr). Keys never repeat across tables because
// table ids are never reused.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "tables/types.h"

namespace strata::tables {

struct chunk_key {
  uint64_t table_id = 0;
  uint64_t partition_id = 0;
  uint32_t bucket = 0;
  uint32_t column = 0;  // ops_column for the change types
  int64_t offset = 0;   // base offset of the batch
  bool operator==(const chunk_key&) const = default;
};

inline constexpr uint32_t ops_column = UINT32_MAX;

struct chunk_key_hash {
  size_t operator()(const chunk_key& k) const noexcept;
};

class decoded_cache {
 public:
  explicit decoded_cache(uint64_t bytes_max) : bytes_max_(bytes_max) {}

  std::shared_ptr<const column_vector> get(const chunk_key& key);
  // Inserts (unless bigger than the whole cache) and returns the shared value.
  std::shared_ptr<const column_vector> put(const chunk_key& key, column_vector value);

  uint64_t bytes() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct entry {
    chunk_key key;
    std::shared_ptr<const column_vector> value;
    uint64_t bytes;
  };
  void evict_locked();

  const uint64_t bytes_max_;
  mutable std::mutex mu_;
  std::list<entry> lru_;  // front = most recent
  std::unordered_map<chunk_key, std::list<entry>::iterator, chunk_key_hash> map_;
  uint64_t bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace strata::tables
