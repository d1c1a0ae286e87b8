#include "tables/commit_groups.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>
#include <string>

namespace strata::tables {
namespace {

constexpr std::string_view record_prefix = "tables/v1/txn/";
constexpr std::string_view aborted_prefix = "tables/v1/txn_aborted/";
constexpr std::string_view resolved_key = "tables/v1/txn_resolved_below";

std::string id_key(std::string_view prefix, uint64_t id) { return fmt::format("{}{:016x}", prefix, id); }

std::optional<uint64_t> parse_hex(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

using kv_ops = std::vector<std::pair<std::string, std::optional<std::string>>>;

}  // namespace

status commit_groups::load() {
  auto resolved = kv_.get(resolved_key);
  if (!resolved.ok()) return resolved.err();
  std::lock_guard lk(mu_);
  resolved_below_ = 0;
  if (resolved->has_value()) {
    auto v = parse_hex(**resolved);
    if (!v) return make_error(errc::corrupt, "the tables catalog's resolved commit id is not a hex number");
    resolved_below_ = *v;
  }
  bool bad = false;
  auto collect = [&bad](std::string_view prefix, std::set<uint64_t>& into) {
    return [prefix, &into, &bad](std::string_view key, std::string_view) {
      auto v = parse_hex(key.substr(prefix.size()));
      if (v) into.insert(*v); else bad = true;
    };
  };
  STRATA_TRY(kv_.scan_prefix(record_prefix, collect(record_prefix, records_)));
  STRATA_TRY(kv_.scan_prefix(aborted_prefix, collect(aborted_prefix, aborted_)));
  if (bad) return make_error(errc::corrupt, "a commit record in the tables catalog has a malformed id");
  return {};
}

bool commit_groups::committed(uint64_t txn_id) const {
  std::lock_guard lk(mu_);
  if (aborted_.count(txn_id) > 0) return false;
  return txn_id < resolved_below_ || records_.count(txn_id) > 0;
}

uint64_t commit_groups::first_free_id() const {
  std::lock_guard lk(mu_);
  uint64_t id = resolved_below_;
  if (!aborted_.empty()) id = std::max(id, *aborted_.rbegin() + 1);
  if (!records_.empty()) id = std::max(id, *records_.rbegin() + 1);
  return id;
}

status commit_groups::resolve_after_recovery(const std::set<uint64_t>& not_committed, uint64_t next_txn_id) {
  std::lock_guard lk(mu_);
  kv_ops ops;
  for (uint64_t id : not_committed) {
    if (aborted_.insert(id).second) ops.emplace_back(id_key(aborted_prefix, id), std::string());
  }
  const uint64_t resolved = std::max(resolved_below_, next_txn_id);
  ops.emplace_back(std::string(resolved_key), fmt::format("{:016x}", resolved));
  for (uint64_t id : records_) ops.emplace_back(id_key(record_prefix, id), std::nullopt);
  STRATA_TRY(kv_.write_batch(ops));
  resolved_below_ = resolved;
  records_.clear();
  highest_begun_ = resolved > 0 ? resolved - 1 : 0;
  return {};
}

uint64_t commit_groups::begin(std::atomic<uint64_t>& next_txn_id) {
  std::lock_guard lk(mu_);
  const uint64_t id = next_txn_id.fetch_add(1);
  in_flight_.insert(id);
  highest_begun_ = std::max(highest_begun_, id);
  return id;
}

status commit_groups::record(uint64_t txn_id) {
  STRATA_TRY(kv_.put(id_key(record_prefix, txn_id), ""));
  std::lock_guard lk(mu_);
  in_flight_.erase(txn_id);
  recorded_.push_back(txn_id);
  if (recorded_.size() < records_per_sweep_) return {};
  auto swept = sweep_locked();
  if (!swept.ok()) spdlog::warn("tables: could not drop old commit records ({}); trying again later", swept.err().message);
  return {};
}

void commit_groups::abort(uint64_t txn_id) {
  auto s = kv_.put(id_key(aborted_prefix, txn_id), "");
  if (!s.ok()) {
    // Left in flight, so resolving never passes it; the next open resolves it.
    spdlog::warn("tables: could not record that commit {} failed ({}); the next restart settles it", txn_id,
                 s.err().message);
    return;
  }
  std::lock_guard lk(mu_);
  aborted_.insert(txn_id);
  in_flight_.erase(txn_id);
}

status commit_groups::sweep_locked() {
  const uint64_t resolved = in_flight_.empty() ? highest_begun_ + 1 : *in_flight_.begin();
  if (resolved <= resolved_below_) return {};
  kv_ops ops;
  ops.emplace_back(std::string(resolved_key), fmt::format("{:016x}", resolved));
  std::vector<uint64_t> kept;
  for (uint64_t id : recorded_) {
    if (id < resolved) {
      ops.emplace_back(id_key(record_prefix, id), std::nullopt);
    } else {
      kept.push_back(id);
    }
  }
  STRATA_TRY(kv_.write_batch(ops));
  resolved_below_ = resolved;
  recorded_ = std::move(kept);
  return {};
}

uint64_t commit_groups::resolved_below() const {
  std::lock_guard lk(mu_);
  return resolved_below_;
}

size_t commit_groups::records_held() {
  size_t n = 0;
  (void)kv_.scan_prefix(record_prefix, [&n](std::string_view, std::string_view) { ++n; });
  return n;
}

}  // namespace strata::tables
