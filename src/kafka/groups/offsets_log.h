// Consumer groups in cluster mode, as Kafka's __consumer_offsets: a group
// belongs to partition hash(group) % N of the internal topic
// __consumer_offsets; the leader of that partition coordinates the group.
// Every offset commit is appended there (acks=all) before it is stored and
// acknowledged, so a commit survives the loss of its coordinator: the
// partition's next leader reads the partition back into its offset store
// before it answers for those groups.
//
// Records: key and value as offset_store encodes them
// (docs/formats/kafka-group-offsets.md), in uncompressed batches.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "base/result.h"
#include "kafka/groups/coordinator.h"

namespace strata::streams {
class service;
struct broker;
}

namespace strata::kafka::groups {

class offsets_log {
 public:
  static constexpr const char* topic_name = "__consumer_offsets";

  offsets_log(streams::service& streams, coordinator& groups, int32_t partitions);
  offsets_log(const offsets_log&) = delete;
  offsets_log& operator=(const offsets_log&) = delete;

  // Makes the coordinator check ownership and replicate commits through this log.
  void install();

  int32_t partition_for(std::string_view key) const;
  // FindCoordinator: the node leading the key's partition. Creates the topic
  // on first use (as Kafka does). errc::unavailable while it has no leader.
  result<streams::broker> coordinator_for(const std::string& key);
  // After each change of the cluster's state: loads the offsets of the
  // partitions this node now leads and forgets those it no longer leads.
  void on_cluster_change();

 private:
  bool owns(std::string_view group) const;
  void replicate(const std::string& group, const offset_entries& entries, std::function<void(error_code)> done);
  status load_partition(int32_t partition);
  status ensure_topic();

  streams::service& streams_;
  coordinator& groups_;
  const int32_t partitions_;
  std::set<int32_t> loaded_;  // partitions this node leads and has read back
};

}  // namespace strata::kafka::groups
