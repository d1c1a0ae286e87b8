// DeleteGroups v0-2 (flexible from v2): removes groups without members and
// their committed offsets, durably. Needs DELETE on each group.
#include <string>
#include <vector>

#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

namespace {

constexpr size_t groups_per_request_max = 10'000;

struct group_result {
  std::string group_id;
  error_code error = error_code::none;
};

}  // namespace

status delete_groups(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::vector<std::string> ids;
  int32_t n = r.array_length(flex);
  if (n > static_cast<int32_t>(groups_per_request_max)) r.fail();
  for (int32_t i = 0; i < n && r.ok(); ++i) ids.push_back(r.string(flex));
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return malformed_request(req.header);
  std::vector<group_result> results;
  for (auto& id : ids) {
    const bool allowed = authorized(s, req, auth::operation::remove, auth::resource_type::group, id);
    error_code e = allowed ? s.groups.delete_group(id) : error_code::group_authorization_failed;
    results.push_back({std::move(id), e});
  }
  count_errors(s, req.header, results);
  writer w;
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& g : results) {
    w.string(g.group_id, flex);
    w.i16(wire_code(g.error));
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
