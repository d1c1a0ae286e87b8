#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string_view>

#include "streams/service.h"

namespace strata::streams {

namespace {
template <class T>
bool parse_number(const std::string& text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

status bad_value(const std::string& name, const std::string& value, const char* expected) {
  return make_error(errc::invalid_argument, fmt::format("config {}={} is invalid: expected {}", name, value, expected));
}

bool parse_bool(const std::string& text, bool& out) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower != "true" && lower != "false") return false;
  out = lower == "true";
  return true;
}

constexpr std::array<std::string_view, 6> compression_names{"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"};

std::string compression_name(compression_type c) { return std::string(compression_names[static_cast<int>(c) + 1]); }

// Kafka configs Strata takes only at the value that turns them off.
struct off_only_config {
  std::string_view name;
  std::string_view off;
  std::string_view why;
};
constexpr std::array<off_only_config, 6> off_only_configs{{
    {"unclean.leader.election.enable", "false", "Strata elects leaders only from the in-sync replicas"},
    {"remote.storage.enable", "false", "tiered storage is not supported; data stays on the broker's disks"},
    {"local.retention.ms", "-2", "tiered storage is not supported; set retention.ms instead"},
    {"local.retention.bytes", "-2", "tiered storage is not supported; set retention.bytes instead"},
    {"leader.replication.throttled.replicas", "",
     "per-replica throttles are not supported; moves are throttled by `strata cluster rebalance --throttle`"},
    {"follower.replication.throttled.replicas", "",
     "per-replica throttles are not supported; moves are throttled by `strata cluster rebalance --throttle`"},
}};

// Configs kept for Kafka tools that set them; Strata's behaviour does not
// depend on them (docs/kafka-topic-configs.md says why for each).
status apply_inert_config(topic_config& cfg, const std::string& name, const std::string& value, bool& known) {
  known = true;
  if (name == "preallocate") {
    if (!parse_bool(value, cfg.preallocate)) return bad_value(name, value, "true or false");
  } else if (name == "flush.messages") {
    int64_t v;
    if (!parse_number(value, v) || v < 1) return bad_value(name, value, "a positive number of messages");
    cfg.flush_messages = v;
  } else if (name == "flush.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 0) return bad_value(name, value, "a number of milliseconds");
    cfg.flush_ms = v;
  } else if (name == "message.format.version") {
    bool shaped = !value.empty() && std::isdigit(static_cast<unsigned char>(value[0])) &&
                  std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '-'; });
    if (!shaped) return bad_value(name, value, "a Kafka version such as 3.0-IV1");
    cfg.message_format_version = value;
  } else if (name == "message.downconversion.enable") {
    if (!parse_bool(value, cfg.message_downconversion_enable)) return bad_value(name, value, "true or false");
  } else if (name == "segment.index.bytes") {
    int32_t v;
    if (!parse_number(value, v) || v < 4) return bad_value(name, value, "at least 4 bytes");
    cfg.segment_index_bytes = v;
  } else if (name == "index.interval.bytes") {
    int32_t v;
    if (!parse_number(value, v) || v < 0) return bad_value(name, value, "a number of bytes");
    cfg.index_interval_bytes = v;
  } else if (name == "file.delete.delay.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 0) return bad_value(name, value, "a number of milliseconds");
    cfg.file_delete_delay_ms = v;
  } else if (name == "segment.jitter.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 0) return bad_value(name, value, "a number of milliseconds");
    cfg.segment_jitter_ms = v;
  } else {
    known = false;
  }
  return {};
}
// Kafka's list syntax: "delete", "compact", "compact,delete" (any order, spaces allowed).
bool parse_cleanup_policy(const std::string& value, topic_config& cfg) {
  bool del = false;
  bool compact = false;
  size_t at = 0;
  while (at <= value.size()) {
    size_t comma = std::min(value.find(',', at), value.size());
    std::string item = value.substr(at, comma - at);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item == "delete") {
      del = true;
    } else if (item == "compact") {
      compact = true;
    } else {
      return false;
    }
    at = comma + 1;
  }
  cfg.cleanup_delete = del;
  cfg.cleanup_compact = compact;
  return true;
}

std::string cleanup_policy_name(const topic_config& cfg) {
  if (cfg.cleanup_compact && cfg.cleanup_delete) return "compact,delete";
  return cfg.cleanup_compact ? "compact" : "delete";
}
}  // namespace

status apply_topic_config(topic_config& cfg, const std::string& name, const std::string& value) {
  if (name == "retention.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < -1) return bad_value(name, value, "-1 or a number of milliseconds");
    cfg.retention_ms = v;
  } else if (name == "retention.bytes") {
    int64_t v;
    if (!parse_number(value, v) || v < -1) return bad_value(name, value, "-1 or a number of bytes");
    cfg.retention_bytes = v;
  } else if (name == "segment.bytes") {
    uint64_t v;
    if (!parse_number(value, v) || v < 14 || v > (1ULL << 31)) return bad_value(name, value, "bytes between 14 and 2147483648");
    cfg.segment_bytes = v;
  } else if (name == "segment.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 1) return bad_value(name, value, "a positive number of milliseconds");
    cfg.segment_ms = v;
  } else if (name == "max.message.bytes") {
    uint32_t v;
    if (!parse_number(value, v) || v < 64 || v > (64u << 20)) return bad_value(name, value, "bytes between 64 and 67108864");
    cfg.max_message_bytes = v;
  } else if (name == "min.insync.replicas") {
    int32_t v;
    if (!parse_number(value, v) || v < 1 || v > 3) return bad_value(name, value, "1, 2 or 3 replicas");
    cfg.min_insync_replicas = v;
  } else if (name == "cleanup.policy") {
    if (!parse_cleanup_policy(value, cfg)) return bad_value(name, value, "delete, compact or compact,delete");
  } else if (name == "delete.retention.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 0) return bad_value(name, value, "a number of milliseconds");
    cfg.delete_retention_ms = v;
  } else if (name == "min.cleanable.dirty.ratio") {
    double v;
    if (!parse_number(value, v) || !(v >= 0 && v <= 1)) return bad_value(name, value, "a ratio between 0 and 1");
    cfg.min_cleanable_dirty_ratio = v;
  } else if (name == "min.compaction.lag.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 0) return bad_value(name, value, "a number of milliseconds");
    cfg.min_compaction_lag_ms = v;
  } else if (name == "max.compaction.lag.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 1) return bad_value(name, value, "a positive number of milliseconds");
    cfg.max_compaction_lag_ms = v;
  } else if (name == "compression.type") {
    auto it = std::find(compression_names.begin(), compression_names.end(), value);
    if (it == compression_names.end()) return bad_value(name, value, "producer, uncompressed, gzip, snappy, lz4 or zstd");
    cfg.compression = static_cast<compression_type>(it - compression_names.begin() - 1);
  } else if (name == "message.timestamp.type") {
    if (value != "CreateTime" && value != "LogAppendTime") return bad_value(name, value, "CreateTime or LogAppendTime");
    cfg.log_append_time = value == "LogAppendTime";
  } else if (name == "message.timestamp.difference.max.ms") {
    int64_t v;
    if (!parse_number(value, v) || v < 0) return bad_value(name, value, "a number of milliseconds");
    cfg.timestamp_difference_max_ms = v;
  } else if (auto off = std::find_if(off_only_configs.begin(), off_only_configs.end(), [&](auto& c) { return c.name == name; });
             off != off_only_configs.end()) {
    if (value != off->off) {
      return make_error(errc::invalid_argument, fmt::format("config {}={} is not supported: {}", name, value, off->why));
    }
  } else {
    bool known = false;
    STRATA_TRY(apply_inert_config(cfg, name, value, known));
    if (!known) {
      return make_error(errc::invalid_argument,
                        fmt::format("unknown topic config {}; see docs/kafka-topic-configs.md for the configs Strata takes", name));
    }
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> describe_topic_config(const topic_config& cfg) {
  return {
      {"cleanup.policy", cleanup_policy_name(cfg)},
      {"delete.retention.ms", std::to_string(cfg.delete_retention_ms)},
      {"min.cleanable.dirty.ratio", fmt::format("{}", cfg.min_cleanable_dirty_ratio)},
      {"min.compaction.lag.ms", std::to_string(cfg.min_compaction_lag_ms)},
      {"max.compaction.lag.ms", std::to_string(cfg.max_compaction_lag_ms)},
      {"max.message.bytes", std::to_string(cfg.max_message_bytes)},
      {"min.insync.replicas", std::to_string(std::max(cfg.min_insync_replicas, 1))},
      {"retention.bytes", std::to_string(cfg.retention_bytes)},
      {"retention.ms", std::to_string(cfg.retention_ms)},
      {"segment.bytes", std::to_string(cfg.segment_bytes)},
      {"segment.ms", std::to_string(cfg.segment_ms)},
      {"compression.type", compression_name(cfg.compression)},
      {"message.timestamp.type", cfg.log_append_time ? "LogAppendTime" : "CreateTime"},
      {"message.timestamp.difference.max.ms", std::to_string(cfg.timestamp_difference_max_ms)},
      {"preallocate", cfg.preallocate ? "true" : "false"},
      {"flush.messages", std::to_string(cfg.flush_messages)},
      {"flush.ms", std::to_string(cfg.flush_ms)},
      {"message.format.version", cfg.message_format_version},
      {"message.downconversion.enable", cfg.message_downconversion_enable ? "true" : "false"},
      {"segment.index.bytes", std::to_string(cfg.segment_index_bytes)},
      {"index.interval.bytes", std::to_string(cfg.index_interval_bytes)},
      {"file.delete.delay.ms", std::to_string(cfg.file_delete_delay_ms)},
      {"segment.jitter.ms", std::to_string(cfg.segment_jitter_ms)},
      {"unclean.leader.election.enable", "false"},
      {"remote.storage.enable", "false"},
      {"local.retention.ms", "-2"},
      {"local.retention.bytes", "-2"},
      {"leader.replication.throttled.replicas", ""},
      {"follower.replication.throttled.replicas", ""},
  };
}

}  // namespace strata::streams
