// The shared cluster state kept in the coordinator, and its JSON encoding
// (docs/formats/cluster-state.md). Keys:
//   /strata/nodes/<id>                  node_info, under the node's lease
//   /strata/controller                  {"id": N}, under the controller's lease
//   /strata/topics/<name>               topic_state
//   /strata/partitions/<name>/<index>   partition_state
//   /strata/replication-throttle        replication_throttle (only while set)
// A partition_state changes only by a transaction that compares its
// mod_revision (carried here as `revision`): the fence that keeps two nodes
// from both acting as its leader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::cluster {

using node_id = int32_t;
constexpr node_id no_leader = -1;

struct node_info {
  node_id id = 0;
  std::string host;      // what clients and other nodes connect to (--advertise-host)
  int32_t kafka_port = 0;
  int32_t admin_port = 0;
  int32_t replication_port = 0;  // --replication-listen's port; 0: none, followers use kafka_port
  // Every Kafka listener's port by its protocol name ("SASL_SSL"), so that
  // clients are sent to the listener they came in on; empty in older records.
  std::map<std::string, int32_t> listener_ports;
};

struct topic_state {
  std::string name;
  std::string id_hex;  // 32 hex digits, the Kafka topic id
  int32_t partitions = 0;
  int32_t replication_factor = 1;
  std::map<std::string, std::string> configs;  // Kafka topic configs as given at creation
  int64_t revision = 0;                        // mod_revision of the key; 0 when not stored yet
};

struct partition_state {
  std::string topic;
  int32_t partition = 0;
  std::vector<node_id> replicas;  // replicas[0] is the preferred leader
  node_id leader = no_leader;
  int32_t leader_epoch = 0;
  std::vector<node_id> isr;
  // Non-empty while the partition moves (strata cluster rebalance): the
  // replicas it will have. During the move `replicas` holds the target and
  // the replicas leaving; the controller finishes the move once every target
  // replica is in the isr.
  std::vector<node_id> target_replicas;
  int64_t revision = 0;  // mod_revision of the key; a change must compare it

  bool moving() const { return !target_replicas.empty(); }
};

// How fast leaders may send records to replicas that are catching up outside
// the isr (a rebalance's copies), all such replicas of a leader together.
struct replication_throttle {
  int64_t bytes_per_second = 0;  // 0: unlimited
  int64_t revision = 0;          // mod_revision of the key; 0 when not stored
};

struct cluster_view {
  int64_t revision = 0;  // the store revision this view was read at
  node_id controller = no_leader;
  std::vector<node_info> nodes;            // live nodes (their lease holds), by id
  std::vector<topic_state> topics;         // by name
  std::vector<partition_state> partitions; // by topic, then index
  replication_throttle throttle;

  const node_info* find_node(node_id id) const;
  bool alive(node_id id) const { return find_node(id) != nullptr; }
};

std::string node_key(node_id id);
std::string topic_key(const std::string& topic);
std::string partition_key(const std::string& topic, int32_t partition);
extern const char* const cluster_prefix;     // "/strata/"
extern const char* const nodes_prefix;       // "/strata/nodes/"
extern const char* const controller_key;     // "/strata/controller"
extern const char* const topics_prefix;      // "/strata/topics/"
extern const char* const partitions_prefix;  // "/strata/partitions/"
extern const char* const throttle_key;       // "/strata/replication-throttle"

std::string encode_node(const node_info& n);
result<node_info> decode_node(const std::string& json);
std::string encode_topic(const topic_state& t);
result<topic_state> decode_topic(const std::string& name, const std::string& json);
std::string encode_partition(const partition_state& p);
result<partition_state> decode_partition(const std::string& topic, int32_t partition, const std::string& json);
std::string encode_throttle(const replication_throttle& t);
result<replication_throttle> decode_throttle(const std::string& json);

}  // namespace strata::cluster
