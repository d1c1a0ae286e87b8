// A meta::kv kept in the cluster's coordinator (etcd) under one prefix, for
// the state every node must share but that is not the cluster's own: the SASL
// users and the ACLs. Each call is one etcd round trip, so it suits small,
// rarely written state; readers keep their own cache and reload it.
#pragma once

#include <memory>
#include <string>

#include "meta/kv.h"

namespace strata::cluster {
class coordinator;
}

namespace strata::app {

inline constexpr const char* shared_kv_prefix = "/strata/shared/";

class coordinator_kv final : public meta::kv {
 public:
  coordinator_kv(std::unique_ptr<cluster::coordinator> coordinator, std::string prefix);
  ~coordinator_kv() override;

  status put(std::string_view key, std::string_view value) override;
  status remove(std::string_view key) override;
  status write_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override;
  result<std::optional<std::string>> get(std::string_view key) override;
  status scan_prefix(std::string_view prefix,
                     const std::function<void(std::string_view, std::string_view)>& fn) override;

 private:
  std::string full_key(std::string_view key) const { return prefix_ + std::string(key); }

  std::unique_ptr<cluster::coordinator> coordinator_;
  std::string prefix_;
};

}  // namespace strata::app
