#include "cli/table_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/size_text.h"
#include "cli/admin_api.h"
#include "cli/http_client.h"
#include "cli/table.h"
#include "cli/topic_commands.h"

namespace strata::cli {
namespace {

using nlohmann::json;

std::string joined(const json &names) {
  if (!names.is_array() || names.empty()) return "-";
  std::string text;
  for (const auto &n : names) text += (text.empty() ? "" : ", ") + (n.is_string() ? n.get<std::string>() : n.dump());
  return text;
}

std::string partitioning_of(const json &t) {
  const json &p = json_member(t, "partitioning");
  std::string kind = field_text(p, "kind");
  if (kind == "-" || kind == "none") return "none";
  return fmt::format("{} ({})", kind, field_text(p, "column"));
}

std::string stored_of(const json &t) {
  const json &v = json_member(t, "stored_bytes");
  return v.is_number_unsigned() ? format_size(v.get<uint64_t>()) : field_text(t, "stored_bytes");
}

void print_columns(std::ostream &out, const json &columns) {
  table t({"COLUMN", "TYPE", "NULLABLE"});
  if (columns.is_array()) {
    for (const auto &c : columns) {
      bool not_null = json_member(c, "not_null").is_boolean() && json_member(c, "not_null").get<bool>();
      t.add_row({field_text(c, "name"), field_text(c, "type"), not_null ? "not null" : ""});
    }
  }
  t.print(out, "  ");
}

}  // namespace

int table_list(const std::string &admin_url, std::ostream &out, std::ostream &err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/tables", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json &tables = json_member(*answer, "tables");
  if (!tables.is_array() || tables.empty()) {
    out << "No tables.\n";
    return 0;
  }
  table t({"NAME", "KIND", "ROWS", "STORED", "PARTITIONING", "BUCKETS"});
  for (const auto &v : tables) {
    t.add_row({field_text(v, "name"), field_text(v, "kind"), field_text(v, "row_count"), stored_of(v),
               partitioning_of(v), field_text(v, "buckets")});
  }
  t.print(out);
  return 0;
}

int table_describe(const std::string &admin_url, const std::string &name, std::ostream &out, std::ostream &err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/tables/" + encode_path_segment(name), json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json &v = *answer;
  table t;
  t.add_row({"Table:", field_text(v, "name")});
  t.add_row({"Kind:", field_text(v, "kind")});
  t.add_row({"Primary key:", joined(json_member(v, "primary_key"))});
  t.add_row({"Partitioning:", partitioning_of(v)});
  t.add_row({"Buckets:", fmt::format("{} by {}", field_text(v, "buckets"), joined(json_member(v, "bucket_key")))});
  t.add_row({"Rows:", field_text(v, "row_count")});
  t.add_row({"Stored:", stored_of(v)});
  t.add_row({"Partitions:", field_text(v, "partition_count")});
  t.add_row({"Batches:", field_text(v, "batch_count")});
  t.print(out);
  out << "Columns:\n";
  print_columns(out, json_member(v, "columns"));
  return 0;
}

void add_table_commands(CLI::App &app, std::ostream &out, std::ostream &err) {
  struct options {
    std::string admin_url = std::string(default_admin_url);
    std::string name;
  };
  auto opts = std::make_shared<options>();
  CLI::App *group = app.add_subcommand("table", "List and describe tables (create them with SQL, e.g. psql)");
  group->require_subcommand(1);

  CLI::App *list = add_admin_command(*group, "list", "List tables with their kind, rows and size", opts->admin_url);
  list->callback([opts, &out, &err] { finish_command(table_list(opts->admin_url, out, err)); });

  CLI::App *describe =
      add_admin_command(*group, "describe", "Show a table's columns, key and partitioning", opts->admin_url);
  describe->add_option("name", opts->name, "Table name")->required();
  describe->callback([opts, &out, &err] { finish_command(table_describe(opts->admin_url, opts->name, out, err)); });
}

}  // namespace strata::cli
