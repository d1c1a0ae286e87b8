#include "app/kafka_listeners.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "app/cluster_node.h"
#include "app/coordinator_kv.h"
#include "app/listener_security.h"
#include "auth/acl.h"
#include "auth/user_store.h"
#include "cluster/coordinator.h"
#include "net/tls.h"

namespace strata::app {

namespace {

bool authenticates(const kafka_listener_plan& p) {
  return kafka::uses_sasl(p.spec.protocol) || p.settings.principal_from_certificate;
}

status check_tls_flags(const server_options& o, bool tls_listener) {
  const bool cert = !o.kafka_tls_cert.empty(), key = !o.kafka_tls_key.empty();
  if (cert != key) return make_error(errc::invalid_argument, "--kafka-tls-cert and --kafka-tls-key go together: give both");
  if (tls_listener && !cert) {
    return make_error(errc::invalid_argument,
                      "an SSL or SASL_SSL --kafka-listen needs --kafka-tls-cert FILE and --kafka-tls-key FILE");
  }
  if (!tls_listener && (cert || !o.kafka_tls_client_ca.empty())) {
    return make_error(errc::invalid_argument,
                      "--kafka-tls-* are given but no --kafka-listen uses TLS: add one such as SSL://HOST:PORT or "
                      "SASL_SSL://HOST:PORT");
  }
  return {};
}

// SSL listeners check client certificates when a client CA is given; SASL_SSL
// listeners authenticate with SASL, so they do not ask for one.
result<kafka::listener_tls> listener_tls_for(const server_options& o, kafka::security_protocol protocol) {
  if (!kafka::uses_tls(protocol)) return kafka::listener_tls{};
  net::tls_server_files files{{"--kafka-tls-cert", o.kafka_tls_cert}, {"--kafka-tls-key", o.kafka_tls_key}, std::nullopt};
  if (protocol == kafka::security_protocol::ssl && !o.kafka_tls_client_ca.empty()) {
    files.client_ca = net::pem_file{"--kafka-tls-client-ca", o.kafka_tls_client_ca};
  }
  auto context = net::make_server_tls(files);
  STRATA_TRY(context);
  return kafka::listener_tls{std::move(*context), /*peers_are_nodes=*/false};
}

}  // namespace

result<std::vector<kafka_listener_plan>> plan_kafka_listeners(const server_options& o) {
  auto specs = kafka::parse_listeners(o.kafka_listen, "--kafka-listen");
  STRATA_TRY(specs);
  const bool tls_listener =
      std::any_of(specs->begin(), specs->end(), [](const auto& s) { return kafka::uses_tls(s.protocol); });
  STRATA_TRY(check_tls_flags(o, tls_listener));
  std::vector<kafka_listener_plan> plans;
  for (auto& spec : *specs) {
    kafka_listener_plan plan;
    auto tls = listener_tls_for(o, spec.protocol);
    STRATA_TRY(tls);
    plan.settings.protocol = spec.protocol;
    plan.settings.tls = std::move(*tls);
    plan.settings.principal_from_certificate =
        spec.protocol == kafka::security_protocol::ssl && !o.kafka_tls_client_ca.empty();
    plan.settings.advertised_host = o.kafka_advertised_host.empty() ? spec.host : o.kafka_advertised_host;
    STRATA_TRY(check_listener_security("--kafka-listen " + spec.host_port, spec.host, authenticates(plan),
                                       o.allow_insecure,
                                       "use SASL_SSL:// (or SASL_PLAINTEXT://, or SSL:// with --kafka-tls-client-ca)"));
    plan.spec = std::move(spec);
    plans.push_back(std::move(plan));
  }
  return plans;
}

// Reloads the shared users and ACLs on its own thread: each reload is an etcd
// round trip, which the network thread must not wait for.
class auth_reloader {
 public:
  auth_reloader(auth::user_store& users, auth::acl_store& acls, kafka::quota_store& quotas)
      : users_(users), acls_(acls), quotas_(quotas) {
    thread_ = std::thread([this] { run(); });
  }
  ~auth_reloader() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    bool failing = false;
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(auth_reload_interval_ms), [this] { return stopping_; })) {
      lock.unlock();
      status s = users_.reload();
      if (s.ok()) s = acls_.reload();
      if (s.ok()) s = quotas_.reload();
      if (!s.ok() && !failing) spdlog::warn("kafka: cannot reload the users and ACLs from etcd: {}", s.err().message);
      if (s.ok() && failing) spdlog::info("kafka: users and ACLs reload from etcd again");
      failing = !s.ok();
      lock.lock();
    }
  }

  auth::user_store& users_;
  auth::acl_store& acls_;
  kafka::quota_store& quotas_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

kafka_security::kafka_security() = default;
kafka_security::kafka_security(kafka_security&&) noexcept = default;
kafka_security& kafka_security::operator=(kafka_security&&) noexcept = default;
kafka_security::~kafka_security() = default;

result<kafka_security> open_kafka_security(const server_options& o, meta::kv& kv,
                                           const std::vector<kafka_listener_plan>& plans) {
  kafka_security out;
  meta::kv* store_kv = &kv;
  if (!o.cluster_etcd.empty()) {
    auto coordinator = cluster::connect_etcd(etcd_settings(o));
    if (!coordinator.ok()) return make_error(coordinator.code(), "cannot reach etcd for the users and ACLs: " + coordinator.err().message);
    out.shared_kv = std::make_unique<coordinator_kv>(std::move(*coordinator), shared_kv_prefix);
    store_kv = out.shared_kv.get();
  }
  auto users = auth::user_store::open(*store_kv);
  if (!users.ok()) return make_error(users.code(), "cannot load the SASL users: " + users.err().message);
  auto acls = auth::acl_store::open(*store_kv);
  if (!acls.ok()) return make_error(acls.code(), "cannot load the ACLs: " + acls.err().message);
  auto quotas = kafka::quota_store::open(*store_kv);
  if (!quotas.ok()) return make_error(quotas.code(), "cannot load the client quotas: " + quotas.err().message);
  out.users = std::move(*users);
  out.acls = std::move(*acls);
  out.quotas = std::move(*quotas);
  out.quota_meters = std::make_unique<kafka::quota_meter>();
  if (out.shared_kv) out.reloader = std::make_unique<auth_reloader>(*out.users, *out.acls, *out.quotas);
  const bool any_authenticates = std::any_of(plans.begin(), plans.end(), authenticates);
  const bool enforce = o.kafka_authorization == "on" || (o.kafka_authorization == "auto" && any_authenticates);
  if (!enforce) return out;
  if (!o.cluster_etcd.empty() && o.replication_listen.empty()) {
    return make_error(errc::invalid_argument,
                      "ACLs in cluster mode need --replication-listen HOST:PORT, so that followers fetch on the "
                      "node-to-node listener where ACLs do not apply");
  }
  for (const auto& principal : o.super_users) {
    if (principal.find(':') == std::string::npos) {
      return make_error(errc::invalid_argument,
                        fmt::format("--super-users {}: write principals as User:NAME", principal));
    }
  }
  out.authorizer = std::make_unique<auth::authorizer>(*out.acls, o.super_users);
  return out;
}

result<std::vector<std::unique_ptr<kafka::server>>> start_kafka_listeners(
    const std::vector<kafka_listener_plan>& plans, boost::asio::io_context& io, kafka::services& services,
    const kafka::server_limits& limits, const kafka::server_observer& observer) {
  std::vector<std::unique_ptr<kafka::server>> servers;
  for (const auto& plan : plans) {
    auto server = std::make_unique<kafka::server>(io, services, limits, observer, plan.settings);
    const std::string name = fmt::format("Kafka {}", kafka::protocol_name(plan.spec.protocol));
    STRATA_TRY(server->start(plan.spec.host_port, "--kafka-listen", name));
    spdlog::info("kafka: {} listening on {} (advertised as {}:{})", kafka::protocol_name(plan.spec.protocol),
                 plan.spec.host_port, plan.settings.advertised_host, server->port());
    servers.push_back(std::move(server));
  }
  return servers;
}

}  // namespace strata::app
