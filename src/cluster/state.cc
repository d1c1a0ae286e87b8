#include "cluster/state.h"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace strata::cluster {

const char* const cluster_prefix = "/strata/";
const char* const nodes_prefix = "/strata/nodes/";
const char* const controller_key = "/strata/controller";
const char* const topics_prefix = "/strata/topics/";
const char* const partitions_prefix = "/strata/partitions/";
const char* const throttle_key = "/strata/replication-throttle";

namespace {

using nlohmann::json;

constexpr int64_t format_version = 1;
constexpr int64_t int32_max = std::numeric_limits<int32_t>::max();
constexpr int64_t max_port = 65535;

// Never throws: invalid UTF-8 (a config value, say) is stored replaced, not refused.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

error corrupt(const std::string& key, const std::string& what) {
  return make_error(errc::corrupt, fmt::format("cluster state {}: {}", key, what));
}

result<json> parse_object(const std::string& key, const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt(key, "the value is not a JSON object");
  return j;
}

status check_version(const std::string& key, const json& j) {
  auto version = j.find("version");
  if (version == j.end()) return corrupt(key, "the record has no \"version\"");
  if (!version->is_number_integer() || version->get<int64_t>() != format_version) {
    return corrupt(key, fmt::format("format version {} is not {}; was it written by a newer Strata?", dump(*version),
                                    format_version));
  }
  return {};
}

// Parses a record and checks its version; every decoder starts here.
result<json> parse_record(const std::string& key, const std::string& text) {
  auto j = parse_object(key, text);
  if (!j) return j.err();
  STRATA_TRY(check_version(key, *j));
  return j;
}

result<int64_t> int_value(const std::string& key, const char* name, const json& v, int64_t min, int64_t max) {
  bool in_range = false;
  int64_t value = 0;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    in_range = u <= static_cast<uint64_t>(max) && (min <= 0 || u >= static_cast<uint64_t>(min));
    value = in_range ? static_cast<int64_t>(u) : 0;
  } else if (v.is_number_integer()) {
    value = v.get<int64_t>();
    in_range = value >= min && value <= max;
  } else {
    return corrupt(key, fmt::format("\"{}\" is not an integer", name));
  }
  if (!in_range) return corrupt(key, fmt::format("\"{}\" = {} is outside [{}, {}]", name, dump(v), min, max));
  return value;
}

result<int64_t> int_field(const std::string& key, const json& j, const char* name, int64_t min, int64_t max) {
  auto it = j.find(name);
  if (it == j.end()) return corrupt(key, fmt::format("the record has no \"{}\"", name));
  return int_value(key, name, *it, min, max);
}

result<int32_t> int32_field(const std::string& key, const json& j, const char* name, int64_t min) {
  auto v = int_field(key, j, name, min, int32_max);
  if (!v) return v.err();
  return static_cast<int32_t>(*v);
}

result<std::string> string_field(const std::string& key, const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return corrupt(key, fmt::format("the record has no \"{}\"", name));
  if (!it->is_string()) return corrupt(key, fmt::format("\"{}\" is not a string", name));
  return it->get<std::string>();
}

result<std::vector<node_id>> node_list_field(const std::string& key, const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return corrupt(key, fmt::format("the record has no \"{}\"", name));
  if (!it->is_array()) return corrupt(key, fmt::format("\"{}\" is not an array", name));
  std::vector<node_id> ids;
  for (const json& element : *it) {
    auto id = int_value(key, name, element, 0, int32_max);
    if (!id) return id.err();
    ids.push_back(static_cast<node_id>(*id));
  }
  return ids;
}

result<std::map<std::string, std::string>> string_map_field(const std::string& key, const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return corrupt(key, fmt::format("the record has no \"{}\"", name));
  if (!it->is_object()) return corrupt(key, fmt::format("\"{}\" is not an object", name));
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return corrupt(key, fmt::format("\"{}\".\"{}\" is not a string", name, k));
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

const node_info* cluster_view::find_node(node_id id) const {
  for (const node_info& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::string node_key(node_id id) { return fmt::format("{}{}", nodes_prefix, id); }

std::string topic_key(const std::string& topic) { return topics_prefix + topic; }

std::string partition_key(const std::string& topic, int32_t partition) {
  return fmt::format("{}{}/{}", partitions_prefix, topic, partition);
}

std::string encode_node(const node_info& n) {
  return dump(json{{"version", format_version},
                   {"id", n.id},
                   {"host", n.host},
                   {"kafka_port", n.kafka_port},
                   {"admin_port", n.admin_port},
                   {"replication_port", n.replication_port},
                   {"listeners", n.listener_ports}});
}

result<node_info> decode_node(const std::string& text) {
  // The caller's key is not passed in: the record's own id names it.
  std::string key = fmt::format("{}?", nodes_prefix);
  auto j = parse_object(key, text);
  if (!j) return j.err();
  auto id = int32_field(key, *j, "id", 0);
  if (id) key = node_key(*id);
  STRATA_TRY(check_version(key, *j));
  if (!id) return id.err();
  node_info n;
  n.id = *id;
  auto host = string_field(key, *j, "host");
  if (!host) return host.err();
  n.host = std::move(*host);
  auto kafka_port = int_field(key, *j, "kafka_port", 0, max_port);
  if (!kafka_port) return kafka_port.err();
  n.kafka_port = static_cast<int32_t>(*kafka_port);
  auto admin_port = int_field(key, *j, "admin_port", 0, max_port);
  if (!admin_port) return admin_port.err();
  n.admin_port = static_cast<int32_t>(*admin_port);
  if (j->contains("replication_port")) {  // absent in records of nodes older than the field
    auto replication_port = int_field(key, *j, "replication_port", 0, max_port);
    if (!replication_port) return replication_port.err();
    n.replication_port = static_cast<int32_t>(*replication_port);
  }
  if (auto listeners = j->find("listeners"); listeners != j->end()) {  // absent in records older than the field
    if (!listeners->is_object()) return corrupt(key, "\"listeners\" must map protocol names to ports");
    for (const auto& [name, port] : listeners->items()) {
      auto value = int_value(key, "listeners", port, 1, max_port);
      if (!value) return value.err();
      n.listener_ports[name] = static_cast<int32_t>(*value);
    }
  }
  return n;
}

std::string encode_topic(const topic_state& t) {
  return dump(json{{"version", format_version},
                   {"id", t.id_hex},
                   {"partitions", t.partitions},
                   {"replication_factor", t.replication_factor},
                   {"configs", t.configs}});
}

result<topic_state> decode_topic(const std::string& name, const std::string& text) {
  std::string key = topic_key(name);
  auto j = parse_record(key, text);
  if (!j) return j.err();
  topic_state t;
  t.name = name;
  auto id = string_field(key, *j, "id");
  if (!id) return id.err();
  t.id_hex = std::move(*id);
  auto partitions = int32_field(key, *j, "partitions", 0);
  if (!partitions) return partitions.err();
  t.partitions = *partitions;
  auto replication_factor = int32_field(key, *j, "replication_factor", 1);
  if (!replication_factor) return replication_factor.err();
  t.replication_factor = *replication_factor;
  auto configs = string_map_field(key, *j, "configs");
  if (!configs) return configs.err();
  t.configs = std::move(*configs);
  return t;
}

std::string encode_partition(const partition_state& p) {
  json j{{"version", format_version},
         {"replicas", p.replicas},
         {"leader", p.leader},
         {"leader_epoch", p.leader_epoch},
         {"isr", p.isr}};
  if (p.moving()) j["target_replicas"] = p.target_replicas;
  return dump(j);
}

result<partition_state> decode_partition(const std::string& topic, int32_t partition, const std::string& text) {
  std::string key = partition_key(topic, partition);
  auto j = parse_record(key, text);
  if (!j) return j.err();
  partition_state p;
  p.topic = topic;
  p.partition = partition;
  auto replicas = node_list_field(key, *j, "replicas");
  if (!replicas) return replicas.err();
  p.replicas = std::move(*replicas);
  auto leader = int32_field(key, *j, "leader", no_leader);
  if (!leader) return leader.err();
  p.leader = *leader;
  auto epoch = int32_field(key, *j, "leader_epoch", 0);
  if (!epoch) return epoch.err();
  p.leader_epoch = *epoch;
  auto isr = node_list_field(key, *j, "isr");
  if (!isr) return isr.err();
  p.isr = std::move(*isr);
  if (j->contains("target_replicas")) {
    auto target = node_list_field(key, *j, "target_replicas");
    if (!target) return target.err();
    p.target_replicas = std::move(*target);
  }
  return p;
}

std::string encode_throttle(const replication_throttle& t) {
  return dump(json{{"version", format_version}, {"bytes_per_second", t.bytes_per_second}});
}

result<replication_throttle> decode_throttle(const std::string& text) {
  auto j = parse_record(throttle_key, text);
  if (!j) return j.err();
  auto rate = int_field(throttle_key, *j, "bytes_per_second", 0, std::numeric_limits<int64_t>::max());
  if (!rate) return rate.err();
  return replication_throttle{*rate, 0};
}

// Declared in cluster/controller.h (state.h is the shared header), kept here
// with the other codecs so that every record checks its version one way.
std::string encode_controller(node_id id) { return dump(json{{"version", format_version}, {"id", id}}); }

result<node_id> decode_controller(const std::string& text) {
  auto j = parse_record(controller_key, text);
  if (!j) return j.err();
  return int32_field(controller_key, *j, "id", 0);
}

}  // namespace strata::cluster
