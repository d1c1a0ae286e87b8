// One PostgreSQL instance started directly with `postgres -D` (not pg_ctl,
// which adds ~250 ms), its readiness, its SQL over libpq, and a clean stop.
// Used for sync instances, temporary instances that prepare snapshots, and
// clones.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "dbclone/process.h"

namespace strata::dbclone {

struct postgres_binaries {
  std::string bin_dir = "/usr/lib/postgresql/15/bin";  // --db-postgres-bin
  std::string tool(const std::string& name) const { return bin_dir + "/" + name; }
};

// The major version the binaries in bin_dir run (from `postgres --version`).
result<int> binaries_major_version(const postgres_binaries& bins);
// The major version of a data directory (its PG_VERSION file).
result<int> data_dir_major_version(const std::string& data_dir);

struct instance_config {
  std::string data_dir;
  std::string socket_dir;           // unix_socket_directories; short (<= 90 bytes) and owned by user
  std::string listen_addresses;     // "" for unix socket only, else e.g. "127.0.0.1"
  uint16_t port = 5432;             // also names the socket file .s.PGSQL.<port>
  std::vector<std::pair<std::string, std::string>> settings;  // passed as -c name=value, after Strata's own
  std::optional<os_user> user;      // run as this user
  std::string log_path;             // stderr/stdout of postgres
};

// Starts `postgres -D data_dir -c port=.. -c listen_addresses=.. -c
// unix_socket_directories=.. <settings>` and returns at once.
result<pid_t> start_instance(const postgres_binaries& bins, const instance_config& config);

// Waits until the instance accepts connections on its unix socket (PQping),
// up to timeout_ms. If the process ends first, the error carries the log tail.
status wait_ready(const instance_config& config, pid_t pid, int64_t timeout_ms);

enum class stop_mode { smart, fast, immediate };  // SIGTERM, SIGINT, SIGQUIT
// Stops the postmaster and waits for it to end (up to timeout_ms, then SIGKILL).
status stop_instance(pid_t pid, stop_mode mode, int64_t timeout_ms);

// The postmaster pid recorded in data_dir/postmaster.pid when that process is
// alive and is a postgres for this data dir; nullopt otherwise.
std::optional<pid_t> running_postmaster(const std::string& data_dir);

// A libpq conninfo for the instance's unix socket as `user` to `dbname`.
std::string socket_conninfo(const instance_config& config, const std::string& user, const std::string& dbname);

using sql_rows = std::vector<std::vector<std::optional<std::string>>>;
// Runs sql (one or more statements; the rows of the last) over a new
// connection, with connect_timeout and statement_timeout from timeout_ms.
result<sql_rows> query(const std::string& conninfo, const std::string& sql, int64_t timeout_ms);
// Runs one statement with text parameters ($1, $2, ...).
result<sql_rows> query_params(const std::string& conninfo, const std::string& sql,
                              const std::vector<std::string>& params, int64_t timeout_ms);

// Quotes a SQL identifier and a string literal the way PostgreSQL reads them.
std::string quote_ident(const std::string& name);
std::string quote_literal(const std::string& text);

// The SCRAM-SHA-256 verifier of password for role user, computed client-side
// by libpq (PQencryptPasswordConn) over conninfo's connection, so the
// plaintext never reaches a server log or Strata's metadata.
result<std::string> scram_verifier(const std::string& conninfo, const std::string& user, const std::string& password);

}  // namespace strata::dbclone
