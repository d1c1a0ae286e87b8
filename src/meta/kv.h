// Durable key-value state for metadata: topic catalog, consumer-group offsets,
// producer ids. The single-node implementation is RocksDB under the data dir.
// Every write is synced (WAL fsync) before it returns.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace strata::meta {

class kv {
 public:
  // Opens (creating if missing) a RocksDB store in `dir`.
  static result<std::unique_ptr<kv>> open_rocksdb(const std::string& dir);
  virtual ~kv() = default;

  virtual status put(std::string_view key, std::string_view value) = 0;
  virtual status remove(std::string_view key) = 0;
  // Applies every put and remove atomically.
  virtual status write_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) = 0;
  virtual result<std::optional<std::string>> get(std::string_view key) = 0;
  // Calls fn(key, value) for every key starting with prefix, in key order.
  virtual status scan_prefix(std::string_view prefix,
                             const std::function<void(std::string_view, std::string_view)>& fn) = 0;
};

// An in-memory kv with the same semantics, for unit tests.
std::unique_ptr<kv> make_memory_kv();

}  // namespace strata::meta
