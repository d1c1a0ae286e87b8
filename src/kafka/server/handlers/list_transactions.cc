// ListTransactions v0 (flexible): the transactional ids the coordinator knows,
// filtered by state name and producer id (an empty filter matches all), and
// only those the principal may DESCRIBE, as in Kafka. A state filter that
// names no Kafka transaction state comes back in unknown_state_filters.
// Without a coordinator the list is empty.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/txn_wire.h"
#include "kafka/txn/coordinator.h"

namespace strata::kafka::handlers {

namespace {

struct list_request {
  std::vector<std::string> states;
  std::vector<int64_t> producer_ids;
};

bool decode(reader& r, list_request& req) {
  int32_t n = r.array_length(true);
  if (n > txn_ids_per_request_max) r.fail();
  for (int32_t i = 0; i < n && r.ok(); ++i) req.states.push_back(r.string(true));
  int32_t m = r.array_length(true);
  if (m > txn_ids_per_request_max) r.fail();
  for (int32_t i = 0; i < m && r.ok(); ++i) req.producer_ids.push_back(r.i64());
  r.skip_tagged_fields();
  return r.ok();
}

bool known_state(std::string_view name) {
  constexpr std::array all{txn::txn_state::empty,          txn::txn_state::ongoing,
                           txn::txn_state::prepare_commit, txn::txn_state::prepare_abort,
                           txn::txn_state::complete_commit, txn::txn_state::complete_abort};
  // Kafka's two further states; Strata never reports them, so they match nothing.
  if (name == "Dead" || name == "PrepareEpochFence") return true;
  return std::ranges::any_of(all, [&](txn::txn_state s) { return name == txn::state_name(s); });
}

template <class T>
bool matches(const std::vector<T>& filter, const T& value) {
  return filter.empty() || std::ranges::find(filter, value) != filter.end();
}

}  // namespace

status list_transactions(services& s, const request& req, respond_fn respond) {
  reader r(req.body);
  list_request parsed;
  if (!decode(r, parsed)) return malformed_request(req.header);
  std::vector<std::string> unknown;
  for (const auto& f : parsed.states) {
    if (!known_state(f)) unknown.push_back(f);
  }
  std::vector<const txn::txn_metadata*> listed;
  if (s.transactions) {
    for (const txn::txn_metadata* m : s.transactions->all()) {
      if (!matches(parsed.states, std::string(txn::state_name(m->state))) ||
          !matches(parsed.producer_ids, m->producer_id) ||
          !authorized(s, req, auth::operation::describe, auth::resource_type::transactional_id, m->transactional_id)) {
        continue;
      }
      listed.push_back(m);
    }
  }
  writer w;
  w.i32(0);  // throttle_time_ms
  w.i16(0);  // error_code: listing cannot fail
  w.array_length(static_cast<int32_t>(unknown.size()), true);
  for (const auto& f : unknown) w.string(f, true);
  w.array_length(static_cast<int32_t>(listed.size()), true);
  for (const txn::txn_metadata* m : listed) {
    w.string(m->transactional_id, true);
    w.i64(m->producer_id);
    w.string(txn::state_name(m->state), true);
    w.empty_tagged_fields();
  }
  w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
