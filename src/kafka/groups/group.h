// The in-memory model of one consumer group: its members, their protocols and
// the rebalance bookkeeping. Plain data plus the protocol-selection rules;
// the state machine that moves it lives in coordinator.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/scheduler.h"
#include "kafka/groups/messages/join_group.h"
#include "kafka/groups/messages/sync_group.h"

namespace strata::kafka::groups {

enum class group_state : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };

// Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
const char* group_state_name(group_state s);
// Parses a Kafka state name, ignoring case as Kafka does; nullopt if unknown.
std::optional<group_state> parse_group_state(std::string_view name);

using join_callback = std::function<void(join_group_response)>;
using sync_callback = std::function<void(sync_group_response)>;

struct member {
  std::string id;
  std::optional<std::string> instance_id;  // static membership (KIP-345)
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<join_protocol> protocols;  // in the member's order of preference
  std::vector<uint8_t> assignment;       // from the leader's SyncGroup
  join_callback awaiting_join;           // set while its JoinGroup waits
  sync_callback awaiting_sync;           // set while its SyncGroup waits
  scheduler::timer_id session_timer = 0;
  uint64_t join_order = 0;  // the oldest member becomes leader when one is needed

  // The metadata the member sent for `protocol`, or nullptr.
  const std::vector<uint8_t>* metadata_for(std::string_view protocol) const;
  // Same protocol names and metadata in the same order.
  bool same_protocols(const std::vector<join_protocol>& other) const;
};

struct group {
  std::string id;
  group_state state = group_state::empty;
  int32_t generation = 0;
  std::string protocol_type;                 // of the current members
  std::optional<std::string> protocol_name;  // chosen at each generation
  std::string leader_id;
  std::map<std::string, member> members;
  // KIP-394: ids handed out with MEMBER_ID_REQUIRED that have not joined yet,
  // each with the timer that forgets it.
  std::map<std::string, scheduler::timer_id> pending_members;

  // The initial delay or rebalance timeout while PreparingRebalance; the
  // wait for the leader's SyncGroup while CompletingRebalance.
  scheduler::timer_id rebalance_timer = 0;
  bool in_initial_delay = false;     // group.initial.rebalance.delay.ms is running
  bool new_member_added = false;     // a member joined during the initial delay
  int64_t initial_delay_remaining_ms = 0;
  uint64_t next_join_order = 0;

  member* find_member(std::string_view member_id);
  member* find_by_instance(std::string_view instance_id);
  // Every member has a JoinGroup waiting and no KIP-394 id is outstanding.
  bool all_members_joined() const;
  int32_t max_rebalance_timeout_ms() const;
};

// Whether a member with these protocols may join `g` (Kafka's rule): an empty
// group takes any non-empty list; otherwise the type must match and at least
// one protocol must be supported by every current member.
bool supports_protocols(const group& g, std::string_view protocol_type, const std::vector<join_protocol>& protocols);

// Picks the generation's protocol: among the protocols every member supports,
// each member votes for the first one in its own list; most votes wins, ties
// go to the one the longest-standing member lists first. The group must have
// members that share a protocol.
std::string select_protocol(const group& g);

}  // namespace strata::kafka::groups
