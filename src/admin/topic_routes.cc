#include "admin/topic_routes.h"

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "admin/reply.h"
#include "streams/service.h"

namespace strata::admin {
namespace {

using nlohmann::json;

std::string hex_id(const std::array<uint8_t, 16>& id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : id) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

json topic_summary(const streams::topic_info& t) {
  return {{"name", t.name}, {"partitions", t.partitions.size()}, {"id", hex_id(t.id)}};
}

json topic_detail(const streams::topic_info& t) {
  json configs = json::object();
  for (const auto& [key, value] : streams::describe_topic_config(t.config)) configs[key] = value;
  json partitions = json::array();
  for (const auto& p : t.partitions) {
    partitions.push_back({{"id", p.id},
                          {"log_start_offset", p.log_start_offset},
                          {"high_watermark", p.high_watermark},
                          {"log_end_offset", p.log_end_offset},
                          {"size_bytes", p.size_bytes},
                          {"leader", p.leader},
                          {"leader_epoch", p.leader_epoch},
                          {"replicas", p.replicas},
                          {"isr", p.isr}});
  }
  return {{"name", t.name},         {"id", hex_id(t.id)},          {"configs", configs},
          {"partitions", partitions}, {"replication_factor", t.replication_factor}};
}

struct create_request {
  std::string name;
  int32_t partitions = 0;
  int32_t replication_factor = -1;
  std::map<std::string, std::string> configs;
};

constexpr const char* create_shape =
    R"(expected {"name": "orders", "partitions": 3, "replication_factor": 3, "configs": {"retention.ms": "86400000"}})";

result<std::string> config_value(const std::string& key, const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  return make_error(errc::invalid_argument, fmt::format("config {} must be a string such as \"86400000\"", key));
}

status parse_configs(const json& configs, create_request& out) {
  if (!configs.is_object()) return make_error(errc::invalid_argument, fmt::format("configs must be an object; {}", create_shape));
  if (configs.size() > topic_configs_max) {
    return make_error(errc::invalid_argument, fmt::format("at most {} configs may be set", topic_configs_max));
  }
  for (const auto& [key, value] : configs.items()) {
    auto text = config_value(key, value);
    STRATA_TRY(text);
    out.configs[key] = std::move(*text);
  }
  return {};
}

result<int32_t> parse_partitions(const json& value) {
  constexpr int64_t max = std::numeric_limits<int32_t>::max();
  if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > max) {
    return make_error(errc::invalid_argument, fmt::format("partitions must be a whole number from 1 to {}", max));
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

result<create_request> parse_create(const std::string& body, int32_t default_partitions) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(errc::invalid_argument, fmt::format("the request body is not a JSON object; {}", create_shape));
  }
  create_request req;
  req.partitions = default_partitions;
  for (const auto& [key, value] : doc.items()) {
    if (key == "name") {
      if (!value.is_string()) return make_error(errc::invalid_argument, "name must be a string");
      req.name = value.get<std::string>();
    } else if (key == "partitions") {
      auto n = parse_partitions(value);
      STRATA_TRY(n);
      req.partitions = *n;
    } else if (key == "replication_factor") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 3) {
        return make_error(errc::invalid_argument, "replication_factor must be 1, 2 or 3");
      }
      req.replication_factor = value.get<int32_t>();
    } else if (key == "configs") {
      STRATA_TRY(parse_configs(value, req));
    } else {
      return make_error(errc::invalid_argument, fmt::format("unknown field {}; {}", key, create_shape));
    }
  }
  if (req.name.empty()) return make_error(errc::invalid_argument, fmt::format("name is required; {}", create_shape));
  return req;
}

response list_topics(streams::service& streams) {
  json topics = json::array();
  for (const auto& t : streams.list_topics()) topics.push_back(topic_summary(t));
  return json_response(200, {{"topics", topics}});
}

response create_topic(streams::service& streams, const request& req) {
  auto parsed = parse_create(req.body, streams.config().default_partitions);
  if (!parsed) return error_response(parsed.err());
  auto created = streams.create_topic(parsed->name, parsed->partitions, parsed->configs, parsed->replication_factor);
  if (!created) return error_response(created.err());
  response reply = json_response(201, topic_detail(*created));
  reply.headers.emplace_back("Location", "/v1/topics/" + created->name);
  return reply;
}

response describe_topic(streams::service& streams, const path_params& params) {
  auto topic = streams.describe_topic(params.at("name"));
  if (!topic) return error_response(topic.err());
  return json_response(200, topic_detail(*topic));
}

response delete_topic(streams::service& streams, const path_params& params) {
  auto deleted = streams.delete_topic(params.at("name"));
  if (!deleted) return error_response(deleted.err());
  response reply;
  reply.status = 204;
  reply.content_type.clear();
  return reply;
}

}  // namespace

void add_topic_routes(router& routes, streams::service& streams) {
  routes.add("GET", "/v1/topics", [&streams](const request&, const path_params&) { return list_topics(streams); });
  routes.add("POST", "/v1/topics", [&streams](const request& req, const path_params&) { return create_topic(streams, req); });
  routes.add("GET", "/v1/topics/{name}",
             [&streams](const request&, const path_params& params) { return describe_topic(streams, params); });
  routes.add("DELETE", "/v1/topics/{name}",
             [&streams](const request&, const path_params& params) { return delete_topic(streams, params); });
}

}  // namespace strata::admin
