// AddPartitionsToTxn v0-3 (flexible from v3): a transactional producer names
// the partitions it is about to write before its first batch to each. Needs
// WRITE on the transactional id (else every partition answers
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and WRITE on each topic: when any
// topic is denied, its partitions answer TOPIC_AUTHORIZATION_FAILED, the rest
// OPERATION_NOT_ATTEMPTED and nothing is added, as in Kafka. The coordinator
// answers the rest (a partition that does not exist fails the request the
// same way). v0-1 get INVALID_PRODUCER_EPOCH for PRODUCER_FENCED.
#include <string>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/topic_partitions.h"
#include "kafka/server/handlers/txn_wire.h"
#include "kafka/txn/coordinator.h"

namespace strata::kafka::handlers {

namespace {

struct add_request {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::vector<topic_request> topics;
};

bool decode(reader& r, bool flex, add_request& req) {
  req.transactional_id = r.string(flex);
  req.producer_id = r.i64();
  req.producer_epoch = r.i16();
  decode_topic_partitions(r, flex, req.topics);
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

// One error per partition, in request order.
std::vector<error_code> add(services& s, const request& req, const add_request& a) {
  size_t total = 0;
  for (const auto& t : a.topics) total += t.partitions.size();
  auto all = [&](error_code e) { return std::vector<error_code>(total, e); };
  if (!authorized(s, req, auth::operation::write, auth::resource_type::transactional_id, a.transactional_id)) {
    return all(error_code::transactional_id_authorization_failed);
  }
  std::vector<bool> denied;
  bool any_denied = false;
  for (const auto& t : a.topics) {
    denied.push_back(!authorized(s, req, auth::operation::write, auth::resource_type::topic, t.name));
    any_denied = any_denied || denied.back();
  }
  if (any_denied) {
    std::vector<error_code> out;
    for (size_t i = 0; i < a.topics.size(); ++i) {
      out.insert(out.end(), a.topics[i].partitions.size(),
                 denied[i] ? error_code::topic_authorization_failed : error_code::operation_not_attempted);
    }
    return out;
  }
  if (!s.transactions) return all(no_transactions);
  std::vector<txn::topic_partition> tps;
  for (const auto& t : a.topics) {
    for (int32_t p : t.partitions) tps.push_back({t.name, p});
  }
  auto out = s.transactions->add_partitions(a.transactional_id, a.producer_id, a.producer_epoch, tps);
  if (out.size() != total) return all(error_code::unknown_server_error);
  for (auto& e : out) e = fenced_for(e, req.header.api_version, 2);
  return out;
}

}  // namespace

status add_partitions_to_txn(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  add_request parsed;
  if (!decode(r, flex, parsed)) return malformed_request(req.header);
  const auto errors = add(s, req, parsed);
  writer w;
  w.i32(0);  // throttle_time_ms
  encode_partition_errors(w, s, req.header, parsed.topics, errors);
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
