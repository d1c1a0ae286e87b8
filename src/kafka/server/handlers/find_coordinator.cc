// FindCoordinator v0-3 (flexible from v3). A single node coordinates every
// group (key type 0) and transactional id (key type 1). In cluster mode a key
// is coordinated by the leader of its partition of __consumer_offsets
// (groups/offsets_log.h).
#include <fmt/format.h>

#include "kafka/groups/messages/find_coordinator.h"
#include "kafka/groups/offsets_log.h"
#include "kafka/server/authorize.h"
#include "kafka/server/endpoints.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

status find_coordinator(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_find_coordinator_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  groups::find_coordinator_response resp;
  const bool is_group = decoded->key_type == 0;
  const auto resource = is_group ? auth::resource_type::group : auth::resource_type::transactional_id;
  if (decoded->key_type != 0 && decoded->key_type != 1) {
    resp.error = error_code::invalid_request;
    resp.error_message = "unknown coordinator key type " + std::to_string(decoded->key_type);
  } else if (!authorized(s, req, auth::operation::describe, resource, decoded->key)) {
    resp.error = is_group ? error_code::group_authorization_failed : error_code::transactional_id_authorization_failed;
    resp.error_message = fmt::format("{} may not describe {} {}", req.principal, is_group ? "group" : "transactional id",
                                     decoded->key);
  } else if (s.offsets_log) {
    auto b = s.offsets_log->coordinator_for(decoded->key);
    if (!b.ok()) {
      resp.error = error_code::coordinator_not_available;
      resp.error_message = b.err().message;
    } else {
      resp.node_id = b->id;
      resp.host = b->host;
      resp.port = listener_port(*b, req);
    }
  } else {
    const auto self = advertised_endpoint(s, req);
    resp.node_id = s.broker.node_id;
    resp.host = self.host;
    resp.port = self.port;
  }
  respond(groups::encode_find_coordinator_response(resp, version));
  return {};
}

}  // namespace strata::kafka::handlers
