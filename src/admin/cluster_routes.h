// GET /v1/cluster: the nodes, their liveness and the controller, the
// partitions whose ISR is smaller than their replica set, leaders per node,
// and every partition's leader, epoch, replicas and ISR. A single node answers
// with mode "single-node" and itself. Shape in docs/formats/admin-api-cluster.md.
#pragma once

#include "admin/router.h"

namespace strata::streams {
class service;
}

namespace strata::admin {

void add_cluster_routes(router& routes, streams::service& streams);

}  // namespace strata::admin
