// DeleteAcls v0-3 (flexible from v2): per filter, in order, the bindings it
// deleted. A binding several filters select is reported under the first.
// Needs ALTER on the cluster. v0 has no pattern type: filters select literal
// bindings.
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

struct filter_result {
  error_code error = error_code::none;
  std::optional<std::string> message;
  std::vector<auth::acl_binding> deleted;
};

bool decode(reader& r, int16_t version, bool flex, std::vector<auth::acl_filter>& filters) {
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    filters.push_back(decode_acl_filter(r, version, flex));
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

filter_result delete_one(auth::acl_store& acls, const auth::acl_filter& f) {
  filter_result out;
  if (auto st = auth::validate(f); !st) {
    out.error = error_code::invalid_request;
    out.message = st.err().message;
    return out;
  }
  auto removed = acls.remove_matching(f);
  if (!removed) {
    out.error = removed.code() == errc::invalid_argument ? error_code::invalid_request : error_code::unknown_server_error;
    out.message = removed.err().message;
    return out;
  }
  out.deleted = std::move(*removed);
  return out;
}

std::vector<filter_result> delete_all(services& s, const request& req, const std::vector<auth::acl_filter>& filters) {
  auto all = [&](error_code e, const std::string& message) {
    return std::vector<filter_result>(filters.size(), filter_result{.error = e, .message = message, .deleted = {}});
  };
  if (!cluster_authorized(s, req, auth::operation::alter)) {
    return all(error_code::cluster_authorization_failed, cluster_denied_message(req, auth::operation::alter));
  }
  if (s.acls == nullptr) return all(error_code::security_disabled, acls_disabled_message());
  if (filters.size() > static_cast<size_t>(acl_request_entries_max)) {
    return all(error_code::invalid_request, "at most " + std::to_string(acl_request_entries_max) +
                                                " filters per DeleteAcls request: send them in smaller batches");
  }
  std::vector<filter_result> results;
  results.reserve(filters.size());
  for (const auto& f : filters) results.push_back(delete_one(*s.acls, f));
  return results;
}

void encode(writer& w, int16_t version, bool flex, const std::vector<filter_result>& results) {
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& res : results) {
    w.i16(wire_code(res.error));
    w.nullable_string(res.message, flex);
    w.array_length(static_cast<int32_t>(res.deleted.size()), flex);
    for (const auto& b : res.deleted) {
      w.i16(wire_code(error_code::none));
      w.nullable_string(std::nullopt, flex);
      w.i8(static_cast<int8_t>(b.type));
      w.string(b.name, flex);
      if (version >= 1) w.i8(static_cast<int8_t>(b.pattern));
      encode_acl_access(w, b, flex);
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
}

}  // namespace

status delete_acls(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::vector<auth::acl_filter> filters;
  if (!decode(r, version, flex, filters)) return malformed_request(req.header);
  auto results = delete_all(s, req, filters);
  count_errors(s, req.header, results);
  writer w;
  encode(w, version, flex, results);
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
