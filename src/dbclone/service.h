// The database-clones service: sources (a real PostgreSQL copied physically
// or logically into a pool dataset), prepared snapshots, writable clones each
// served by its own `postgres` child on its own port, and branches (named
// lines of snapshots). State lives in meta::kv (docs/formats/dbclone.md); the
// datasets live in a pool (pool.h); a supervisor thread watches the children,
// destroys idle clones and takes scheduled snapshots.
//
// Threading: every method may be called from any thread and may block for
// as long as the work takes (a clone: about a second; a snapshot: seconds; a
// source's initial copy runs in the background). The admin API calls it from
// its blocking-call threads, never from the network thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::meta {
class kv;
}
namespace strata::volumes {
class service;
}

namespace strata::dbclone {

struct service_config {
  std::string data_dir;
  std::string pool_mount;                 // where the btrfs pool image is mounted (--db-pool-mount)
  uint64_t pool_bytes = 100ULL << 30;     // sparse size of the pool image (--db-pool-bytes)
  std::string os_user = "postgres";       // clones run as this user when Strata runs as root (--db-os-user)
  std::string postgres_bin = "/usr/lib/postgresql/15/bin";  // --db-postgres-bin
  uint16_t clone_port_first = 6000;       // --db-clone-ports FIRST-LAST
  uint16_t clone_port_last = 6099;
  std::string clone_listen = "127.0.0.1";  // --db-clone-listen
  double clone_max_idle_minutes = 120;    // --db-clone-max-idle-minutes; 0: never
  int64_t supervisor_interval_ms = 500;
  int64_t instance_ready_timeout_ms = 120'000;  // a start with crash recovery may take long
  int64_t copy_timeout_ms = 24LL * 3600 * 1000;
  int64_t recovery_wait_ms = 600'000;     // how long a change waits for a restart's recovery
  uint32_t sources_max = 32;
  uint32_t snapshots_max = 1000;
  // The volume backend reaches Strata's NBD listener through these.
  volumes::service* volumes = nullptr;
  std::string nbd_unix_socket;
  std::string nbd_host_port;
};

enum class source_mode { physical, logical };
enum class clone_status { creating, ok, resetting, deleting, fatal };
const char* clone_status_name(clone_status status);  // "CREATING", "OK", ...

struct source_spec {
  std::string name;
  source_mode mode = source_mode::physical;
  std::string conninfo;
  std::vector<std::string> databases;
  std::string backend = "btrfs";          // btrfs | volume
  std::string snapshot_schedule;          // cron, UTC; empty: none
  uint32_t retention_limit = 0;           // 0: keep every snapshot
  std::string refresh_schedule;           // logical only
  std::string preprocess_sql;
  uint32_t jobs = 2;                      // pg_dump / pg_restore -j
};

struct source_info {
  source_spec spec;                       // conninfo with its password masked
  std::string status;                     // copying | ready | refreshing | error
  std::string reason;
  uint64_t progress_done_bytes = 0;
  uint64_t progress_total_bytes = 0;
  int64_t created_ms = 0;
  int sync_pid = 0;
  int64_t replay_lag_bytes = -1;          // -1: unknown or not physical
  double replay_lag_seconds = -1;
  int64_t last_replay_ms = 0;
  uint32_t snapshots = 0;
  std::string latest_snapshot;
};

struct snapshot_info {
  std::string id;
  std::string source;
  std::string branch;   // "" for snapshots taken from the source
  std::string parent;   // the branch head it was committed on; ""
  std::string message;
  int64_t created_ms = 0;
  int64_t data_state_ms = 0;
  uint64_t size_bytes = 0;
  uint32_t clones = 0;
};

struct clone_spec {
  std::string id;
  std::string source;
  std::string snapshot;
  std::string branch;
  std::string user;
  std::string password;  // used once to compute the SCRAM verifier; never stored
  bool is_protected = false;
  std::map<std::string, std::string> settings;
};

struct clone_info {
  std::string id;
  clone_status status = clone_status::creating;
  std::string reason;
  std::string host;
  uint16_t port = 0;
  std::string snapshot;
  std::string source;
  std::string branch;
  std::string user;
  bool is_protected = false;
  std::map<std::string, std::string> settings;
  uint64_t exclusive_bytes = 0;
  int64_t created_ms = 0;
  int64_t reset_ms = 0;
  int64_t clone_ms = 0;   // how long the last create or reset took
  int pid = 0;
};

struct branch_info {
  std::string name;
  std::string head;
  std::string source;
  int64_t created_ms = 0;
};

struct metrics_view {
  std::map<std::string, uint32_t> clones_by_status;
  std::map<std::string, uint64_t> clone_exclusive_bytes;
  uint64_t clones_created = 0;
  double clone_seconds_sum = 0;
  uint64_t pool_used_bytes = 0;
  uint64_t pool_free_bytes = 0;
  bool pool_open = false;
  uint32_t snapshots = 0;
  std::map<std::string, double> newest_snapshot_lag_seconds;  // by source
  std::map<std::string, int64_t> sync_lag_bytes;               // by source
  std::map<std::string, double> sync_lag_seconds;               // by source
};

class service {
 public:
  // Loads the records, mounts the pool when there is one, adopts or restarts
  // clone and sync instances, and removes orphans. Never fails because the
  // machine lacks what clones need: the face then answers unavailable.
  static result<std::unique_ptr<service>> open(service_config config, meta::kv& kv);
  virtual ~service() = default;

  // errc::unavailable with the reason when this server cannot run clones.
  virtual status available() = 0;

  virtual result<source_info> create_source(const source_spec& spec) = 0;  // the copy runs in the background
  virtual std::vector<source_info> list_sources() = 0;
  virtual result<source_info> get_source(const std::string& name) = 0;
  virtual status delete_source(const std::string& name) = 0;

  virtual result<snapshot_info> create_snapshot(const std::string& source, const std::string& message) = 0;
  virtual std::vector<snapshot_info> list_snapshots(const std::string& source) = 0;  // "" for all; newest first
  virtual result<snapshot_info> get_snapshot(const std::string& id) = 0;
  virtual status delete_snapshot(const std::string& id) = 0;

  // wait=false: returns once the request is checked and recorded (CREATING).
  virtual result<clone_info> create_clone(const clone_spec& spec, bool wait) = 0;
  virtual std::vector<clone_info> list_clones() = 0;
  virtual result<clone_info> get_clone(const std::string& id) = 0;
  // snapshot "" and latest false: the clone's own snapshot again.
  virtual result<clone_info> reset_clone(const std::string& id, const std::string& snapshot, bool latest,
                                         bool wait) = 0;
  virtual status delete_clone(const std::string& id) = 0;

  virtual result<branch_info> create_branch(const std::string& name, const std::string& snapshot,
                                            const std::string& from_branch) = 0;
  virtual std::vector<branch_info> list_branches() = 0;
  virtual result<snapshot_info> commit_branch(const std::string& branch, const std::string& clone,
                                              const std::string& message) = 0;
  virtual result<std::vector<snapshot_info>> branch_log(const std::string& branch) = 0;
  virtual status delete_branch(const std::string& name) = 0;

  virtual metrics_view metrics() = 0;

  // Stops every instance cleanly and releases the pool's mount. Idempotent.
  virtual void shutdown() = 0;
};

// "[a-z0-9][a-z0-9_-]{0,62}", else errc::invalid_argument naming `what`.
status check_object_name(const std::string& name, const char* what);
// A conninfo with the value of any password= masked as ********.
std::string mask_conninfo(const std::string& conninfo);

}  // namespace strata::dbclone
