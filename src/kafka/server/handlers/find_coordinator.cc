// FindCoordinator v0-3 (flexible from v3). Strata is a single node: it is the
// coordinator of every group (key type 0) and transactional id (key type 1).
#include "kafka/groups/messages/find_coordinator.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status find_coordinator(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_find_coordinator_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  groups::find_coordinator_response resp;
  if (decoded->key_type != 0 && decoded->key_type != 1) {
    resp.error = error_code::invalid_request;
    resp.error_message = "unknown coordinator key type " + std::to_string(decoded->key_type);
  } else {
    resp.node_id = s.broker.node_id;
    resp.host = s.broker.advertised_host;
    resp.port = s.broker.advertised_port;
  }
  respond(groups::encode_find_coordinator_response(resp, version));
  return {};
}

}  // namespace strata::kafka::handlers
