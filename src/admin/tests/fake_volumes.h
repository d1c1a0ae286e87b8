// An in-memory volumes::service for the admin and cli tests: the catalog rules
// of the real service (names, sizes, grow-only resize, busy deletes, clones of
// existing snapshots) without any data. Not thread-safe: call it on one thread
// (the admin server's network thread, via running_server::on_network_thread).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "volumes/service.h"

namespace strata::admin::testing {

class fake_volumes final : public volumes::service {
 public:
  // The next catalog-changing call fails with this error instead (once).
  std::optional<error> fail_next;
  // Exports held open: "VOLUME" or "VOLUME@SNAPSHOT". Deleting them is errc::unavailable.
  std::set<std::string> open;
  volumes::usage_info usage_value;
  uint32_t volumes_max = 16;

  result<volumes::volume_info> create_volume(const std::string& name, uint64_t size_bytes) override {
    STRATA_TRY(injected());
    STRATA_TRY(check_new_volume(name));
    STRATA_TRY(check_size(size_bytes));
    volumes::volume_info v;
    v.name = name;
    v.size_bytes = size_bytes;
    v.created_ms = next_time_ms();
    volumes_[name] = v;
    return describe_volume(name);
  }

  result<volumes::volume_info> resize_volume(const std::string& name, uint64_t size_bytes) override {
    STRATA_TRY(injected());
    auto it = volumes_.find(name);
    if (it == volumes_.end()) return unknown_volume(name);
    STRATA_TRY(check_size(size_bytes));
    if (size_bytes < it->second.size_bytes) {
      return make_error(errc::invalid_argument, "volume " + name + " cannot shrink; give a size of at least " +
                                                    std::to_string(it->second.size_bytes) + " bytes");
    }
    it->second.size_bytes = size_bytes;
    return describe_volume(name);
  }

  status delete_volume(const std::string& name) override {
    STRATA_TRY(injected());
    if (!volumes_.contains(name)) return unknown_volume(name);
    if (open.contains(name)) {
      return make_error(errc::unavailable, "volume " + name + " is open by an NBD client; disconnect it first");
    }
    volumes_.erase(name);
    std::erase_if(snapshots_, [&](const auto& entry) { return entry.first.first == name; });
    return {};
  }

  result<volumes::volume_info> describe_volume(const std::string& name) override {
    auto it = volumes_.find(name);
    if (it == volumes_.end()) return unknown_volume(name);
    volumes::volume_info v = it->second;
    v.open_exports = open.contains(name) ? 1 : 0;
    for (const auto& [key, snap] : snapshots_) {
      if (key.first == name) v.snapshots.push_back(snap.name);  // creation order == name order in the tests
    }
    return v;
  }

  std::vector<volumes::volume_info> list_volumes() override {
    std::vector<volumes::volume_info> out;
    for (const auto& [name, v] : volumes_) out.push_back(*describe_volume(name));
    return out;
  }

  result<volumes::snapshot_info> create_snapshot(const std::string& volume, const std::string& snapshot) override {
    STRATA_TRY(injected());
    auto it = volumes_.find(volume);
    if (it == volumes_.end()) return unknown_volume(volume);
    STRATA_TRY(check_name(snapshot));
    if (snapshots_.contains({volume, snapshot})) {
      return make_error(errc::already_exists, "snapshot " + volume + "@" + snapshot + " already exists");
    }
    volumes::snapshot_info s;
    s.volume = volume;
    s.name = snapshot;
    s.size_bytes = it->second.size_bytes;
    s.allocated_bytes = it->second.allocated_bytes;
    s.created_ms = next_time_ms();
    it->second.allocated_bytes = 0;  // the top layer was frozen into the snapshot
    snapshots_[{volume, snapshot}] = s;
    return s;
  }

  status delete_snapshot(const std::string& volume, const std::string& snapshot) override {
    STRATA_TRY(injected());
    if (!snapshots_.contains({volume, snapshot})) return unknown_snapshot(volume, snapshot);
    if (open.contains(volume + "@" + snapshot)) {
      return make_error(errc::unavailable,
                        "snapshot " + volume + "@" + snapshot + " is open by an NBD client; disconnect it first");
    }
    snapshots_.erase({volume, snapshot});
    return {};
  }

  result<std::vector<volumes::snapshot_info>> list_snapshots(const std::string& volume) override {
    if (!volume.empty() && !volumes_.contains(volume)) return unknown_volume(volume);
    std::vector<volumes::snapshot_info> out;
    for (const auto& [key, snap] : snapshots_) {
      if (volume.empty() || key.first == volume) out.push_back(snap);
    }
    return out;
  }

  result<volumes::volume_info> create_clone(const std::string& volume, const std::string& snapshot,
                                            const std::string& clone) override {
    STRATA_TRY(injected());
    auto snap = snapshots_.find({volume, snapshot});
    if (snap == snapshots_.end()) return unknown_snapshot(volume, snapshot);
    STRATA_TRY(check_new_volume(clone));
    volumes::volume_info v;
    v.name = clone;
    v.size_bytes = snap->second.size_bytes;
    v.origin = volume + "@" + snapshot;
    v.created_ms = next_time_ms();
    volumes_[clone] = v;
    ++snap->second.clones;
    return describe_volume(clone);
  }

  std::vector<volumes::export_info> list_exports() override { return {}; }
  result<std::shared_ptr<volumes::export_handle>> open_export(const std::string& name) override {
    return make_error(errc::not_found, "the fake has no exports: " + name);
  }
  volumes::usage_info usage() override { return usage_value; }
  void wait_for_reclaim() override {}
  status flush_all() override { return {}; }

  // Direct access for tests.
  std::map<std::string, volumes::volume_info>& catalog() { return volumes_; }

 private:
  static status check_name(const std::string& name) {
    if (name.empty() || name.size() > 128 ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            std::string::npos) {
      return make_error(errc::invalid_argument, "name " + name + " is invalid: use 1-128 of [A-Za-z0-9._-]");
    }
    return {};
  }
  status check_new_volume(const std::string& name) {
    STRATA_TRY(check_name(name));
    if (volumes_.contains(name)) return make_error(errc::already_exists, "volume " + name + " already exists");
    if (volumes_.size() >= volumes_max) {
      return make_error(errc::limit_exceeded,
                        "there are already " + std::to_string(volumes_max) + " volumes; delete one first");
    }
    return {};
  }
  static status check_size(uint64_t size_bytes) {
    if (size_bytes == 0 || size_bytes % volumes::block_bytes != 0 || size_bytes > (8ULL << 40)) {
      return make_error(errc::invalid_argument,
                        "size " + std::to_string(size_bytes) + " is not a positive multiple of 4096 bytes up to 8 TiB");
    }
    return {};
  }
  static error unknown_volume(const std::string& name) { return make_error(errc::not_found, "unknown volume " + name); }
  static error unknown_snapshot(const std::string& volume, const std::string& snapshot) {
    return make_error(errc::not_found, "unknown snapshot " + volume + "@" + snapshot);
  }
  status injected() {
    if (!fail_next) return {};
    error e = std::move(*fail_next);
    fail_next.reset();
    return e;
  }
  int64_t next_time_ms() { return clock_ms_ += 1000; }

  std::map<std::string, volumes::volume_info> volumes_;
  std::map<std::pair<std::string, std::string>, volumes::snapshot_info> snapshots_;
  int64_t clock_ms_ = 1'700'000'000'000;
};

}  // namespace strata::admin::testing
