// DescribeCluster v0-1 (always flexible): the live brokers as clients reach
// them through the request's listener, the cluster id and the controller.
// Needs DESCRIBE on the cluster. v1 names the endpoint type asked for; this
// is a broker, so only type 1 is answered.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/endpoints.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

constexpr int8_t broker_endpoint_type = 1;
constexpr int32_t operations_not_asked = std::numeric_limits<int32_t>::min();

struct cluster_answer {
  error_code error = error_code::none;
  std::optional<std::string> message;
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<streams::broker> brokers;
  int32_t authorized_operations = operations_not_asked;
};

// Kafka's bit field: bit N set when operation N is allowed on the cluster.
int32_t cluster_operations(const services& s, const request& req) {
  using auth::operation;
  int32_t bits = 0;
  for (operation op : {operation::create, operation::alter, operation::describe, operation::cluster_action,
                       operation::describe_configs, operation::alter_configs, operation::idempotent_write}) {
    if (cluster_authorized(s, req, op)) bits |= 1 << static_cast<int>(op);
  }
  return bits;
}

cluster_answer describe(const services& s, const request& req, bool include_operations, int8_t endpoint_type) {
  cluster_answer out;
  if (endpoint_type != broker_endpoint_type) {
    out.error = error_code::mismatched_endpoint_type;
    out.message = "this node is a broker: ask it with endpoint type 1 (broker)";
    return out;
  }
  if (!cluster_authorized(s, req, auth::operation::describe)) {
    out.error = error_code::cluster_authorization_failed;
    out.message = cluster_denied_message(req, auth::operation::describe);
    return out;
  }
  out.cluster_id = s.broker.cluster_id;
  if (s.streams.clustered()) {
    out.controller_id = s.streams.cluster_state().controller;
    out.brokers = s.streams.cluster_state().brokers;
    for (auto& b : out.brokers) b.port = listener_port(b, req);
  } else {
    out.controller_id = s.broker.node_id;
    const auto self = advertised_endpoint(s, req);
    streams::broker& b = out.brokers.emplace_back();
    b.id = s.broker.node_id;
    b.host = self.host;
    b.port = self.port;
  }
  if (include_operations) out.authorized_operations = cluster_operations(s, req);
  return out;
}

}  // namespace

status describe_cluster(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  reader r(req.body);
  const bool include_operations = r.boolean();
  const int8_t endpoint_type = version >= 1 ? r.i8() : broker_endpoint_type;
  r.skip_tagged_fields();
  if (!r.ok()) return malformed_request(req.header);
  cluster_answer a = describe(s, req, include_operations, endpoint_type);
  writer w;
  w.i32(0);  // throttle_time_ms
  w.i16(counted_code(s, req.header, a.error));
  w.nullable_string(a.message, true);
  if (version >= 1) w.i8(broker_endpoint_type);
  w.string(a.cluster_id, true);
  w.i32(a.controller_id);
  w.array_length(static_cast<int32_t>(a.brokers.size()), true);
  for (const auto& b : a.brokers) {
    w.i32(b.id);
    w.string(b.host, true);
    w.i32(b.port);
    w.nullable_string(std::nullopt, true);  // rack
    w.empty_tagged_fields();
  }
  w.i32(a.authorized_operations);
  w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
