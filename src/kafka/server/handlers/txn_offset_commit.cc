// TxnOffsetCommit v0-3 (flexible from v3): a transactional producer commits
// consumer offsets within its transaction; they become the group's committed
// offsets only when the transaction commits. Needs WRITE on the transactional
// id and READ on the group (else every partition answers
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED or GROUP_AUTHORIZATION_FAILED), and
// READ on each topic (TOPIC_AUTHORIZATION_FAILED for that topic's partitions,
// the others still go ahead). Partitions that do not exist answer
// UNKNOWN_TOPIC_OR_PARTITION. Kafka never answers this API PRODUCER_FENCED,
// so every version gets INVALID_PRODUCER_EPOCH instead.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/topic_partitions.h"
#include "kafka/server/handlers/txn_wire.h"
#include "kafka/txn/coordinator.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct offset_partition {
  int32_t index = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  error_code error = error_code::none;  // the answer
};

struct offset_topic {
  std::string name;
  std::vector<offset_partition> partitions;
};

struct commit_request {
  txn::txn_offset_commit_request head;  // offsets filled in once authorized
  std::vector<offset_topic> topics;
};

bool decode(reader& r, int16_t version, bool flex, commit_request& req) {
  auto& h = req.head;
  h.transactional_id = r.string(flex);
  h.group_id = r.string(flex);
  h.producer_id = r.i64();
  h.producer_epoch = r.i16();
  if (version >= 3) {
    h.generation_id = r.i32();
    h.member_id = r.string(flex);
    h.group_instance_id = r.nullable_string(flex);
  }
  size_t total = 0;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    offset_topic& t = req.topics.emplace_back();
    t.name = r.string(flex);
    int32_t m = r.array_length(flex);
    for (int32_t j = 0; j < m && r.ok(); ++j) {
      offset_partition& p = t.partitions.emplace_back();
      p.index = r.i32();
      p.offset = r.i64();
      if (version >= 2) p.leader_epoch = r.i32();
      p.metadata = r.nullable_string(flex);
      if (flex) r.skip_tagged_fields();
    }
    total += t.partitions.size();
    if (total > partitions_per_request_max) r.fail();
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Fills in every partition's error.
void commit(services& s, const request& req, commit_request& c) {
  auto all = [&](error_code e) {
    for (auto& t : c.topics) {
      for (auto& p : t.partitions) p.error = e;
    }
  };
  if (!authorized(s, req, auth::operation::write, auth::resource_type::transactional_id, c.head.transactional_id)) {
    return all(error_code::transactional_id_authorization_failed);
  }
  if (!authorized(s, req, auth::operation::read, auth::resource_type::group, c.head.group_id)) {
    return all(error_code::group_authorization_failed);
  }
  const int64_t now = wall_clock_ms();
  std::map<std::string, int32_t> partition_counts;
  std::vector<offset_partition*> sent;
  for (auto& t : c.topics) {
    const bool may_read = authorized(s, req, auth::operation::read, auth::resource_type::topic, t.name);
    auto [count, fresh] = partition_counts.try_emplace(t.name, 0);
    if (fresh) {
      auto info = s.streams.describe_topic(t.name);
      count->second = info.ok() ? static_cast<int32_t>(info->partitions.size()) : 0;
    }
    for (auto& p : t.partitions) {
      if (!may_read) {
        p.error = error_code::topic_authorization_failed;
      } else if (p.index < 0 || p.index >= count->second) {
        p.error = error_code::unknown_topic_or_partition;
      } else if (!s.transactions) {
        p.error = no_transactions;
      } else {
        groups::committed_offset value{.offset = p.offset,
                                       .leader_epoch = p.leader_epoch,
                                       .metadata = p.metadata.value_or(""),
                                       .commit_timestamp_ms = now};
        c.head.offsets.emplace_back(txn::topic_partition{t.name, p.index}, std::move(value));
        sent.push_back(&p);
      }
    }
  }
  if (sent.empty()) return;
  auto errors = s.transactions->commit_offsets(c.head);
  for (size_t i = 0; i < sent.size(); ++i) {
    const error_code e = i < errors.size() ? errors[i] : error_code::unknown_server_error;
    sent[i]->error = fenced_for(e, req.header.api_version, /*fenced_since=*/INT16_MAX);
  }
}

}  // namespace

status txn_offset_commit(services& s, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  commit_request parsed;
  if (!decode(r, req.header.api_version, flex, parsed)) return malformed_request(req.header);
  commit(s, req, parsed);
  writer w;
  w.i32(0);  // throttle_time_ms
  std::vector<topic_request> topics;
  std::vector<error_code> errors;
  for (const auto& t : parsed.topics) {
    topic_request& named = topics.emplace_back(topic_request{t.name, {}});
    for (const auto& p : t.partitions) {
      named.partitions.push_back(p.index);
      errors.push_back(p.error);
    }
  }
  encode_partition_errors(w, s, req.header, topics, errors);
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
