#include "app/options.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace strata::app {

void add_server_flags(CLI::App& cmd, server_options& o) {
  cmd.add_option("--data-dir", o.data_dir, "Directory for all data; locked while the server runs")->capture_default_str();
  cmd.add_option("--kafka-listen", o.kafka_listen,
                 "[PROTOCOL://]HOST:PORT for the Kafka protocol, PROTOCOL one of PLAINTEXT (the default), SSL, "
                 "SASL_PLAINTEXT and SASL_SSL; repeat for more listeners, one per protocol")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--kafka-tls-cert", o.kafka_tls_cert, "SSL and SASL_SSL Kafka listeners: certificate chain (PEM)");
  cmd.add_option("--kafka-tls-key", o.kafka_tls_key, "SSL and SASL_SSL Kafka listeners: private key (PEM, unencrypted)");
  cmd.add_option("--kafka-tls-client-ca", o.kafka_tls_client_ca,
                 "SSL Kafka listeners require a client certificate signed by this CA; its subject names the principal "
                 "(User:CN=...)");
  cmd.add_option("--kafka-authorization", o.kafka_authorization,
                 "Enforce ACLs on Kafka requests: auto (when a Kafka listener authenticates clients), on or off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  cmd.add_option("--super-users", o.super_users,
                 "Principals ACLs do not bind, as User:NAME; separate with ';' or repeat the flag")
      ->delimiter(';')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--pg-listen", o.pg_listen, "HOST:PORT for the PostgreSQL protocol (SQL over tables)")->capture_default_str();
  cmd.add_option("--nbd-listen", o.nbd_listen, "HOST:PORT for NBD block volumes; empty: no TCP listener")->capture_default_str();
  cmd.add_option("--nbd-unix-socket", o.nbd_unix_socket, "Also serve NBD on this unix socket path");
  cmd.add_option("--http-listen", o.http_listen, "HOST:PORT for the admin HTTP API and /metrics")->capture_default_str();
  cmd.add_option("--http-token-file", o.http_token_file,
                 "File of admin API bearer tokens, one a line (16+ characters; # comments); every request but GET "
                 "/health then needs `Authorization: Bearer TOKEN`");
  cmd.add_option("--http-tls-cert", o.http_tls_cert, "Serve the admin API over TLS with this certificate chain (PEM; with --http-tls-key)");
  cmd.add_option("--http-tls-key", o.http_tls_key, "The private key of --http-tls-cert (PEM, unencrypted)");
  cmd.add_flag("--allow-insecure", o.allow_insecure,
               "Allow listeners on non-loopback addresses without authentication (NBD has none; the admin API "
               "needs --http-token-file, PostgreSQL a --pg-auth other than trust)");
  cmd.add_option("--kafka-advertised-host,--advertise-host", o.kafka_advertised_host,
                 "Host name clients and other nodes connect to (default: the Kafka listen host)");
  cmd.add_option("--cluster-etcd", o.cluster_etcd, "Cluster mode: etcd endpoints URL[,URL...]; empty runs a single node");
  cmd.add_option("--node-id", o.node_id, "Cluster mode: this node's id, unique in the cluster")->check(CLI::Range(0, 1'000'000));
  cmd.add_option("--cluster-session-ttl-ms", o.cluster_session_ttl_ms, "Cluster mode: the node lease; a dead node is noticed this long after it dies")
      ->capture_default_str()->check(CLI::Range(int64_t{1000}, int64_t{60'000}));
  cmd.add_option("--cluster-poll-interval-ms", o.cluster_poll_interval_ms, "Cluster mode: how often the cluster state is re-read")
      ->capture_default_str()->check(CLI::Range(int64_t{10}, int64_t{10'000}));
  cmd.add_option("--replica-lag-time-max-ms", o.replica_lag_time_max_ms, "Cluster mode: a follower not caught up for this long leaves the ISR")
      ->capture_default_str()->check(CLI::Range(int64_t{100}, int64_t{600'000}));
  cmd.add_option("--default-replication-factor", o.default_replication_factor, "Cluster mode: replicas of topics created without one (capped by live nodes)")
      ->capture_default_str()->check(CLI::Range(1, 3));
  cmd.add_option("--leader-rebalance-interval-ms", o.leader_rebalance_interval_ms, "Cluster mode: how often leadership moves back to preferred replicas")
      ->capture_default_str()->check(CLI::Range(int64_t{1000}, int64_t{86'400'000}));
  cmd.add_option("--replica-sync-before-ack", o.replica_sync_before_ack,
                 "Cluster mode: acks=all waits until every ISR member has fsynced the batch (default: in every ISR "
                 "member's log and fsynced by the leader, as Kafka)")
      ->capture_default_str();
  cmd.add_option("--offsets-topic-partitions", o.offsets_topic_partitions, "Cluster mode: partitions of __consumer_offsets (consumer-group coordination)")
      ->capture_default_str()->check(CLI::Range(1, 127));
  cmd.add_option("--etcd-tls-ca", o.etcd_tls_ca, "Cluster mode: reach etcd over TLS, trusting this CA file");
  cmd.add_option("--etcd-tls-cert", o.etcd_tls_cert, "Cluster mode: client certificate for etcd (with --etcd-tls-key)");
  cmd.add_option("--etcd-tls-key", o.etcd_tls_key, "Cluster mode: client key for etcd");
  cmd.add_option("--replication-listen", o.replication_listen,
                 "Cluster mode: HOST:PORT of a second Kafka listener for node-to-node traffic (followers fetch there); "
                 "empty: they use the Kafka listener");
  cmd.add_option("--cluster-tls-ca", o.cluster_tls_ca,
                 "Cluster mode: node-to-node TLS on --replication-listen; the cluster CA that signs every node's "
                 "certificate (with --cluster-tls-cert and --cluster-tls-key)");
  cmd.add_option("--cluster-tls-cert", o.cluster_tls_cert,
                 "Cluster mode: this node's certificate (PEM, signed by --cluster-tls-ca, naming --advertise-host)");
  cmd.add_option("--cluster-tls-key", o.cluster_tls_key, "Cluster mode: the private key of --cluster-tls-cert (PEM, unencrypted)");
  cmd.add_option("--log-level", o.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  cmd.add_option("--kafka-connections-max", o.kafka_connections_max, "Open Kafka connections allowed")->capture_default_str()->check(CLI::Range(1u, 1'000'000u));
  cmd.add_option("--http-connections-max", o.http_connections_max, "Open admin HTTP connections allowed")->capture_default_str()->check(CLI::Range(1u, 100'000u));
  cmd.add_option("--request-bytes-max", o.request_bytes_max, "Largest Kafka request frame accepted")->capture_default_str()->check(CLI::Range(1024u, 1u << 30));
  cmd.add_option("--inflight-bytes-max", o.inflight_bytes_max, "Memory for requests and responses in flight, across connections")->capture_default_str()->check(CLI::Range(uint64_t{1} << 20, uint64_t{1} << 40));
  cmd.add_option("--requests-in-flight-max", o.requests_in_flight_max, "Pipelined requests per connection before reading pauses")->capture_default_str()->check(CLI::Range(1u, 10'000u));
  cmd.add_option("--fsync", o.fsync, "per-batch: every acknowledged write is on disk; interval: fsync every --fsync-interval-ms (acks=all still waits)")
      ->check(CLI::IsMember({"per-batch", "interval"}))
      ->capture_default_str();
  cmd.add_option("--fsync-interval-ms", o.fsync_interval_ms, "With --fsync interval")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{60'000}));
  cmd.add_option("--auto-create-topics", o.auto_create_topics, "Create unknown topics on first use")->capture_default_str();
  cmd.add_option("--default-partitions", o.default_partitions, "Partitions of auto-created topics")->capture_default_str()->check(CLI::Range(1, 10'000));
  cmd.add_option("--segment-bytes", o.segment_bytes, "Default segment size of a partition log")->capture_default_str()->check(CLI::Range(uint64_t{1} << 16, uint64_t{1} << 31));
  cmd.add_option("--segment-ms", o.segment_ms, "Default segment age before it rolls")->capture_default_str()->check(CLI::Range(int64_t{1000}, int64_t{1} << 50));
  cmd.add_option("--retention-ms", o.retention_ms, "Default retention by age; -1 keeps forever")->capture_default_str()->check(CLI::Range(int64_t{-1}, int64_t{1} << 50));
  cmd.add_option("--retention-bytes", o.retention_bytes, "Default retention by partition size; -1 means no limit")->capture_default_str()->check(CLI::Range(int64_t{-1}, int64_t{1} << 50));
  cmd.add_option("--group-initial-rebalance-delay-ms", o.group_initial_rebalance_delay_ms, "Wait for more members before the first rebalance of an empty group")->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{300'000}));
  cmd.add_option("--pg-connections-max", o.pg_connections_max, "Open PostgreSQL connections allowed")->capture_default_str()->check(CLI::Range(1u, 100'000u));
  cmd.add_option("--pg-auth", o.pg_auth, "trust (loopback clients only), scram-sha-256 or md5 (both need --pg-user)")
      ->check(CLI::IsMember({"trust", "scram-sha-256", "md5"}))
      ->capture_default_str();
  cmd.add_option("--pg-tls-cert", o.pg_tls_cert,
                 "Answer PostgreSQL clients' SSLRequest and serve them over TLS with this certificate chain (PEM; with --pg-tls-key)");
  cmd.add_option("--pg-tls-key", o.pg_tls_key, "The private key of --pg-tls-cert (PEM, unencrypted)");
  cmd.add_option("--pg-user", o.pg_users, "A PostgreSQL user as NAME:PASSWORD; repeat for more users")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--pg-worker-threads", o.pg_worker_threads, "Threads started to run SQL statements for PostgreSQL sessions (more are added while all are busy)")->capture_default_str()->check(CLI::Range(1u, 1024u));
  cmd.add_option("--sql-threads", o.sql_threads, "DuckDB threads per query; 0: one per core")->capture_default_str()->check(CLI::Range(0u, 1024u));
  cmd.add_option("--sql-memory-bytes", o.sql_memory_bytes, "Memory DuckDB may use before spilling to <data-dir>/sql-tmp")->capture_default_str()->check(CLI::Range(uint64_t{64} << 20, uint64_t{1} << 44));
  cmd.add_option("--table-cache-bytes", o.table_cache_bytes, "Memory for decoded column chunks of hot tables")->capture_default_str()->check(CLI::Range(uint64_t{0}, uint64_t{1} << 44));
  cmd.add_option("--nbd-connections-max", o.nbd_connections_max, "Open NBD connections allowed, per listener")->capture_default_str()->check(CLI::Range(1u, 100'000u));
  cmd.add_option("--nbd-worker-threads", o.nbd_worker_threads, "Threads that run NBD reads, writes and flushes")->capture_default_str()->check(CLI::Range(1u, 256u));
  cmd.add_option("--volume-bytes-max", o.volume_bytes_max, "Largest volume size allowed")->capture_default_str()->check(CLI::Range(uint64_t{1} << 20, uint64_t{1} << 44));
  cmd.add_option("--volume-io", o.volume_io, "How volume data is read and written: buffered (through the page cache) or direct (O_DIRECT, needs a file system that has it)")->capture_default_str()->check(CLI::IsMember({"buffered", "direct"}));
  cmd.add_option("--db-os-user", o.db_os_user, "OS user that database clones' postgres runs as when Strata runs as root")->capture_default_str();
  cmd.add_option("--db-postgres-bin", o.db_postgres_bin, "Directory of the PostgreSQL binaries for sources and clones")->capture_default_str();
  cmd.add_option("--db-clone-ports", o.db_clone_ports, "FIRST-LAST: the ports database clones listen on")->capture_default_str();
  cmd.add_option("--db-clone-listen", o.db_clone_listen, "Address database clones listen on (IPv4)")->capture_default_str();
  cmd.add_option("--db-pool-bytes", o.db_pool_bytes, "Size of the sparse btrfs pool image under <data-dir>/db (e.g. 100G)")->capture_default_str();
  cmd.add_option("--db-pool-mount", o.db_pool_mount, "Where the pool is mounted (default /run/strata/db-<hash of the data dir>)");
  cmd.add_option("--db-clone-max-idle-minutes", o.db_clone_max_idle_minutes, "Unprotected clones with no session or activity this long are destroyed; 0: never")->capture_default_str()->check(CLI::Range(0.0, 1e7));
}

result<std::vector<std::string>> config_file_arguments(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_argument, fmt::format("cannot read config file {}: {}", path, e.what()));
  }
  std::vector<std::string> args;
  if (root.IsNull()) return args;
  if (!root.IsMap()) return make_error(errc::invalid_argument, fmt::format("config file {} must be a mapping of setting: value", path));
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    if (kv.second.IsScalar()) {
      args.push_back(fmt::format("--{}={}", key, kv.second.as<std::string>()));
      continue;
    }
    // A list repeats the flag (kafka-listen, super-users, pg-user).
    bool scalars = kv.second.IsSequence();
    for (const auto& item : kv.second) scalars = scalars && item.IsScalar();
    if (!scalars) {
      return make_error(errc::invalid_argument,
                        fmt::format("config file {}: {} must be a value or a list of values", path, key));
    }
    for (const auto& item : kv.second) args.push_back(fmt::format("--{}={}", key, item.as<std::string>()));
  }
  return args;
}

}  // namespace strata::app
