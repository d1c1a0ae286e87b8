// GET /v1/cluster: the nodes, their liveness and the controller, the
// partitions whose ISR is smaller than their replica set, the partitions
// moving, leaders per node, and every partition's leader, epoch, replicas and
// ISR. A single node answers with mode "single-node" and itself.
// POST /v1/cluster/rebalance: plans and starts replica moves onto the nodes
// that hold the fewest (see cluster_control). Shapes in
// docs/formats/admin-api-cluster.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "admin/router.h"
#include "base/result.h"

namespace strata::streams {
class service;
}

namespace strata::admin {

struct rebalance_options {
  int64_t throttle_bytes_per_second = 0;  // 0: unlimited
  bool dry_run = false;
};

struct partition_move {
  std::string topic;
  int32_t partition = 0;
  std::vector<int32_t> replicas_before;
  std::vector<int32_t> replicas_after;
};

struct rebalance_outcome {
  std::vector<partition_move> moves;
  int32_t replicas_moved = 0;
  int32_t preferred_changed = 0;
  int32_t skipped = 0;
};

// What the admin API may ask of the cluster node (app/ implements it).
class cluster_control {
 public:
  virtual ~cluster_control() = default;
  // Blocking.
  virtual result<rebalance_outcome> rebalance(const rebalance_options& options) = 0;
};

// `cluster` is null on a single node; the rebalance route then answers 409.
void add_cluster_routes(router& routes, streams::service& streams, cluster_control* cluster);

}  // namespace strata::admin
