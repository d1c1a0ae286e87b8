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
#include <functional>
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
namespace strata::kafka::groups {
class coordinator;
class offsets_log;
}

namespace strata::kafka {

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
};

struct request {
  request_header header;
  std::span<const uint8_t> body;  // valid only during the handler call
  std::string_view client_host = {};  // the peer's address as Kafka reports it ("/127.0.0.1")
  bool from_cluster_node = false;     // the peer's TLS certificate was signed by the cluster CA
};

using respond_fn = std::function<void(std::optional<std::vector<uint8_t>>)>;
using handler_fn = status (*)(services&, const request&, respond_fn);

// The handler for an API key, or nullptr. Versions are checked before dispatch.
handler_fn find_handler(int16_t api_key);

}  // namespace strata::kafka
