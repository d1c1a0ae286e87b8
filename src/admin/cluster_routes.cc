#include "admin/cluster_routes.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "admin/reply.h"
#include "streams/service.h"

namespace strata::admin {

namespace {

using json = nlohmann::json;

json partition_json(const std::string& topic, const streams::partition_info& p) {
  return {{"topic", topic},       {"partition", p.id},       {"leader", p.leader}, {"leader_epoch", p.leader_epoch},
          {"replicas", p.replicas}, {"isr", p.isr}, {"high_watermark", p.hosted ? json(p.high_watermark) : json(nullptr)}};
}

json nodes_json(const streams::cluster_snapshot& state, const std::set<int32_t>& named) {
  json nodes = json::array();
  std::set<int32_t> listed;
  for (auto& b : state.brokers) {
    nodes.push_back({{"id", b.id}, {"host", b.host}, {"kafka_port", b.port}, {"alive", true}});
    listed.insert(b.id);
  }
  // Nodes that replicas name but whose lease is gone: down.
  for (int32_t id : named) {
    if (!listed.contains(id)) nodes.push_back({{"id", id}, {"alive", false}});
  }
  std::sort(nodes.begin(), nodes.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
  return nodes;
}

response cluster_status(streams::service& streams) {
  const bool clustered = streams.clustered();
  const auto& state = streams.cluster_state();
  json partitions = json::array();
  json under_replicated = json::array();
  std::map<std::string, int> leaders_per_node;
  std::set<int32_t> named;
  for (const auto& t : streams.list_topics()) {
    for (const auto& p : t.partitions) {
      partitions.push_back(partition_json(t.name, p));
      if (p.isr.size() < p.replicas.size()) under_replicated.push_back(partition_json(t.name, p));
      if (p.leader >= 0) ++leaders_per_node[std::to_string(p.leader)];
      named.insert(p.replicas.begin(), p.replicas.end());
    }
  }
  json body = {{"mode", clustered ? "cluster" : "single-node"},
               {"node_id", state.self},
               {"controller", clustered ? state.controller : state.self},
               {"leaders_per_node", leaders_per_node},
               {"under_replicated", under_replicated},
               {"partitions", partitions}};
  if (clustered) {
    body["nodes"] = nodes_json(state, named);
  } else {
    body["nodes"] = json::array({{{"id", state.self}, {"alive", true}}});
  }
  return json_response(200, body);
}

}  // namespace

void add_cluster_routes(router& routes, streams::service& streams) {
  routes.add("GET", "/v1/cluster", [&streams](const request&, const path_params&) { return cluster_status(streams); });
}

}  // namespace strata::admin
