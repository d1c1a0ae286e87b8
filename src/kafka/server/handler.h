// The contract between a Kafka connection and the handler of one API.
//
// A handler decodes the request body for the header's version, does the work
// through the services, and calls `respond` exactly once with the encoded
// response body (no size prefix, no response header), or with nullopt when
// the protocol says nothing is sent back (Produce with acks=0). It may respond
// later, from a callback, for requests that wait (Fetch, JoinGroup, ...).
// The connection sends responses in request order.
//
// A handler returns an error only when the body cannot be decoded; the
// connection then closes, as Kafka brokers do for malformed requests.
#pragma once

#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/scheduler.h"
#include "kafka/protocol/api.h"

namespace strata::streams {
class service;
}
namespace strata::auth {
class user_store;
class acl_store;
class authorizer;
}
namespace strata::kafka::groups {
class coordinator;
class offsets_log;
}
namespace strata::kafka::txn {
class coordinator;
}

namespace strata::kafka {

class sasl_session;
class quota_store;
class quota_meter;

// A connection's mute (KIP-219): after an answer that carried a throttle time,
// the connection reads no further request until `until`.
struct connection_throttle {
  std::chrono::steady_clock::time_point until{};
};

struct broker_config {
  int32_t node_id = 0;
  std::string advertised_host = "127.0.0.1";
  int32_t advertised_port = 9092;
  std::string cluster_id = "strata-single-node";
  uint32_t fetch_bytes_max = 64 << 20;    // cap on one Fetch response
  int32_t fetch_wait_ms_max = 30'000;     // cap on a Fetch long poll
  // Cluster TLS is on: a Fetch with a replica id must come from a peer that
  // proved it is a node, so that no client can pose as a follower.
  bool replica_fetch_needs_node = false;
};

struct services {
  streams::service& streams;
  groups::coordinator& groups;
  scheduler& sched;
  const broker_config& broker;
  // Told of every non-zero error code a handler puts in a response (for
  // /metrics); may be empty.
  std::function<void(int16_t api_key, error_code code)> on_error = nullptr;
  // Cluster mode: where groups are coordinated and their commits replicated.
  groups::offsets_log* offsets_log = nullptr;
  // SASL users and ACLs (may be null in tests). A null authorizer means
  // authorization is off: every request is allowed.
  auth::user_store* users = nullptr;
  auth::acl_store* acls = nullptr;
  const auth::authorizer* authorizer = nullptr;
  // Client quotas (may be null: no quotas).
  quota_store* quotas = nullptr;
  quota_meter* quota_meters = nullptr;
  // The transaction coordinator (null in cluster mode and in tests without
  // transactions: transactional ids are then refused).
  txn::coordinator* transactions = nullptr;
};

struct request {
  request_header header;
  std::span<const uint8_t> body;  // valid only during the handler call
  std::string_view client_host = {};  // the peer's address as Kafka reports it ("/127.0.0.1")
  bool from_cluster_node = false;     // the peer's TLS certificate was signed by the cluster CA
  // Who sent it: "User:NAME" after SASL or a TLS client certificate, else "User:ANONYMOUS".
  std::string_view principal = "User:ANONYMOUS";
  std::string_view client_ip = {};  // the peer's address without the slash, for host-scoped ACLs
  sasl_session* sasl = nullptr;     // the connection's SASL exchange, on SASL listeners
  // The listener is for node-to-node traffic (--replication-listen): ACLs do not apply.
  bool node_listener = false;
  // This listener's host and port as clients should dial them (Metadata,
  // FindCoordinator on a single node); 0: the broker_config's.
  std::string_view advertised_host = {};
  int32_t advertised_port = 0;
  std::string_view listener_name = {};  // the listener's protocol name ("SASL_SSL")
  std::shared_ptr<connection_throttle> throttle = nullptr;  // null in tests: nothing to mute
};

using respond_fn = std::function<void(std::optional<std::vector<uint8_t>>)>;
using handler_fn = status (*)(services&, const request&, respond_fn);

// The handler for an API key, or nullptr. Versions are checked before dispatch.
handler_fn find_handler(int16_t api_key);

}  // namespace strata::kafka
