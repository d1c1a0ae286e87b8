#include <fmt/format.h>

#include <algorithm>
#include <charconv>

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
    if (value != "delete") return bad_value(name, value, "\"delete\" (compaction is not supported yet)");
  } else {
    return make_error(errc::invalid_argument,
                      fmt::format("unknown topic config {}; supported: retention.ms, retention.bytes, segment.bytes, "
                                  "segment.ms, max.message.bytes, min.insync.replicas, cleanup.policy",
                                  name));
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> describe_topic_config(const topic_config& cfg) {
  return {
      {"cleanup.policy", "delete"},
      {"max.message.bytes", std::to_string(cfg.max_message_bytes)},
      {"min.insync.replicas", std::to_string(std::max(cfg.min_insync_replicas, 1))},
      {"retention.bytes", std::to_string(cfg.retention_bytes)},
      {"retention.ms", std::to_string(cfg.retention_ms)},
      {"segment.bytes", std::to_string(cfg.segment_bytes)},
      {"segment.ms", std::to_string(cfg.segment_ms)},
  };
}

}  // namespace strata::streams
