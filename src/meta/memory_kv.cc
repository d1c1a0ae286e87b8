// meta::kv in memory, for unit tests: same ordering and prefix semantics as
// the RocksDB store, nothing survives the object.
#include <map>
#include <string>

#include "meta/kv.h"

namespace strata::meta {

namespace {

class memory_kv final : public kv {
 public:
  status put(std::string_view key, std::string_view value) override {
    map_.insert_or_assign(std::string(key), std::string(value));
    return {};
  }

  status remove(std::string_view key) override {
    auto it = map_.find(key);
    if (it != map_.end()) map_.erase(it);
    return {};
  }

  status write_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override {
    for (const auto& [key, value] : ops) {
      if (value) {
        map_.insert_or_assign(key, *value);
      } else {
        map_.erase(key);
      }
    }
    return {};
  }

  result<std::optional<std::string>> get(std::string_view key) override {
    auto it = map_.find(key);
    if (it == map_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  status scan_prefix(std::string_view prefix,
                     const std::function<void(std::string_view, std::string_view)>& fn) override {
    for (auto it = map_.lower_bound(prefix); it != map_.end() && it->first.starts_with(prefix); ++it) {
      fn(it->first, it->second);
    }
    return {};
  }

 private:
  std::map<std::string, std::string, std::less<>> map_;
};

}  // namespace

std::unique_ptr<kv> make_memory_kv() { return std::make_unique<memory_kv>(); }

}  // namespace strata::meta
