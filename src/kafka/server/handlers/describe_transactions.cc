// DescribeTransactions v0 (flexible): the coordinator's state of each named
// transactional id. Needs DESCRIBE on the transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an id the coordinator does not
// know, or any id when there is no coordinator, answers
// TRANSACTIONAL_ID_NOT_FOUND. Only partitions of topics the principal may
// DESCRIBE are listed, as in Kafka.
#include <string>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/txn_wire.h"
#include "kafka/txn/coordinator.h"

namespace strata::kafka::handlers {

namespace {

struct txn_description {
  error_code error = error_code::none;
  std::string transactional_id;
  const txn::txn_metadata* found = nullptr;  // set when error is none
};

bool decode(reader& r, std::vector<std::string>& ids) {
  int32_t n = r.array_length(true);
  if (n > txn_ids_per_request_max) r.fail();
  for (int32_t i = 0; i < n && r.ok(); ++i) ids.push_back(r.string(true));
  r.skip_tagged_fields();
  return r.ok();
}

txn_description describe(services& s, const request& req, std::string id) {
  txn_description d{.error = error_code::none, .transactional_id = std::move(id), .found = nullptr};
  if (!authorized(s, req, auth::operation::describe, auth::resource_type::transactional_id, d.transactional_id)) {
    d.error = error_code::transactional_id_authorization_failed;
  } else {
    d.found = s.transactions ? s.transactions->find(d.transactional_id) : nullptr;
    if (!d.found) d.error = error_code::transactional_id_not_found;
  }
  return d;
}

// The transaction's partitions grouped by topic (the set is ordered by topic).
void encode_partitions(writer& w, services& s, const request& req, const txn::txn_metadata& m) {
  std::vector<std::pair<std::string, std::vector<int32_t>>> topics;
  for (const auto& tp : m.partitions) {
    if (topics.empty() || topics.back().first != tp.topic) topics.push_back({tp.topic, {}});
    topics.back().second.push_back(tp.partition);
  }
  std::erase_if(topics, [&](const auto& t) {
    return !authorized(s, req, auth::operation::describe, auth::resource_type::topic, t.first);
  });
  w.array_length(static_cast<int32_t>(topics.size()), true);
  for (const auto& [name, partitions] : topics) {
    w.string(name, true);
    w.array_length(static_cast<int32_t>(partitions.size()), true);
    for (int32_t p : partitions) w.i32(p);
    w.empty_tagged_fields();
  }
}

}  // namespace

status describe_transactions(services& s, const request& req, respond_fn respond) {
  reader r(req.body);
  std::vector<std::string> ids;
  if (!decode(r, ids)) return malformed_request(req.header);
  std::vector<txn_description> results;
  for (auto& id : ids) results.push_back(describe(s, req, std::move(id)));
  count_errors(s, req.header, results);
  writer w;
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), true);
  for (const auto& d : results) {
    const txn::txn_metadata* m = d.found;
    w.i16(wire_code(d.error));
    w.string(d.transactional_id, true);
    w.string(m ? txn::state_name(m->state) : "", true);
    w.i32(m ? m->timeout_ms : 0);
    w.i64(m ? m->start_ms : -1);
    w.i64(m ? m->producer_id : -1);
    w.i32(m ? m->producer_epoch : -1);  // int32 in this schema
    if (m) {
      encode_partitions(w, s, req, *m);
    } else {
      w.array_length(0, true);
    }
    w.empty_tagged_fields();
  }
  w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
