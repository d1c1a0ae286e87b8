// SyncGroup v0-5 (flexible from v4). Followers' requests wait for the
// leader's assignment.
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status sync_group(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_sync_group_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  if (!authorized(s, req, auth::operation::read, auth::resource_type::group, decoded->group_id)) {
    groups::sync_group_response denied;
    denied.error = error_code::group_authorization_failed;
    respond(groups::encode_sync_group_response(denied, version));
    return {};
  }
  s.groups.sync(std::move(*decoded), [version, respond = std::move(respond)](groups::sync_group_response r) {
    respond(groups::encode_sync_group_response(r, version));
  });
  return {};
}

}  // namespace strata::kafka::handlers
