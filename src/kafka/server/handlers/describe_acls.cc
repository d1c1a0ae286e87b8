// DescribeAcls v0-3 (flexible from v2): the bindings one filter selects,
// grouped by resource pattern. Needs DESCRIBE on the cluster. v0 has no
// pattern type: its filter selects literal bindings.
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "auth/acl.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

namespace {

using resource_key = std::tuple<auth::resource_type, std::string, auth::pattern_type>;

struct describe_result {
  error_code error = error_code::none;
  std::optional<std::string> message;
  std::map<resource_key, std::vector<auth::acl_binding>> resources;
};

describe_result describe(const services& s, const request& req, const auth::acl_filter& filter) {
  describe_result out;
  auto fail = [&out](error_code e, std::string message) {
    out.error = e;
    out.message = std::move(message);
    return out;
  };
  if (!cluster_authorized(s, req, auth::operation::describe)) {
    return fail(error_code::cluster_authorization_failed, cluster_denied_message(req, auth::operation::describe));
  }
  if (s.acls == nullptr) return fail(error_code::security_disabled, acls_disabled_message());
  if (auto st = auth::validate(filter); !st) return fail(error_code::invalid_request, st.err().message);
  for (auto& b : s.acls->matching(filter)) {
    resource_key key{b.type, b.name, b.pattern};
    out.resources[key].push_back(std::move(b));
  }
  return out;
}

void encode(writer& w, int16_t version, bool flex, int16_t code, const describe_result& res) {
  w.i32(0);  // throttle_time_ms
  w.i16(code);
  w.nullable_string(res.message, flex);
  w.array_length(static_cast<int32_t>(res.resources.size()), flex);
  for (const auto& [key, bindings] : res.resources) {
    w.i8(static_cast<int8_t>(std::get<0>(key)));
    w.string(std::get<1>(key), flex);
    if (version >= 1) w.i8(static_cast<int8_t>(std::get<2>(key)));
    w.array_length(static_cast<int32_t>(bindings.size()), flex);
    for (const auto& b : bindings) {
      encode_acl_access(w, b, flex);
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status describe_acls(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  auth::acl_filter filter = decode_acl_filter(r, version, flex);
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return malformed_request(req.header);
  describe_result res = describe(s, req, filter);
  writer w;
  encode(w, version, flex, counted_code(s, req.header, res.error), res);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
