#include "cli/cluster_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/admin_api.h"
#include "cli/table.h"

namespace strata::cli {

namespace {

using nlohmann::json;

std::string ids_text(const json& ids) {
  if (!ids.is_array()) return "-";
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id.dump();
  return out;
}

void print_partitions(std::ostream& out, const json& partitions) {
  table t({"TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR"});
  for (const auto& p : partitions) {
    t.add_row({field_text(p, "topic"), field_text(p, "partition"), field_text(p, "leader"), field_text(p, "leader_epoch"),
               ids_text(json_member(p, "replicas")), ids_text(json_member(p, "isr"))});
  }
  t.print(out);
}

void print_nodes(std::ostream& out, const json& status) {
  const json& leaders = json_member(status, "leaders_per_node");
  const std::string controller = field_text(status, "controller");
  table t({"NODE", "ADDRESS", "ALIVE", "CONTROLLER", "LEADERS"});
  for (const auto& n : json_member(status, "nodes")) {
    const std::string id = field_text(n, "id");
    const bool alive = json_member(n, "alive").is_boolean() && json_member(n, "alive").get<bool>();
    std::string address = n.contains("host") ? fmt::format("{}:{}", field_text(n, "host"), field_text(n, "kafka_port")) : "-";
    t.add_row({id, address, alive ? "yes" : "no", id == controller ? "yes" : "", leaders.contains(id) ? leaders[id].dump() : "0"});
  }
  t.print(out);
}

}  // namespace

int cluster_status(const std::string& admin_url, bool all_partitions, std::ostream& out, std::ostream& err) {
  auto status = call_admin_api(admin_url, "GET", "/v1/cluster", json(), 200);
  if (!status) return report_failure(err, status.err());
  out << "Mode:        " << field_text(*status, "mode") << "\n";
  out << "This node:   " << field_text(*status, "node_id") << "\n";
  out << "Controller:  " << field_text(*status, "controller") << "\n\n";
  print_nodes(out, *status);
  const json& under = json_member(*status, "under_replicated");
  out << "\n";
  if (under.is_array() && !under.empty()) {
    out << "Under-replicated partitions (ISR smaller than replicas):\n";
    print_partitions(out, under);
  } else {
    out << "No under-replicated partitions.\n";
  }
  if (all_partitions) {
    out << "\nPartitions:\n";
    print_partitions(out, json_member(*status, "partitions"));
  }
  return 0;
}

namespace {

struct cluster_options {
  std::string admin_url;
  bool all_partitions = false;
};

}  // namespace

void add_cluster_commands(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto opts = std::make_shared<cluster_options>();
  CLI::App* group = app.add_subcommand("cluster", "Show the cluster: nodes, the controller, leaders and the ISR");
  group->require_subcommand(1);
  CLI::App* status = add_admin_command(*group, "status", "Nodes, liveness, controller, leaders per node, under-replicated partitions",
                                       opts->admin_url);
  status->add_flag("--partitions", opts->all_partitions, "Also list every partition's leader, epoch, replicas and ISR");
  status->callback([opts, &out, &err] { finish_command(cluster_status(opts->admin_url, opts->all_partitions, out, err)); });
}

}  // namespace strata::cli
