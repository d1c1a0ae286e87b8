// InitProducerId v0-4 (flexible from v2). Idempotent producers (a null
// transactional_id) get a producer id and epoch from the streams service;
// v3+ may pass their current id and epoch to have the epoch bumped.
//
// Transactions are not supported yet. A transactional producer gets
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which librdkafka and the Java client
// treat as fatal, so init_transactions() fails at once with a clear error
// instead of retrying forever as it would on COORDINATOR_NOT_AVAILABLE.
#include <optional>
#include <string>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct init_request {
  std::optional<std::string> transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

bool decode(reader& r, int16_t version, bool flex, init_request& req) {
  req.transactional_id = r.nullable_string(flex);
  (void)r.i32();  // transaction_timeout_ms: only for transactions
  if (version >= 3) {
    req.producer_id = r.i64();
    req.producer_epoch = r.i16();
  }
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

// Kafka 3 (KIP-679): IDEMPOTENT_WRITE on the cluster, or WRITE on any topic.
bool may_write_idempotently(services& s, const request& req) {
  if (cluster_authorized(s, req, auth::operation::idempotent_write)) return true;
  for (const auto& t : s.streams.list_topics()) {
    if (authorized(s, req, auth::operation::write, auth::resource_type::topic, t.name)) return true;
  }
  return false;
}

streams::service::producer_identity init(services& s, const request& r, const init_request& req, error_code& error) {
  streams::service& svc = s.streams;
  if (req.transactional_id) {
    // Kafka refuses an empty transactional id as a malformed request.
    error = req.transactional_id->empty() ? error_code::invalid_request
                                          : error_code::transactional_id_authorization_failed;
    return {};
  }
  if (!may_write_idempotently(s, r)) {
    error = error_code::cluster_authorization_failed;
    return {};
  }
  auto id = svc.init_producer_id(req.producer_id, req.producer_epoch);
  error = to_kafka_error(id.error);
  return id;
}

}  // namespace

status init_producer_id(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  init_request parsed;
  if (!decode(r, version, flex, parsed)) return malformed_request(req.header);
  error_code error = error_code::none;
  auto id = init(s, req, parsed, error);
  bool ok = error == error_code::none;
  writer w;
  w.i32(0);  // throttle_time_ms
  w.i16(counted_code(s, req.header, error));
  w.i64(ok ? id.producer_id : -1);
  w.i16(ok ? id.producer_epoch : static_cast<int16_t>(-1));
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
