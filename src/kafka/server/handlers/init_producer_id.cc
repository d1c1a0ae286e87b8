// InitProducerId v0-4 (flexible from v2). Idempotent producers (a null
// transactional_id) get a producer id and epoch from the streams service;
// v3+ may pass their current id and epoch to have the epoch bumped. They need
// IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
//
// A transactional producer needs WRITE on its transactional id and a
// transaction timeout within 1..transaction.max.timeout.ms
// (INVALID_TRANSACTION_TIMEOUT); the transaction coordinator answers it,
// possibly later (an open transaction is aborted first). v0-3 get
// INVALID_PRODUCER_EPOCH for PRODUCER_FENCED. Without a coordinator
// (services.transactions is null) it gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
// see txn_wire.h.
#include <optional>
#include <string>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/txn_wire.h"
#include "kafka/txn/coordinator.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct init_request {
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

bool decode(reader& r, int16_t version, bool flex, init_request& req) {
  req.transactional_id = r.nullable_string(flex);
  req.transaction_timeout_ms = r.i32();
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

txn::producer_identity init_idempotent(services& s, const request& r, const init_request& req) {
  if (!may_write_idempotently(s, r)) return {.error = error_code::cluster_authorization_failed};
  auto id = s.streams.init_producer_id(req.producer_id, req.producer_epoch);
  return {.error = to_kafka_error(id.error), .producer_id = id.producer_id, .producer_epoch = id.producer_epoch};
}

// The error that refuses a transactional producer before the coordinator, or none.
error_code refuse_transactional(services& s, const request& r, const init_request& req) {
  // Kafka refuses an empty transactional id as a malformed request.
  if (req.transactional_id->empty()) return error_code::invalid_request;
  if (!authorized(s, r, auth::operation::write, auth::resource_type::transactional_id, *req.transactional_id)) {
    return error_code::transactional_id_authorization_failed;
  }
  if (!s.transactions) return no_transactions;
  if (req.transaction_timeout_ms <= 0 ||
      req.transaction_timeout_ms > s.transactions->config().transaction_timeout_max_ms) {
    return error_code::invalid_transaction_timeout;
  }
  return error_code::none;
}

}  // namespace

status init_producer_id(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  init_request parsed;
  if (!decode(r, version, flex, parsed)) return malformed_request(req.header);
  auto answer = [&s, header = req.header, flex, respond = std::move(respond)](txn::producer_identity id) {
    const error_code error = fenced_for(id.error, header.api_version, 4);
    const bool ok = error == error_code::none;
    writer w;
    w.i32(0);  // throttle_time_ms
    w.i16(counted_code(s, header, error));
    w.i64(ok ? id.producer_id : -1);
    w.i16(ok ? id.producer_epoch : static_cast<int16_t>(-1));
    if (flex) w.empty_tagged_fields();
    respond(std::move(w.buffer()));
  };
  if (!parsed.transactional_id) {
    answer(init_idempotent(s, req, parsed));
  } else if (error_code refused = refuse_transactional(s, req, parsed); refused != error_code::none) {
    answer({.error = refused});
  } else {
    s.transactions->init_producer_id(*parsed.transactional_id, parsed.transaction_timeout_ms, parsed.producer_id,
                                     parsed.producer_epoch, std::move(answer));
  }
  return {};
}

}  // namespace strata::kafka::handlers
