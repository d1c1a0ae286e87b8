// Metadata: the live brokers (this node alone on a single node) and the
// requested topics with each partition's leader, epoch, replicas and ISR,
// creating unknown topics when the client allows it and the broker is
// configured to.
#include <fmt/format.h>

#include <algorithm>
#include <spdlog/spdlog.h>

#include "kafka/server/authorize.h"
#include "kafka/server/endpoints.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct metadata_request {
  std::optional<std::vector<std::string>> topics;  // nullopt: all topics
  bool allow_auto_topic_creation = true;
};

std::optional<metadata_request> decode(const request& req) {
  const int16_t v = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  metadata_request m;
  int32_t n = r.array_length(flex);
  if (n >= 0 && !(v == 0 && n == 0)) {
    m.topics.emplace();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      if (v >= 10) (void)r.read_uuid();
      auto name = v >= 10 ? r.nullable_string(flex) : std::optional<std::string>(r.string(flex));
      if (name) m.topics->push_back(std::move(*name));
      if (flex) r.skip_tagged_fields();
    }
  } else if (n < 0 && v == 0) {
    r.fail();  // v0 has no null array
  }
  if (v >= 4) m.allow_auto_topic_creation = r.boolean();
  if (v >= 8 && v <= 10) (void)r.boolean();  // include_cluster_authorized_operations
  if (v >= 8) (void)r.boolean();             // include_topic_authorized_operations
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return std::nullopt;
  return m;
}

void encode_ids(writer& w, bool flex, const std::vector<int32_t>& ids) {
  w.array_length(static_cast<int32_t>(ids.size()), flex);
  for (int32_t id : ids) w.i32(id);
}

bool is_live(const services& svc, int32_t node) {
  if (!svc.streams.clustered()) return true;
  const auto& brokers = svc.streams.cluster_state().brokers;
  return std::any_of(brokers.begin(), brokers.end(), [node](const streams::broker& b) { return b.id == node; });
}

// Replicas on nodes that are not alive now (a single node has none).
std::vector<int32_t> offline_replicas(const services& svc, const std::vector<int32_t>& replicas) {
  if (!svc.streams.clustered()) return {};
  std::vector<int32_t> out;
  for (int32_t id : replicas) {
    if (!is_live(svc, id)) out.push_back(id);
  }
  return out;
}

void encode_brokers(writer& w, const services& svc, const request& req) {
  const request_header& header = req.header;
  const bool flex = header.flexible;
  std::vector<streams::broker> brokers;
  if (svc.streams.clustered()) {
    brokers = svc.streams.cluster_state().brokers;
    for (auto& b : brokers) b.port = listener_port(b, req);
  } else {
    const auto self = advertised_endpoint(svc, req);
    brokers.push_back({svc.broker.node_id, self.host, self.port, 0, {}});
  }
  w.array_length(static_cast<int32_t>(brokers.size()), flex);
  for (auto& b : brokers) {
    w.i32(b.id);
    w.string(b.host, flex);
    w.i32(b.port);
    if (header.api_version >= 1) w.nullable_string(std::nullopt, flex);  // rack
    if (flex) w.empty_tagged_fields();
  }
}

void encode_topic(writer& w, const services& svc, const request_header& header, error_code error, const std::string& name,
                  const streams::topic_info* info) {
  const int16_t v = header.api_version;
  const bool flex = header.flexible;
  w.i16(counted_code(svc, header, error));
  w.string(name, flex);
  if (v >= 10) w.write_uuid(info ? info->id : uuid{});
  if (v >= 1) w.boolean(name == "__consumer_offsets");  // is_internal
  int32_t partitions = info ? static_cast<int32_t>(info->partitions.size()) : 0;
  w.array_length(partitions, flex);
  for (int32_t p = 0; p < partitions; ++p) {
    const streams::partition_info& pi = info->partitions[p];
    // A leader whose node is no longer alive is not advertised: clients wait
    // for the election instead of going back to a dead node.
    const bool led = pi.leader >= 0 && is_live(svc, pi.leader);
    w.i16(counted_code(svc, header, led ? error_code::none : error_code::leader_not_available));
    w.i32(p);
    w.i32(led ? pi.leader : -1);
    if (v >= 7) w.i32(pi.leader_epoch);
    encode_ids(w, flex, pi.replicas);
    encode_ids(w, flex, pi.isr);
    if (v >= 5) encode_ids(w, flex, offline_replicas(svc, pi.replicas));
    if (flex) w.empty_tagged_fields();
  }
  if (v >= 8) w.i32(std::numeric_limits<int32_t>::min());  // topic_authorized_operations: not computed
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status metadata(services& svc, const request& req, respond_fn respond) {
  auto m = decode(req);
  if (!m) return make_error(errc::invalid_argument, "malformed Metadata request");
  const int16_t v = req.header.api_version;
  const bool flex = req.header.flexible;
  const bool auto_create = svc.streams.config().auto_create_topics && m->allow_auto_topic_creation;

  std::vector<std::uint8_t> out;
  writer w(out);
  if (v >= 3) w.i32(0);  // throttle_time_ms
  encode_brokers(w, svc, req);
  if (v >= 2) w.nullable_string(svc.broker.cluster_id, flex);
  if (v >= 1) w.i32(svc.streams.clustered() ? svc.streams.cluster_state().controller : svc.broker.node_id);

  if (!m->topics) {
    auto all = svc.streams.list_topics();
    // Kafka lists only the topics the principal may describe.
    std::erase_if(all, [&](const streams::topic_info& t) {
      return !authorized(svc, req, auth::operation::describe, auth::resource_type::topic, t.name);
    });
    w.array_length(static_cast<int32_t>(all.size()), flex);
    for (auto& t : all) encode_topic(w, svc, req.header, error_code::none, t.name, &t);
  } else {
    w.array_length(static_cast<int32_t>(m->topics->size()), flex);
    for (auto& name : *m->topics) {
      if (!authorized(svc, req, auth::operation::describe, auth::resource_type::topic, name)) {
        encode_topic(w, svc, req.header, error_code::topic_authorization_failed, name, nullptr);
        continue;
      }
      auto info = svc.streams.describe_topic(name);
      const bool may_create = auto_create && (cluster_authorized(svc, req, auth::operation::create) ||
                                              authorized(svc, req, auth::operation::create, auth::resource_type::topic, name));
      if (!info.ok() && may_create) {
        auto created = svc.streams.create_topic(name, svc.streams.config().default_partitions, {});
        if (created.ok()) {
          spdlog::info("auto-created topic {} for a Metadata request", name);
          info = std::move(created);
        } else if (created.code() == errc::invalid_argument) {
          encode_topic(w, svc, req.header, error_code::invalid_topic_exception, name, nullptr);
          continue;
        }
      }
      if (info.ok()) {
        encode_topic(w, svc, req.header, error_code::none, name, &*info);
      } else {
        encode_topic(w, svc, req.header, error_code::unknown_topic_or_partition, name, nullptr);
      }
    }
  }
  if (v >= 8 && v <= 10) w.i32(std::numeric_limits<int32_t>::min());  // cluster_authorized_operations
  if (flex) w.empty_tagged_fields();
  respond(std::move(out));
  return {};
}

}  // namespace strata::kafka::handlers
