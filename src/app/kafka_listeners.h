// The Kafka listeners of `strata server` (--kafka-listen, repeated, in
// Kafka's PROTOCOL://HOST:PORT syntax) and what secures them: the TLS
// contexts of SSL and SASL_SSL listeners, the SASL users and ACLs kept in
// the metadata store, and whether ACLs are enforced. The checks that the
// flags fit together live here too, so that a bad combination stops the
// server before it opens anything.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/options.h"
#include "base/result.h"
#include "kafka/server/client_quotas.h"
#include "kafka/server/server.h"

namespace boost::asio {
class io_context;
}
namespace strata::meta {
class kv;
}
namespace strata::auth {
class user_store;
class acl_store;
class authorizer;
}  // namespace strata::auth

namespace strata::app {

struct kafka_listener_plan {
  kafka::listener_spec spec;
  kafka::listener_settings settings;
};

// Parses --kafka-listen and loads the TLS files the listeners need.
result<std::vector<kafka_listener_plan>> plan_kafka_listeners(const server_options& o);

class auth_reloader;

// In cluster mode the users and ACLs live in etcd, shared by every node; each
// node reloads them every auth_reload_interval_ms to see the others' changes.
inline constexpr int64_t auth_reload_interval_ms = 1000;

struct kafka_security {
  std::unique_ptr<meta::kv> shared_kv;  // cluster mode: etcd under /strata/shared/
  std::unique_ptr<auth::user_store> users;
  std::unique_ptr<auth::acl_store> acls;
  std::unique_ptr<auth::authorizer> authorizer;  // null: ACLs are not enforced
  std::unique_ptr<kafka::quota_store> quotas;
  std::unique_ptr<kafka::quota_meter> quota_meters;
  std::unique_ptr<auth_reloader> reloader;       // cluster mode; stops before the stores go
  kafka_security();
  kafka_security(kafka_security&&) noexcept;
  kafka_security& operator=(kafka_security&&) noexcept;
  ~kafka_security();
};

// Opens the users, ACLs and client quotas (in `kv` on a single node, in etcd in cluster
// mode) and decides whether ACLs are enforced (--kafka-authorization: auto
// enforces them when a listener authenticates).
result<kafka_security> open_kafka_security(const server_options& o, meta::kv& kv,
                                           const std::vector<kafka_listener_plan>& plans);

// Starts one server per plan; the first is the one a cluster node advertises.
result<std::vector<std::unique_ptr<kafka::server>>> start_kafka_listeners(
    const std::vector<kafka_listener_plan>& plans, boost::asio::io_context& io, kafka::services& services,
    const kafka::server_limits& limits, const kafka::server_observer& observer);

}  // namespace strata::app
