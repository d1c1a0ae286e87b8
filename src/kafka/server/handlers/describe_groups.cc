// DescribeGroups v0-5 (flexible from v5). Authorized operations are not
// tracked, so they are reported as "not provided" (INT32_MIN).
#include "kafka/groups/coordinator.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status describe_groups(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_describe_groups_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  respond(groups::encode_describe_groups_response(s.groups.describe_groups(*decoded), version));
  return {};
}

}  // namespace strata::kafka::handlers
