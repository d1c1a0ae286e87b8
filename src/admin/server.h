// The admin HTTP server: the /v1 JSON API, /metrics and /health, on the
// network thread's io_context, so routes may call streams::service directly.
// volumes::service is thread-safe and its admin calls are short (a snapshot
// flushes one layer), so its routes call it on the network thread too.
//
// Routes added with router::add_blocking (database clones, which wait on
// child processes) run on a small thread pool instead, and the connection's
// coroutine waits for them.
//
// Threading: construct, start(), stop() and destroy on the network thread (or
// before it runs). Every connection is one coroutine; a request is read whole
// (within the header and body limits and the idle timeout), routed, answered.
//
// Security (server_security): with tokens, every request but GET /health needs
// `Authorization: Bearer TOKEN` (401 otherwise); with a TLS context, every
// connection is TLS, its handshake bounded by tls_handshake_timeout_ms.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "admin/bearer_auth.h"
#include "base/result.h"
#include "base/units.h"

namespace boost::asio {
class io_context;
}
namespace boost::asio::ssl {
class context;
}
namespace strata::streams {
class service;
}
namespace strata::volumes {
class service;
}
namespace strata::tables {
class service;
}
namespace strata::dbclone {
class service;
}
namespace strata::metrics {
class registry;
}
namespace strata::admin {
class cluster_control;
}
namespace strata::auth {
class user_store;
}

namespace strata::admin {

struct server_limits {
  uint32_t connections_max = 128;            // past it, new connections are closed at once
  uint64_t request_body_bytes_max = 1 * MiB; // larger bodies get 413
  uint32_t request_header_bytes_max = 16 * KiB; // larger headers get 431
  int64_t idle_timeout_ms = 30'000;          // a whole request must arrive, and a response leave, within this
  uint64_t drain_bytes_max = 4 * MiB;        // unread request bytes discarded after refusing a request, so the
                                             // client sees the error instead of a reset
  uint32_t blocking_threads = 4;             // threads running blocking routes (database clones); more such
                                             // requests wait their turn
  int64_t tls_handshake_timeout_ms = 10'000; // from accept to an established TLS connection
};

// Who may call the API and how it is reached (--http-token-file,
// --http-tls-cert/--http-tls-key).
struct server_security {
  token_set tokens;                                 // empty: no token needed
  std::shared_ptr<boost::asio::ssl::context> tls;   // null: plain HTTP
};

class server {
 public:
  // listen: "HOST:PORT"; port 0 picks a free port (see port()). volumes may
  // be nullptr when the server runs without the volumes face: its routes then
  // answer 503; the same holds for tables, database clones and users.
  // Services must outlive the server.
  server(boost::asio::io_context& io, std::string listen, streams::service& streams, metrics::registry& registry,
         server_limits limits = {}, volumes::service* volumes = nullptr, tables::service* tables = nullptr,
         dbclone::service* db = nullptr, cluster_control* cluster = nullptr, auth::user_store* users = nullptr,
         server_security security = {});
  ~server();  // stops
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts accepting; also registers the per-partition, per-volume
  // and connection metrics. An error says why and which flag chooses another address.
  status start();
  // Stops accepting, closes every open connection and unregisters the
  // collectors. Idempotent.
  void stop();
  // The bound port once started, else 0.
  uint16_t port() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace strata::admin
