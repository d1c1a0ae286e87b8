// DescribeClientQuotas v0-1 (flexible from v1): the quotas whose entity
// matches every filter component (exact name, the default, or any); with
// `strict`, entities with other parts are left out. Needs DESCRIBE_CONFIGS
// on the cluster.
#include <fmt/format.h>

#include "kafka/server/authorize.h"
#include "kafka/server/client_quotas.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/client_quota_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

namespace {

enum class match_type : int8_t { exact = 0, default_entity = 1, any = 2 };

struct component {
  std::string type;
  match_type match = match_type::any;
  std::optional<std::string> name;
};

const entity_part* part_of(const quota_entity& e, std::string_view type) {
  if (type == entity_user) return &e.user;
  if (type == entity_client_id) return &e.client_id;
  return nullptr;
}

bool matches(const quota_entity& e, const std::vector<component>& filter, bool strict) {
  size_t named_parts = 0;
  for (const auto& c : filter) {
    const entity_part* p = part_of(e, c.type);
    if (p == nullptr || p->what == entity_part::kind::absent) return false;
    ++named_parts;
    if (c.match == match_type::exact && !(p->what == entity_part::kind::named && c.name && p->name == *c.name)) {
      return false;
    }
    if (c.match == match_type::default_entity && p->what != entity_part::kind::default_entity) return false;
  }
  const size_t parts = (e.user.what != entity_part::kind::absent) + (e.client_id.what != entity_part::kind::absent);
  return !strict || parts == named_parts;
}

}  // namespace

status describe_client_quotas(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::vector<component> filter;
  const int32_t n = r.array_length(flex);
  if (n > 2) return make_error(errc::invalid_argument, "a quota filter has at most two components");
  std::optional<std::string> problem;
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    component c;
    c.type = r.string(flex);
    const int8_t match = r.i8();
    c.name = r.nullable_string(flex);
    if (flex) r.skip_tagged_fields();
    if (match < 0 || match > 2) problem = fmt::format("match type {} is not 0 (exact), 1 (default) or 2 (any)", match);
    if (c.type != entity_user && c.type != entity_client_id) {
      problem = fmt::format("entity type {} is not supported; use user or client-id", c.type);
    }
    c.match = static_cast<match_type>(match);
    filter.push_back(std::move(c));
  }
  const bool strict = r.boolean();
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return malformed_request(req.header);

  error_code error = error_code::none;
  if (!cluster_authorized(s, req, auth::operation::describe_configs)) {
    error = error_code::cluster_authorization_failed;
    problem = fmt::format("{} needs DESCRIBE_CONFIGS on the cluster to read quotas", req.principal);
  } else if (problem) {
    error = error_code::invalid_request;
  }
  std::vector<std::pair<quota_entity, quota_values>> found;
  if (error == error_code::none && s.quotas != nullptr) {
    for (auto& entry : s.quotas->all()) {
      if (matches(entry.first, filter, strict)) found.push_back(std::move(entry));
    }
  }
  writer w;
  w.i32(0);  // throttle_time_ms
  w.i16(counted_code(s, req.header, error));
  w.nullable_string(problem, flex);
  if (error != error_code::none) {
    w.array_length(-1, flex);
  } else {
    w.array_length(static_cast<int32_t>(found.size()), flex);
    for (const auto& [entity, values] : found) {
      encode_entity(w, flex, entity);
      w.array_length(static_cast<int32_t>(values.size()), flex);
      for (const auto& [key, value] : values) {
        w.string(key, flex);
        w.f64(value);
        if (flex) w.empty_tagged_fields();
      }
      if (flex) w.empty_tagged_fields();
    }
  }
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
