// JoinGroup v0-7 (flexible from v6). The response may come later: the
// coordinator parks the request until the rebalance completes.
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status join_group(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_join_group_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  if (!authorized(s, req, auth::operation::read, auth::resource_type::group, decoded->group_id)) {
    groups::join_group_response denied;
    denied.error = error_code::group_authorization_failed;
    respond(groups::encode_join_group_response(denied, version));
    return {};
  }
  groups::join_context ctx;
  ctx.client_id = req.header.client_id.value_or("");
  ctx.client_host = std::string(req.client_host);
  ctx.require_known_member_id = version >= 4;  // KIP-394
  s.groups.join(std::move(*decoded), ctx, [version, respond = std::move(respond)](groups::join_group_response r) {
    respond(groups::encode_join_group_response(r, version));
  });
  return {};
}

}  // namespace strata::kafka::handlers
