#include "app/server_main.h"

#include <malloc.h>

#include <filesystem>
#include <functional>
#include <thread>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "admin/server.h"
#include "app/cluster_node.h"
#include "app/cluster_tls.h"
#include "app/data_dir_lock.h"
#include "app/kafka_listeners.h"
#include "app/kafka_metrics.h"
#include "app/listener_security.h"
#include "app/nbd_metrics.h"
#include "app/pg_metrics.h"
#include "base/size_text.h"
#include "dbclone/service.h"
#include "io/fs.h"
#include "kafka/groups/coordinator.h"
#include "kafka/groups/offsets_log.h"
#include "kafka/txn/coordinator.h"
#include "kafka/server/server.h"
#include "meta/kv.h"
#include "metrics/registry.h"
#include "net/asio_scheduler.h"
#include "nbd/server.h"
#include "pgwire/server.h"
#include "net/endpoint.h"
#include "sql/session.h"
#include "streams/service.h"
#include "tables/service.h"
#include "volumes/service.h"

namespace strata::app {

namespace {

streams::service_config streams_config(const server_options& o) {
  streams::service_config c;
  c.data_dir = o.data_dir;
  c.fsync = o.fsync == "interval" ? streams::fsync_policy::interval : streams::fsync_policy::per_batch;
  c.fsync_interval_ms = o.fsync_interval_ms;
  c.auto_create_topics = o.auto_create_topics;
  c.default_partitions = o.default_partitions;
  c.log_defaults.segment_bytes_max = o.segment_bytes;
  c.log_defaults.segment_age_ms_max = o.segment_ms;
  c.log_defaults.retention_ms = o.retention_ms;
  c.log_defaults.retention_bytes = o.retention_bytes;
  c.cluster_mode = !o.cluster_etcd.empty();
  return c;
}

kafka::server_limits kafka_limits(const server_options& o) {
  kafka::server_limits l;
  l.connections_max = o.kafka_connections_max;
  l.request_bytes_max = o.request_bytes_max;
  l.inflight_bytes_max = o.inflight_bytes_max;
  l.requests_in_flight_max = o.requests_in_flight_max;
  return l;
}

volumes::service_config volumes_config(const server_options& o) {
  volumes::service_config c;
  c.data_dir = o.data_dir;
  c.volume_bytes_max = o.volume_bytes_max;
  c.io = o.volume_io == "direct" ? volumes::data_io::direct : volumes::data_io::buffered;
  return c;
}

nbd::server_limits nbd_limits(const server_options& o) {
  nbd::server_limits l;
  l.connections_max = o.nbd_connections_max;
  l.worker_threads = o.nbd_worker_threads;
  return l;
}

tables::service_config tables_config(const server_options& o) {
  tables::service_config c;
  c.data_dir = o.data_dir;
  c.decoded_cache_bytes_max = o.table_cache_bytes;
  return c;
}

sql::engine_config sql_config(const server_options& o) {
  sql::engine_config c;
  c.threads = o.sql_threads;
  c.memory_bytes_max = o.sql_memory_bytes;
  c.temp_dir = io::join_path(o.data_dir, "sql-tmp");
  return c;
}

result<pgwire::server_config> pg_config(const server_options& o) {
  pgwire::server_config c;
  c.listen = o.pg_listen;
  auto method = pgwire::parse_auth_method(o.pg_auth);
  if (!method.ok()) return method.err();
  c.auth = *method;
  for (const auto& text : o.pg_users) {
    auto u = pgwire::parse_user(text);
    if (!u.ok()) return u.err();
    c.users.push_back(std::move(*u));
  }
  c.limits.connections_max = o.pg_connections_max;
  c.limits.worker_threads = o.pg_worker_threads;
  auto tls = load_server_tls({"--pg-tls-cert", o.pg_tls_cert}, {"--pg-tls-key", o.pg_tls_key}, "the PostgreSQL listener's");
  if (!tls.ok()) return tls.err();
  c.tls = std::move(*tls);
  return c;
}

// The default pool mount point: outside the data dir (which may sit under a
// root-only directory), unique per data dir so several servers can coexist.
std::string default_pool_mount(const std::string& data_dir) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(data_dir, ec);
  size_t hash = std::hash<std::string>{}(ec ? data_dir : canonical.string());
  return fmt::format("/run/strata/db-{:012x}", hash & 0xffffffffffffULL);
}

result<dbclone::service_config> db_config(const server_options& o, volumes::service* volumes) {
  dbclone::service_config c;
  c.data_dir = o.data_dir;
  c.pool_mount = o.db_pool_mount.empty() ? default_pool_mount(o.data_dir) : o.db_pool_mount;
  auto pool_bytes = parse_size(o.db_pool_bytes);
  if (!pool_bytes.ok()) return make_error(errc::invalid_argument, "--db-pool-bytes " + pool_bytes.err().message);
  c.pool_bytes = *pool_bytes;
  c.os_user = o.db_os_user;
  c.postgres_bin = o.db_postgres_bin;
  unsigned first = 0, last = 0;
  char tail = 0;
  if (std::sscanf(o.db_clone_ports.c_str(), "%u-%u%c", &first, &last, &tail) != 2 || first == 0 || last > 65535 ||
      first > last) {
    return make_error(errc::invalid_argument,
                      fmt::format("--db-clone-ports {} is not FIRST-LAST, e.g. 6000-6099", o.db_clone_ports));
  }
  c.clone_port_first = static_cast<uint16_t>(first);
  c.clone_port_last = static_cast<uint16_t>(last);
  c.clone_listen = o.db_clone_listen;
  c.clone_max_idle_minutes = o.db_clone_max_idle_minutes;
  c.volumes = volumes;
  c.nbd_unix_socket = o.nbd_unix_socket;
  c.nbd_host_port = o.nbd_listen;
  return c;
}

// The second Kafka listener, for node-to-node traffic (--replication-listen;
// with cluster TLS only nodes get through its handshake), or null.
result<std::unique_ptr<kafka::server>> start_replication_listener(const server_options& o, boost::asio::io_context& io,
                                                                  kafka::services& services,
                                                                  const kafka::server_observer& observer,
                                                                  const cluster_tls& tls) {
  if (o.replication_listen.empty()) return std::unique_ptr<kafka::server>();
  auto endpoint = net::parse_host_port(o.replication_listen, "--replication-listen");
  STRATA_TRY(endpoint);
  STRATA_TRY(check_listener_security("--replication-listen", endpoint->host, tls.on(), o.allow_insecure,
                                     "set --cluster-tls-ca, --cluster-tls-cert and --cluster-tls-key"));
  kafka::listener_settings settings;
  settings.protocol = tls.on() ? kafka::security_protocol::ssl : kafka::security_protocol::plaintext;
  settings.tls = kafka::listener_tls{tls.listener, /*peers_are_nodes=*/tls.on()};
  settings.node_listener = true;
  auto server = std::make_unique<kafka::server>(io, services, kafka_limits(o), observer, settings);
  STRATA_TRY(server->start(o.replication_listen, "--replication-listen", "Kafka replication"));
  spdlog::info("kafka: replication listening on {}{}", o.replication_listen,
               tls.on() ? " (TLS; peers need a certificate signed by the cluster CA)" : "");
  return server;
}

int fail(const std::string& message) {
  spdlog::error("{}", message);
  return 1;
}

// glibc raises its mmap threshold each time a large block is freed, so large
// short-lived blocks (result chunks of wide rows) end up in per-thread arenas
// that keep their pages after free: RSS grew by ~100 MiB per streaming query on
// 8 worker threads. A fixed threshold returns every block >= 1 MiB at free.
void bound_allocator_retention() {
#ifdef __GLIBC__
  constexpr int mmap_threshold_bytes = 1 << 20;
  mallopt(M_MMAP_THRESHOLD, mmap_threshold_bytes);
#endif
}

}  // namespace

int run_server(const server_options& o) {
  bound_allocator_retention();
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  auto kafka_plans = plan_kafka_listeners(o);
  if (!kafka_plans.ok()) return fail(kafka_plans.err().message);
  auto node_tls = load_cluster_tls(o);
  if (!node_tls.ok()) return fail(node_tls.err().message);
  auto pg = pg_config(o);
  if (!pg.ok()) return fail(pg.err().message);
  auto db_settings = db_config(o, nullptr);
  if (!db_settings.ok()) return fail(db_settings.err().message);
  if (auto s = check_listener_security(o); !s.ok()) return fail(s.err().message);
  auto admin_security = load_admin_security(o);
  if (!admin_security.ok()) return fail(admin_security.err().message);
  const bool admin_tls = admin_security->tls != nullptr;
  const bool admin_tokens = !admin_security->tokens.empty();

  auto lock = data_dir_lock::acquire(o.data_dir);
  if (!lock.ok()) return fail(lock.err().message);

  boost::asio::io_context io(1);
  net::asio_scheduler sched(io);
  auto fs = io::make_posix_fs();
  auto kv = meta::kv::open_rocksdb(io::join_path(o.data_dir, "meta"));
  if (!kv.ok()) return fail("cannot open the metadata store: " + kv.err().message);

  auto streams = streams::service::open(streams_config(o), *fs, **kv, sched);
  if (!streams.ok()) return fail("cannot open the streams service: " + streams.err().message);

  auto volumes = volumes::service::open(volumes_config(o), *fs, **kv);
  if (!volumes.ok()) return fail("cannot open the volumes service: " + volumes.err().message);

  auto tables = tables::service::open(tables_config(o), *fs, **kv);
  if (!tables.ok()) return fail("cannot open the tables service: " + tables.err().message);
  auto sql_engine = sql::engine::open(sql_config(o), **tables);
  if (!sql_engine.ok()) return fail("cannot start the SQL engine: " + sql_engine.err().message);

  kafka::groups::coordinator_config group_config;
  group_config.initial_rebalance_delay_ms = o.group_initial_rebalance_delay_ms;
  kafka::groups::coordinator groups(sched, **kv, group_config);
  if (auto s = groups.load(); !s.ok()) return fail("cannot load consumer group offsets: " + s.err().message);
  // Transactions need one coordinator for every transactional id; cluster
  // mode has none yet, so there InitProducerId refuses transactional ids.
  std::unique_ptr<kafka::txn::coordinator> transactions;
  if (o.cluster_etcd.empty()) {
    transactions = std::make_unique<kafka::txn::coordinator>(sched, **kv, **streams, groups, kafka::txn::txn_config{});
    if (auto s = transactions->load(); !s.ok()) return fail("cannot load transaction state: " + s.err().message);
  }

  auto kafka_security = open_kafka_security(o, **kv, *kafka_plans);
  if (!kafka_security.ok()) return fail(kafka_security.err().message);

  metrics::registry registry;

  kafka::broker_config broker;
  if (!o.cluster_etcd.empty()) {
    broker.node_id = o.node_id;
    broker.cluster_id = "strata-cluster";
  }
  broker.advertised_host = kafka_plans->front().settings.advertised_host;
  broker.replica_fetch_needs_node = node_tls->on();
  kafka::services services{**streams, groups, sched, broker, count_kafka_error(registry)};
  services.users = kafka_security->users.get();
  services.acls = kafka_security->acls.get();
  services.authorizer = kafka_security->authorizer.get();
  services.quotas = kafka_security->quotas.get();
  services.quota_meters = kafka_security->quota_meters.get();
  services.transactions = transactions.get();
  const kafka::server_observer kafka_observer = make_kafka_observer(registry);
  auto kafka_servers = start_kafka_listeners(*kafka_plans, io, services, kafka_limits(o), kafka_observer);
  if (!kafka_servers.ok()) return fail(kafka_servers.err().message);
  broker.advertised_port = kafka_servers->front()->port();
  if (services.authorizer) spdlog::info("kafka: ACLs are enforced");
  auto replication_server = start_replication_listener(o, io, services, kafka_observer, *node_tls);
  if (!replication_server.ok()) return fail(replication_server.err().message);

  std::unique_ptr<cluster_node> cluster;
  std::unique_ptr<kafka::groups::offsets_log> offsets_log;
  if (!o.cluster_etcd.empty()) {
    offsets_log = std::make_unique<kafka::groups::offsets_log>(**streams, groups, o.offsets_topic_partitions);
    offsets_log->install();
    services.offsets_log = offsets_log.get();
    const int32_t replication_port = *replication_server ? (*replication_server)->port() : 0;
    std::map<std::string, int32_t> listener_ports;
    for (size_t i = 0; i < kafka_plans->size(); ++i) {
      listener_ports[kafka::protocol_name((*kafka_plans)[i].spec.protocol)] = (*kafka_servers)[i]->port();
    }
    auto joined = cluster_node::start(o, broker.advertised_host, broker.advertised_port, replication_port,
                                      std::move(listener_ports), node_tls->fetcher,
                                      io, sched, **streams, registry,
                                      [&offsets_log] { offsets_log->on_cluster_change(); });
    if (!joined.ok()) return fail("cannot join the cluster: " + joined.err().message);
    cluster = std::move(*joined);
  }

  admin::server_limits admin_limits;
  admin_limits.connections_max = o.http_connections_max;
  auto nbd_server = std::make_unique<nbd::server>(io, **volumes, nbd_limits(o), make_nbd_observer(registry));
  if (auto s = nbd_server->start(o.nbd_listen, o.nbd_unix_socket, "--nbd-listen", "--nbd-unix-socket"); !s.ok()) {
    return fail(s.err().message);
  }
  if (!o.nbd_listen.empty()) spdlog::info("nbd: listening on {} (block volumes)", o.nbd_listen);
  if (!o.nbd_unix_socket.empty()) spdlog::info("nbd: listening on unix socket {}", o.nbd_unix_socket);

  // The NBD listener is up first: the volume backend of database clones
  // reaches its volumes through it. The network thread runs only after this,
  // so opening must not wait on NBD; the volume pool opens on first use.
  db_settings->volumes = volumes->get();
  auto db = dbclone::service::open(*db_settings, **kv);
  if (!db.ok()) return fail("cannot open the database-clones service: " + db.err().message);

  admin::server admin_server(io, o.http_listen, **streams, registry, admin_limits, volumes->get(), tables->get(),
                             db->get(), cluster.get(), kafka_security->users.get(), std::move(*admin_security));
  if (auto s = admin_server.start(); !s.ok()) return fail(s.err().message);
  spdlog::info("admin: listening on {} ({} API, /metrics, /health; {})", o.http_listen, admin_tls ? "HTTPS" : "HTTP",
               admin_tokens ? "bearer token required" : "no token required");

  auto pg_server = std::make_unique<pgwire::server>(io, **sql_engine, std::move(*pg), make_pg_observer(registry));
  if (auto s = pg_server->start(); !s.ok()) return fail(s.err().message);
  spdlog::info("pg: listening on {} (SQL over tables, auth {}{})", o.pg_listen, o.pg_auth,
               o.pg_tls_cert.empty() ? "" : ", TLS on SSLRequest");

  // Not available() here: it waits for a restart's recovery, which for the
  // volume backend needs the network thread this one is about to run.
  spdlog::info("db: database clones on ports {} at {} (pool {})", o.db_clone_ports, o.db_clone_listen,
               db_settings->pool_mount);
  spdlog::info("strata: serving data dir {}", o.data_dir);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  // Database clones stop first, on their own thread: clones on the volume
  // backend still write through the NBD listener, which needs this thread.
  std::thread db_stopper;
  std::thread cluster_stopper;
  auto stop_serving = [&] {
    if (cluster) cluster->stop_fetchers();
    for (auto& server : *kafka_servers) server->stop();
    if (*replication_server) (*replication_server)->stop();
    pg_server->stop();
    admin_server.stop();
    db_stopper = std::thread([&] {
      (*db)->shutdown();  // stops clone and sync instances cleanly, unmounts the pools
      boost::asio::post(io, [&] {
        nbd_server->stop();
        io.stop();
      });
    });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("strata: received signal {}, shutting down", signal);
    if (!cluster) return stop_serving();
    // Controlled shutdown: leadership moves away while this node still serves,
    // so clients and followers move to the new leaders without a gap.
    cluster_stopper = std::thread([&] {
      cluster->hand_off_leadership();
      boost::asio::post(io, stop_serving);
    });
  });
  io.run();
  if (cluster_stopper.joinable()) cluster_stopper.join();
  if (db_stopper.joinable()) db_stopper.join();
  if (cluster) cluster->leave();
  (*streams)->shutdown();
  pg_server.reset();  // joins the SQL workers before the engine and tables go away
  nbd_server.reset();  // joins the NBD workers, so nothing writes during the final flush
  if (auto s = (*volumes)->flush_all(); !s.ok()) spdlog::error("volumes: final flush failed: {}", s.err().message);
  if (auto s = (*tables)->flush_all(); !s.ok()) spdlog::error("tables: final flush failed: {}", s.err().message);
  spdlog::info("strata: stopped cleanly");
  return 0;
}

}  // namespace strata::app
