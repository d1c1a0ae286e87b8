// CreateTopics v0-7 (flexible from v5). A single node keeps one replica; in
// cluster mode the replication factor places replicas on live nodes, or a
// manual assignment names each partition's replicas (a single node accepts
// one that names only itself). timeout_ms is ignored because creation
// finishes before the response is sent.
#include <fmt/format.h>

#include <map>
#include <set>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/config_entries.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/unique_topics.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct creatable_topic {
  std::string name;
  int32_t num_partitions = -1;
  int16_t replication_factor = -1;
  std::vector<std::pair<int32_t, std::vector<int32_t>>> assignments;  // partition index, replicas
  bool assignments_too_large = false;
  std::vector<std::pair<std::string, std::optional<std::string>>> configs;
};

struct create_request {
  std::vector<creatable_topic> topics;
  bool validate_only = false;
};

struct create_result {
  std::string name;
  uuid topic_id{};
  error_code error = error_code::none;
  std::optional<std::string> message;
  int32_t num_partitions = -1;
  int16_t replication_factor = -1;
  std::vector<config_entry> configs;
};

// Bounds what one request may make this broker hold; larger assignments are
// read past and refused.
constexpr int32_t assignment_partitions_max = 100'000;
constexpr int32_t assignment_replicas_max = 16;

void decode_assignments(reader& r, bool flex, creatable_topic& t) {
  int32_t n = r.array_length(flex);
  t.assignments_too_large = n > assignment_partitions_max;
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    int32_t index = r.i32();
    int32_t brokers = r.array_length(flex);
    std::vector<int32_t> replicas;
    t.assignments_too_large = t.assignments_too_large || brokers > assignment_replicas_max;
    for (int32_t b = 0; b < brokers && r.ok(); ++b) {
      int32_t id = r.i32();
      if (!t.assignments_too_large) replicas.push_back(id);
    }
    if (flex) r.skip_tagged_fields();
    if (!t.assignments_too_large) t.assignments.emplace_back(index, std::move(replicas));
  }
}

creatable_topic decode_topic(reader& r, bool flex) {
  creatable_topic t;
  t.name = r.string(flex);
  t.num_partitions = r.i32();
  t.replication_factor = r.i16();
  decode_assignments(r, flex, t);
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string name = r.string(flex);
    std::optional<std::string> value = r.nullable_string(flex);
    if (flex) r.skip_tagged_fields();
    t.configs.emplace_back(std::move(name), std::move(value));
  }
  if (flex) r.skip_tagged_fields();
  return t;
}

bool decode(reader& r, int16_t version, bool flex, create_request& req) {
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) req.topics.push_back(decode_topic(r, flex));
  (void)r.i32();  // timeout_ms
  if (version >= 1) req.validate_only = r.boolean();
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

create_result failed(const std::string& name, error_code e, std::string message) {
  create_result res;
  res.name = name;
  res.error = e;
  res.message = std::move(message);
  return res;
}

// What a valid request asks for.
struct topic_plan {
  int32_t partitions = 0;
  streams::topic_config config;                 // the configs applied to a new topic's defaults
  std::map<std::string, std::string> configs;  // as sent, for the service
  std::vector<std::vector<int32_t>> assignment; // by partition index; empty: placed by the broker
};

// Kafka's rules for a manual assignment: it replaces num_partitions and
// replication_factor (both -1), names partitions 0..n-1 once each, every one
// with the same number of distinct replicas. Whether the nodes exist is the
// service's to check.
std::optional<create_result> validate_assignment(const creatable_topic& t, topic_plan& plan) {
  if (t.assignments_too_large) {
    return failed(t.name, error_code::invalid_replica_assignment,
                  fmt::format("the assignment is too large: at most {} partitions of {} replicas", assignment_partitions_max,
                              assignment_replicas_max));
  }
  if (t.num_partitions != -1 || t.replication_factor != -1) {
    return failed(t.name, error_code::invalid_request,
                  "num_partitions and replication_factor must both be -1 when replica assignments are given");
  }
  plan.assignment.assign(t.assignments.size(), {});
  for (const auto& [index, replicas] : t.assignments) {
    if (index < 0 || static_cast<size_t>(index) >= t.assignments.size() || !plan.assignment[index].empty()) {
      return failed(t.name, error_code::invalid_replica_assignment,
                    fmt::format("partition indexes must be 0 to {}, each once; {} is not", t.assignments.size() - 1, index));
    }
    std::set<int32_t> distinct(replicas.begin(), replicas.end());
    if (replicas.empty() || distinct.size() != replicas.size() || replicas.size() != t.assignments.front().second.size()) {
      return failed(t.name, error_code::invalid_replica_assignment,
                    fmt::format("partition {} must name distinct replicas, as many as every other partition", index));
    }
    plan.assignment[index] = replicas;
  }
  plan.partitions = static_cast<int32_t>(t.assignments.size());
  return std::nullopt;
}

// Checks everything but existence: the failure to report, or nullopt with
// `plan` filled in.
std::optional<create_result> validate(const creatable_topic& t, const streams::service_config& cfg, bool clustered,
                                      topic_plan& plan) {
  if (auto st = streams::service::validate_topic_name(t.name); !st) {
    return failed(t.name, error_code::invalid_topic_exception, st.err().message);
  }
  if (!t.assignments.empty() || t.assignments_too_large) {
    if (auto bad = validate_assignment(t, plan)) return bad;
  }
  if (!clustered && t.replication_factor != -1 && t.replication_factor != 1) {
    return failed(t.name, error_code::invalid_replication_factor,
                  "replication factor " + std::to_string(t.replication_factor) +
                      " is not possible: this Strata runs as a single node (start it with --cluster-etcd), use 1 or -1");
  }
  if (t.replication_factor == 0 || t.replication_factor < -1 || t.replication_factor > 3) {
    return failed(t.name, error_code::invalid_replication_factor,
                  "replication factor " + std::to_string(t.replication_factor) + " is out of range: use 1 to 3, or -1");
  }
  if (plan.assignment.empty()) plan.partitions = t.num_partitions == -1 ? cfg.default_partitions : t.num_partitions;
  if (plan.partitions < 1 || plan.partitions > cfg.partitions_max) {
    return failed(t.name, error_code::invalid_partitions,
                  "partition count " + std::to_string(t.num_partitions) + " is out of range: use 1 to " +
                      std::to_string(cfg.partitions_max) + ", or -1 for the default");
  }
  for (const auto& [key, value] : t.configs) {
    if (!value) {
      return failed(t.name, error_code::invalid_config,
                    "config " + key + " has a null value: omit it to use the default");
    }
    if (auto st = streams::apply_topic_config(plan.config, key, *value); !st) {
      return failed(t.name, error_code::invalid_config, st.err().message);
    }
    plan.configs[key] = *value;
  }
  return std::nullopt;
}

// A single node accepts an assignment that names only itself.
result<streams::topic_info> create_on_this_node(services& s, const std::string& name, const topic_plan& plan) {
  for (const auto& replicas : plan.assignment) {
    if (replicas.size() != 1 || replicas.front() != s.broker.node_id) {
      return make_error(errc::invalid_argument, fmt::format("this single node is node {}; an assignment may name only it",
                                                            s.broker.node_id));
    }
  }
  return s.streams.create_topic(name, plan.partitions, plan.configs, 1);
}

create_result create_one(services& s, const creatable_topic& t, bool validate_only) {
  topic_plan plan;
  if (auto bad = validate(t, s.streams.config(), s.streams.clustered(), plan)) return std::move(*bad);
  create_result res;
  res.name = t.name;
  res.num_partitions = plan.partitions;
  res.replication_factor = !plan.assignment.empty() ? static_cast<int16_t>(plan.assignment.front().size())
                           : t.replication_factor == -1 ? int16_t{1}
                                                       : t.replication_factor;
  if (validate_only) {
    if (s.streams.describe_topic(t.name).ok()) {
      return failed(t.name, error_code::topic_already_exists, "topic " + t.name + " already exists");
    }
  } else {
    auto created = s.streams.clustered() || plan.assignment.empty()
                       ? s.streams.create_topic(t.name, plan.partitions, plan.configs, t.replication_factor, plan.assignment)
                       : create_on_this_node(s, t.name, plan);
    if (!created && created.code() == errc::invalid_argument && !plan.assignment.empty()) {
      return failed(t.name, error_code::invalid_replica_assignment, created.err().message);
    }
    if (!created) {
      return failed(t.name, to_kafka_error(created.code(), error_code::invalid_request), created.err().message);
    }
    res.topic_id = created->id;
    res.num_partitions = static_cast<int32_t>(created->partitions.size());
    res.replication_factor = static_cast<int16_t>(created->replication_factor);
    plan.config = created->config;
  }
  res.configs = topic_config_entries(plan.config, plan.configs);
  return res;
}

// CREATE on the cluster or on the topic, as in Kafka.
bool may_create(const services& s, const request& req, const std::string& topic) {
  return cluster_authorized(s, req, auth::operation::create) ||
         authorized(s, req, auth::operation::create, auth::resource_type::topic, topic);
}

std::vector<create_result> create_all(services& s, const request& req, const create_request& parsed) {
  return for_each_unique_topic(
      parsed.topics, [](const creatable_topic& t) { return std::optional<std::string>(t.name); },
      [&](const creatable_topic& t) {
        if (!may_create(s, req, t.name)) {
          return failed(t.name, error_code::topic_authorization_failed,
                        std::string(req.principal) + " may not create topic " + t.name);
        }
        return create_one(s, t, parsed.validate_only);
      },
      [](const creatable_topic& t) { return failed(t.name, error_code::invalid_request, duplicate_topic_message(t.name)); });
}

void encode_configs(writer& w, bool flex, const std::vector<config_entry>& configs) {
  w.array_length(static_cast<int32_t>(configs.size()), flex);
  for (const auto& c : configs) {
    w.string(c.name, flex);
    w.nullable_string(c.value, flex);
    w.boolean(c.read_only);
    w.i8(static_cast<int8_t>(c.source));
    w.boolean(c.is_sensitive);
    if (flex) w.empty_tagged_fields();
  }
}

void encode(writer& w, int16_t version, bool flex, const std::vector<create_result>& results) {
  if (version >= 2) w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& t : results) {
    w.string(t.name, flex);
    if (version >= 7) w.write_uuid(t.topic_id);
    w.i16(wire_code(t.error));
    if (version >= 1) w.nullable_string(t.message, flex);
    if (version >= 5) {
      w.i32(t.num_partitions);
      w.i16(t.replication_factor);
      encode_configs(w, flex, t.configs);
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status create_topics(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  create_request parsed;
  if (!decode(r, version, flex, parsed)) return malformed_request(req.header);
  writer w;
  auto results = create_all(s, req, parsed);
  count_errors(s, req.header, results);
  encode(w, version, flex, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
