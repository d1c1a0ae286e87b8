// The settings of `strata server`: one struct, filled from flags and, with
// --config FILE, from a YAML file whose keys are the flag names without the
// leading dashes (flags given on the command line win).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::app {

struct server_options {
  std::string data_dir = "./data";
  std::vector<std::string> kafka_listen = {"127.0.0.1:9092"};  // [PROTOCOL://]HOST:PORT, one per protocol
  std::string pg_listen = "127.0.0.1:5433";
  std::string nbd_listen = "127.0.0.1:10809";
  std::string http_listen = "127.0.0.1:9644";
  std::string http_token_file;  // admin API bearer tokens, one a line; empty: no token needed
  std::string http_tls_cert;    // admin API over TLS: certificate chain (PEM), with http_tls_key
  std::string http_tls_key;
  bool allow_insecure = false;  // allow listeners beyond loopback that do not authenticate clients
  std::string nbd_unix_socket;  // empty: NBD over TCP only
  std::string kafka_advertised_host;  // default: the host of each --kafka-listen
  std::string kafka_tls_cert;         // SSL and SASL_SSL listeners: the certificate chain (PEM)
  std::string kafka_tls_key;          // and its private key
  std::string kafka_tls_client_ca;    // SSL listeners require client certificates signed by this CA
  std::string kafka_authorization = "auto";  // auto | on | off: whether ACLs are enforced
  std::vector<std::string> super_users;      // "User:NAME" principals that ACLs do not bind
  std::string log_level = "info";

  // Limits.
  uint32_t kafka_connections_max = 1000;
  uint32_t http_connections_max = 100;
  uint32_t request_bytes_max = 100u << 20;
  uint64_t inflight_bytes_max = 256ULL << 20;
  uint32_t requests_in_flight_max = 100;

  // Streams.
  std::string fsync = "per-batch";  // per-batch | interval
  int64_t fsync_interval_ms = 100;
  bool auto_create_topics = true;
  int32_t default_partitions = 1;
  uint64_t segment_bytes = 128ULL << 20;
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t retention_bytes = -1;
  int64_t group_initial_rebalance_delay_ms = 3000;

  // Tables, SQL and the PostgreSQL protocol.
  uint32_t pg_connections_max = 256;
  std::string pg_auth = "trust";          // trust | scram-sha-256 | md5
  std::string pg_tls_cert;                // set with pg_tls_key: SSLRequest is answered and TLS serves the session
  std::string pg_tls_key;
  std::vector<std::string> pg_users;      // NAME:PASSWORD, for scram-sha-256 and md5
  uint32_t pg_worker_threads = 8;         // threads running SQL sessions' statements
  uint32_t sql_threads = 0;               // DuckDB worker threads; 0: one per core
  uint64_t sql_memory_bytes = 4ULL << 30; // DuckDB's memory limit (spills beyond it)
  uint64_t table_cache_bytes = 2ULL << 30;  // decoded column chunks kept for hot scans

  // Volumes and NBD.
  uint32_t nbd_connections_max = 256;
  uint32_t nbd_worker_threads = 4;
  uint64_t volume_bytes_max = 8ULL << 40;
  std::string volume_io = "buffered";  // "buffered" (page cache) or "direct" (O_DIRECT) for volume layer files

  // Database clones.
  std::string db_os_user = "postgres";
  std::string db_postgres_bin = "/usr/lib/postgresql/15/bin";
  std::string db_clone_ports = "6000-6099";
  std::string db_clone_listen = "127.0.0.1";
  std::string db_pool_bytes = "100G";     // sparse pool image size, human size text
  std::string db_pool_mount;              // empty: /run/strata/db-<hash of the data dir>
  double db_clone_max_idle_minutes = 120;

  // Cluster mode (docs/cluster.md). Without --cluster-etcd, a single node.
  std::string cluster_etcd;                 // URL[,URL...] of etcd 3.4
  int32_t node_id = -1;                     // required with --cluster-etcd
  std::string advertise_host;               // what clients and other nodes connect to; default the Kafka listen host
  int64_t cluster_session_ttl_ms = 2000;    // the node lease (etcd rounds up to whole seconds)
  int64_t cluster_poll_interval_ms = 100;   // how often the cluster state is re-read
  int64_t replica_lag_time_max_ms = 10'000; // Kafka's replica.lag.time.max.ms
  int32_t default_replication_factor = 3;   // capped by the live nodes
  int64_t leader_rebalance_interval_ms = 30'000;  // preferred-leader moves
  int32_t offsets_topic_partitions = 10;
  bool replica_sync_before_ack = false;     // followers fsync before the high watermark counts their copy    // partitions of __consumer_offsets, made on first use
  std::string etcd_tls_ca;                  // etcd over TLS: the CA that signed etcd's certificate
  std::string etcd_tls_cert;                // and this node's client certificate and key, if etcd asks
  std::string etcd_tls_key;
  std::string replication_listen;           // HOST:PORT of a listener for node-to-node traffic; empty: the Kafka listener
  std::string cluster_tls_ca;               // node-to-node TLS (needs --replication-listen): the cluster CA
  std::string cluster_tls_cert;             // and this node's certificate (signed by it) and key
  std::string cluster_tls_key;
};

// Registers every setting as a flag of `cmd`.
void add_server_flags(CLI::App& cmd, server_options& options);

// Turns the YAML file at path into "--key=value" arguments, so that they pass
// through the same parsing and validation as flags.
result<std::vector<std::string>> config_file_arguments(const std::string& path);

}  // namespace strata::app
