#include "cli/topic_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/admin_api.h"
#include "cli/http_client.h"
#include "cli/table.h"

namespace strata::cli {
namespace {

using nlohmann::json;

constexpr int exit_ok = 0;

std::string topic_target(const std::string& name) { return "/v1/topics/" + encode_path_segment(name); }

result<json> configs_json(const std::vector<std::string>& configs) {
  json out = json::object();
  for (const auto& kv : configs) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(errc::invalid_argument,
                        fmt::format("--config {} is not KEY=VALUE, e.g. --config retention.ms=86400000", kv));
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

void print_partitions(std::ostream& out, const json& partitions) {
  table t({"PARTITION", "LOG_START_OFFSET", "HIGH_WATERMARK", "LOG_END_OFFSET", "SIZE_BYTES"});
  if (partitions.is_array()) {
    for (const auto& p : partitions) {
      t.add_row({field_text(p, "id"), field_text(p, "log_start_offset"), field_text(p, "high_watermark"),
                 field_text(p, "log_end_offset"), field_text(p, "size_bytes")});
    }
  }
  t.print(out);
}

void print_topic(std::ostream& out, const json& topic) {
  const json& partitions = topic.is_object() && topic.contains("partitions") ? topic["partitions"] : json();
  out << "Topic:       " << field_text(topic, "name") << "\n";
  out << "ID:          " << field_text(topic, "id") << "\n";
  out << "Partitions:  " << (partitions.is_array() ? partitions.size() : 0) << "\n";
  out << "Configs:\n";
  table configs;
  if (topic.is_object() && topic.contains("configs") && topic["configs"].is_object()) {
    for (const auto& [key, value] : topic["configs"].items()) {
      configs.add_row({key, value.is_string() ? value.get<std::string>() : value.dump()});
    }
  }
  configs.print(out, "  ");
  out << "\n";
  print_partitions(out, partitions);
}

}  // namespace

int topic_create(const std::string& admin_url, const std::string& name, int32_t partitions,
                 const std::vector<std::string>& configs, std::ostream& out, std::ostream& err, int32_t replication_factor) {
  auto config_object = configs_json(configs);
  if (!config_object) return report_failure(err, config_object.err());
  json body = {{"name", name}, {"configs", *config_object}};
  if (partitions > 0) body["partitions"] = partitions;
  if (replication_factor > 0) body["replication_factor"] = replication_factor;
  auto topic = call_admin_api(admin_url, "POST", "/v1/topics", body, 201);
  if (!topic) return report_failure(err, topic.err());
  const json& parts = topic->contains("partitions") ? (*topic)["partitions"] : json();
  out << fmt::format("Created topic {} with {} partition{}.\n", field_text(*topic, "name"),
                     parts.is_array() ? parts.size() : 0, parts.is_array() && parts.size() == 1 ? "" : "s");
  return exit_ok;
}

int topic_list(const std::string& admin_url, std::ostream& out, std::ostream& err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/topics", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& topics = answer->is_object() && answer->contains("topics") ? (*answer)["topics"] : json();
  if (!topics.is_array() || topics.empty()) {
    out << "No topics.\n";
    return exit_ok;
  }
  table t({"NAME", "PARTITIONS", "ID"});
  for (const auto& topic : topics) {
    t.add_row({field_text(topic, "name"), field_text(topic, "partitions"), field_text(topic, "id")});
  }
  t.print(out);
  return exit_ok;
}

int topic_describe(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto topic = call_admin_api(admin_url, "GET", topic_target(name), json(), 200);
  if (!topic) return report_failure(err, topic.err());
  print_topic(out, *topic);
  return exit_ok;
}

int topic_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto deleted = call_admin_api(admin_url, "DELETE", topic_target(name), json(), 204);
  if (!deleted) return report_failure(err, deleted.err());
  out << "Deleted topic " << name << ".\n";
  return exit_ok;
}

namespace {

struct topic_options {
  std::string admin_url = std::string(default_admin_url);
  std::string name;
  int32_t partitions = 0;
  int32_t replication_factor = 0;
  std::vector<std::string> configs;
};

}  // namespace

void add_topic_commands(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto opts = std::make_shared<topic_options>();
  CLI::App* topic = app.add_subcommand("topic", "Create, list, describe and delete Kafka topics");
  topic->require_subcommand(1);

  CLI::App* create = add_admin_command(*topic, "create", "Create a topic", opts->admin_url);
  create->add_option("name", opts->name, "Topic name")->required();
  create->add_option("--partitions,-p", opts->partitions, "Number of partitions (default: the server's)")
      ->check(CLI::Range(1, std::numeric_limits<int32_t>::max()));
  create->add_option("--config,-c", opts->configs, "Topic config KEY=VALUE, e.g. retention.ms=86400000; repeatable")
      ->allow_extra_args(false);
  create->add_option("--replication-factor,-r", opts->replication_factor, "Replicas per partition, cluster mode (default: the server's)")
      ->check(CLI::Range(1, 3));
  create->callback([opts, &out, &err] {
    finish_command(topic_create(opts->admin_url, opts->name, opts->partitions, opts->configs, out, err, opts->replication_factor));
  });

  CLI::App* list = add_admin_command(*topic, "list", "List topics", opts->admin_url);
  list->callback([opts, &out, &err] { finish_command(topic_list(opts->admin_url, out, err)); });

  CLI::App* describe = add_admin_command(*topic, "describe", "Show a topic's configs and partitions", opts->admin_url);
  describe->add_option("name", opts->name, "Topic name")->required();
  describe->callback([opts, &out, &err] { finish_command(topic_describe(opts->admin_url, opts->name, out, err)); });

  CLI::App* remove = add_admin_command(*topic, "delete", "Delete a topic and its data", opts->admin_url);
  remove->add_option("name", opts->name, "Topic name")->required();
  remove->callback([opts, &out, &err] { finish_command(topic_delete(opts->admin_url, opts->name, out, err)); });
}

}  // namespace strata::cli
