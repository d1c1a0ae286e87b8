#include "tables/decoded_cache.h"

#include <xxhash.h>

namespace strata::tables {

size_t chunk_key_hash::operator()(const chunk_key& k) const noexcept {
  uint64_t parts[5] = {k.table_id, k.partition_id, k.bucket, k.column, uint64_t(k.offset)};
  return size_t(XXH3_64bits(parts, sizeof parts));
}

std::shared_ptr<const column_vector> decoded_cache::get(const chunk_key& key) {
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->value;
}

std::shared_ptr<const column_vector> decoded_cache::put(const chunk_key& key, column_vector value) {
  uint64_t bytes = value.memory_bytes();
  auto shared = std::make_shared<const column_vector>(std::move(value));
  if (bytes > bytes_max_) return shared;
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->value;
  }
  lru_.push_front(entry{key, shared, bytes});
  map_.emplace(key, lru_.begin());
  bytes_ += bytes;
  evict_locked();
  return shared;
}

void decoded_cache::evict_locked() {
  while (bytes_ > bytes_max_ && !lru_.empty()) {
    entry& e = lru_.back();
    bytes_ -= e.bytes;
    map_.erase(e.key);
    lru_.pop_back();
  }
}

uint64_t decoded_cache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

uint64_t decoded_cache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

uint64_t decoded_cache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

}  // namespace strata::tables
