// AlterClientQuotas v0-1 (flexible from v1): sets or removes
// producer_byte_rate and consumer_byte_rate of users, client ids, or both;
// needs ALTER_CONFIGS on the cluster. Each entry succeeds or fails alone.
#include <fmt/format.h>

#include "kafka/server/authorize.h"
#include "kafka/server/client_quotas.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/client_quota_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

namespace {

struct alter_entry {
  quota_entity entity;
  std::vector<quota_op> ops;
  std::optional<std::string> problem;
};

struct entry_result {
  error_code error = error_code::none;
  std::optional<std::string> message;
};

entry_result apply(services& s, const request& req, const alter_entry& e, bool validate_only) {
  if (!cluster_authorized(s, req, auth::operation::alter_configs)) {
    return {error_code::cluster_authorization_failed,
            fmt::format("{} needs ALTER_CONFIGS on the cluster to change quotas", req.principal)};
  }
  if (s.quotas == nullptr) return {error_code::invalid_request, "client quotas are not available on this server"};
  if (e.problem) return {error_code::invalid_request, e.problem};
  auto done = s.quotas->alter(e.entity, e.ops, validate_only);
  if (!done.ok()) return {to_kafka_error(done.code(), error_code::invalid_request), done.err().message};
  return {};
}

}  // namespace

status alter_client_quotas(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::vector<alter_entry> entries;
  const int32_t n = r.array_length(flex);
  if (n > quota_entries_max) return make_error(errc::invalid_argument, "too many AlterClientQuotas entries");
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    alter_entry e;
    e.problem = decode_entity(r, flex, e.entity);
    const int32_t ops = r.array_length(flex);
    for (int32_t j = 0; j < ops && r.ok(); ++j) {
      quota_op op;
      op.key = r.string(flex);
      op.value = r.f64();
      op.remove = r.boolean();
      if (flex) r.skip_tagged_fields();
      e.ops.push_back(std::move(op));
    }
    if (flex) r.skip_tagged_fields();
    entries.push_back(std::move(e));
  }
  const bool validate_only = r.boolean();
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return malformed_request(req.header);

  writer w;
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(entries.size()), flex);
  for (const auto& e : entries) {
    const entry_result res = apply(s, req, e, validate_only);
    w.i16(counted_code(s, req.header, res.error));
    w.nullable_string(res.message, flex);
    encode_entity(w, flex, e.entity);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
