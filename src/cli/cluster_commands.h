// `strata cluster status`: the nodes, their liveness and the controller,
// leaders per node, the partitions whose ISR is smaller than their replica
// set and those moving, from GET /v1/cluster of any node.
// `strata cluster rebalance [--throttle RATE] [--dry-run]`: POST
// /v1/cluster/rebalance, and the moves it starts.
#pragma once

#include <iostream>
#include <string>

namespace CLI {
class App;
}

namespace strata::cli {

void add_cluster_commands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// `all_partitions` lists every partition, not only the under-replicated ones.
int cluster_status(const std::string& admin_url, bool all_partitions, std::ostream& out, std::ostream& err);

// `throttle_text` is a size per second ("50M"); empty: unlimited.
int cluster_rebalance(const std::string& admin_url, const std::string& throttle_text, bool dry_run, std::ostream& out,
                      std::ostream& err);

}  // namespace strata::cli
