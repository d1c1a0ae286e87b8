// The database-clones service's internals, shared by service*.cc and
// supervisor.cc. One mutex guards the records and the runtime state; long
// work (copies, instance starts) runs without it, with the object marked busy
// by its transitional status so that a second call is refused, not queued.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dbclone/cron.h"
#include "dbclone/pool.h"
#include "dbclone/postgres.h"
#include "dbclone/process.h"
#include "dbclone/records.h"
#include "dbclone/service.h"

namespace strata::dbclone {

// Unix epoch milliseconds now.
int64_t now_ms();
// failure as errc::no_space with what to do, when the file system holding
// path (a dataset) is nearly full; failure as it is otherwise.
error with_space_hint(const std::string& path, error failure);
// Logs a failure of cleanup work whose failure leaves only litter, which
// remove_orphans clears at the next start.
void best_effort(const status& st, const char* what);
// A role that can log in over the instance's trusted socket: the bootstrap
// superuser (oid 10), found by connecting as any of the candidate roles.
result<std::string> find_superuser(const instance_config& ic, const std::vector<std::string>& candidates);
// Bytes the regular files under root occupy on disk.
uint64_t tree_bytes(const std::string& root);

// Runtime state of a postgres child (a clone's, a source's sync instance).
struct instance_state {
  pid_t pid = 0;
};

// process_ended for the instance's postmaster; -1 when there is none.
std::optional<int> instance_ended(const instance_state& st);

struct clone_runtime {
  instance_state instance;
  int64_t last_activity_ms = 0;
  int64_t activity_counter = -1;  // xact commits + rollbacks at the last idle check
  int64_t next_idle_check_ms = 0;
};

struct source_runtime {
  instance_state sync;
  bool busy = false;               // a copy, refresh or snapshot is running
  uint64_t progress_done_bytes = 0;
  uint64_t progress_total_bytes = 0;
  int64_t replay_lag_bytes = -1;
  double replay_lag_seconds = -1;
  int64_t last_replay_ms = 0;
  int64_t next_snapshot_ms = 0;    // from snapshot_schedule; 0: none
  int64_t next_refresh_ms = 0;
};

class service_impl final : public service {
 public:
  service_impl(service_config config, meta::kv& kv);
  ~service_impl() override;

  status start();
  // After a restart: mount pools, resume copies, adopt or restart the
  // instances of the clones loaded at start.
  void recover(const std::vector<std::string>& clone_ids);
  void stop_stale_volume_instances();
  std::string volume_mount_root() const;

  status available() override;

  result<source_info> create_source(const source_spec& spec) override;
  std::vector<source_info> list_sources() override;
  result<source_info> get_source(const std::string& name) override;
  status delete_source(const std::string& name) override;

  result<snapshot_info> create_snapshot(const std::string& source, const std::string& message) override;
  std::vector<snapshot_info> list_snapshots(const std::string& source) override;
  result<snapshot_info> get_snapshot(const std::string& id) override;
  status delete_snapshot(const std::string& id) override;

  result<clone_info> create_clone(const clone_spec& spec, bool wait) override;
  std::vector<clone_info> list_clones() override;
  result<clone_info> get_clone(const std::string& id) override;
  result<clone_info> reset_clone(const std::string& id, const std::string& snapshot, bool latest, bool wait) override;
  status delete_clone(const std::string& id) override;

  result<branch_info> create_branch(const std::string& name, const std::string& snapshot,
                                    const std::string& from_branch) override;
  std::vector<branch_info> list_branches() override;
  result<snapshot_info> commit_branch(const std::string& branch, const std::string& clone,
                                      const std::string& message) override;
  result<std::vector<snapshot_info>> branch_log(const std::string& branch) override;
  status delete_branch(const std::string& name) override;

  metrics_view metrics() override;
  void shutdown() override;

  // ---- shared helpers (service.cc) ----
  result<pool*> pool_for(const std::string& backend);  // opens that backend's pool on first need
  std::string backend_of(const std::string& source) const;  // under mu_
  // <dataset>/data of a dataset in that backend's pool (opened).
  std::string data_path(const std::string& backend, const std::string& dataset);
  std::string run_root() const;
  std::string run_dir(const std::string& instance) const;   // socket dir and config of one instance
  std::string log_path(const std::string& instance) const;
  std::optional<os_user> child_user() const;  // nullopt: run as ourselves
  instance_config make_instance(const std::string& instance, const std::string& pgdata, uint16_t port,
                                const std::string& listen, const std::map<std::string, std::string>& extra) const;
  status prepare_run_dir(const instance_config& ic);
  result<pid_t> start_and_wait(const instance_config& ic);
  void stop_pid(instance_state& st, stop_mode mode);
  // Stops a postmaster still running in pgdata that no runtime state holds
  // (one started by a process killed with -9).
  void stop_postmaster_in(const std::string& pgdata);
  status persist_source(const source_record& r);
  status persist_snapshot(const snapshot_record& r);
  status persist_clone(const clone_record& r);
  status persist_branch(const branch_info& r);
  void run_async(std::function<void()> fn);
  // Runs a tool to completion (its output in options.log_path), killing it
  // when Strata shuts down or after timeout_ms.
  result<run_output> run_tool(const spawn_options& options, int64_t timeout_ms, const std::function<void()>& on_tick = {});  // background work joined at shutdown

  // ---- sources (service_sources.cc) ----
  void copy_source(std::string name);
  // Fill the base dataset; on success the copy's findings (data_state_ms,
  // superuser, warnings in reason) are left in r.
  status copy_physical(source_record& r, const std::string& dataset);
  status copy_logical(source_record& r, const std::string& dataset);
  status start_sync(const std::string& name);
  status check_major(int source_major);
  status check_source_major(const std::string& conninfo);
  void poll_sync(const std::string& name);
  std::string base_dataset(const source_record& r) const;
  void set_source_status(const std::string& name, const std::string& status, const std::string& reason);

  // ---- snapshots and branches (service_snapshots.cc) ----
  // Makes snapshot `id` from a crash-consistent copy of `from` (a source base or a clone).
  result<snapshot_record> prepare_snapshot(const std::string& from, snapshot_record rec, const std::string& superuser,
                                           const std::string& preprocess_sql, const std::vector<std::string>& dbs);
  std::string new_snapshot_id(const std::string& prefix);
  void apply_retention(const std::string& source);
  bool snapshot_in_use(const std::string& id) const;  // under mu_
  snapshot_info with_clone_count(snapshot_info info) const;  // under mu_

  // ---- clones (service_clones.cc) ----
  result<clone_info> finish_clone(const std::string& id, const std::string& password, bool fresh);
  status build_clone(clone_record& rec, const std::string& password);
  result<uint16_t> allocate_port();  // under mu_
  clone_info clone_view(const clone_record& r) const;  // under mu_
  void mark_fatal(const std::string& id, const std::string& reason);
  result<std::string> resolve_snapshot(const std::string& source, const std::string& snapshot,
                                       const std::string& branch);  // under mu_
  void recover_clones(const std::vector<std::string>& ids);
  void recover_running_clone(const clone_record& c, const std::string& pgdata);

  // ---- supervisor (supervisor.cc) ----
  void supervise();
  void check_clone_processes();
  void check_idle_clones();
  void run_schedules();
  void refresh_usage();
  void remove_orphans();

  service_config config_;
  meta::kv& kv_;
  postgres_binaries bins_;
  std::optional<os_user> os_user_;
  std::string unavailable_reason_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<pool>> pools_;  // by backend
  std::map<std::string, source_record> sources_;
  std::map<std::string, snapshot_record> snapshots_;
  std::map<std::string, clone_record> clones_;
  std::map<std::string, branch_info> branches_;
  std::map<std::string, source_runtime> source_rt_;
  std::map<std::string, clone_runtime> clone_rt_;
  std::set<uint16_t> ports_held_;
  pool_usage pool_usage_;
  uint64_t clones_created_ = 0;
  double clone_seconds_sum_ = 0;

  std::mutex pool_open_mu_;  // one pool open at a time, without holding mu_
  std::atomic<bool> stopping_{false};
  std::atomic<bool> recovered_{false};  // changes and the supervisor wait until recover() has run
  std::condition_variable recovered_cv_;  // with mu_
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::thread supervisor_;
  std::mutex jobs_mu_;
  std::vector<std::thread> jobs_;
  bool shut_down_ = false;
};

}  // namespace strata::dbclone
