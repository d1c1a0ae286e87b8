// Heartbeat v0-4 (flexible from v4).
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status heartbeat(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_heartbeat_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  groups::heartbeat_response resp;
  resp.error = authorized(s, req, auth::operation::read, auth::resource_type::group, decoded->group_id)
                   ? s.groups.heartbeat(*decoded)
                   : error_code::group_authorization_failed;
  respond(groups::encode_heartbeat_response(resp, version));
  return {};
}

}  // namespace strata::kafka::handlers
