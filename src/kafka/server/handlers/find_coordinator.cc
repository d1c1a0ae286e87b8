// FindCoordinator v0-3 (flexible from v3). A single node coordinates every
// group (key type 0) and transactional id (key type 1). In cluster mode a key
// is coordinated by the leader of its partition of __consumer_offsets
// (groups/offsets_log.h).
#include "kafka/groups/messages/find_coordinator.h"
#include "kafka/groups/offsets_log.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

status find_coordinator(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_find_coordinator_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  groups::find_coordinator_response resp;
  if (decoded->key_type != 0 && decoded->key_type != 1) {
    resp.error = error_code::invalid_request;
    resp.error_message = "unknown coordinator key type " + std::to_string(decoded->key_type);
  } else if (s.offsets_log) {
    auto b = s.offsets_log->coordinator_for(decoded->key);
    if (!b.ok()) {
      resp.error = error_code::coordinator_not_available;
      resp.error_message = b.err().message;
    } else {
      resp.node_id = b->id;
      resp.host = b->host;
      resp.port = b->port;
    }
  } else {
    resp.node_id = s.broker.node_id;
    resp.host = s.broker.advertised_host;
    resp.port = s.broker.advertised_port;
  }
  respond(groups::encode_find_coordinator_response(resp, version));
  return {};
}

}  // namespace strata::kafka::handlers
