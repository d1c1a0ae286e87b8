#include "volumes/catalog.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "meta/kv.h"

namespace strata::volumes {
namespace {

using nlohmann::json;

constexpr std::string_view layer_prefix = "volumes/layer/";
constexpr std::string_view volume_prefix = "volumes/volume/";
constexpr std::string_view snapshot_prefix = "volumes/snapshot/";
constexpr std::string_view next_layer_key = "volumes/next_layer_id";
constexpr int catalog_version = 1;

std::string id_key(uint64_t id) { return fmt::format("{}{:016x}", layer_prefix, id); }

std::optional<uint64_t> parse_u64(std::string_view text, int base = 10) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

template <class T>
std::optional<T> field(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const json& v = j[key];
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return std::nullopt;
  } else if constexpr (std::is_unsigned_v<T>) {
    if (!v.is_number_unsigned()) return std::nullopt;
  } else {
    if (!v.is_number_integer()) return std::nullopt;
  }
  return v.get<T>();
}

std::optional<json> versioned(std::string_view value) {
  auto j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || field<int64_t>(j, "version") != catalog_version) return std::nullopt;
  return j;
}

}  // namespace

kv_op put_layer(const layer_record& r) {
  json j{{"version", catalog_version}, {"parent", r.parent_id}, {"size_blocks", r.size_blocks}};
  return {id_key(r.id), j.dump()};
}

kv_op remove_layer(uint64_t id) { return {id_key(id), std::nullopt}; }

kv_op put_volume(const volume_record& r) {
  json j{{"version", catalog_version}, {"top", r.top_layer_id}, {"created_ms", r.created_ms}, {"origin", r.origin}};
  return {std::string(volume_prefix) + r.name, j.dump()};
}

kv_op remove_volume(const std::string& name) { return {std::string(volume_prefix) + name, std::nullopt}; }

kv_op put_snapshot(const snapshot_record& r) {
  json j{{"version", catalog_version}, {"layer", r.layer_id}, {"created_ms", r.created_ms}};
  return {fmt::format("{}{}@{}", snapshot_prefix, r.volume, r.name), j.dump()};
}

kv_op remove_snapshot(const std::string& volume, const std::string& name) {
  return {fmt::format("{}{}@{}", snapshot_prefix, volume, name), std::nullopt};
}

kv_op put_next_layer_id(uint64_t id) { return {std::string(next_layer_key), std::to_string(id)}; }

result<catalog> load_catalog(meta::kv& kv) {
  catalog c;
  std::string bad;
  auto note_bad = [&](std::string_view key) {
    if (bad.empty()) bad = std::string(key);
  };
  STRATA_TRY(kv.scan_prefix(layer_prefix, [&](std::string_view key, std::string_view value) {
    auto id = parse_u64(key.substr(layer_prefix.size()), 16);
    auto j = versioned(value);
    auto parent = j ? field<uint64_t>(*j, "parent") : std::nullopt;
    auto size = j ? field<uint64_t>(*j, "size_blocks") : std::nullopt;
    if (!id || *id == 0 || !parent || !size) return note_bad(key);
    c.layers.push_back(layer_record{*id, *parent, *size});
  }));
  STRATA_TRY(kv.scan_prefix(volume_prefix, [&](std::string_view key, std::string_view value) {
    auto j = versioned(value);
    auto top = j ? field<uint64_t>(*j, "top") : std::nullopt;
    auto created = j ? field<int64_t>(*j, "created_ms") : std::nullopt;
    auto origin = j ? field<std::string>(*j, "origin") : std::nullopt;
    if (!top || !created || !origin) return note_bad(key);
    c.volumes.push_back(volume_record{std::string(key.substr(volume_prefix.size())), *top, *created, *origin});
  }));
  STRATA_TRY(kv.scan_prefix(snapshot_prefix, [&](std::string_view key, std::string_view value) {
    auto name = key.substr(snapshot_prefix.size());
    size_t at = name.find('@');
    auto j = versioned(value);
    auto layer = j ? field<uint64_t>(*j, "layer") : std::nullopt;
    auto created = j ? field<int64_t>(*j, "created_ms") : std::nullopt;
    if (at == std::string_view::npos || !layer || !created) return note_bad(key);
    c.snapshots.push_back(
        snapshot_record{std::string(name.substr(0, at)), std::string(name.substr(at + 1)), *layer, *created});
  }));
  auto next = kv.get(next_layer_key);
  if (!next.ok()) return next.err();
  if (next->has_value()) {
    auto v = parse_u64(**next);
    if (!v) note_bad(next_layer_key);
    else c.next_layer_id = *v;
  }
  if (!bad.empty()) {
    return make_error(errc::corrupt, fmt::format("volume catalog record {} does not parse; the data dir was written "
                                                 "by another version or is damaged", bad));
  }
  return c;
}

}  // namespace strata::volumes
