#include "kafka/server/handlers/config_entries.h"

#include <array>
#include <string_view>

namespace strata::kafka {

namespace {

struct config_meta {
  std::string_view name;
  std::string_view broker_name;  // the broker setting that supplies the topic default, or empty
  config_type type;
  const char* documentation;
};

constexpr std::array<config_meta, 29> known_configs{{
    {"cleanup.policy", "log.cleanup.policy", config_type::string,
     "How old data is removed; only \"delete\" (by retention) is supported."},
    {"compression.type", "compression.type", config_type::string,
     "The codec batches are stored in: producer keeps the producer's; uncompressed, gzip, snappy, lz4 or zstd "
     "recompresses batches sent in another."},
    {"message.timestamp.type", "log.message.timestamp.type", config_type::string,
     "CreateTime keeps the producer's timestamps; LogAppendTime gives each batch the broker's time."},
    {"message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms", config_type::int64,
     "With CreateTime, batches holding a timestamp further than this from the broker's time are refused."},
    {"min.insync.replicas", "min.insync.replicas", config_type::int32,
     "In cluster mode, acks=all produce needs at least this many in-sync replicas."},
    {"preallocate", "log.preallocate", config_type::boolean, "Accepted for compatibility; Strata never preallocates segments."},
    {"flush.messages", "log.flush.interval.messages", config_type::int64,
     "Accepted for compatibility; Strata syncs batches as its --fsync flag says."},
    {"flush.ms", "log.flush.interval.ms", config_type::int64,
     "Accepted for compatibility; Strata syncs batches as its --fsync flag says."},
    {"message.format.version", "log.message.format.version", config_type::string,
     "Accepted for compatibility, as Kafka 3 does; Strata always stores magic 2 batches."},
    {"message.downconversion.enable", "log.message.downconversion.enable", config_type::boolean,
     "Accepted for compatibility; Strata serves only Fetch versions that read magic 2 batches."},
    {"segment.index.bytes", "log.index.size.max.bytes", config_type::int32,
     "Accepted for compatibility; Strata sizes its segment indexes itself."},
    {"index.interval.bytes", "log.index.interval.bytes", config_type::int32,
     "Accepted for compatibility; Strata indexes a segment every 4 KiB."},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms", config_type::int64,
     "Accepted for compatibility; Strata deletes a segment's files when it drops the segment."},
    {"segment.jitter.ms", "log.roll.jitter.ms", config_type::int64, "Accepted for compatibility; segments roll without jitter."},
    {"unclean.leader.election.enable", "unclean.leader.election.enable", config_type::boolean,
     "Always false: leaders are elected only from the in-sync replicas."},
    {"remote.storage.enable", "", config_type::boolean, "Always false: tiered storage is not supported."},
    {"local.retention.ms", "", config_type::int64, "Always -2 (retention.ms): tiered storage is not supported."},
    {"local.retention.bytes", "", config_type::int64, "Always -2 (retention.bytes): tiered storage is not supported."},
    {"leader.replication.throttled.replicas", "", config_type::string,
     "Always empty: replica moves are throttled by strata cluster rebalance --throttle."},
    {"follower.replication.throttled.replicas", "", config_type::string,
     "Always empty: replica moves are throttled by strata cluster rebalance --throttle."},
    {"max.message.bytes", "message.max.bytes", config_type::int32, "The largest record batch the topic accepts."},
    {"retention.bytes", "log.retention.bytes", config_type::int64,
     "Oldest segments of a partition are deleted while it is larger than this; -1 means no limit."},
    {"retention.ms", "log.retention.ms", config_type::int64,
     "Segments whose newest record is older than this are deleted; -1 keeps data forever."},
    {"segment.bytes", "log.segment.bytes", config_type::int32, "A partition's active segment is rolled past this size."},
    {"segment.ms", "log.roll.ms", config_type::int64, "A non-empty active segment is rolled once older than this."},
    {"broker.id", "", config_type::int32, "The node id of this broker."},
    {"auto.create.topics.enable", "", config_type::boolean,
     "Whether producing to or fetching metadata of an unknown topic creates it."},
    {"num.partitions", "", config_type::int32, "Partitions of a topic created without a partition count."},
    {"default.replication.factor", "", config_type::int32, "Always 1: Strata keeps one copy of each partition."},
}};

const config_meta* find_meta(std::string_view name) {
  for (const auto& m : known_configs) {
    if (m.name == name || (!m.broker_name.empty() && m.broker_name == name)) return &m;
  }
  return nullptr;
}

std::string default_topic_value(const std::string& name) {
  for (auto& [k, v] : streams::describe_topic_config(streams::topic_config{})) {
    if (k == name) return v;
  }
  return {};
}

config_entry topic_entry(const std::string& name, const std::string& value, bool set_on_topic) {
  config_entry e;
  e.name = name;
  e.value = value;
  const config_meta* meta = find_meta(name);
  if (meta) {
    e.type = meta->type;
    e.documentation = meta->documentation;
  }
  std::string fallback = default_topic_value(name);
  if (set_on_topic) e.synonyms.push_back({name, value, config_source::topic});
  if (meta && !meta->broker_name.empty()) {
    e.synonyms.push_back({std::string(meta->broker_name), fallback, config_source::static_broker});
  } else {
    e.synonyms.push_back({name, fallback, config_source::default_config});
  }
  e.source = e.synonyms.front().source;
  e.is_default = !set_on_topic;
  return e;
}

config_entry broker_entry(std::string_view name, std::string value) {
  config_entry e;
  e.name = std::string(name);
  e.value = std::move(value);
  e.read_only = true;
  e.source = config_source::static_broker;
  if (const config_meta* meta = find_meta(name)) {
    e.type = meta->type;
    e.documentation = meta->documentation;
  }
  e.synonyms.push_back({e.name, e.value, e.source});
  return e;
}

}  // namespace

std::vector<config_entry> topic_config_entries(const streams::topic_config& cfg,
                                               const std::map<std::string, std::string>& set_on_topic) {
  std::vector<config_entry> out;
  for (auto& [name, value] : streams::describe_topic_config(cfg)) {
    out.push_back(topic_entry(name, value, set_on_topic.contains(name)));
  }
  return out;
}

std::vector<config_entry> broker_config_entries(const broker_config& broker, const streams::service_config& svc) {
  std::vector<config_entry> out;
  out.push_back(broker_entry("broker.id", std::to_string(broker.node_id)));
  out.push_back(broker_entry("auto.create.topics.enable", svc.auto_create_topics ? "true" : "false"));
  out.push_back(broker_entry("num.partitions", std::to_string(svc.default_partitions)));
  out.push_back(broker_entry("default.replication.factor", "1"));
  // New topics start from these values; see streams::topic_config.
  for (auto& [name, value] : streams::describe_topic_config(streams::topic_config{})) {
    const config_meta* meta = find_meta(name);
    if (meta && !meta->broker_name.empty()) out.push_back(broker_entry(meta->broker_name, value));
  }
  return out;
}

}  // namespace strata::kafka
