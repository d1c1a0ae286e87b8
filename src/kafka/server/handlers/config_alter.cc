#include "kafka/server/handlers/config_alter.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;

alter_result answer(const config_resource_change& r, error_code e = error_code::none, std::string message = {}) {
  alter_result out{e, std::nullopt, r.type, r.name};
  if (e != error_code::none) out.message = std::move(message);
  return out;
}

std::string current_value(const streams::topic_config& cfg, const std::string& name, bool& known) {
  for (auto& [k, v] : streams::describe_topic_config(cfg)) {
    if (k == name) {
      known = true;
      return v;
    }
  }
  known = false;
  return {};
}

bool is_list_config(const std::string& name) {
  return name == "cleanup.policy" || name == "leader.replication.throttled.replicas" ||
         name == "follower.replication.throttled.replicas";
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// APPEND or SUBTRACT the list in `change` to or from the config's current value.
std::string combine_list(const std::string& current, const config_change& change) {
  std::vector<std::string> items = split_list(current);
  for (const auto& item : split_list(change.value.value_or(""))) {
    auto at = std::find(items.begin(), items.end(), item);
    if (change.op == config_op::append && at == items.end()) items.push_back(item);
    if (change.op == config_op::subtract && at != items.end()) items.erase(at);
  }
  return join_list(items);
}

// The configs the topic has once `r` is applied, or the error that refuses `r`.
std::optional<alter_result> next_topic_configs(const config_resource_change& r, const streams::topic_info& topic,
                                               bool incremental, std::map<std::string, std::string>& next) {
  if (incremental) next = topic.explicit_configs;
  for (const auto& c : r.configs) {
    bool known = false;
    std::string current = current_value(topic.config, c.name, known);
    if (!known && c.op == config_op::remove) {
      return answer(r, error_code::invalid_config,
                    fmt::format("unknown topic config {}; see docs/kafka-topic-configs.md for the configs Strata takes", c.name));
    }
    switch (c.op) {
      case config_op::set:
        if (!c.value) {
          return answer(r, error_code::invalid_config,
                        fmt::format("config {} has a null value: {} to return it to its default", c.name,
                                    incremental ? "DELETE it" : "leave it out"));
        }
        next[c.name] = *c.value;
        break;
      case config_op::remove: next.erase(c.name); break;
      case config_op::append:
      case config_op::subtract:
        if (!is_list_config(c.name)) {
          return answer(r, error_code::invalid_config,
                        fmt::format("config {} is not a list: APPEND and SUBTRACT apply to cleanup.policy; use SET or DELETE",
                                    c.name));
        }
        next[c.name] = combine_list(current, c);
        break;
      default:
        return answer(r, error_code::invalid_request,
                      fmt::format("config operation {} on {} is unknown: use 0 (SET), 1 (DELETE), 2 (APPEND) or 3 (SUBTRACT)",
                                  c.raw_op, c.name));
    }
  }
  return std::nullopt;
}

alter_result alter_topic(services& s, const request& req, const config_resource_change& r, bool incremental,
                         bool validate_only) {
  if (!authorized(s, req, auth::operation::alter_configs, auth::resource_type::topic, r.name)) {
    return answer(r, error_code::topic_authorization_failed,
                  fmt::format("{} may not alter the configs of topic {}", req.principal, r.name));
  }
  auto topic = s.streams.describe_topic(r.name);
  if (!topic) return answer(r, error_code::unknown_topic_or_partition, topic.err().message);
  std::map<std::string, std::string> next;
  if (auto refused = next_topic_configs(r, *topic, incremental, next)) return std::move(*refused);
  auto altered = s.streams.alter_topic_configs(r.name, next, validate_only);
  if (!altered) return answer(r, to_kafka_error(altered.code(), error_code::invalid_config), altered.err().message);
  return answer(r);
}

// The server flag behind a broker config, where there is one.
std::string_view flag_of(std::string_view config) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> flags{{
      {"broker.id", "--node-id"},
      {"node.id", "--node-id"},
      {"auto.create.topics.enable", "--auto-create-topics"},
      {"num.partitions", "--default-partitions"},
      {"default.replication.factor", "--default-replication-factor"},
      {"log.segment.bytes", "--segment-bytes"},
      {"log.roll.ms", "--segment-ms"},
      {"log.retention.ms", "--retention-ms"},
      {"log.retention.bytes", "--retention-bytes"},
      {"log.flush.interval.ms", "--fsync-interval-ms"},
      {"log.flush.interval.messages", "--fsync"},
      {"replica.lag.time.max.ms", "--replica-lag-time-max-ms"},
      {"offsets.topic.num.partitions", "--offsets-topic-partitions"},
      {"super.users", "--super-users"},
  }};
  for (auto& [name, flag] : flags) {
    if (name == config) return flag;
  }
  return {};
}

alter_result alter_broker(services& s, const request& req, const config_resource_change& r) {
  if (!cluster_authorized(s, req, auth::operation::alter_configs)) {
    return answer(r, error_code::cluster_authorization_failed,
                  fmt::format("{} may not alter the broker's configs", req.principal));
  }
  if (!r.name.empty() && r.name != std::to_string(s.broker.node_id)) {
    return answer(r, error_code::invalid_request,
                  fmt::format("unexpected broker id {}: this broker is {}, or use an empty name", r.name, s.broker.node_id));
  }
  if (r.configs.empty()) return answer(r);
  const std::string& name = r.configs.front().name;
  std::string_view flag = flag_of(name);
  if (!flag.empty()) {
    return answer(r, error_code::invalid_request,
                  fmt::format("broker config {} cannot change while the server runs: set the server's {} flag and "
                              "restart it; topic configs are altered on the topic",
                              name, flag));
  }
  return answer(r, error_code::invalid_request,
                fmt::format("broker config {} cannot be altered: Strata's broker settings are server flags (strata "
                            "server --help), and topic configs are altered on the topic",
                            name));
}

bool has_duplicate_keys(const config_resource_change& r) {
  std::set<std::string> seen;
  for (const auto& c : r.configs) {
    if (!seen.insert(c.name).second) return true;
  }
  return false;
}

}  // namespace

std::vector<alter_result> alter_config_resources(services& s, const request& req,
                                                 const std::vector<config_resource_change>& resources, bool incremental,
                                                 bool validate_only) {
  std::map<std::pair<int8_t, std::string>, int> count;
  for (const auto& r : resources) ++count[{r.type, r.name}];
  std::vector<alter_result> out;
  for (const auto& r : resources) {
    if (count[{r.type, r.name}] > 1) {
      out.push_back(answer(r, error_code::invalid_request,
                           fmt::format("resource {} of type {} appears more than once in the request: list each once", r.name,
                                       r.type)));
    } else if (has_duplicate_keys(r)) {
      out.push_back(answer(r, error_code::invalid_request,
                           fmt::format("resource {} names a config more than once: name each config once", r.name)));
    } else if (r.type == resource_topic) {
      out.push_back(alter_topic(s, req, r, incremental, validate_only));
    } else if (r.type == resource_broker) {
      out.push_back(alter_broker(s, req, r));
    } else {
      out.push_back(answer(r, error_code::invalid_request,
                           fmt::format("resource type {} is not supported: alter topics (2); brokers (4) take no changes", r.type)));
    }
  }
  return out;
}

static void encode_alter_response(writer& w, bool flex, const std::vector<alter_result>& results) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& r : results) {
    w.i16(wire_code(r.error));
    w.nullable_string(r.message, flex);
    w.i8(r.type);
    w.string(r.name, flex);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

namespace {

bool decode_alter_request(reader& r, bool flex, bool incremental, std::vector<config_resource_change>& resources,
                          bool& validate_only) {
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    config_resource_change res;
    res.type = r.i8();
    res.name = r.string(flex);
    int32_t configs = r.array_length(flex);
    for (int32_t j = 0; j < configs && r.ok(); ++j) {
      config_change c;
      c.name = r.string(flex);
      if (incremental) {
        c.raw_op = r.i8();
        c.op = static_cast<config_op>(c.raw_op);
      }
      c.value = r.nullable_string(flex);
      if (flex) r.skip_tagged_fields();
      res.configs.push_back(std::move(c));
    }
    if (flex) r.skip_tagged_fields();
    resources.push_back(std::move(res));
  }
  validate_only = r.boolean();
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

}  // namespace

status handle_alter_configs(services& s, const request& req, respond_fn respond, bool incremental) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::vector<config_resource_change> resources;
  bool validate_only = false;
  if (!decode_alter_request(r, flex, incremental, resources, validate_only)) return malformed_request(req.header);
  auto results = alter_config_resources(s, req, resources, incremental, validate_only);
  count_errors(s, req.header, results);
  writer w;
  encode_alter_response(w, flex, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
