// The durable topic catalog: one meta::kv record per topic, key
// "streams/topic/<name>", value a JSON object {"version":1,"id":"<32 hex>",
// "partitions":N,"configs":{"retention.ms":"...",...}} holding only the
// configs set explicitly. See docs/formats/streams-catalog.md.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::meta {
class kv;
}

namespace strata::streams {

struct topic_record {
  std::string name;
  std::array<uint8_t, 16> id{};
  int32_t partitions = 0;
  std::map<std::string, std::string> configs;
};

std::string topic_id_hex(const std::array<uint8_t, 16>& id);
std::array<uint8_t, 16> new_topic_id();
// The inverse of topic_id_hex; false unless `hex` is exactly 32 hex digits.
bool parse_topic_id_hex(const std::string& hex, std::array<uint8_t, 16>& out);

status save_topic(meta::kv& kv, const topic_record& topic);
status remove_topic(meta::kv& kv, const std::string& name);
result<std::vector<topic_record>> load_topics(meta::kv& kv);

// The next producer id to hand out, persisted before it is used.
result<int64_t> allocate_producer_id(meta::kv& kv);

}  // namespace strata::streams
