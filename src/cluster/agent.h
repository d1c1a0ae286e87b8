// The node's cluster agent: one thread that keeps the node registered under
// its lease, campaigns for the controller key, re-reads the shared state every
// poll and hands it to the node, acts as controller when elected (leader
// elections, preferred-leader moves), and runs the node's writes (topic
// creation and deletion, partition changes) as queued jobs.
//
// Coordinator failures (etcd down) never stop the thread: they are logged at
// most every few seconds and the work is retried at the next poll.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "cluster/controller.h"
#include "cluster/coordinator.h"
#include "cluster/state.h"

namespace strata::cluster {

struct agent_config {
  node_info self;
  int64_t session_ttl_ms = 2000;   // the node lease; the controller sees a node as gone this long after it dies
  int64_t poll_interval_ms = 100;  // how often the view is re-read
  int64_t preferred_leader_check_ms = 30'000;  // how often the controller moves leaders back to replicas[0]
};

struct agent_stats {
  uint64_t leader_elections = 0;    // partitions this node, as controller, gave a new (real) leader
  uint64_t controller_changes = 0;  // times this node became the controller
  uint64_t lease_renewals = 0;      // successful keep_alives of this node's lease
};

class agent {
 public:
  // on_view runs on the agent thread after every poll that saw a new revision,
  // and once on the caller's thread inside start().
  agent(coordinator& coord, agent_config config, std::function<void(const cluster_view&)> on_view);
  ~agent();  // stops
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;

  // Grants the lease, registers /strata/nodes/<id> under it (errc::already_exists
  // when another live node holds the id), campaigns for the controller key,
  // reads and delivers the first view, and starts the thread.
  status start();

  // Controlled shutdown: for every partition this node leads, hands leadership
  // to another alive isr member (one transaction each, retried on a conflict)
  // for up to timeout_ms from now. Returns how many moved. Blocks; runs its
  // coordinator calls on the caller's thread. Call it before stop().
  result<int> hand_off_leadership(int64_t timeout_ms);

  // Stops the thread, then revokes the lease: the node's key and, if held, the
  // controller key go at once. Jobs still queued get errc::unavailable.
  void stop();

  // For tests: stops the thread without revoking the lease, as a crash would;
  // the node's keys stay until the lease expires.
  void stop_without_revoke();

  // Jobs, run on the agent thread in the order queued; `done` runs there too
  // (or on the caller's thread, with errc::unavailable, when the agent is not
  // running).
  //
  // One transaction requiring the topic key absent: puts the topic and every
  // partition (leader replicas[0], epoch 0, isr = replicas). errc::already_exists
  // if the topic exists.
  void create_topic(topic_state topic, std::vector<std::vector<node_id>> assignment, std::function<void(status)> done);
  // Removes the topic and its partition keys in one transaction comparing the
  // topic key's revision. errc::not_found if there is no such topic.
  void delete_topic(std::string name, std::function<void(status)> done);
  // Grows the topic to new_total partitions; assignment_of_new holds the
  // replicas of partitions [current, new_total).
  void add_partitions(std::string name, int32_t new_total, std::vector<std::vector<node_id>> assignment_of_new,
                      std::function<void(status)> done);
  // Replaces the topic's configs, comparing the topic key's revision.
  // errc::not_found if there is no such topic.
  void alter_topic_configs(std::string name, std::map<std::string, std::string> configs, std::function<void(status)> done);
  // Writes `proposed` iff the key's mod_revision still equals proposed.revision;
  // errc::unavailable ("partition state changed; retry") when it does not.
  void change_partition(partition_state proposed, std::function<void(status)> done);

  // Plans a rebalance (cluster/controller.h) on a fresh read of the state
  // and, unless dry_run, starts it: stores the throttle (when > 0) and writes
  // each partition's change comparing its revision; a partition that changed
  // meanwhile is left out and counted in `skipped`. The controller finishes
  // the moves as the new replicas join the isr.
  void rebalance(rebalance_request request, std::function<void(result<rebalance_plan>)> done);

  cluster_view view() const;  // the last view read (a copy)
  bool is_controller() const;
  agent_stats stats() const;
  // How long ago the coordinator last confirmed this node's lease. Past the
  // session TTL the lease may be gone and another node may lead what this one
  // led: the node must stop acting as a leader (thread-safe).
  int64_t lease_unconfirmed_ms() const;

 private:
  struct job {
    std::function<status()> work;
    std::function<void(status)> done;
  };

  void run();
  void tick();
  void keep_lease();
  status register_node();
  status register_waiting_for_old();
  void campaign();
  result<cluster_view> poll();
  void lead_partitions(const cluster_view& view);
  std::optional<bool> commit_as_controller(const partition_state& next);
  void log_partition_change(const cluster_view& view, const partition_state& next, const char* why);
  void run_jobs();
  void enqueue(job j);
  void halt_thread();
  void note_error(const char* what, const error& e);

  status do_create_topic(const topic_state& topic, const std::vector<std::vector<node_id>>& assignment);
  status do_delete_topic(const std::string& name);
  status do_add_partitions(const std::string& name, int32_t new_total,
                           const std::vector<std::vector<node_id>>& assignment_of_new);
  status do_change_partition(const partition_state& proposed);
  status do_alter_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs);
  status do_rebalance(const rebalance_request& request, rebalance_plan& plan);

  coordinator& coord_;
  const agent_config config_;
  const std::function<void(const cluster_view&)> on_view_;

  // Touched by the agent thread only (and by start/stop while it is not running).
  lease_id lease_ = 0;
  std::atomic<int64_t> lease_confirmed_ms_{0};
  bool registered_ = false;
  int64_t next_keep_alive_ms_ = 0;
  int64_t next_preferred_check_ms_ = 0;
  int64_t last_error_log_ms_ = 0;
  uint64_t errors_not_logged_ = 0;
  bool poll_again_ = false;                  // a write of ours changed the state: re-read without sleeping
  std::map<std::string, int64_t> bad_keys_;  // undecodable key -> the mod_revision already logged
  int64_t delivered_revision_ = -1;
  node_id seen_controller_ = no_leader;  // the controller in the last view read
  int64_t controller_revision_ = 0;      // mod_revision of the controller key in that view

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  bool running_ = false;
  bool stopping_ = false;
  std::deque<job> jobs_;
  cluster_view view_;
  agent_stats stats_;

  std::thread thread_;
};

}  // namespace strata::cluster
