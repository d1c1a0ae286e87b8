// The consumer-group coordinator: Kafka's classic group protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup) as a single-threaded state machine, plus
// committed offsets kept durably in meta::kv.
//
// Every method is called on the network thread; time and timers come from the
// scheduler, whose callbacks run on that thread too. JoinGroup and SyncGroup
// may answer later (when the rebalance completes); their callbacks run exactly
// once, possibly before join()/sync() returns, and must not call back into
// the coordinator (they only hand bytes to a connection). Callbacks of
// requests still waiting when the coordinator is destroyed are dropped.
//
// Group membership lives in memory only (clients rejoin after a restart);
// committed offsets survive restarts through load().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/scheduler.h"
#include "base/units.h"
#include "kafka/groups/group.h"
#include "kafka/groups/messages/describe_groups.h"
#include "kafka/groups/messages/heartbeat.h"
#include "kafka/groups/messages/join_group.h"
#include "kafka/groups/messages/leave_group.h"
#include "kafka/groups/messages/list_groups.h"
#include "kafka/groups/messages/offset_commit.h"
#include "kafka/groups/messages/offset_fetch.h"
#include "kafka/groups/messages/sync_group.h"
#include "kafka/groups/offset_store.h"

namespace strata::meta {
class kv;
}

namespace strata::kafka::groups {

struct coordinator_config {
  int64_t initial_rebalance_delay_ms = 3000;   // group.initial.rebalance.delay.ms
  int32_t group_max_size = 1000;               // group.max.size: members (and KIP-394 pending ids) per group
  int32_t session_timeout_min_ms = 6000;       // group.min.session.timeout.ms
  int32_t session_timeout_max_ms = 1'800'000;  // group.max.session.timeout.ms
  size_t groups_max = 10'000;                  // groups with live members
  size_t protocols_per_member_max = 64;
  uint64_t member_metadata_bytes_max = 1 * MiB;  // all protocol metadata of one member
  uint32_t offset_metadata_bytes_max = 4096;     // offset.metadata.max.bytes
  size_t committed_offsets_max = 1'000'000;      // partitions with an offset, across all groups
  size_t client_id_bytes_in_member_id_max = 128; // member ids are "<client id>-<uuid>"
};

// Facts about the connection a JoinGroup came from.
struct join_context {
  std::string client_id;
  std::string client_host;
  // JoinGroup v4+: a dynamic member without an id is first answered with
  // MEMBER_ID_REQUIRED and its new id (KIP-394).
  bool require_known_member_id = false;
};

// Whether a topic partition exists; commits to others get UNKNOWN_TOPIC_OR_PARTITION.
using partition_exists_fn = std::function<bool(const std::string& topic, int32_t partition)>;

using offset_entries = std::vector<std::pair<topic_partition, committed_offset>>;

// OffsetDelete's answer: an error for the whole group, or one per partition.
struct offset_delete_result {
  error_code error = error_code::none;
  std::vector<std::pair<topic_partition, error_code>> partitions;  // in request order
};

// Cluster mode: which groups this node coordinates, and how a commit is
// replicated before it is stored and acknowledged (groups/offsets_log.h).
struct cluster_hooks {
  std::function<bool(std::string_view group)> owns_group;
  std::function<void(const std::string& group, const offset_entries& entries, std::function<void(error_code)> done)> replicate;
};

class coordinator {
 public:
  coordinator(scheduler& sched, meta::kv& kv, coordinator_config cfg);
  ~coordinator();
  coordinator(const coordinator&) = delete;
  coordinator& operator=(const coordinator&) = delete;

  // Loads committed offsets from the kv. Call once, before serving.
  status load();

  void join(join_group_request req, const join_context& ctx, join_callback done);
  void sync(sync_group_request req, sync_callback done);
  error_code heartbeat(const heartbeat_request& req);
  leave_group_response leave(const leave_group_request& req);

  // Stores offsets durably before returning; `exists` may be empty (accept all).
  offset_commit_response commit_offsets(const offset_commit_request& req, const partition_exists_fn& exists = {});
  // With cluster hooks: replicates the commit first, then stores it, then
  // answers (an error of the replication is every partition's error).
  // Without: commit_offsets, answered at once.
  void commit_offsets_replicated(const offset_commit_request& req, const partition_exists_fn& exists,
                                 std::function<void(offset_commit_response)> done);
  void set_cluster_hooks(cluster_hooks hooks) { hooks_ = std::move(hooks); }
  // Stores offsets durably as they are: read back from the replicated log by
  // a new coordinator, or those of a transaction that committed.
  status restore_offsets(const std::string& group, const offset_entries& entries) { return offsets_.commit(group, entries); }
  // TxnOffsetCommit v3+ (KIP-447): the generation and member an offset
  // commit names must be the group's current ones, as for OffsetCommit.
  error_code check_txn_member(const std::string& group_id, int32_t generation_id, const std::string& member_id,
                          const std::optional<std::string>& group_instance_id);
  offset_fetch_response fetch_offsets(const offset_fetch_request& req) const;

  // DeleteGroups: removes a group without members and its committed offsets,
  // durably. GROUP_ID_NOT_FOUND when it has neither, NON_EMPTY_GROUP while it
  // has members. In cluster mode the offsets log keeps no deletions yet:
  // INVALID_REQUEST, and nothing changes.
  error_code delete_group(const std::string& group_id);
  // OffsetDelete: deletes the committed offsets of partitions whose topic no
  // member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC for the others), durably.
  // NON_EMPTY_GROUP for a live group that is not a consumer group. Cluster
  // mode as delete_group.
  offset_delete_result delete_offsets(const std::string& group_id, const std::vector<topic_partition>& partitions);

  list_groups_response list_groups(const list_groups_request& req) const;
  describe_groups_response describe_groups(const describe_groups_request& req) const;

  const coordinator_config& config() const { return cfg_; }

 private:
  group* find_group(std::string_view id);
  const group* find_group(std::string_view id) const;
  void maybe_erase_group(const std::string& id);
  std::string new_member_id(std::string_view prefix);

  error_code validate_join(const join_group_request& req) const;
  void join_new_member(group& g, join_group_request req, const join_context& ctx, join_callback done);
  void join_known_member(group& g, join_group_request req, const join_context& ctx, join_callback done);
  void add_pending_member(group& g, const std::string& member_id, int32_t session_timeout_ms);
  void add_member_and_rebalance(group& g, const std::string& member_id, join_group_request req,
                                const join_context& ctx, join_callback done);
  void update_member_and_rebalance(group& g, member& m, join_group_request req, join_callback done);
  join_group_response current_generation_response(const group& g, const member& m) const;

  void maybe_prepare_rebalance(group& g);
  void prepare_rebalance(group& g);
  void try_complete_join(group& g);
  void complete_join(group& g);
  void on_initial_delay_expired(const std::string& group_id);
  void on_rebalance_timeout(const std::string& group_id);
  void on_sync_timeout(const std::string& group_id);
  void complete_sync(group& g, const std::vector<sync_assignment>& assignments);

  void arm_session_timer(group& g, member& m);
  void on_session_timeout(const std::string& group_id, const std::string& member_id);
  void on_pending_timeout(const std::string& group_id, const std::string& member_id);
  void remove_member(group& g, std::string member_id, error_code reason);  // by value: callers pass the member's own id
  void erase_member(group& g, std::string member_id, error_code reason);
  void cancel_timer(scheduler::timer_id& id);
  error_code leave_one(group& g, const leave_member& who);

  error_code validate_commit(const offset_commit_request& req);
  bool foreign(std::string_view group) const { return hooks_.owns_group && !hooks_.owns_group(group); }
  struct commit_plan {
    offset_commit_response resp;
    offset_entries entries;
    std::vector<std::pair<size_t, size_t>> slots;  // (topic, partition) index in resp of each entry
  };
  commit_plan plan_commit(const offset_commit_request& req, const partition_exists_fn& exists);
  void fail_slots(commit_plan& plan, error_code e) const;
  described_group describe_one(const std::string& group_id) const;
  error_code check_deletable(const std::string& group_id) const;

  scheduler& sched_;
  coordinator_config cfg_;
  offset_store offsets_;
  std::map<std::string, std::unique_ptr<group>, std::less<>> groups_;
  std::mt19937_64 rng_;
  cluster_hooks hooks_;
};

}  // namespace strata::kafka::groups
