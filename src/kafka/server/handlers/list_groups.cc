// ListGroups v0-4 (flexible from v3; a state filter from v4).
#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status list_groups(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_list_groups_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  auto listed = s.groups.list_groups(*decoded);
  // Without DESCRIBE on the cluster, only the groups the principal may describe are listed, as in Kafka.
  if (!cluster_authorized(s, req, auth::operation::describe)) {
    std::erase_if(listed.groups, [&](const groups::listed_group& g) {
      return !authorized(s, req, auth::operation::describe, auth::resource_type::group, g.group_id);
    });
  }
  respond(groups::encode_list_groups_response(listed, version));
  return {};
}

}  // namespace strata::kafka::handlers
