// LeaveGroup v0-4 (flexible from v4; a batch of members from v3).
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status leave_group(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_leave_group_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  if (!authorized(s, req, auth::operation::read, auth::resource_type::group, decoded->group_id)) {
    groups::leave_group_response denied;
    denied.error = error_code::group_authorization_failed;
    respond(groups::encode_leave_group_response(denied, version));
    return {};
  }
  respond(groups::encode_leave_group_response(s.groups.leave(*decoded), version));
  return {};
}

}  // namespace strata::kafka::handlers
