#include "app/coordinator_kv.h"

#include "cluster/coordinator.h"

namespace strata::app {

coordinator_kv::coordinator_kv(std::unique_ptr<cluster::coordinator> coordinator, std::string prefix)
    : coordinator_(std::move(coordinator)), prefix_(std::move(prefix)) {}

coordinator_kv::~coordinator_kv() = default;

status coordinator_kv::put(std::string_view key, std::string_view value) {
  return write_batch({{std::string(key), std::string(value)}});
}

status coordinator_kv::remove(std::string_view key) { return write_batch({{std::string(key), std::nullopt}}); }

status coordinator_kv::write_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) {
  std::vector<cluster::txn_op> writes;
  for (const auto& [key, value] : ops) {
    writes.push_back(value ? cluster::txn_op::put(full_key(key), *value) : cluster::txn_op::remove(full_key(key)));
  }
  auto outcome = coordinator_->commit({}, writes);
  STRATA_TRY(outcome);
  if (!outcome->succeeded) return make_error(errc::internal, "etcd refused an unconditional write");
  return {};
}

result<std::optional<std::string>> coordinator_kv::get(std::string_view key) {
  auto entry = coordinator_->get(full_key(key));
  STRATA_TRY(entry);
  if (!*entry) return std::optional<std::string>();
  return std::optional<std::string>((*entry)->value);
}

status coordinator_kv::scan_prefix(std::string_view prefix,
                                   const std::function<void(std::string_view, std::string_view)>& fn) {
  auto range = coordinator_->range(full_key(prefix));
  STRATA_TRY(range);
  for (const auto& entry : range->entries) fn(std::string_view(entry.key).substr(prefix_.size()), entry.value);
  return {};
}

}  // namespace strata::app
