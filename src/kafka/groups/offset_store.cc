#include "kafka/groups/offset_store.h"

#include <optional>
#include <set>
#include <span>

#include "kafka/protocol/wire.h"
#include "meta/kv.h"

namespace strata::kafka::groups {

namespace {

constexpr std::string_view key_prefix = "kafka/group-offsets/";
constexpr int8_t value_version = 1;

std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void put_chunk(writer& w, std::string_view s) {
  w.u32(static_cast<uint32_t>(s.size()));
  w.raw(as_bytes(s));
}

std::string get_chunk(reader& r) {
  uint32_t len = r.u32();
  auto b = r.raw(len);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

std::optional<offset_record> offset_store::decode(std::string_view key, std::string_view value) {
  if (!key.starts_with(key_prefix)) return std::nullopt;
  offset_record e;
  reader k(as_bytes(key.substr(key_prefix.size())));
  e.group = get_chunk(k);
  e.tp.topic = get_chunk(k);
  e.tp.partition = k.i32();
  reader v(as_bytes(value));
  if (v.i8() != value_version) return std::nullopt;
  e.value.offset = v.i64();
  e.value.leader_epoch = v.i32();
  e.value.commit_timestamp_ms = v.i64();
  e.value.metadata = get_chunk(v);
  if (!k.ok() || k.remaining() != 0 || !v.ok() || v.remaining() != 0) return std::nullopt;
  return e;
}

std::string offset_store::encode_key(std::string_view group, const topic_partition& tp) {
  writer w;
  w.raw(as_bytes(key_prefix));
  put_chunk(w, group);
  put_chunk(w, tp.topic);
  w.i32(tp.partition);
  return std::string(w.buffer().begin(), w.buffer().end());
}

std::string offset_store::encode_value(const committed_offset& c) {
  writer w;
  w.i8(value_version);
  w.i64(c.offset);
  w.i32(c.leader_epoch);
  w.i64(c.commit_timestamp_ms);
  put_chunk(w, c.metadata);
  return std::string(w.buffer().begin(), w.buffer().end());
}

status offset_store::load() {
  groups_.clear();
  entries_ = 0;
  std::optional<std::string> bad_key;
  auto scanned = kv_.scan_prefix(key_prefix, [&](std::string_view key, std::string_view value) {
    if (bad_key) return;
    auto e = decode(key, value);
    if (!e) {
      bad_key = std::string(key);
      return;
    }
    auto [it, inserted] = groups_[e->group].insert_or_assign(std::move(e->tp), std::move(e->value));
    if (inserted) ++entries_;
  });
  STRATA_TRY(scanned);
  if (bad_key) {
    return make_error(errc::corrupt, "unreadable committed offset under kv key of " + std::to_string(bad_key->size()) +
                                         " bytes; the metadata store is damaged or from a newer Strata");
  }
  return {};
}

size_t offset_store::new_keys(const std::string& group,
                              const std::vector<std::pair<topic_partition, committed_offset>>& entries) const {
  const group_offsets* existing = find_group(group);
  std::set<topic_partition> fresh;
  for (const auto& [tp, c] : entries) {
    if (!existing || !existing->contains(tp)) fresh.insert(tp);
  }
  return fresh.size();
}

status offset_store::commit(const std::string& group,
                            const std::vector<std::pair<topic_partition, committed_offset>>& entries) {
  if (entries_ + new_keys(group, entries) > entries_max_) {
    return make_error(errc::limit_exceeded, "committed offsets would exceed the limit of " +
                                                std::to_string(entries_max_) + " partitions across all groups");
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  ops.reserve(entries.size());
  for (const auto& [tp, c] : entries) ops.emplace_back(encode_key(group, tp), encode_value(c));
  STRATA_TRY(kv_.write_batch(ops));
  auto& offsets = groups_[group];
  for (const auto& [tp, c] : entries) {
    auto [it, inserted] = offsets.insert_or_assign(tp, c);
    if (inserted) ++entries_;
  }
  return {};
}

status offset_store::erase(const std::string& group, const std::vector<topic_partition>& tps) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return {};
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  for (const auto& tp : tps) {
    if (it->second.contains(tp)) ops.emplace_back(encode_key(group, tp), std::nullopt);
  }
  if (ops.empty()) return {};
  STRATA_TRY(kv_.write_batch(ops));
  for (const auto& tp : tps) entries_ -= it->second.erase(tp);
  if (it->second.empty()) groups_.erase(it);
  return {};
}

const committed_offset* offset_store::find(std::string_view group, const topic_partition& tp) const {
  const group_offsets* offsets = find_group(group);
  if (!offsets) return nullptr;
  auto it = offsets->find(tp);
  return it == offsets->end() ? nullptr : &it->second;
}

const group_offsets* offset_store::find_group(std::string_view group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

}  // namespace strata::kafka::groups
