#include "cli/cluster_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/size_text.h"
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
  table t({"TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "TARGET"});
  for (const auto& p : partitions) {
    const json& target = json_member(p, "target_replicas");
    t.add_row({field_text(p, "topic"), field_text(p, "partition"), field_text(p, "leader"), field_text(p, "leader_epoch"),
               ids_text(json_member(p, "replicas")), ids_text(json_member(p, "isr")),
               target.is_array() ? ids_text(target) : ""});
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
  const json& moving = json_member(*status, "moving");
  if (moving.is_array() && !moving.empty()) {
    out << "\nMoving partitions (strata cluster rebalance; TARGET is where they go):\n";
    print_partitions(out, moving);
  }
  if (all_partitions) {
    out << "\nPartitions:\n";
    print_partitions(out, json_member(*status, "partitions"));
  }
  return 0;
}

int cluster_rebalance(const std::string& admin_url, const std::string& throttle_text, bool dry_run, std::ostream& out,
                      std::ostream& err) {
  json body = {{"dry_run", dry_run}};
  if (!throttle_text.empty()) {
    auto rate = parse_size(throttle_text);
    if (!rate) return report_failure(err, rate.err());
    body["throttle_bytes_per_second"] = *rate;
  }
  auto plan = call_admin_api(admin_url, "POST", "/v1/cluster/rebalance", body, dry_run ? 200 : 202);
  if (!plan) return report_failure(err, plan.err());
  const json& moves = json_member(*plan, "moves");
  if (!moves.is_array() || moves.empty()) {
    out << "The cluster is balanced: nothing to move.\n";
  } else {
    table t({"TOPIC", "PARTITION", "REPLICAS", "NEW REPLICAS"});
    for (const auto& m : moves) {
      t.add_row({field_text(m, "topic"), field_text(m, "partition"), ids_text(json_member(m, "replicas_before")),
                 ids_text(json_member(m, "replicas_after"))});
    }
    t.print(out);
    out << fmt::format("\n{} replica copies, {} preferred-leader changes{}.\n", field_text(*plan, "replicas_moved"),
                       field_text(*plan, "preferred_leaders_changed"),
                       dry_run ? " would be made (dry run: nothing changed)"
                               : "; watch them finish with `strata cluster status`");
  }
  const std::string skipped = field_text(*plan, "partitions_skipped");
  if (skipped != "0") {
    out << skipped << " partition(s) left alone: moving already, offline, or with a replica on a node that is down.\n";
  }
  return 0;
}

namespace {

struct cluster_options {
  std::string admin_url;
  bool all_partitions = false;
  std::string throttle;
  bool dry_run = false;
};

}  // namespace

void add_cluster_commands(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto opts = std::make_shared<cluster_options>();
  CLI::App* group = app.add_subcommand("cluster", "Show and rebalance the cluster: nodes, the controller, leaders, the ISR");
  group->require_subcommand(1);
  CLI::App* status = add_admin_command(*group, "status", "Nodes, liveness, controller, leaders per node, under-replicated partitions",
                                       opts->admin_url);
  status->add_flag("--partitions", opts->all_partitions, "Also list every partition's leader, epoch, replicas and ISR");
  status->callback([opts, &out, &err] { finish_command(cluster_status(opts->admin_url, opts->all_partitions, out, err)); });
  CLI::App* rebalance = add_admin_command(
      *group, "rebalance", "Move replicas so that every live node holds its share (new nodes included)", opts->admin_url);
  rebalance->add_option("--throttle", opts->throttle,
                        "Bytes per second each leader may send to replicas catching up, e.g. 50M (default: unlimited)");
  rebalance->add_flag("--dry-run", opts->dry_run, "Print the moves without making them");
  rebalance->callback([opts, &out, &err] {
    finish_command(cluster_rebalance(opts->admin_url, opts->throttle, opts->dry_run, out, err));
  });
}

}  // namespace strata::cli
