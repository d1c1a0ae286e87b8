// DescribeConfigs v0-4 (flexible from v4) for topics (resource type 2) and
// this broker (resource type 4). Other resource types get INVALID_REQUEST.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/config_entries.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;

struct config_resource {
  int8_t type = 0;
  std::string name;
  std::optional<std::vector<std::string>> keys;  // nullopt: every key
};

struct describe_request {
  std::vector<config_resource> resources;
  bool include_synonyms = false;
  bool include_documentation = false;
};

struct describe_result {
  error_code error = error_code::none;
  std::optional<std::string> message;
  int8_t type = 0;
  std::string name;
  std::vector<config_entry> configs;
};

config_resource decode_resource(reader& r, bool flex) {
  config_resource res;
  res.type = r.i8();
  res.name = r.string(flex);
  int32_t n = r.array_length(flex);
  if (n >= 0) res.keys.emplace();
  for (int32_t i = 0; i < n && r.ok(); ++i) res.keys->push_back(r.string(flex));
  if (flex) r.skip_tagged_fields();
  return res;
}

bool decode(reader& r, int16_t version, bool flex, describe_request& req) {
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) req.resources.push_back(decode_resource(r, flex));
  if (version >= 1) req.include_synonyms = r.boolean();
  if (version >= 3) req.include_documentation = r.boolean();
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

result<std::vector<config_entry>> entries_for(services& s, const config_resource& res) {
  if (res.type == resource_topic) {
    auto info = s.streams.describe_topic(res.name);
    STRATA_TRY(info);
    return topic_config_entries(info->config, info->explicit_configs);
  }
  if (res.type == resource_broker) {
    // An empty name asks for the cluster-wide defaults, which are this broker's.
    if (!res.name.empty() && res.name != std::to_string(s.broker.node_id)) {
      return make_error(errc::invalid_argument, "unexpected broker id " + res.name + ": this broker is " +
                                                    std::to_string(s.broker.node_id) + ", or use an empty name");
    }
    return broker_config_entries(s.broker, s.streams.config());
  }
  return make_error(errc::unsupported, "resource type " + std::to_string(res.type) +
                                           " is not supported: describe topics (2) or brokers (4)");
}

error_code error_for(const config_resource& res, errc code) {
  if (res.type != resource_topic) return error_code::invalid_request;
  return to_kafka_error(code, error_code::invalid_topic_exception);
}

// DESCRIBE_CONFIGS on the topic, or on the cluster for a broker.
bool may_describe(const services& s, const request& req, const config_resource& res) {
  if (res.type == resource_topic) {
    return authorized(s, req, auth::operation::describe_configs, auth::resource_type::topic, res.name);
  }
  return cluster_authorized(s, req, auth::operation::describe_configs);
}

describe_result describe_one(services& s, const request& req, const config_resource& res) {
  describe_result out;
  out.type = res.type;
  out.name = res.name;
  if (!may_describe(s, req, res)) {
    const bool topic = res.type == resource_topic;
    out.error = topic ? error_code::topic_authorization_failed : error_code::cluster_authorization_failed;
    out.message = std::string(req.principal) + " may not describe the configs of " + (topic ? "topic " + res.name : "the broker");
    return out;
  }
  auto entries = entries_for(s, res);
  if (!entries) {
    out.error = error_for(res, entries.code());
    out.message = entries.err().message;
    return out;
  }
  for (auto& e : *entries) {
    if (!res.keys || std::find(res.keys->begin(), res.keys->end(), e.name) != res.keys->end()) {
      out.configs.push_back(std::move(e));
    }
  }
  return out;
}

void encode_entry(writer& w, int16_t version, bool flex, const describe_request& req, const config_entry& e) {
  w.string(e.name, flex);
  w.nullable_string(e.value, flex);
  w.boolean(e.read_only);
  if (version == 0) w.boolean(e.is_default);
  if (version >= 1) w.i8(static_cast<int8_t>(e.source));
  w.boolean(e.is_sensitive);
  if (version >= 1) {
    int32_t n = req.include_synonyms ? static_cast<int32_t>(e.synonyms.size()) : 0;
    w.array_length(n, flex);
    for (int32_t i = 0; i < n; ++i) {
      w.string(e.synonyms[i].name, flex);
      w.nullable_string(e.synonyms[i].value, flex);
      w.i8(static_cast<int8_t>(e.synonyms[i].source));
      if (flex) w.empty_tagged_fields();
    }
  }
  if (version >= 3) {
    w.i8(static_cast<int8_t>(e.type));
    std::optional<std::string> doc;
    if (req.include_documentation && e.documentation) doc = e.documentation;
    w.nullable_string(doc, flex);
  }
  if (flex) w.empty_tagged_fields();
}

void encode(writer& w, int16_t version, bool flex, const describe_request& req,
            const std::vector<describe_result>& results) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& res : results) {
    w.i16(wire_code(res.error));
    w.nullable_string(res.message, flex);
    w.i8(res.type);
    w.string(res.name, flex);
    w.array_length(static_cast<int32_t>(res.configs.size()), flex);
    for (const auto& e : res.configs) encode_entry(w, version, flex, req, e);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status describe_configs(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  describe_request parsed;
  if (!decode(r, version, flex, parsed)) return malformed_request(req.header);
  std::vector<describe_result> results;
  for (const auto& res : parsed.resources) results.push_back(describe_one(s, req, res));
  count_errors(s, req.header, results);
  writer w;
  encode(w, version, flex, parsed, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
