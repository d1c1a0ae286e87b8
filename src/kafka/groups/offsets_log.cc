#include "kafka/groups/offsets_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "streams/record_batch.h"
#include "streams/service.h"

namespace strata::kafka::groups {

namespace {

constexpr uint32_t load_chunk_bytes = 4 << 20;
constexpr int32_t commit_timeout_ms = 10'000;

// FNV-1a: stable on every node and across restarts.
uint32_t stable_hash(std::string_view key) {
  uint32_t h = 2166136261u;
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

error_code replication_error(streams::stream_error e) {
  switch (e) {
    case streams::stream_error::none: return error_code::none;
    case streams::stream_error::not_leader_or_follower:
    case streams::stream_error::unknown_topic_or_partition: return error_code::not_coordinator;
    default: return error_code::coordinator_not_available;
  }
}

}  // namespace

offsets_log::offsets_log(streams::service& streams, coordinator& groups, int32_t partitions)
    : streams_(streams), groups_(groups), partitions_(partitions) {}

void offsets_log::install() {
  cluster_hooks hooks;
  hooks.owns_group = [this](std::string_view group) { return owns(group); };
  hooks.replicate = [this](const std::string& group, const offset_entries& entries, std::function<void(error_code)> done) {
    replicate(group, entries, std::move(done));
  };
  groups_.set_cluster_hooks(std::move(hooks));
}

int32_t offsets_log::partition_for(std::string_view key) const {
  return static_cast<int32_t>(stable_hash(key) % static_cast<uint32_t>(partitions_));
}

status offsets_log::ensure_topic() {
  if (streams_.describe_topic(topic_name).ok()) return {};
  auto created = streams_.create_topic(topic_name, partitions_, {{"retention.ms", "-1"}}, -1);
  if (created.ok() || created.code() == errc::already_exists) return {};
  return created.err();
}

result<streams::broker> offsets_log::coordinator_for(const std::string& key) {
  STRATA_TRY(ensure_topic());
  auto topic = streams_.describe_topic(topic_name);
  STRATA_TRY(topic);
  const int32_t partition = partition_for(key);
  if (partition >= static_cast<int32_t>(topic->partitions.size())) {
    return make_error(errc::unavailable, "the offsets topic is not fully known yet; retry");
  }
  const int32_t leader = topic->partitions[partition].leader;
  for (auto& b : streams_.cluster_state().brokers) {
    if (b.id == leader) return b;
  }
  return make_error(errc::unavailable, fmt::format("partition {} of {} has no live leader yet; retry", partition, topic_name));
}

bool offsets_log::owns(std::string_view group) const { return loaded_.contains(partition_for(group)); }

void offsets_log::replicate(const std::string& group, const offset_entries& entries, std::function<void(error_code)> done) {
  std::vector<streams::plain_record> records;
  for (auto& [tp, c] : entries) records.push_back({offset_store::encode_key(group, tp), offset_store::encode_value(c)});
  auto batch = streams::encode_plain_batch(records, wall_clock_ms());
  streams_.produce(topic_name, partition_for(group), batch, /*wait_durable=*/true,
                   [done = std::move(done)](streams::produce_result r) { done(replication_error(r.error)); }, commit_timeout_ms);
}

void offsets_log::on_cluster_change() {
  auto topic = streams_.describe_topic(topic_name);
  if (!topic.ok()) return;
  const int32_t self = streams_.cluster_state().self;
  for (auto& p : topic->partitions) {
    const bool leads = p.leader == self && p.hosted;
    if (!leads) {
      loaded_.erase(p.id);
      continue;
    }
    if (loaded_.contains(p.id)) continue;
    auto loaded = load_partition(p.id);
    if (!loaded.ok()) {
      spdlog::warn("groups: loading offsets partition {}: {}; retrying at the next change", p.id, loaded.err().message);
      continue;
    }
    loaded_.insert(p.id);
  }
}

status offsets_log::load_partition(int32_t partition) {
  int64_t offset = streams_.list_offset(topic_name, partition, -2).offset;
  // The newest commit of each group and partition, stored once per group.
  std::map<std::string, std::map<topic_partition, committed_offset>> latest;
  for (;;) {
    auto read = streams_.read_led(topic_name, partition, offset, load_chunk_bytes);
    if (read.error != streams::stream_error::none) {
      return make_error(errc::unavailable, fmt::format("reading {}-{} at {} failed", topic_name, partition, offset));
    }
    if (read.records.empty()) break;
    std::span<const uint8_t> rest(read.records);
    while (rest.size() >= streams::batch_header_bytes) {
      auto h = streams::read_batch_header(rest);
      if (!h || h->total_bytes() > rest.size()) break;
      auto records = streams::decode_plain_batch(rest.first(h->total_bytes()));
      for (auto& r : records.value_or(std::vector<streams::plain_record>{})) {
        auto rec = offset_store::decode(r.key, r.value);
        if (rec) latest[rec->group][rec->tp] = rec->value;
      }
      offset = h->base_offset + h->offset_count();
      rest = rest.subspan(h->total_bytes());
    }
  }
  size_t restored = 0;
  for (auto& [group, offsets] : latest) {
    offset_entries entries(offsets.begin(), offsets.end());
    STRATA_TRY(groups_.restore_offsets(group, entries));
    restored += entries.size();
  }
  spdlog::info("groups: coordinating the groups of {}-{} ({} committed offsets read back)", topic_name, partition, restored);
  return {};
}

}  // namespace strata::kafka::groups
