// EndTxn v0-3 (flexible from v3): commits or aborts the producer's
// transaction. The answer waits until the transaction is complete: its
// markers durable in every partition it wrote and, on commit, its offsets
// stored. Needs WRITE on the transactional id. v0-1 get
// INVALID_PRODUCER_EPOCH for PRODUCER_FENCED.
#include <string>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/txn_wire.h"
#include "kafka/txn/coordinator.h"

namespace strata::kafka::handlers {

namespace {

struct end_request {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool commit = false;
};

bool decode(reader& r, bool flex, end_request& req) {
  req.transactional_id = r.string(flex);
  req.producer_id = r.i64();
  req.producer_epoch = r.i16();
  req.commit = r.boolean();
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

}  // namespace

status end_txn(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  end_request parsed;
  if (!decode(r, flex, parsed)) return malformed_request(req.header);
  auto answer = [&s, header = req.header, flex, respond = std::move(respond)](error_code e) {
    writer w;
    w.i32(0);  // throttle_time_ms
    w.i16(counted_code(s, header, fenced_for(e, header.api_version, 2)));
    if (flex) w.empty_tagged_fields();
    respond(std::move(w.buffer()));
  };
  if (!authorized(s, req, auth::operation::write, auth::resource_type::transactional_id, parsed.transactional_id)) {
    answer(error_code::transactional_id_authorization_failed);
  } else if (!s.transactions) {
    answer(no_transactions);
  } else {
    s.transactions->end_txn(parsed.transactional_id, parsed.producer_id, parsed.producer_epoch, parsed.commit,
                            std::move(answer));
  }
  return {};
}

}  // namespace strata::kafka::handlers
