// OffsetFetch v0-7 (flexible from v6). -1 for partitions without a commit;
// a null topic list (v2+) returns every partition the group committed.
#include "kafka/groups/coordinator.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status offset_fetch(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_offset_fetch_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  respond(groups::encode_offset_fetch_response(s.groups.fetch_offsets(*decoded), version));
  return {};
}

}  // namespace strata::kafka::handlers
