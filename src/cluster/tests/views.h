// Cluster views for the controller's tests.
#pragma once

#include <vector>

#include "cluster/state.h"

namespace strata::cluster::testing {

// A view in which exactly `alive` are live nodes (and nothing else is set).
inline cluster_view view_with_nodes(const std::vector<node_id>& alive) {
  cluster_view view;
  for (node_id id : alive) view.nodes.push_back(node_info{id, "127.0.0.1", 9092 + id, 8080 + id, 0, {}});
  return view;
}

}  // namespace strata::cluster::testing
