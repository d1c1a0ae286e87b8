// AddOffsetsToTxn v0-3 (flexible from v3): the transaction will commit
// offsets of this consumer group (TxnOffsetCommit follows). Needs WRITE on the
// transactional id and READ on the group. v0-1 get INVALID_PRODUCER_EPOCH for
// PRODUCER_FENCED.
#include <string>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/txn_wire.h"
#include "kafka/txn/coordinator.h"

namespace strata::kafka::handlers {

namespace {

struct add_offsets_request {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::string group_id;
};

bool decode(reader& r, bool flex, add_offsets_request& req) {
  req.transactional_id = r.string(flex);
  req.producer_id = r.i64();
  req.producer_epoch = r.i16();
  req.group_id = r.string(flex);
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

error_code add(services& s, const request& req, const add_offsets_request& a) {
  if (!authorized(s, req, auth::operation::write, auth::resource_type::transactional_id, a.transactional_id)) {
    return error_code::transactional_id_authorization_failed;
  }
  if (!authorized(s, req, auth::operation::read, auth::resource_type::group, a.group_id)) {
    return error_code::group_authorization_failed;
  }
  if (!s.transactions) return no_transactions;
  auto e = s.transactions->add_offsets(a.transactional_id, a.producer_id, a.producer_epoch, a.group_id);
  return fenced_for(e, req.header.api_version, 2);
}

}  // namespace

status add_offsets_to_txn(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  add_offsets_request parsed;
  if (!decode(r, flex, parsed)) return malformed_request(req.header);
  writer w;
  w.i32(0);  // throttle_time_ms
  w.i16(counted_code(s, req.header, add(s, req, parsed)));
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
