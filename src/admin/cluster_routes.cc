#include "admin/cluster_routes.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "admin/body_reader.h"
#include "admin/reply.h"
#include "streams/service.h"

namespace strata::admin {

namespace {

using json = nlohmann::json;

json partition_json(const std::string& topic, const streams::partition_info& p) {
  json j = {{"topic", topic},       {"partition", p.id},       {"leader", p.leader}, {"leader_epoch", p.leader_epoch},
            {"replicas", p.replicas}, {"isr", p.isr}, {"high_watermark", p.hosted ? json(p.high_watermark) : json(nullptr)}};
  if (!p.target_replicas.empty()) j["target_replicas"] = p.target_replicas;
  return j;
}

json nodes_json(const streams::cluster_snapshot& state, const std::set<int32_t>& named) {
  json nodes = json::array();
  std::set<int32_t> listed;
  for (auto& b : state.brokers) {
    json node = {{"id", b.id}, {"host", b.host}, {"kafka_port", b.port}, {"alive", true}};
    if (b.replication_port != 0) node["replication_port"] = b.replication_port;
    nodes.push_back(std::move(node));
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
  json moving = json::array();
  std::map<std::string, int> leaders_per_node;
  std::set<int32_t> named;
  for (const auto& t : streams.list_topics()) {
    for (const auto& p : t.partitions) {
      partitions.push_back(partition_json(t.name, p));
      if (p.isr.size() < p.replicas.size()) under_replicated.push_back(partition_json(t.name, p));
      if (!p.target_replicas.empty()) moving.push_back(partition_json(t.name, p));
      if (p.leader >= 0) ++leaders_per_node[std::to_string(p.leader)];
      named.insert(p.replicas.begin(), p.replicas.end());
    }
  }
  json body = {{"mode", clustered ? "cluster" : "single-node"},
               {"node_id", state.self},
               {"controller", clustered ? state.controller : state.self},
               {"leaders_per_node", leaders_per_node},
               {"under_replicated", under_replicated},
               {"moving", moving},
               {"partitions", partitions}};
  if (clustered) {
    body["nodes"] = nodes_json(state, named);
  } else {
    body["nodes"] = json::array({{{"id", state.self}, {"alive", true}}});
  }
  return json_response(200, body);
}

response rebalance(cluster_control* cluster, const request& req) {
  if (!cluster) {
    return error_response(409, "not_clustered",
                          "this node runs single-node; rebalance needs cluster mode (start the nodes with --cluster-etcd)");
  }
  auto body = body_reader::parse(req.body, {"throttle_bytes_per_second", "dry_run"});
  if (!body) return error_response(body.err());
  rebalance_options options;
  if (auto s = body->i64("throttle_bytes_per_second", 0, int64_t{1} << 40, options.throttle_bytes_per_second); !s) {
    return error_response(s.err());
  }
  if (auto s = body->boolean("dry_run", options.dry_run); !s) return error_response(s.err());
  auto outcome = cluster->rebalance(options);
  if (!outcome) return error_response(outcome.err());
  json moves = json::array();
  for (const auto& m : outcome->moves) {
    moves.push_back({{"topic", m.topic}, {"partition", m.partition}, {"replicas_before", m.replicas_before},
                     {"replicas_after", m.replicas_after}});
  }
  return json_response(options.dry_run ? 200 : 202,
                       {{"dry_run", options.dry_run},
                        {"throttle_bytes_per_second", options.throttle_bytes_per_second},
                        {"replicas_moved", outcome->replicas_moved},
                        {"preferred_leaders_changed", outcome->preferred_changed},
                        {"partitions_skipped", outcome->skipped},
                        {"moves", moves}});
}

}  // namespace

void add_cluster_routes(router& routes, streams::service& streams, cluster_control* cluster) {
  routes.add("GET", "/v1/cluster", [&streams](const request&, const path_params&) { return cluster_status(streams); });
  routes.add_blocking("POST", "/v1/cluster/rebalance",
                      [cluster](const request& req, const path_params&) { return rebalance(cluster, req); });
}

}  // namespace strata::admin
