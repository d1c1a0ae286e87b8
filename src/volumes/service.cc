#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <shared_mutex>

#include "io/fs.h"
#include "meta/kv.h"
#include "volumes/names.h"
#include "volumes/service_impl.h"

namespace strata::volumes {
namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string snapshot_key(const std::string& volume, const std::string& snapshot) { return volume + "@" + snapshot; }

error not_found_volume(const std::string& name) {
  return make_error(errc::not_found, fmt::format("volume {} does not exist; `strata volume list` shows them", name));
}

error busy(const std::string& what, uint32_t exports) {
  return make_error(errc::unavailable, fmt::format("{} is open by {} NBD connection(s); disconnect them and retry",
                                                   what, exports));
}

}  // namespace

result<std::unique_ptr<service>> service::open(service_config config, io::fs& fs, meta::kv& kv) {
  auto s = std::make_unique<service_impl>(std::move(config), fs, kv);
  STRATA_TRY(s->load());
  return std::unique_ptr<service>(std::move(s));
}

service_impl::service_impl(service_config config, io::fs& fs, meta::kv& kv)
    : config_(std::move(config)),
      fs_(fs),
      kv_(kv),
      env_{fs, io::join_path(io::join_path(config_.data_dir, "volumes"), "layers"), counters_,
           config_.pending_map_records_max, config_.map_checkpoint_bytes_min, config_.io == data_io::direct} {}

service_impl::~service_impl() {
  {
    std::lock_guard lock(reclaim_mu_);
    stopping_ = true;
  }
  reclaim_cv_.notify_all();
  if (reclaimer_.joinable()) reclaimer_.join();
}

// Finds out at start-up, not at the first volume, when the file system
// under the data directory cannot do direct I/O.
status service_impl::check_direct_io() {
  const std::string probe = io::join_path(env_.dir, "direct-io-probe");
  {
    auto f = fs_.open_direct(probe, io::open_mode::create);
    if (!f.ok()) {
      return make_error(f.code(), fmt::format("--volume-io direct: {}; or start with --volume-io buffered",
                                              f.err().message));
    }
  }  // closed before it is removed
  return fs_.remove(probe);
}

status service_impl::load() {
  STRATA_TRY(fs_.create_dirs(env_.dir));
  if (env_.direct_io) STRATA_TRY(check_direct_io());
  auto cat = load_catalog(kv_);
  if (!cat.ok()) return cat.err();
  next_layer_id_ = cat->next_layer_id;
  for (const auto& r : cat->layers) {
    auto l = layer::open(env_, r.id, r.size_blocks);
    if (!l.ok()) return make_error(l.code(), fmt::format("volume layer {}: {}", layer_id_text(r.id), l.err().message));
    layers_[r.id] = *l;
    next_layer_id_ = std::max(next_layer_id_, r.id + 1);
  }
  auto find = [&](uint64_t id, const std::string& who) -> result<std::shared_ptr<layer>> {
    auto it = layers_.find(id);
    if (it == layers_.end()) {
      return make_error(errc::corrupt, fmt::format("volume catalog: {} names layer {}, which is missing", who,
                                                   layer_id_text(id)));
    }
    return it->second;
  };
  for (const auto& r : cat->layers) {
    if (r.parent_id == 0) continue;
    auto parent = find(r.parent_id, "layer " + layer_id_text(r.id));
    if (!parent.ok()) return parent.err();
    layers_[r.id]->parent = *parent;
  }
  for (const auto& r : cat->volumes) {
    auto top = find(r.top_layer_id, "volume " + r.name);
    if (!top.ok()) return top.err();
    auto v = std::make_shared<volume_entry>();
    v->record = r;
    v->top = *top;
    volumes_[r.name] = v;
  }
  for (const auto& r : cat->snapshots) {
    auto frozen = find(r.layer_id, "snapshot " + snapshot_key(r.volume, r.name));
    if (!frozen.ok()) return frozen.err();
    auto s = std::make_shared<snapshot_entry>();
    s->record = r;
    s->frozen = *frozen;
    snapshots_[snapshot_key(r.volume, r.name)] = s;
  }
  STRATA_TRY(remove_orphan_files());
  spdlog::info("volumes: {} volume(s), {} snapshot(s), {} layer(s) loaded", volumes_.size(), snapshots_.size(),
               layers_.size());
  reclaimer_ = std::thread([this] { reclaim_loop(); });
  request_reclaim();  // finishes merges and deletions a crash interrupted
  return {};
}

// Layer files that no catalog record names: a create that crashed before its commit.
status service_impl::remove_orphan_files() {
  auto names = fs_.list(env_.dir);
  if (!names.ok()) return names.err();
  bool removed = false;
  for (const auto& name : *names) {
    size_t dot = name.find('.');
    std::string stem = name.substr(0, dot);
    uint64_t id = 0;
    bool named = stem.size() == 16 && std::sscanf(stem.c_str(), "%16lx", &id) == 1 && layers_.count(id) > 0 &&
                 (name.ends_with(".data") || name.ends_with(".map"));
    if (named) continue;
    spdlog::info("volumes: removing {}, which no volume or snapshot uses", io::join_path(env_.dir, name));
    STRATA_TRY(fs_.remove(io::join_path(env_.dir, name)));
    removed = true;
  }
  return removed ? fs_.sync_dir(env_.dir) : status{};
}

result<std::shared_ptr<layer>> service_impl::new_layer(const std::shared_ptr<layer>& parent, uint64_t size_blocks) {
  uint64_t id = next_layer_id_++;
  auto l = layer::create(env_, id, size_blocks);
  if (!l.ok()) return l.err();
  (*l)->parent = parent;
  if (auto s = fs_.sync_dir(env_.dir); !s.ok()) {
    (void)(*l)->remove_files();
    return s.err();
  }
  return *l;
}

status service_impl::commit(std::vector<kv_op> ops, const std::shared_ptr<layer>& created) {
  if (created) {
    ops.push_back(put_layer(layer_record{created->id(), created->parent ? created->parent->id() : 0,
                                         created->size_blocks()}));
  }
  ops.push_back(put_next_layer_id(next_layer_id_));
  auto s = kv_.write_batch(ops);
  if (!s.ok() && created) (void)created->remove_files();
  return s;
}

volume_info service_impl::info_of(const volume_entry& v) const {
  volume_info info;
  info.name = v.record.name;
  info.size_bytes = v.top->size_blocks() * block_bytes;
  info.allocated_bytes = v.top->map().data_blocks() * block_bytes;
  info.origin = v.record.origin;
  info.created_ms = v.record.created_ms;
  info.open_exports = v.open_exports.load();
  std::vector<const snapshot_entry*> mine;
  for (auto it = snapshots_.lower_bound(v.record.name + "@");
       it != snapshots_.end() && it->second->record.volume == v.record.name; ++it) {
    mine.push_back(it->second.get());
  }
  std::sort(mine.begin(), mine.end(), [](const snapshot_entry* a, const snapshot_entry* b) {
    return a->frozen->id() < b->frozen->id();  // layer ids grow with time
  });
  for (const auto* s : mine) info.snapshots.push_back(s->record.name);
  return info;
}

snapshot_info service_impl::info_of(const snapshot_entry& s) const {
  snapshot_info info;
  info.volume = s.record.volume;
  info.name = s.record.name;
  info.size_bytes = s.frozen->size_blocks() * block_bytes;
  info.allocated_bytes = s.frozen->map().data_blocks() * block_bytes;
  info.created_ms = s.record.created_ms;
  std::string origin = snapshot_key(s.record.volume, s.record.name);
  for (const auto& [name, v] : volumes_) info.clones += v->record.origin == origin ? 1 : 0;
  return info;
}

result<volume_info> service_impl::create_volume(const std::string& name, uint64_t size_bytes) {
  STRATA_TRY(check_name(name, "volume"));
  STRATA_TRY(check_size(size_bytes, config_.volume_bytes_max));
  std::unique_lock lock(topology_);
  if (volumes_.count(name) > 0) {
    return make_error(errc::already_exists, fmt::format("volume {} exists already; pick another name", name));
  }
  if (volumes_.size() >= config_.volumes_max) {
    return make_error(errc::limit_exceeded, fmt::format("there are {} volumes, the limit (volumes_max); delete one "
                                                        "first", volumes_.size()));
  }
  auto top = new_layer(nullptr, size_bytes / block_bytes);
  if (!top.ok()) return top.err();
  volume_record r{name, (*top)->id(), now_ms(), ""};
  STRATA_TRY(commit({put_volume(r)}, *top));
  auto v = std::make_shared<volume_entry>();
  v->record = r;
  v->top = *top;
  volumes_[name] = v;
  layers_[(*top)->id()] = *top;
  spdlog::info("volumes: created volume {} of {} bytes", name, size_bytes);
  return info_of(*v);
}

result<volume_info> service_impl::resize_volume(const std::string& name, uint64_t size_bytes) {
  STRATA_TRY(check_size(size_bytes, config_.volume_bytes_max));
  std::unique_lock lock(topology_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return not_found_volume(name);
  layer& top = *it->second->top;
  uint64_t size_blocks = size_bytes / block_bytes;
  if (size_blocks < top.size_blocks()) {
    return make_error(errc::invalid_argument, fmt::format("volume {} is {} bytes; volumes can grow but not shrink",
                                                          name, top.size_blocks() * block_bytes));
  }
  if (size_blocks > top.size_blocks()) {
    STRATA_TRY(kv_.write_batch({put_layer(layer_record{top.id(), top.parent ? top.parent->id() : 0, size_blocks})}));
    top.grow(size_blocks);
    spdlog::info("volumes: resized volume {} to {} bytes", name, size_bytes);
  }
  return info_of(*it->second);
}

status service_impl::delete_volume(const std::string& name) {
  std::unique_lock lock(topology_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return not_found_volume(name);
  if (uint32_t n = it->second->open_exports.load(); n > 0) return busy("volume " + name, n);
  std::vector<kv_op> ops{remove_volume(name)};
  std::vector<std::string> snapshot_keys;
  for (auto s = snapshots_.lower_bound(name + "@"); s != snapshots_.end() && s->second->record.volume == name; ++s) {
    if (uint32_t n = s->second->open_exports.load(); n > 0) return busy("snapshot " + s->first, n);
    ops.push_back(remove_snapshot(name, s->second->record.name));
    snapshot_keys.push_back(s->first);
  }
  STRATA_TRY(kv_.write_batch(ops));
  volumes_.erase(it);
  for (const auto& key : snapshot_keys) snapshots_.erase(key);
  lock.unlock();
  spdlog::info("volumes: deleted volume {} and {} snapshot(s); space is reclaimed in the background", name,
               snapshot_keys.size());
  request_reclaim();
  return {};
}

result<volume_info> service_impl::describe_volume(const std::string& name) {
  std::shared_lock lock(topology_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return not_found_volume(name);
  return info_of(*it->second);
}

std::vector<volume_info> service_impl::list_volumes() {
  std::shared_lock lock(topology_);
  std::vector<volume_info> out;
  for (const auto& [name, v] : volumes_) out.push_back(info_of(*v));
  return out;
}

result<snapshot_info> service_impl::create_snapshot(const std::string& volume, const std::string& snapshot) {
  STRATA_TRY(check_name(snapshot, "snapshot"));
  std::unique_lock lock(topology_);
  auto it = volumes_.find(volume);
  if (it == volumes_.end()) return not_found_volume(volume);
  std::string key = snapshot_key(volume, snapshot);
  if (snapshots_.count(key) > 0) {
    return make_error(errc::already_exists, fmt::format("snapshot {} exists already; pick another name", key));
  }
  if (snapshots_.size() >= config_.snapshots_max) {
    return make_error(errc::limit_exceeded, fmt::format("there are {} snapshots, the limit (snapshots_max); delete "
                                                        "one first", snapshots_.size()));
  }
  std::shared_ptr<layer> frozen = it->second->top;
  uint32_t depth = 0;
  for (layer* l = frozen.get(); l != nullptr; l = l->parent.get()) ++depth;
  if (depth >= config_.layer_depth_max) {
    return make_error(errc::limit_exceeded, fmt::format("volume {} reads through {} layers, the limit "
                                                        "(layer_depth_max); delete older snapshots first",
                                                        volume, depth));
  }
  STRATA_TRY(frozen->flush());
  auto top = new_layer(frozen, frozen->size_blocks());
  if (!top.ok()) return top.err();
  volume_record v = it->second->record;
  v.top_layer_id = (*top)->id();
  snapshot_record s{volume, snapshot, frozen->id(), now_ms()};
  STRATA_TRY(commit({put_volume(v), put_snapshot(s)}, *top));
  it->second->record = v;
  it->second->top = *top;
  layers_[(*top)->id()] = *top;
  auto entry = std::make_shared<snapshot_entry>();
  entry->record = s;
  entry->frozen = frozen;
  snapshots_[key] = entry;
  spdlog::info("volumes: created snapshot {}", key);
  return info_of(*entry);
}

status service_impl::delete_snapshot(const std::string& volume, const std::string& snapshot) {
  std::string key = snapshot_key(volume, snapshot);
  std::unique_lock lock(topology_);
  auto it = snapshots_.find(key);
  if (it == snapshots_.end()) {
    return make_error(errc::not_found, fmt::format("snapshot {} does not exist; `strata snapshot list` shows them", key));
  }
  if (uint32_t n = it->second->open_exports.load(); n > 0) return busy("snapshot " + key, n);
  STRATA_TRY(kv_.write_batch({remove_snapshot(volume, snapshot)}));
  snapshots_.erase(it);
  lock.unlock();
  spdlog::info("volumes: deleted snapshot {}; its space is reclaimed in the background", key);
  request_reclaim();
  return {};
}

result<std::vector<snapshot_info>> service_impl::list_snapshots(const std::string& volume) {
  std::shared_lock lock(topology_);
  if (!volume.empty() && volumes_.count(volume) == 0) return not_found_volume(volume);
  std::vector<snapshot_info> out;
  for (const auto& [key, s] : snapshots_) {
    if (volume.empty() || s->record.volume == volume) out.push_back(info_of(*s));
  }
  return out;
}

result<volume_info> service_impl::create_clone(const std::string& volume, const std::string& snapshot,
                                               const std::string& clone) {
  STRATA_TRY(check_name(clone, "volume"));
  std::string key = snapshot_key(volume, snapshot);
  std::unique_lock lock(topology_);
  auto it = snapshots_.find(key);
  if (it == snapshots_.end()) {
    return make_error(errc::not_found, fmt::format("snapshot {} does not exist; `strata snapshot list` shows them", key));
  }
  if (volumes_.count(clone) > 0) {
    return make_error(errc::already_exists, fmt::format("volume {} exists already; pick another name", clone));
  }
  if (volumes_.size() >= config_.volumes_max) {
    return make_error(errc::limit_exceeded, fmt::format("there are {} volumes, the limit (volumes_max); delete one "
                                                        "first", volumes_.size()));
  }
  std::shared_ptr<layer> frozen = it->second->frozen;
  auto top = new_layer(frozen, frozen->size_blocks());
  if (!top.ok()) return top.err();
  volume_record r{clone, (*top)->id(), now_ms(), key};
  STRATA_TRY(commit({put_volume(r)}, *top));
  auto v = std::make_shared<volume_entry>();
  v->record = r;
  v->top = *top;
  volumes_[clone] = v;
  layers_[(*top)->id()] = *top;
  spdlog::info("volumes: created clone {} of {}", clone, key);
  return info_of(*v);
}

std::vector<export_info> service_impl::list_exports() {
  std::shared_lock lock(topology_);
  std::vector<export_info> out;
  for (const auto& [name, v] : volumes_) {
    uint64_t size = v->top->size_blocks() * block_bytes;
    std::string what = v->record.origin.empty() ? "volume" : "clone of " + v->record.origin;
    out.push_back(export_info{name, fmt::format("strata {}, {} bytes", what, size), size, false});
  }
  for (const auto& [key, s] : snapshots_) {
    uint64_t size = s->frozen->size_blocks() * block_bytes;
    out.push_back(export_info{key, fmt::format("strata snapshot (read-only), {} bytes", size), size, true});
  }
  return out;
}

usage_info service_impl::usage() {
  std::shared_lock lock(topology_);
  usage_info u;
  std::set<uint64_t> named;
  for (const auto& [name, v] : volumes_) named.insert(v->top->id());
  for (const auto& [key, s] : snapshots_) named.insert(s->frozen->id());
  for (const auto& [id, l] : layers_) {
    u.allocated_bytes += l->map().data_blocks() * block_bytes;
    u.hidden_layers += named.count(id) == 0 ? 1 : 0;
  }
  u.layers = layers_.size();
  u.client_write_bytes = counters_.client_write_bytes.load();
  u.disk_write_bytes = counters_.disk_write_bytes.load();
  u.map_write_bytes = counters_.map_write_bytes.load();
  u.flushes = counters_.flushes.load();
  return u;
}

status service_impl::flush_all() {
  std::shared_lock lock(topology_);
  status first;
  for (const auto& [name, v] : volumes_) {
    if (auto s = v->top->flush(); !s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace strata::volumes
