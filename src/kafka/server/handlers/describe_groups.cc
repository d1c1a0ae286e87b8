// DescribeGroups v0-5 (flexible from v5). Authorized operations are not
// tracked, so they are reported as "not provided" (INT32_MIN).
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status describe_groups(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_describe_groups_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  // Groups the principal may not describe are answered GROUP_AUTHORIZATION_FAILED, in request order.
  std::vector<bool> may_describe;
  groups::describe_groups_request allowed;
  allowed.include_authorized_operations = decoded->include_authorized_operations;
  for (const auto& g : decoded->groups) {
    may_describe.push_back(authorized(s, req, auth::operation::describe, auth::resource_type::group, g));
    if (may_describe.back()) allowed.groups.push_back(g);
  }
  auto described = s.groups.describe_groups(allowed);
  groups::describe_groups_response resp = described;
  resp.groups.clear();
  size_t next = 0;
  for (size_t i = 0; i < decoded->groups.size(); ++i) {
    if (may_describe[i]) {
      resp.groups.push_back(std::move(described.groups.at(next++)));
      continue;
    }
    groups::described_group denied;
    denied.error = error_code::group_authorization_failed;
    denied.group_id = decoded->groups[i];
    resp.groups.push_back(std::move(denied));
  }
  respond(groups::encode_describe_groups_response(resp, version));
  return {};
}

}  // namespace strata::kafka::handlers
