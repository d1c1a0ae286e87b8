// `strata db source|snapshot|clone|branch ...`: database clones through the
// admin HTTP API (/v1/db/..., docs/formats/admin-api-db.md).
//
// The admin URL comes from --admin URL, accepted after any word of the
// command (`strata db --admin URL clone list`, `strata db clone list --admin
// URL`), else from the STRATA_ADMIN environment variable, else
// http://127.0.0.1:9644. A clone's password comes from --password or the
// STRATA_DB_PASSWORD environment variable and is never printed.
#pragma once

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace strata::cli {

// Registers the `db` subcommand and its groups on `app`. Output and failures
// as for add_topic_commands: "strata: <why>" on `err` and exit code 1. `out`
// and `err` must outlive app. Reads STRATA_ADMIN when called.
void add_db_commands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// "[########............] 1.2 GiB / 3 GiB  40%": width cells of '#' for the
// part done, '.' for the rest; the percentage is rounded down, so 100% means
// done. total_bytes 0 (not known yet): an empty bar and the bytes done alone.
std::string render_progress_bar(uint64_t done_bytes, uint64_t total_bytes, size_t width = 20);

// How a command waits for work the server does in the background.
struct db_wait_options {
  bool wait = true;                      // false: return once the server accepted the request
  bool tty = false;                      // err is a terminal: redraw one progress line with '\r'
  int64_t poll_interval_ms = 500;        // between status reads of a source
  int64_t clone_poll_interval_ms = 100;  // between status reads of a clone being created or reset
  int64_t line_interval_ms = 10'000;     // not a terminal: at most one progress line this often
};

struct db_source_spec {
  std::string name;
  std::string mode;  // "physical" or "logical"
  std::string conninfo;
  std::vector<std::string> databases;
  std::string backend;              // empty: the server's default (btrfs)
  std::string snapshot_schedule;    // empty: none
  int64_t retention_limit = -1;     // -1: the server's default (keep all)
  std::string refresh_schedule;     // empty: none
  std::string preprocess_sql_file;  // empty: none; else its contents are sent
  int64_t jobs = 0;                 // 0: the server's default
};

struct db_clone_spec {
  std::string id;
  std::string source;  // at most one of source, snapshot, branch
  std::string snapshot;
  std::string branch;
  std::string user;
  std::string password;  // never printed
  bool protect = false;
  std::vector<std::string> settings;  // "key=value"
};

// The commands, callable without CLI11; each returns the exit code (0 or 1).
int db_source_create(const std::string& admin_url, const db_source_spec& spec, const db_wait_options& wait,
                     std::ostream& out, std::ostream& err);
int db_source_list(const std::string& admin_url, std::ostream& out, std::ostream& err);
int db_source_describe(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);
int db_source_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);

int db_snapshot_create(const std::string& admin_url, const std::string& source, const std::string& message,
                       std::ostream& out, std::ostream& err);
// source empty: the snapshots of every source.
int db_snapshot_list(const std::string& admin_url, const std::string& source, std::ostream& out, std::ostream& err);
int db_snapshot_delete(const std::string& admin_url, const std::string& id, std::ostream& out, std::ostream& err);

// wait.wait false (--async): returns once the server accepted the clone.
int db_clone_create(const std::string& admin_url, const db_clone_spec& spec, const db_wait_options& wait,
                    std::ostream& out, std::ostream& err);
int db_clone_list(const std::string& admin_url, std::ostream& out, std::ostream& err);
int db_clone_describe(const std::string& admin_url, const std::string& id, std::ostream& out, std::ostream& err);
int db_clone_delete(const std::string& admin_url, const std::string& id, std::ostream& out, std::ostream& err);
// snapshot empty and latest false: the snapshot the clone has.
int db_clone_reset(const std::string& admin_url, const std::string& id, const std::string& snapshot, bool latest,
                   const db_wait_options& wait, std::ostream& out, std::ostream& err);

// snapshot and from_branch empty: the latest snapshot of the only source.
int db_branch_create(const std::string& admin_url, const std::string& name, const std::string& snapshot,
                     const std::string& from_branch, std::ostream& out, std::ostream& err);
int db_branch_list(const std::string& admin_url, std::ostream& out, std::ostream& err);
int db_branch_commit(const std::string& admin_url, const std::string& name, const std::string& clone,
                     const std::string& message, std::ostream& out, std::ostream& err);
int db_branch_log(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);
int db_branch_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);

}  // namespace strata::cli
