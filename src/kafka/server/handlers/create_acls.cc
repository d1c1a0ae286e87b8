// CreateAcls v0-3 (flexible from v2): one result per creation, in order.
// Needs ALTER on the cluster. v0 has no pattern type: bindings are literal.
// A binding auth::validate refuses gets INVALID_REQUEST with its reason.
#include <optional>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

namespace {

struct create_result {
  error_code error = error_code::none;
  std::optional<std::string> message;
};

bool decode(reader& r, int16_t version, bool flex, std::vector<auth::acl_binding>& creations) {
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    auth::acl_binding b;
    b.type = resource_type_from_wire(r.i8());
    b.name = r.string(flex);
    b.pattern = version >= 1 ? pattern_type_from_wire(r.i8()) : auth::pattern_type::literal;
    b.principal = r.string(flex);
    b.host = r.string(flex);
    b.op = operation_from_wire(r.i8());
    b.perm = permission_from_wire(r.i8());
    if (flex) r.skip_tagged_fields();
    creations.push_back(std::move(b));
  }
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

create_result create_one(auth::acl_store& acls, const auth::acl_binding& b) {
  auto st = acls.add(b);
  if (st) return {};
  bool refused = st.code() == errc::invalid_argument || st.code() == errc::limit_exceeded;
  return {.error = refused ? error_code::invalid_request : error_code::unknown_server_error,
          .message = st.err().message};
}

std::vector<create_result> create_all(services& s, const request& req, const std::vector<auth::acl_binding>& creations) {
  auto all = [&](error_code e, const std::string& message) {
    return std::vector<create_result>(creations.size(), create_result{.error = e, .message = message});
  };
  if (!cluster_authorized(s, req, auth::operation::alter)) {
    return all(error_code::cluster_authorization_failed, cluster_denied_message(req, auth::operation::alter));
  }
  if (s.acls == nullptr) return all(error_code::security_disabled, acls_disabled_message());
  if (creations.size() > static_cast<size_t>(acl_request_entries_max)) {
    return all(error_code::invalid_request, "at most " + std::to_string(acl_request_entries_max) +
                                                " ACL bindings per CreateAcls request: send them in smaller batches");
  }
  std::vector<create_result> results;
  results.reserve(creations.size());
  for (const auto& b : creations) results.push_back(create_one(*s.acls, b));
  return results;
}

void encode(writer& w, bool flex, const std::vector<create_result>& results) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& res : results) {
    w.i16(wire_code(res.error));
    w.nullable_string(res.message, flex);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status create_acls(services& s, const request& req, respond_fn respond) {
  reader r(req.body);
  std::vector<auth::acl_binding> creations;
  if (!decode(r, req.header.api_version, req.header.flexible, creations)) return malformed_request(req.header);
  auto results = create_all(s, req, creations);
  count_errors(s, req.header, results);
  writer w;
  encode(w, req.header.flexible, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
