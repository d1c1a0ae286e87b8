#include "cli/volume_commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/size_text.h"
#include "base/utc_time.h"
#include "cli/admin_api.h"
#include "cli/http_client.h"
#include "cli/table.h"
#include "cli/topic_commands.h"

namespace strata::cli {
namespace {

using nlohmann::json;

constexpr int exit_ok = 0;

std::string volume_target(const std::string& name) { return "/v1/volumes/" + encode_path_segment(name); }

const json& member(const json& object, const char* key) { return json_member(object, key); }

// A byte count as "10 GiB"; "-" when absent.
std::string size_of(const json& object, const char* key) {
  const json& v = member(object, key);
  return v.is_number_unsigned() ? format_size(v.get<uint64_t>()) : field_text(object, key);
}

// "10 GiB (10737418240 bytes)".
std::string size_with_bytes(const json& object, const char* key) {
  const json& v = member(object, key);
  if (!v.is_number_unsigned()) return field_text(object, key);
  return fmt::format("{} ({} bytes)", format_size(v.get<uint64_t>()), v.get<uint64_t>());
}

// Unix epoch milliseconds as "2024-05-01 12:00:00 UTC".
std::string time_of(const json& object, const char* key) {
  const json& v = member(object, key);
  if (!v.is_number_integer()) return field_text(object, key);
  std::string text = format_utc_ms(v.get<int64_t>(), "%Y-%m-%d %H:%M:%S UTC");
  return text.empty() ? field_text(object, key) : text;
}

std::string origin_of(const json& volume) {
  std::string origin = field_text(volume, "origin");
  return origin.empty() ? "-" : origin;
}

size_t count_of(const json& object, const char* key) {
  const json& v = member(object, key);
  return v.is_array() ? v.size() : 0;
}

result<uint64_t> parse_size_flag(const std::string& size) {
  auto bytes = parse_size(size);
  if (!bytes) return make_error(errc::invalid_argument, "--size " + bytes.err().message);
  return *bytes;
}

status check_snapshot_ref(const std::string& ref) {
  size_t at = ref.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == ref.size() || ref.find('@', at + 1) != std::string::npos) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} does not name a snapshot; use VOLUME@SNAPSHOT, e.g. vm1@s1", ref));
  }
  return {};
}

void print_volume(std::ostream& out, const json& v) {
  const json& snapshots = member(v, "snapshots");
  std::string names;
  if (snapshots.is_array()) {
    for (const auto& s : snapshots)
      names += (names.empty() ? "" : ", ") + (s.is_string() ? s.get<std::string>() : s.dump());
  }
  table t;
  t.add_row({"Volume:", field_text(v, "name")});
  t.add_row({"Size:", size_with_bytes(v, "size_bytes")});
  t.add_row({"Allocated:", size_with_bytes(v, "allocated_bytes")});
  t.add_row({"Origin:", origin_of(v)});
  t.add_row({"Created:", time_of(v, "created_ms")});
  t.add_row({"Open exports:", field_text(v, "open_exports")});
  t.add_row({"Snapshots:", names.empty() ? "none" : names});
  t.print(out);
}

void print_usage(std::ostream& out, const json& usage) {
  if (!usage.is_object()) return;
  out << fmt::format("\nAllocated in all layers: {} ({} layers, {} hidden).\n", size_of(usage, "allocated_bytes"),
                     field_text(usage, "layers"), field_text(usage, "hidden_layers"));
}

}  // namespace

int volume_create(const std::string& admin_url, const std::string& name, const std::string& size, std::ostream& out,
                  std::ostream& err) {
  auto bytes = parse_size_flag(size);
  if (!bytes) return report_failure(err, bytes.err());
  auto volume = call_admin_api(admin_url, "POST", "/v1/volumes", {{"name", name}, {"size_bytes", *bytes}}, 201);
  if (!volume) return report_failure(err, volume.err());
  out << fmt::format("Created volume {} ({}).\n", field_text(*volume, "name"), size_of(*volume, "size_bytes"));
  return exit_ok;
}

int volume_list(const std::string& admin_url, std::ostream& out, std::ostream& err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/volumes", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& volumes = member(*answer, "volumes");
  if (!volumes.is_array() || volumes.empty()) {
    out << "No volumes.\n";
    return exit_ok;
  }
  table t({"NAME", "SIZE", "ALLOCATED", "ORIGIN", "SNAPSHOTS", "OPEN_EXPORTS"});
  for (const auto& v : volumes) {
    t.add_row({field_text(v, "name"), size_of(v, "size_bytes"), size_of(v, "allocated_bytes"), origin_of(v),
               std::to_string(count_of(v, "snapshots")), field_text(v, "open_exports")});
  }
  t.print(out);
  print_usage(out, member(*answer, "usage"));
  return exit_ok;
}

int volume_describe(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto volume = call_admin_api(admin_url, "GET", volume_target(name), json(), 200);
  if (!volume) return report_failure(err, volume.err());
  print_volume(out, *volume);
  return exit_ok;
}

int volume_resize(const std::string& admin_url, const std::string& name, const std::string& size, std::ostream& out,
                  std::ostream& err) {
  auto bytes = parse_size_flag(size);
  if (!bytes) return report_failure(err, bytes.err());
  auto volume = call_admin_api(admin_url, "POST", volume_target(name) + "/resize", {{"size_bytes", *bytes}}, 200);
  if (!volume) return report_failure(err, volume.err());
  out << fmt::format("Resized volume {} to {}.\n", field_text(*volume, "name"), size_of(*volume, "size_bytes"));
  return exit_ok;
}

int volume_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto deleted = call_admin_api(admin_url, "DELETE", volume_target(name), json(), 204);
  if (!deleted) return report_failure(err, deleted.err());
  out << "Deleted volume " << name << ".\n";
  return exit_ok;
}

int snapshot_create(const std::string& admin_url, const std::string& volume, const std::string& snapshot,
                    std::ostream& out, std::ostream& err) {
  auto created = call_admin_api(admin_url, "POST", "/v1/snapshots", {{"volume", volume}, {"name", snapshot}}, 201);
  if (!created) return report_failure(err, created.err());
  out << fmt::format("Created snapshot {} ({}); its read-only NBD export is {}.\n", field_text(*created, "export"),
                     size_of(*created, "size_bytes"), field_text(*created, "export"));
  return exit_ok;
}

int snapshot_list(const std::string& admin_url, const std::string& volume, std::ostream& out, std::ostream& err) {
  std::string target = "/v1/snapshots";
  if (!volume.empty()) target += "?volume=" + encode_path_segment(volume);
  auto answer = call_admin_api(admin_url, "GET", target, json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& snapshots = member(*answer, "snapshots");
  if (!snapshots.is_array() || snapshots.empty()) {
    out << (volume.empty() ? std::string("No snapshots.\n") : "Volume " + volume + " has no snapshots.\n");
    return exit_ok;
  }
  table t({"SNAPSHOT", "SIZE", "ALLOCATED", "CLONES", "CREATED"});
  for (const auto& s : snapshots) {
    t.add_row({field_text(s, "export"), size_of(s, "size_bytes"), size_of(s, "allocated_bytes"),
               field_text(s, "clones"), time_of(s, "created_ms")});
  }
  t.print(out);
  return exit_ok;
}

int snapshot_delete(const std::string& admin_url, const std::string& snapshot_ref, std::ostream& out,
                    std::ostream& err) {
  if (auto bad = check_snapshot_ref(snapshot_ref); !bad) return report_failure(err, bad.err());
  auto deleted = call_admin_api(admin_url, "DELETE", "/v1/snapshots/" + encode_path_segment(snapshot_ref), json(), 204);
  if (!deleted) return report_failure(err, deleted.err());
  out << "Deleted snapshot " << snapshot_ref << ".\n";
  return exit_ok;
}

int clone_create(const std::string& admin_url, const std::string& snapshot_ref, const std::string& name,
                 std::ostream& out, std::ostream& err) {
  if (auto bad = check_snapshot_ref(snapshot_ref); !bad) return report_failure(err, bad.err());
  auto clone = call_admin_api(admin_url, "POST", "/v1/clones", {{"snapshot", snapshot_ref}, {"name", name}}, 201);
  if (!clone) return report_failure(err, clone.err());
  out << fmt::format("Created clone {} of {} ({}).\n", field_text(*clone, "name"), origin_of(*clone),
                     size_of(*clone, "size_bytes"));
  return exit_ok;
}

namespace {

struct volume_options {
  std::string admin_url = std::string(default_admin_url);
  std::string name;
  std::string size;
  std::string volume;
  std::string snapshot;
};

void add_volume_group(CLI::App& app, const std::shared_ptr<volume_options>& opts, std::ostream& out,
                      std::ostream& err) {
  CLI::App* volume = app.add_subcommand("volume", "Create, list, describe, resize and delete block volumes");
  volume->require_subcommand(1);
  const char* size_help = "Size: digits with K, M, G or T (KiB, MiB, GiB, TiB), e.g. 10G; plain digits are bytes";

  CLI::App* create = add_admin_command(*volume, "create", "Create a thin-provisioned volume", opts->admin_url);
  create->add_option("name", opts->name, "Volume name (also its NBD export name)")->required();
  create->add_option("--size,-s", opts->size, size_help)->required();
  create->callback(
      [opts, &out, &err] { finish_command(volume_create(opts->admin_url, opts->name, opts->size, out, err)); });

  CLI::App* list = add_admin_command(*volume, "list", "List volumes and clones", opts->admin_url);
  list->callback([opts, &out, &err] { finish_command(volume_list(opts->admin_url, out, err)); });

  CLI::App* describe =
      add_admin_command(*volume, "describe", "Show a volume's size, space, origin and snapshots", opts->admin_url);
  describe->add_option("name", opts->name, "Volume name")->required();
  describe->callback([opts, &out, &err] { finish_command(volume_describe(opts->admin_url, opts->name, out, err)); });

  CLI::App* resize = add_admin_command(*volume, "resize", "Grow a volume", opts->admin_url);
  resize->add_option("name", opts->name, "Volume name")->required();
  resize->add_option("--size,-s", opts->size, std::string(size_help) + "; volumes only grow")->required();
  resize->callback(
      [opts, &out, &err] { finish_command(volume_resize(opts->admin_url, opts->name, opts->size, out, err)); });

  CLI::App* remove = add_admin_command(*volume, "delete", "Delete a volume and its snapshots", opts->admin_url);
  remove->add_option("name", opts->name, "Volume name")->required();
  remove->callback([opts, &out, &err] { finish_command(volume_delete(opts->admin_url, opts->name, out, err)); });
}

void add_snapshot_group(CLI::App& app, const std::shared_ptr<volume_options>& opts, std::ostream& out,
                        std::ostream& err) {
  CLI::App* snapshot = app.add_subcommand("snapshot", "Create, list and delete volume snapshots");
  snapshot->require_subcommand(1);

  CLI::App* create =
      add_admin_command(*snapshot, "create", "Snapshot a volume (read-only export VOLUME@SNAPSHOT)", opts->admin_url);
  create->add_option("volume", opts->volume, "Volume name")->required();
  create->add_option("snapshot", opts->snapshot, "Snapshot name")->required();
  create->callback(
      [opts, &out, &err] { finish_command(snapshot_create(opts->admin_url, opts->volume, opts->snapshot, out, err)); });

  CLI::App* list = add_admin_command(*snapshot, "list", "List snapshots, of one volume or of all", opts->admin_url);
  list->add_option("volume", opts->volume, "Volume name (default: every volume)");
  list->callback([opts, &out, &err] { finish_command(snapshot_list(opts->admin_url, opts->volume, out, err)); });

  CLI::App* remove = add_admin_command(*snapshot, "delete", "Delete a snapshot", opts->admin_url);
  remove->add_option("snapshot", opts->snapshot, "VOLUME@SNAPSHOT")->required();
  remove->callback([opts, &out, &err] { finish_command(snapshot_delete(opts->admin_url, opts->snapshot, out, err)); });
}

void add_clone_group(CLI::App& app, const std::shared_ptr<volume_options>& opts, std::ostream& out, std::ostream& err) {
  CLI::App* clone = app.add_subcommand("clone", "Create writable clones of snapshots");
  clone->require_subcommand(1);

  CLI::App* create =
      add_admin_command(*clone, "create", "Create a writable volume that reads through to a snapshot", opts->admin_url);
  create->add_option("snapshot", opts->snapshot, "VOLUME@SNAPSHOT to clone")->required();
  create->add_option("name", opts->name, "Name of the new volume")->required();
  create->callback(
      [opts, &out, &err] { finish_command(clone_create(opts->admin_url, opts->snapshot, opts->name, out, err)); });
}

}  // namespace

void add_volume_commands(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto opts = std::make_shared<volume_options>();
  add_volume_group(app, opts, out, err);
  add_snapshot_group(app, opts, out, err);
  add_clone_group(app, opts, out, err);
}

}  // namespace strata::cli
