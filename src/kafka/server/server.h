// A Kafka listener: accepts connections on --kafka-listen (or the
// replication listener) and runs one `connection` per socket, plain or TLS,
// under the limits below.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/units.h"
#include "kafka/server/handler.h"
#include "kafka/server/listener_spec.h"

namespace boost::asio::ssl {
class context;
}
namespace strata::net {
class listener;
class byte_budget;
}  // namespace strata::net

namespace strata::kafka {

struct server_limits {
  uint32_t connections_max = 1000;
  uint32_t request_bytes_max = 100 * MiB;          // Kafka's socket.request.max.bytes
  uint64_t inflight_bytes_max = 256 * MiB;         // all connections' requests and responses in flight
  uint32_t requests_in_flight_max = 100;           // per connection; reading pauses past it
  int64_t idle_timeout_ms = 10 * 60 * 1000;        // Kafka's connections.max.idle.ms
  int64_t frame_body_timeout_ms = 30'000;          // a request's body must arrive within this of its size prefix
  int64_t tls_handshake_timeout_ms = 10'000;       // from accept to an established TLS connection
};

// TLS on a listener; without a context it speaks plain TCP.
struct listener_tls {
  std::shared_ptr<boost::asio::ssl::context> context;
  // The context requires client certificates signed by the cluster CA, so a
  // peer that completes the handshake has proved it is a cluster node.
  bool peers_are_nodes = false;
};

// How one listener authenticates its clients, and what it tells them.
struct listener_settings {
  security_protocol protocol = security_protocol::plaintext;
  listener_tls tls;  // a context for SSL and SASL_SSL
  // A client certificate that verified names the principal (SSL listeners
  // whose context requires one).
  bool principal_from_certificate = false;
  bool node_listener = false;   // node-to-node traffic: ACLs do not apply
  std::string advertised_host;  // empty: the broker_config's
};

// What a finished request reports, for metrics.
struct request_stats {
  int16_t api_key = 0;
  int16_t api_version = 0;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  double latency_ms = 0;
};

// Why a connection was closed on a bad request, for metrics.
enum class rejection { oversized_frame, malformed_header, unknown_api, unsupported_version, undecodable_body,
                       unauthenticated };
const char* rejection_name(rejection r);

struct server_observer {
  std::function<void(const request_stats&)> on_request;
  std::function<void(rejection, int16_t api_key)> on_rejection;
};

// What every connection of a server shares. Held by shared_ptr so that a
// connection's coroutine, destroyed whenever the io_context is, never
// outlives it.
struct connection_env {
  server_limits limits;
  server_observer observer;
  std::unique_ptr<net::byte_budget> budget;
  listener_settings listener;
  int32_t advertised_port = 0;  // the bound port, once listening
};

class server {
 public:
  server(boost::asio::io_context& io, services& svc, server_limits limits, server_observer observer = {},
         listener_settings listener = {});
  ~server();
  // `flag` names the setting in errors, `name` the listener in logs.
  status start(const std::string& listen, const std::string& flag = "--kafka-listen", const std::string& name = "Kafka");
  void stop();
  uint16_t port() const;

 private:
  boost::asio::io_context& io_;
  services& services_;
  std::shared_ptr<connection_env> env_;
  std::shared_ptr<net::listener> listener_;
};

}  // namespace strata::kafka
