#include "streams/catalog.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <random>

#include "meta/kv.h"

namespace strata::streams {

namespace {
constexpr std::string_view topic_prefix = "streams/topic/";
constexpr std::string_view producer_id_key = "streams/producer_id_next";
constexpr int catalog_version = 1;

}  // namespace

bool parse_topic_id_hex(const std::string& hex, std::array<uint8_t, 16>& out) {
  if (hex.size() != 32) return false;
  for (size_t i = 0; i < 16; ++i) {
    auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, out[i], 16);
    if (ec != std::errc() || p != hex.data() + 2 * i + 2) return false;
  }
  return true;
}

std::string topic_id_hex(const std::array<uint8_t, 16>& id) {
  std::string out;
  for (uint8_t b : id) out += fmt::format("{:02x}", b);
  return out;
}

std::array<uint8_t, 16> new_topic_id() {
  std::random_device rd;
  std::array<uint8_t, 16> id{};
  for (auto& b : id) b = static_cast<uint8_t>(rd());
  return id;
}

status save_topic(meta::kv& kv, const topic_record& topic) {
  nlohmann::json j;
  j["version"] = catalog_version;
  j["id"] = topic_id_hex(topic.id);
  j["partitions"] = topic.partitions;
  j["configs"] = topic.configs;
  return kv.put(std::string(topic_prefix) + topic.name, j.dump());
}

status remove_topic(meta::kv& kv, const std::string& name) { return kv.remove(std::string(topic_prefix) + name); }

result<std::vector<topic_record>> load_topics(meta::kv& kv) {
  std::vector<topic_record> topics;
  std::string bad;
  auto s = kv.scan_prefix(topic_prefix, [&](std::string_view key, std::string_view value) {
    topic_record t;
    t.name = std::string(key.substr(topic_prefix.size()));
    auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || j.value("version", 0) != catalog_version ||
        !parse_topic_id_hex(j.value("id", std::string()), t.id) || !j.contains("partitions") ||
        !j["partitions"].is_number_integer()) {
      bad = t.name;
      return;
    }
    t.partitions = j["partitions"].get<int32_t>();
    if (j.contains("configs") && j["configs"].is_object()) {
      for (auto& [k, v] : j["configs"].items()) {
        if (v.is_string()) t.configs[k] = v.get<std::string>();
      }
    }
    topics.push_back(std::move(t));
  });
  STRATA_TRY(s);
  if (!bad.empty()) {
    return make_error(errc::corrupt, fmt::format("the catalog record of topic {} is unreadable; the metadata store may be damaged", bad));
  }
  return topics;
}

result<int64_t> allocate_producer_id(meta::kv& kv) {
  auto current = kv.get(producer_id_key);
  STRATA_TRY(current);
  int64_t next = 0;
  if (current->has_value()) {
    const std::string& text = **current;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), next);
    if (ec != std::errc()) return make_error(errc::corrupt, "the stored next producer id is unreadable");
  }
  STRATA_TRY(kv.put(producer_id_key, std::to_string(next + 1)));
  return next;
}

}  // namespace strata::streams
