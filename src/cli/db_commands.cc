#include "cli/db_commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/size_text.h"
#include "base/units.h"
#include "cli/admin_api.h"
#include "cli/http_client.h"
#include "cli/table.h"
#include "cli/topic_commands.h"

namespace strata::cli {
namespace {

// Snapshots, commits and deletes wait on postgres instances on the server:
// a snapshot of a large database can take minutes.
constexpr int64_t slow_call_timeout_ms = 3'600'000;

using nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr int exit_ok = 0;
constexpr uint64_t preprocess_sql_bytes_max = 512 * KiB;
constexpr std::string_view masked_password = "********";

const json& member(const json& object, const char* key) { return json_member(object, key); }

std::string path_of(std::string_view collection, const std::string& id) {
  return std::string(collection) + "/" + encode_path_segment(id);
}
std::string source_target(const std::string& name) { return path_of("/v1/db/sources", name); }
std::string snapshot_target(const std::string& id) { return path_of("/v1/db/snapshots", id); }
std::string clone_target(const std::string& id) { return path_of("/v1/db/clones", id); }
std::string branch_target(const std::string& name) { return path_of("/v1/db/branches", name); }

// field_text, with "-" for an empty string too.
std::string text_of(const json& object, const char* key) {
  std::string text = field_text(object, key);
  return text.empty() ? "-" : text;
}

uint64_t bytes_of(const json& object, const char* key) {
  const json& v = member(object, key);
  return v.is_number_unsigned() ? v.get<uint64_t>() : 0;
}

// A byte count as "10 GiB"; "-" when absent.
std::string size_of(const json& object, const char* key) {
  const json& v = member(object, key);
  return v.is_number_unsigned() ? format_size(v.get<uint64_t>()) : text_of(object, key);
}

// RFC 3339 UTC "2026-12-06T17:20:00Z" (fractions dropped) as "2026-12-06 17:20:00 UTC"; other text as it is.
std::string time_of(const json& object, const char* key) {
  std::string text = text_of(object, key);
  bool rfc3339_utc = text.size() >= 20 && text[4] == '-' && text[10] == 'T' && text[13] == ':' && text.back() == 'Z';
  if (!rfc3339_utc) return text;
  return text.substr(0, 10) + " " + text.substr(11, 8) + " UTC";
}

std::string yes_no(const json& object, const char* key) {
  const json& v = member(object, key);
  return v.is_boolean() ? (v.get<bool>() ? "yes" : "no") : text_of(object, key);
}

// Hides the password of a libpq conninfo, in key=value or URI form, should a
// server ever send one back unmasked.
std::string mask_conninfo(std::string conninfo) {
  for (size_t at = conninfo.find("password="); at != std::string::npos; at = conninfo.find("password=", at + 1)) {
    size_t begin = at + 9;
    size_t end = conninfo[begin] == '\'' ? conninfo.find('\'', begin + 1) : conninfo.find_first_of(" \t&", begin);
    if (end != std::string::npos && conninfo[begin] == '\'') ++end;
    conninfo.replace(begin, (end == std::string::npos ? conninfo.size() : end) - begin, masked_password);
  }
  size_t scheme = conninfo.find("://");
  size_t at_sign = scheme == std::string::npos ? std::string::npos : conninfo.find('@', scheme + 3);
  size_t colon = at_sign == std::string::npos ? std::string::npos : conninfo.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at_sign) conninfo.replace(colon + 1, at_sign - colon - 1, masked_password);
  return conninfo;
}

// "postgresql://dev@127.0.0.1:6000/postgres"; never with a password.
std::string connection_url(const json& clone) {
  std::string host = field_text(clone, "host");
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return fmt::format("postgresql://{}@{}:{}/postgres", encode_path_segment(field_text(clone, "user")), host,
                     field_text(clone, "port"));
}

std::string reason_of(const json& object) {
  std::string reason = field_text(object, "reason");
  return reason.empty() || reason == "-" ? "no reason given" : reason;
}

result<json> settings_json(const std::vector<std::string>& settings) {
  json out = json::object();
  for (const auto& kv : settings) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(errc::invalid_argument,
                        fmt::format("--setting {} is not KEY=VALUE, e.g. --setting work_mem=64MB", kv));
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

result<std::string> read_sql_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(errc::invalid_argument,
                      fmt::format("--preprocess-sql {}: cannot read it ({})", path, std::strerror(errno)));
  }
  std::string text(preprocess_sql_bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return make_error(errc::io_error, fmt::format("--preprocess-sql {}: cannot read it", path));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > preprocess_sql_bytes_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("--preprocess-sql {} is larger than {}; the limit is {}", path,
                                  format_size(preprocess_sql_bytes_max), format_size(preprocess_sql_bytes_max)));
  }
  return text;
}

status check_source_spec(const db_source_spec& spec) {
  if (spec.mode != "physical" && spec.mode != "logical") {
    return make_error(errc::invalid_argument, fmt::format("--mode {} is not physical or logical", spec.mode));
  }
  if (spec.mode == "logical" && spec.databases.empty()) {
    return make_error(errc::invalid_argument,
                      "--mode logical needs the databases to copy: give --database DB, once per database");
  }
  if (spec.mode == "physical" && !spec.refresh_schedule.empty()) {
    return make_error(errc::invalid_argument,
                      "--refresh-schedule applies to --mode logical only; a physical source follows its primary");
  }
  if (!spec.backend.empty() && spec.backend != "btrfs" && spec.backend != "volume") {
    return make_error(errc::invalid_argument, fmt::format("--backend {} is not btrfs or volume", spec.backend));
  }
  return {};
}

result<json> source_body(const db_source_spec& spec) {
  STRATA_TRY(check_source_spec(spec));
  json body = {{"name", spec.name}, {"mode", spec.mode}, {"conninfo", spec.conninfo}};
  if (!spec.databases.empty()) body["databases"] = spec.databases;
  if (!spec.backend.empty()) body["backend"] = spec.backend;
  if (!spec.snapshot_schedule.empty()) body["snapshot_schedule"] = spec.snapshot_schedule;
  if (spec.retention_limit >= 0) body["retention_limit"] = spec.retention_limit;
  if (!spec.refresh_schedule.empty()) body["refresh_schedule"] = spec.refresh_schedule;
  if (spec.jobs > 0) body["jobs"] = spec.jobs;
  if (!spec.preprocess_sql_file.empty()) {
    auto sql = read_sql_file(spec.preprocess_sql_file);
    STRATA_TRY(sql);
    body["preprocess_sql"] = std::move(*sql);
  }
  return body;
}

result<json> clone_body(const db_clone_spec& spec) {
  if (spec.password.empty()) {
    return make_error(errc::invalid_argument,
                      fmt::format("clone {} needs a password for user {}: give --password or set STRATA_DB_PASSWORD",
                                  spec.id, spec.user));
  }
  auto settings = settings_json(spec.settings);
  STRATA_TRY(settings);
  json body = {{"id", spec.id}, {"user", spec.user}, {"password", spec.password}, {"protected", spec.protect}};
  if (!spec.source.empty()) body["source"] = spec.source;
  if (!spec.snapshot.empty()) body["snapshot"] = spec.snapshot;
  if (!spec.branch.empty()) body["branch"] = spec.branch;
  if (!settings->empty()) body["settings"] = std::move(*settings);
  return body;
}

void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// The progress of a source's initial copy on err: one line redrawn with '\r'
// on a terminal, else a line at most every line_interval_ms.
class progress_display {
 public:
  progress_display(std::ostream& err, const db_wait_options& options) : err_(err), options_(options) {}

  void show(uint64_t done_bytes, uint64_t total_bytes) {
    std::string bar = render_progress_bar(done_bytes, total_bytes);
    if (options_.tty) {
      size_t pad = drawn_chars_ > bar.size() ? drawn_chars_ - bar.size() : 0;
      err_ << '\r' << bar << std::string(pad, ' ') << std::flush;
      drawn_chars_ = bar.size();
      return;
    }
    auto now = steady::now();
    if (lines_ > 0 && now - last_line_ < std::chrono::milliseconds(options_.line_interval_ms)) return;
    err_ << bar << '\n' << std::flush;
    last_line_ = now;
    ++lines_;
  }

  // Ends a redrawn line, so what follows starts on its own.
  void finish() {
    if (drawn_chars_ > 0) err_ << '\n' << std::flush;
    drawn_chars_ = 0;
  }

 private:
  std::ostream& err_;
  const db_wait_options& options_;
  size_t drawn_chars_ = 0;
  uint64_t lines_ = 0;
  steady::time_point last_line_{};
};

error still_running(const error& failure, const std::string& what, const std::string& describe) {
  return make_error(failure.code,
                    fmt::format("{}; {} goes on in the server: see `{}`", failure.message, what, describe));
}

int wait_for_source(const std::string& admin_url, const std::string& name, json source, const db_wait_options& options,
                    std::ostream& out, std::ostream& err) {
  progress_display progress(err, options);
  while (true) {
    std::string status = field_text(source, "status");
    if (status == "ready" || status == "refreshing") {
      progress.finish();
      out << "source " << name << " ready\n";
      return exit_ok;
    }
    if (status == "error") {
      progress.finish();
      return report_failure(err,
                            make_error(errc::internal, fmt::format("source {} failed: {}", name, reason_of(source))));
    }
    if (status == "copying") {
      const json& p = member(source, "progress");
      progress.show(bytes_of(p, "done_bytes"), bytes_of(p, "total_bytes"));
    }
    sleep_ms(options.poll_interval_ms);
    auto next = call_admin_api(admin_url, "GET", source_target(name), json(), 200);
    if (!next) {
      progress.finish();
      return report_failure(err, still_running(next.err(), "the copy", "strata db source describe " + name));
    }
    source = std::move(*next);
  }
}

// Reads the clone until it leaves CREATING or RESETTING.
result<json> wait_for_clone(const std::string& admin_url, const std::string& id, json clone, int64_t interval_ms) {
  while (true) {
    std::string status = field_text(clone, "status");
    if (status != "CREATING" && status != "RESETTING") return clone;
    sleep_ms(interval_ms);
    auto next = call_admin_api(admin_url, "GET", clone_target(id), json(), 200);
    if (!next) return still_running(next.err(), "the clone", "strata db clone describe " + id);
    clone = std::move(*next);
  }
}

// An error unless the clone is OK.
status check_clone_ok(const std::string& id, const json& clone) {
  std::string status = field_text(clone, "status");
  if (status == "OK") return {};
  if (status == "FATAL") return make_error(errc::internal, fmt::format("clone {} failed: {}", id, reason_of(clone)));
  return make_error(errc::unavailable, fmt::format("clone {} is {}, not OK", id, status));
}

void print_clone_ready(std::ostream& out, const std::string& verb, const json& clone) {
  out << fmt::format("clone {} {}: {}\n", field_text(clone, "id"), verb, connection_url(clone));
  out << fmt::format("status {}, port {}, snapshot {}", field_text(clone, "status"), field_text(clone, "port"),
                     text_of(clone, "snapshot"));
  const json& ms = member(clone, "clone_ms");
  if (ms.is_number()) out << fmt::format(", ready in {} ms", ms.dump());
  out << "\n";
}

std::string source_status(const json& source) {
  std::string status = text_of(source, "status");
  if (status == "error") return "error: " + reason_of(source);
  const json& p = member(source, "progress");
  uint64_t total = bytes_of(p, "total_bytes");
  if (status != "copying" || total == 0) return status;
  uint64_t done = std::min(bytes_of(p, "done_bytes"), total);
  return fmt::format("copying {} / {} ({}%)", format_size(done), format_size(total),
                     static_cast<unsigned>(static_cast<unsigned __int128>(done) * 100 / total));
}

std::string list_of(const json& object, const char* key, std::string_view none) {
  const json& items = member(object, key);
  std::string text;
  if (items.is_array()) {
    for (const auto& item : items)
      text += (text.empty() ? "" : ", ") + (item.is_string() ? item.get<std::string>() : item.dump());
  }
  return text.empty() ? std::string(none) : text;
}

std::string sync_text(const json& sync) {
  if (!sync.is_object()) return "-";
  return fmt::format("pid {}, replay lag {} ({} s), last replay {}", field_text(sync, "pid"),
                     size_of(sync, "replay_lag_bytes"), field_text(sync, "replay_lag_seconds"),
                     time_of(sync, "last_replay_at"));
}

void print_source(std::ostream& out, const json& s) {
  table t;
  t.add_row({"Source:", field_text(s, "name")});
  t.add_row({"Mode:", field_text(s, "mode")});
  t.add_row({"Backend:", field_text(s, "backend")});
  t.add_row({"Status:", source_status(s)});
  t.add_row({"Conninfo:", mask_conninfo(field_text(s, "conninfo"))});
  t.add_row({"Databases:", list_of(s, "databases", "all")});
  t.add_row({"Created:", time_of(s, "created_at")});
  t.add_row(
      {"Snapshot schedule:", field_text(s, "snapshot_schedule").empty() ? "none" : text_of(s, "snapshot_schedule")});
  const json& limit = member(s, "retention_limit");
  t.add_row({"Retention limit:",
             limit.is_number() && limit.get<int64_t>() == 0 ? "keep all" : text_of(s, "retention_limit")});
  if (field_text(s, "mode") == "logical") {
    t.add_row(
        {"Refresh schedule:", field_text(s, "refresh_schedule").empty() ? "none" : text_of(s, "refresh_schedule")});
  }
  t.add_row({"Snapshots:", fmt::format("{} (latest {})", text_of(s, "snapshots"), text_of(s, "latest_snapshot"))});
  if (member(s, "sync").is_object()) t.add_row({"Sync instance:", sync_text(member(s, "sync"))});
  t.print(out);
}

std::string settings_text(const json& clone) {
  const json& settings = member(clone, "settings");
  std::string text;
  if (settings.is_object()) {
    for (const auto& [key, value] : settings.items()) {
      text += (text.empty() ? "" : ", ") + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return text.empty() ? "none" : text;
}

void print_clone(std::ostream& out, const json& c) {
  std::string status = text_of(c, "status");
  table t;
  t.add_row({"Clone:", field_text(c, "id")});
  t.add_row({"Status:", status == "FATAL" ? "FATAL: " + reason_of(c) : status});
  t.add_row({"Connect:", connection_url(c)});
  t.add_row({"Snapshot:", text_of(c, "snapshot")});
  t.add_row({"Source:", text_of(c, "source")});
  t.add_row({"Branch:", text_of(c, "branch")});
  t.add_row({"Protected:", yes_no(c, "protected")});
  t.add_row({"Exclusive:", size_of(c, "exclusive_bytes")});
  t.add_row({"Created:", time_of(c, "created_at")});
  t.add_row({"Reset:", time_of(c, "reset_at")});
  t.add_row({"Settings:", settings_text(c)});
  t.print(out);
}

const json& array_member(const json& answer, const char* key) {
  static const json empty = json::array();
  const json& items = member(answer, key);
  return items.is_array() ? items : empty;
}

}  // namespace


std::string render_progress_bar(uint64_t done_bytes, uint64_t total_bytes, size_t width) {
  if (total_bytes == 0) return fmt::format("[{}] {}", std::string(width, '.'), format_size(done_bytes));
  uint64_t shown = std::min(done_bytes, total_bytes);
  auto filled = static_cast<size_t>(static_cast<unsigned __int128>(shown) * width / total_bytes);
  auto percent = static_cast<unsigned>(static_cast<unsigned __int128>(shown) * 100 / total_bytes);
  return fmt::format("[{}{}] {} / {}  {}%", std::string(filled, '#'), std::string(width - filled, '.'),
                     format_size(done_bytes), format_size(total_bytes), percent);
}

int db_source_create(const std::string& admin_url, const db_source_spec& spec, const db_wait_options& wait,
                     std::ostream& out, std::ostream& err) {
  auto body = source_body(spec);
  if (!body) return report_failure(err, body.err());
  auto source = call_admin_api(admin_url, "POST", "/v1/db/sources", *body, 201);
  if (!source) return report_failure(err, source.err());
  if (!wait.wait) {
    out << fmt::format("source {} created; it copies in the background (see `strata db source describe {}`)\n",
                       spec.name, spec.name);
    return exit_ok;
  }
  return wait_for_source(admin_url, spec.name, std::move(*source), wait, out, err);
}

int db_source_list(const std::string& admin_url, std::ostream& out, std::ostream& err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/db/sources", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& sources = array_member(*answer, "sources");
  if (sources.empty()) {
    out << "No database sources.\n";
    return exit_ok;
  }
  table t({"NAME", "MODE", "BACKEND", "STATUS", "SNAPSHOTS"});
  for (const auto& s : sources) {
    t.add_row({field_text(s, "name"), field_text(s, "mode"), field_text(s, "backend"), source_status(s),
               field_text(s, "snapshots")});
  }
  t.print(out);
  return exit_ok;
}

int db_source_describe(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto source = call_admin_api(admin_url, "GET", source_target(name), json(), 200);
  if (!source) return report_failure(err, source.err());
  print_source(out, *source);
  return exit_ok;
}

int db_source_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto deleted = call_admin_api(admin_url, "DELETE", source_target(name), json(), 204, slow_call_timeout_ms);
  if (!deleted) return report_failure(err, deleted.err());
  out << "source " << name << " deleted\n";
  return exit_ok;
}

int db_snapshot_create(const std::string& admin_url, const std::string& source, const std::string& message,
                       std::ostream& out, std::ostream& err) {
  json body = json::object();
  if (!message.empty()) body["message"] = message;
  auto snapshot = call_admin_api(admin_url, "POST", source_target(source) + "/snapshots", body, 201,
                                 slow_call_timeout_ms);
  if (!snapshot) return report_failure(err, snapshot.err());
  out << fmt::format("snapshot {} created (source {}, data as of {})\n", field_text(*snapshot, "id"),
                     text_of(*snapshot, "source"), time_of(*snapshot, "data_state_at"));
  return exit_ok;
}

int db_snapshot_list(const std::string& admin_url, const std::string& source, std::ostream& out, std::ostream& err) {
  std::string target = "/v1/db/snapshots";
  if (!source.empty()) target += "?source=" + encode_path_segment(source);
  auto answer = call_admin_api(admin_url, "GET", target, json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& snapshots = array_member(*answer, "snapshots");
  if (snapshots.empty()) {
    out << (source.empty() ? std::string("No database snapshots.\n") : "Source " + source + " has no snapshots.\n");
    return exit_ok;
  }
  table t({"ID", "SOURCE", "BRANCH", "DATA_STATE_AT", "SIZE", "CLONES"});
  for (const auto& s : snapshots) {
    t.add_row({field_text(s, "id"), text_of(s, "source"), text_of(s, "branch"), time_of(s, "data_state_at"),
               size_of(s, "size_bytes"), field_text(s, "clones")});
  }
  t.print(out);
  return exit_ok;
}

int db_snapshot_delete(const std::string& admin_url, const std::string& id, std::ostream& out, std::ostream& err) {
  auto deleted = call_admin_api(admin_url, "DELETE", snapshot_target(id), json(), 204, slow_call_timeout_ms);
  if (!deleted) return report_failure(err, deleted.err());
  out << "snapshot " << id << " deleted\n";
  return exit_ok;
}

int db_clone_create(const std::string& admin_url, const db_clone_spec& spec, const db_wait_options& wait,
                    std::ostream& out, std::ostream& err) {
  auto body = clone_body(spec);
  if (!body) return report_failure(err, body.err());
  // Always asynchronous, so a slow start never meets the HTTP client's deadline; waiting is by polling.
  auto clone = call_admin_api(admin_url, "POST", "/v1/db/clones?async=true", *body, 202);
  if (!clone) return report_failure(err, clone.err());
  if (!wait.wait) {
    out << fmt::format("clone {} accepted (status {}, port {}); it will accept connections at {}\n", spec.id,
                       field_text(*clone, "status"), field_text(*clone, "port"), connection_url(*clone));
    return exit_ok;
  }
  auto done = wait_for_clone(admin_url, spec.id, std::move(*clone), wait.clone_poll_interval_ms);
  if (!done) return report_failure(err, done.err());
  if (auto bad = check_clone_ok(spec.id, *done); !bad) return report_failure(err, bad.err());
  print_clone_ready(out, "ready", *done);
  return exit_ok;
}

int db_clone_list(const std::string& admin_url, std::ostream& out, std::ostream& err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/db/clones", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& clones = array_member(*answer, "clones");
  if (clones.empty()) {
    out << "No database clones.\n";
    return exit_ok;
  }
  table t({"ID", "STATUS", "PORT", "SNAPSHOT", "EXCLUSIVE", "CREATED"});
  for (const auto& c : clones) {
    t.add_row({field_text(c, "id"), field_text(c, "status"), field_text(c, "port"), text_of(c, "snapshot"),
               size_of(c, "exclusive_bytes"), time_of(c, "created_at")});
  }
  t.print(out);
  return exit_ok;
}

int db_clone_describe(const std::string& admin_url, const std::string& id, std::ostream& out, std::ostream& err) {
  auto clone = call_admin_api(admin_url, "GET", clone_target(id), json(), 200);
  if (!clone) return report_failure(err, clone.err());
  print_clone(out, *clone);
  return exit_ok;
}

int db_clone_delete(const std::string& admin_url, const std::string& id, std::ostream& out, std::ostream& err) {
  auto deleted = call_admin_api(admin_url, "DELETE", clone_target(id), json(), 204, slow_call_timeout_ms);
  if (!deleted) return report_failure(err, deleted.err());
  out << "clone " << id << " deleted\n";
  return exit_ok;
}

int db_clone_reset(const std::string& admin_url, const std::string& id, const std::string& snapshot, bool latest,
                   const db_wait_options& wait, std::ostream& out, std::ostream& err) {
  json body = json::object();
  if (!snapshot.empty()) body["snapshot"] = snapshot;
  if (latest) body["latest"] = true;
  auto clone = call_admin_api(admin_url, "POST", clone_target(id) + "/reset?async=true", body, 202);
  if (!clone) return report_failure(err, clone.err());
  auto done = wait_for_clone(admin_url, id, std::move(*clone), wait.clone_poll_interval_ms);
  if (!done) return report_failure(err, done.err());
  if (auto bad = check_clone_ok(id, *done); !bad) return report_failure(err, bad.err());
  print_clone_ready(out, "reset to " + text_of(*done, "snapshot"), *done);
  return exit_ok;
}

int db_branch_create(const std::string& admin_url, const std::string& name, const std::string& snapshot,
                     const std::string& from_branch, std::ostream& out, std::ostream& err) {
  json body = {{"name", name}};
  if (!snapshot.empty()) body["snapshot"] = snapshot;
  if (!from_branch.empty()) body["from_branch"] = from_branch;
  auto branch = call_admin_api(admin_url, "POST", "/v1/db/branches", body, 201);
  if (!branch) return report_failure(err, branch.err());
  out << fmt::format("branch {} created at {}\n", field_text(*branch, "name"), text_of(*branch, "head"));
  return exit_ok;
}

int db_branch_list(const std::string& admin_url, std::ostream& out, std::ostream& err) {
  auto answer = call_admin_api(admin_url, "GET", "/v1/db/branches", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& branches = array_member(*answer, "branches");
  if (branches.empty()) {
    out << "No branches.\n";
    return exit_ok;
  }
  table t({"NAME", "HEAD", "SOURCE", "CREATED"});
  for (const auto& b : branches) {
    t.add_row({field_text(b, "name"), text_of(b, "head"), text_of(b, "source"), time_of(b, "created_at")});
  }
  t.print(out);
  return exit_ok;
}

int db_branch_commit(const std::string& admin_url, const std::string& name, const std::string& clone,
                     const std::string& message, std::ostream& out, std::ostream& err) {
  json body = {{"clone", clone}};
  if (!message.empty()) body["message"] = message;
  auto snapshot = call_admin_api(admin_url, "POST", branch_target(name) + "/commit", body, 201,
                                 slow_call_timeout_ms);
  if (!snapshot) return report_failure(err, snapshot.err());
  out << fmt::format("branch {} now at snapshot {} (parent {}, from clone {})\n", name, field_text(*snapshot, "id"),
                     text_of(*snapshot, "parent"), clone);
  return exit_ok;
}

int db_branch_log(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto answer = call_admin_api(admin_url, "GET", branch_target(name) + "/log", json(), 200);
  if (!answer) return report_failure(err, answer.err());
  const json& log = array_member(*answer, "log");
  if (log.empty()) {
    out << "Branch " << name << " has no snapshots.\n";
    return exit_ok;
  }
  table t({"SNAPSHOT", "CREATED", "CLONES", "MESSAGE"});
  for (const auto& s : log) {
    t.add_row({field_text(s, "id"), time_of(s, "created_at"), field_text(s, "clones"), text_of(s, "message")});
  }
  t.print(out);
  return exit_ok;
}

int db_branch_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err) {
  auto deleted = call_admin_api(admin_url, "DELETE", branch_target(name), json(), 204);
  if (!deleted) return report_failure(err, deleted.err());
  out << "branch " << name << " deleted\n";
  return exit_ok;
}

namespace {

struct db_options {
  std::string admin_url = admin_url_from_environment();
  db_source_spec source;
  db_clone_spec clone;
  db_wait_options wait;
  bool no_wait = false;
  bool latest = false;
  std::string name;
  std::string message;
  std::string snapshot;
  std::string from_branch;
  std::string clone_id;
};

using options_ptr = std::shared_ptr<db_options>;

constexpr const char* admin_help =
    "Admin API of the Strata server (default: $STRATA_ADMIN, else http://127.0.0.1:9644)";

// A group under `db` that also takes --admin, so it may come before the command.
CLI::App* add_group(CLI::App& parent, const char* name, const char* description, const options_ptr& opts) {
  CLI::App* group = parent.add_subcommand(name, description);
  group->require_subcommand(1);
  group->add_option("--admin", opts->admin_url, admin_help)->capture_default_str();
  return group;
}

bool is_terminal(const std::ostream& err) { return &err == &std::cerr && ::isatty(STDERR_FILENO) == 1; }

void add_source_group(CLI::App& db, const options_ptr& opts, std::ostream& out, std::ostream& err) {
  CLI::App* group = add_group(db, "source", "Add, list, describe and delete PostgreSQL sources", opts);
  db_source_spec& s = opts->source;

  CLI::App* create =
      add_admin_command(*group, "create", "Copy a PostgreSQL server as a source of snapshots", opts->admin_url);
  create->add_option("name", s.name, "Source name: [a-z0-9][a-z0-9_-]*")->required();
  create->add_option("--mode", s.mode, "physical (pg_basebackup, then a streaming standby) or logical (pg_dump)")
      ->required()
      ->check(CLI::IsMember({"physical", "logical"}));
  create->add_option("--conninfo", s.conninfo, "libpq connection string of the source server")->required();
  create->add_option("--database", s.databases, "A database to copy (logical: required); repeatable")
      ->allow_extra_args(false);
  create->add_option("--backend", s.backend, "Pool backend: btrfs (default) or volume")
      ->check(CLI::IsMember({"btrfs", "volume"}));
  create->add_option("--snapshot-schedule", s.snapshot_schedule, "Take snapshots on this 5-field UTC cron schedule");
  create->add_option("--retention-limit", s.retention_limit, "Keep the newest N snapshots (default: all)")
      ->check(CLI::NonNegativeNumber);
  create->add_option("--refresh-schedule", s.refresh_schedule, "Logical: dump and restore again on this cron schedule");
  create->add_option("--preprocess-sql", s.preprocess_sql_file, "SQL file run in each snapshot before it is frozen");
  create->add_option("--jobs", s.jobs, "Parallel dump and restore jobs (logical)")->check(CLI::PositiveNumber);
  create->add_flag("--no-wait", opts->no_wait, "Return once the copy has started");
  create->callback([opts, &out, &err] {
    db_wait_options wait = opts->wait;
    wait.wait = !opts->no_wait;
    wait.tty = is_terminal(err);
    finish_command(db_source_create(opts->admin_url, opts->source, wait, out, err));
  });

  CLI::App* list = add_admin_command(*group, "list", "List sources", opts->admin_url);
  list->callback([opts, &out, &err] { finish_command(db_source_list(opts->admin_url, out, err)); });

  CLI::App* describe = add_admin_command(*group, "describe", "Show a source's status and settings", opts->admin_url);
  describe->add_option("name", opts->name, "Source name")->required();
  describe->callback([opts, &out, &err] { finish_command(db_source_describe(opts->admin_url, opts->name, out, err)); });

  CLI::App* remove = add_admin_command(*group, "delete", "Delete a source that has no snapshots", opts->admin_url);
  remove->add_option("name", opts->name, "Source name")->required();
  remove->callback([opts, &out, &err] { finish_command(db_source_delete(opts->admin_url, opts->name, out, err)); });
}

void add_snapshot_group(CLI::App& db, const options_ptr& opts, std::ostream& out, std::ostream& err) {
  CLI::App* group = add_group(db, "snapshot", "Take, list and delete snapshots of sources", opts);

  CLI::App* create = add_admin_command(*group, "create", "Take a snapshot of a source now", opts->admin_url);
  create->add_option("source", opts->name, "Source name")->required();
  create->add_option("--message,-m", opts->message, "A note kept with the snapshot");
  create->callback(
      [opts, &out, &err] { finish_command(db_snapshot_create(opts->admin_url, opts->name, opts->message, out, err)); });

  CLI::App* list = add_admin_command(*group, "list", "List snapshots, newest first", opts->admin_url);
  list->add_option("--source", opts->name, "Only this source's snapshots");
  list->callback([opts, &out, &err] { finish_command(db_snapshot_list(opts->admin_url, opts->name, out, err)); });

  CLI::App* remove = add_admin_command(*group, "delete", "Delete a snapshot no clone or branch uses", opts->admin_url);
  remove->add_option("id", opts->snapshot, "Snapshot id")->required();
  remove->callback(
      [opts, &out, &err] { finish_command(db_snapshot_delete(opts->admin_url, opts->snapshot, out, err)); });
}

void add_clone_create(CLI::App& group, const options_ptr& opts, std::ostream& out, std::ostream& err) {
  db_clone_spec& c = opts->clone;
  CLI::App* create =
      add_admin_command(group, "create", "Create a writable clone with its own postgres", opts->admin_url);
  create->add_option("id", c.id, "Clone id: [a-z0-9][a-z0-9_-]*")->required();
  CLI::Option* source = create->add_option("--source", c.source, "The latest snapshot of this source (default)");
  CLI::Option* snapshot = create->add_option("--snapshot", c.snapshot, "This snapshot");
  CLI::Option* branch = create->add_option("--branch", c.branch, "The head of this branch");
  source->excludes(snapshot)->excludes(branch);
  snapshot->excludes(branch);
  create->add_option("--user", c.user, "Database user the clone is reached as")->required();
  create->add_option("--password", c.password, "That user's password (never printed)")->envname("STRATA_DB_PASSWORD");
  create->add_flag("--protected", c.protect, "Mark the clone protected");
  create->add_option("--setting", c.settings, "postgres setting KEY=VALUE, e.g. work_mem=64MB; repeatable")
      ->allow_extra_args(false);
  create->add_flag("--async", opts->no_wait, "Return once the server accepted the clone");
  create->callback([opts, &out, &err] {
    db_wait_options wait = opts->wait;
    wait.wait = !opts->no_wait;
    finish_command(db_clone_create(opts->admin_url, opts->clone, wait, out, err));
  });
}

void add_clone_group(CLI::App& db, const options_ptr& opts, std::ostream& out, std::ostream& err) {
  CLI::App* group = add_group(db, "clone", "Create, list, describe, reset and delete database clones", opts);
  add_clone_create(*group, opts, out, err);

  CLI::App* list = add_admin_command(*group, "list", "List clones", opts->admin_url);
  list->callback([opts, &out, &err] { finish_command(db_clone_list(opts->admin_url, out, err)); });

  CLI::App* describe = add_admin_command(*group, "describe", "Show a clone and how to connect", opts->admin_url);
  describe->add_option("id", opts->clone_id, "Clone id")->required();
  describe->callback(
      [opts, &out, &err] { finish_command(db_clone_describe(opts->admin_url, opts->clone_id, out, err)); });

  CLI::App* remove = add_admin_command(*group, "delete", "Stop a clone and delete its data", opts->admin_url);
  remove->add_option("id", opts->clone_id, "Clone id")->required();
  remove->callback([opts, &out, &err] { finish_command(db_clone_delete(opts->admin_url, opts->clone_id, out, err)); });

  CLI::App* reset =
      add_admin_command(*group, "reset", "Throw away a clone's changes: same port, user and password", opts->admin_url);
  reset->add_option("id", opts->clone_id, "Clone id")->required();
  CLI::Option* snapshot = reset->add_option("--snapshot", opts->snapshot, "Data from this snapshot instead");
  reset->add_flag("--latest", opts->latest, "Data from the latest snapshot of its source")->excludes(snapshot);
  reset->callback([opts, &out, &err] {
    finish_command(db_clone_reset(opts->admin_url, opts->clone_id, opts->snapshot, opts->latest, opts->wait, out, err));
  });
}

void add_branch_group(CLI::App& db, const options_ptr& opts, std::ostream& out, std::ostream& err) {
  CLI::App* group = add_group(db, "branch", "Create, list, commit to, show and delete branches of snapshots", opts);

  CLI::App* create = add_admin_command(*group, "create", "Start a branch at a snapshot", opts->admin_url);
  create->add_option("name", opts->name, "Branch name")->required();
  CLI::Option* snapshot = create->add_option("--snapshot", opts->snapshot, "Start at this snapshot");
  create->add_option("--from-branch", opts->from_branch, "Start at this branch's head")->excludes(snapshot);
  create->callback([opts, &out, &err] {
    finish_command(db_branch_create(opts->admin_url, opts->name, opts->snapshot, opts->from_branch, out, err));
  });

  CLI::App* list = add_admin_command(*group, "list", "List branches", opts->admin_url);
  list->callback([opts, &out, &err] { finish_command(db_branch_list(opts->admin_url, out, err)); });

  CLI::App* commit = add_admin_command(*group, "commit", "Snapshot a clone as the branch's new head", opts->admin_url);
  commit->add_option("name", opts->name, "Branch name")->required();
  commit->add_option("--clone", opts->clone_id, "Clone whose data to commit")->required();
  commit->add_option("--message,-m", opts->message, "What changed");
  commit->callback([opts, &out, &err] {
    finish_command(db_branch_commit(opts->admin_url, opts->name, opts->clone_id, opts->message, out, err));
  });

  CLI::App* log = add_admin_command(*group, "log", "Show a branch's snapshots, head first", opts->admin_url);
  log->add_option("name", opts->name, "Branch name")->required();
  log->callback([opts, &out, &err] { finish_command(db_branch_log(opts->admin_url, opts->name, out, err)); });

  CLI::App* remove = add_admin_command(*group, "delete", "Delete a branch (its snapshots stay)", opts->admin_url);
  remove->add_option("name", opts->name, "Branch name")->required();
  remove->callback([opts, &out, &err] { finish_command(db_branch_delete(opts->admin_url, opts->name, out, err)); });
}

}  // namespace

void add_db_commands(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto opts = std::make_shared<db_options>();
  CLI::App* db = add_group(app, "db", "Database clones: sources, snapshots, clones and branches", opts);
  add_source_group(*db, opts, out, err);
  add_snapshot_group(*db, opts, out, err);
  add_clone_group(*db, opts, out, err);
  add_branch_group(*db, opts, out, err);
}

}  // namespace strata::cli
