// Sources: the initial copy (physical: pg_basebackup then a streaming
// standby, the sync instance; logical: pg_dump -Fd then pg_restore into a
// base instance), scheduled logical refreshes, and the sync instance's lag.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dbclone/conninfo.h"
#include "dbclone/service_impl.h"
#include "meta/kv.h"

namespace strata::dbclone {

namespace fs = std::filesystem;

namespace {

constexpr uint16_t private_port = 5432;  // socket-only instances: the port only names the socket file
constexpr int64_t query_timeout_ms = 10'000;
constexpr size_t preprocess_sql_bytes_max = 1 << 20;
constexpr size_t conninfo_bytes_max = 4096;
constexpr size_t databases_max = 64;

}  // namespace

uint64_t tree_bytes(const std::string& root) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

namespace {

status check_source_spec(const source_spec& s) {
  STRATA_TRY(check_object_name(s.name, "source name"));
  if (s.conninfo.empty() || s.conninfo.size() > conninfo_bytes_max) {
    return make_error(errc::invalid_argument, "conninfo is required (at most 4096 bytes), e.g. \"host=10.0.0.5 "
                                              "port=5432 user=replicator password=...\"");
  }
  STRATA_TRY(split_conninfo(s.conninfo));
  if (s.backend != "btrfs" && s.backend != "volume") {
    return make_error(errc::invalid_argument, "backend must be btrfs or volume");
  }
  if (s.mode == source_mode::logical && s.databases.empty()) {
    return make_error(errc::invalid_argument, "a logical source needs \"databases\": the databases to dump");
  }
  if (s.databases.size() > databases_max) return make_error(errc::invalid_argument, "at most 64 databases");
  for (const auto& db : s.databases) {
    if (db.empty() || db.size() > 63 || db.find('\0') != std::string::npos) {
      return make_error(errc::invalid_argument, fmt::format("database name \"{}\" is not valid", db.substr(0, 70)));
    }
  }
  if (!s.snapshot_schedule.empty()) STRATA_TRY(cron_schedule::parse(s.snapshot_schedule));
  if (!s.refresh_schedule.empty()) {
    if (s.mode != source_mode::logical) {
      return make_error(errc::invalid_argument, "refresh_schedule applies to logical sources only; a physical "
                                                "source stays current through its sync instance");
    }
    STRATA_TRY(cron_schedule::parse(s.refresh_schedule));
  }
  if (s.preprocess_sql.size() > preprocess_sql_bytes_max) {
    return make_error(errc::invalid_argument, "preprocess_sql is larger than 1 MiB");
  }
  if (s.jobs == 0 || s.jobs > 64) return make_error(errc::invalid_argument, "jobs must be 1 to 64");
  return {};
}

}  // namespace


std::string service_impl::base_dataset(const source_record& r) const {
  return fmt::format("src.{}.{}", r.spec.name, r.base_generation);
}

void service_impl::set_source_status(const std::string& name, const std::string& status, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = sources_.find(name);
  if (it == sources_.end()) return;
  it->second.status = status;
  it->second.reason = reason;
  if (auto st = persist_source(it->second); !st.ok()) spdlog::error("db: source {}: {}", name, st.err().message);
}

result<source_info> service_impl::create_source(const source_spec& spec) {
  STRATA_TRY(available());
  STRATA_TRY(check_source_spec(spec));
  STRATA_TRY(pool_for(spec.backend));
  {
    std::lock_guard lock(mu_);
    if (sources_.count(spec.name)) {
      return make_error(errc::already_exists, fmt::format("source {} exists; delete it first or pick another name",
                                                          spec.name));
    }
    if (sources_.size() >= config_.sources_max) {
      return make_error(errc::limit_exceeded, fmt::format("at most {} sources per server", config_.sources_max));
    }
    source_record r;
    r.spec = spec;
    r.status = "copying";
    r.created_ms = now_ms();
    STRATA_TRY(persist_source(r));
    sources_[spec.name] = r;
    source_rt_[spec.name].busy = true;
  }
  std::string name = spec.name;
  run_async([this, name] { copy_source(name); });
  return get_source(name);
}

void service_impl::copy_source(std::string name) {
  source_record r;
  {
    std::lock_guard lock(mu_);
    auto it = sources_.find(name);
    if (it == sources_.end()) return;
    r = it->second;
    source_rt_[name].busy = true;
  }
  const bool refresh = r.status == "refreshing";
  source_record next = r;
  if (refresh) next.base_generation = r.base_generation + 1;
  auto p = pool_for(r.spec.backend);
  status st = p.ok() ? status{} : status(p.err());
  const std::string dataset = base_dataset(next);
  if (st.ok()) {
    best_effort((*p)->destroy(dataset), "removing a dataset");
    st = r.spec.mode == source_mode::physical ? copy_physical(next, dataset) : copy_logical(next, dataset);
  }
  std::lock_guard lock(mu_);
  auto it = sources_.find(name);
  source_rt_[name].busy = false;
  if (it == sources_.end()) return;
  if (!st.ok() && p.ok()) st = with_space_hint((*p)->path(dataset), st.err());
  if (!st.ok()) {
    spdlog::warn("db: source {}: copy failed: {}", name, st.err().message);
    if (p.ok()) best_effort((*p)->destroy(dataset), "removing a dataset");
    it->second.status = refresh ? "ready" : "error";
    it->second.reason = fmt::format("{} failed: {}", refresh ? "refresh" : "initial copy", st.err().message);
  } else {
    std::string old = base_dataset(it->second);
    it->second.base_generation = next.base_generation;
    it->second.data_state_ms = next.data_state_ms;
    if (!next.superuser.empty()) it->second.superuser = next.superuser;
    it->second.status = "ready";
    it->second.reason = next.reason;
    auto& rt = source_rt_[name];
    rt.progress_total_bytes = std::max(rt.progress_total_bytes, rt.progress_done_bytes);
    rt.progress_done_bytes = rt.progress_total_bytes;
    if (refresh) best_effort((*p)->destroy(old), "removing a dataset");
    spdlog::info("db: source {} is ready", name);
  }
  if (auto s = persist_source(it->second); !s.ok()) spdlog::error("db: source {}: {}", name, s.err().message);
}

namespace {

// A passfile that answers every host with the source's password, so that
// primary_conninfo carries no password.
status write_passfile(const std::string& path, const std::string& password, const std::optional<os_user>& user) {
  {
    std::ofstream out(path, std::ios::trunc);
    std::string escaped;
    for (char c : password) {
      if (c == ':' || c == '\\') escaped += '\\';
      escaped += c;
    }
    out << "*:*:*:*:" << escaped << "\n";
    if (!out) return make_error(errc::io_error, "cannot write " + path);
  }
  ::chmod(path.c_str(), 0600);
  if (user) STRATA_TRY(chown_tree(path, *user));
  return {};
}

// Debian keeps postgresql.conf outside the data directory, so a base backup
// of a Debian cluster lacks it; postgres needs the file to exist.
status ensure_config_files(const std::string& pgdata, const std::optional<os_user>& user) {
  for (const char* name : {"postgresql.conf", "pg_hba.conf", "pg_ident.conf"}) {
    fs::path p = fs::path(pgdata) / name;
    if (fs::exists(p)) continue;
    std::ofstream out(p);
    if (!out) return make_error(errc::io_error, "cannot write " + p.string());
    out.close();
    if (user) STRATA_TRY(chown_tree(p.string(), *user));
  }
  return {};
}

}  // namespace

status service_impl::copy_physical(source_record& r, const std::string& dataset) {
  auto p = pool_for(r.spec.backend);
  if (!p.ok()) return p.err();
  auto parts = split_conninfo(r.spec.conninfo);
  if (!parts.ok()) return parts.err();
  auto admin = split_conninfo(r.spec.conninfo, "dbname", "template1");
  if (!admin.ok()) return admin.err();
  auto total = query(admin->with_password(), "SELECT sum(pg_database_size(oid))::bigint FROM pg_database",
                     query_timeout_ms);
  if (total.ok() && !total->empty() && (*total)[0][0]) {
    std::lock_guard lock(mu_);
    source_rt_[r.spec.name].progress_total_bytes = std::stoull(*(*total)[0][0]);
  }
  STRATA_TRY(check_source_major(admin->with_password()));
  STRATA_TRY((*p)->create(dataset));
  const std::string root = (*p)->path(dataset);
  const std::string pgdata = root + "/data";
  std::error_code ec;
  fs::create_directories(pgdata, ec);
  ::chmod(pgdata.c_str(), 0700);
  if (os_user_) STRATA_TRY(chown_tree(root, *os_user_));
  spawn_options opt;
  opt.argv = {bins_.tool("pg_basebackup"), "-d", parts->without_password, "-D", pgdata, "-X", "stream", "-c", "fast",
              "-w"};
  if (!parts->password.empty()) opt.env.emplace_back("PGPASSWORD", parts->password);
  opt.user = os_user_;
  opt.log_path = log_path("copy." + r.spec.name);
  const std::string name = r.spec.name;
  auto out = run_tool(opt, config_.copy_timeout_ms, [this, name, pgdata] {
    uint64_t done = tree_bytes(pgdata);
    std::lock_guard lock(mu_);
    source_rt_[name].progress_done_bytes = done;
  });
  if (!out.ok()) return out.err();
  if (out->exit_code != 0) {
    return make_error(errc::unavailable, fmt::format("pg_basebackup exited with {}: {}", out->exit_code,
                                                     out->output_tail));
  }
  auto major = data_dir_major_version(pgdata);
  if (!major.ok()) return major.err();
  STRATA_TRY(check_major(*major));
  STRATA_TRY(ensure_config_files(pgdata, os_user_));
  std::ofstream(fs::path(pgdata) / "standby.signal").close();
  if (os_user_) STRATA_TRY(chown_tree(pgdata + "/standby.signal", *os_user_));
  {
    std::lock_guard lock(mu_);
    source_rt_[name].progress_done_bytes = tree_bytes(pgdata);
    sources_[name].base_generation = r.base_generation;  // start_sync reads the dataset from the record
  }
  return start_sync(name);
}

status service_impl::check_major(int source_major) {
  auto ours = binaries_major_version(bins_);
  if (!ours.ok() || source_major == *ours) return {};
  return make_error(errc::unsupported, fmt::format("the source runs PostgreSQL {}, but the installed binaries ({}) run "
                                                   "{}; a physical copy needs the same major version: install "
                                                   "postgresql-{} and set --db-postgres-bin, or use mode logical",
                                                   source_major, bins_.bin_dir, *ours, source_major));
}

// Before copying: a role that cannot run queries (replication only) skips
// this, and the copy's PG_VERSION is checked instead.
status service_impl::check_source_major(const std::string& conninfo) {
  auto rows = query(conninfo, "SELECT current_setting('server_version_num')::int / 10000", query_timeout_ms);
  if (!rows.ok() || rows->empty() || !(*rows)[0][0]) return {};
  return check_major(std::stoi(*(*rows)[0][0]));
}

status service_impl::start_sync(const std::string& name) {
  source_record r;
  {
    std::lock_guard lock(mu_);
    auto it = sources_.find(name);
    if (it == sources_.end()) return make_error(errc::not_found, "source " + name + " does not exist");
    r = it->second;
  }
  const std::string pgdata = data_path(r.spec.backend, base_dataset(r));
  instance_state st;
  if (auto running = running_postmaster(pgdata)) {
    st = {*running};
  } else {
    auto parts = split_conninfo(r.spec.conninfo);
    if (!parts.ok()) return parts.err();
    const std::string instance = "sync." + name;
    const std::string passfile = run_dir(instance) + ".pgpass";  // beside, not in, the rebuilt socket dir
    std::error_code ec;
    fs::create_directories(fs::path(passfile).parent_path(), ec);
    STRATA_TRY(write_passfile(passfile, parts->password, os_user_));
    std::string primary = parts->without_password + " passfile=" + conninfo_value(passfile) +
                          " application_name=" + conninfo_value("strata_" + name);
    auto ic = make_instance(instance, pgdata, private_port, "", {{"primary_conninfo", primary}, {"hot_standby", "on"}});
    auto pid = start_and_wait(ic);
    if (!pid.ok()) return make_error(pid.err().code, "the sync instance did not start: " + pid.err().message);
    st = {*pid};
    if (r.superuser.empty()) {
      std::vector<std::string> candidates = {"postgres", parts->user};
      if (os_user_) candidates.push_back(os_user_->name);
      auto su = find_superuser(ic, candidates);
      if (su.ok()) r.superuser = *su;
    }
  }
  std::lock_guard lock(mu_);
  source_rt_[name].sync = st;
  auto it = sources_.find(name);
  if (it != sources_.end() && it->second.superuser.empty() && !r.superuser.empty()) {
    it->second.superuser = r.superuser;
    STRATA_TRY(persist_source(it->second));
  }
  return {};
}

void service_impl::poll_sync(const std::string& name) {
  source_record r;
  instance_state st;
  {
    std::lock_guard lock(mu_);
    auto it = sources_.find(name);
    if (it == sources_.end()) return;
    r = it->second;
    st = source_rt_[name].sync;
  }
  if (r.spec.mode != source_mode::physical || r.status != "ready") return;
  if (instance_ended(st)) {
    spdlog::warn("db: source {}: the sync instance is not running; starting it", name);
    auto s = start_sync(name);
    std::lock_guard lock(mu_);
    if (!s.ok()) {
      sources_[name].reason = "sync instance: " + s.err().message;
    } else {
      sources_[name].reason.clear();
    }
    return;
  }
  auto ic = make_instance("sync." + name, "", private_port, "", {});
  auto rows = query(socket_conninfo(ic, r.superuser.empty() ? "postgres" : r.superuser, "template1"),
                    "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint, "
                    "(extract(epoch from pg_last_xact_replay_timestamp()) * 1000)::bigint, "
                    "pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), "
                    "(SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming')",
                    query_timeout_ms);
  if (!rows.ok() || rows->empty()) return;
  const auto& row = (*rows)[0];
  std::lock_guard lock(mu_);
  auto& rt = source_rt_[name];
  // Right after the stream restarts, the receive position is where streaming
  // began, which may lie before what was already replayed.
  rt.replay_lag_bytes = row[0] ? std::max<int64_t>(0, std::stoll(*row[0])) : 0;
  auto& reason = sources_[name].reason;
  const bool streaming = row[3] && *row[3] != "0";
  if (!streaming) {
    // The standby keeps its data and retries; snapshots still work, from
    // what it has received so far.
    reason = fmt::format("sync instance: not streaming from the source (is it reachable and does it allow "
                         "replication?); snapshots hold the data received so far; see {}",
                         log_path("sync." + name));
  } else if (reason.rfind("sync instance:", 0) == 0) {
    reason.clear();
  }
  rt.last_replay_ms = row[1] ? std::stoll(*row[1]) : 0;
  bool caught_up = row[2] && *row[2] == "t";
  rt.replay_lag_seconds = caught_up || rt.last_replay_ms == 0 ? 0.0 : static_cast<double>(now_ms() - rt.last_replay_ms) / 1000.0;
}

status service_impl::copy_logical(source_record& r, const std::string& dataset) {
  auto p = pool_for(r.spec.backend);
  if (!p.ok()) return p.err();
  auto parts = split_conninfo(r.spec.conninfo);
  if (!parts.ok()) return parts.err();
  const std::string name = r.spec.name;
  const int64_t started_ms = now_ms();
  std::string db_list;
  for (const auto& db : r.spec.databases) db_list += (db_list.empty() ? "" : ",") + quote_literal(db);
  auto admin = split_conninfo(r.spec.conninfo, "dbname", "template1");
  if (!admin.ok()) return admin.err();
  auto total = query(admin->with_password(),
                     "SELECT coalesce(sum(pg_database_size(datname)), 0)::bigint FROM pg_database WHERE datname IN (" +
                         db_list + ")",
                     query_timeout_ms);
  if (!total.ok()) return make_error(errc::unavailable, "cannot reach the source: " + total.err().message);
  {
    std::lock_guard lock(mu_);
    if (!total->empty() && (*total)[0][0]) source_rt_[name].progress_total_bytes = std::stoull(*(*total)[0][0]);
  }
  const std::string dump_dataset = "dump." + dataset;
  best_effort((*p)->destroy(dump_dataset), "removing a dataset");
  STRATA_TRY((*p)->create(dataset));
  STRATA_TRY((*p)->create(dump_dataset));
  const std::string root = (*p)->path(dataset);
  const std::string dump_root = (*p)->path(dump_dataset);
  const std::string pgdata = root + "/data";
  if (os_user_) {
    STRATA_TRY(chown_tree(root, *os_user_));
    STRATA_TRY(chown_tree(dump_root, *os_user_));
  }
  const std::string log = log_path("copy." + name);
  auto progress = [this, name, dump_root] {
    uint64_t done = tree_bytes(dump_root);
    std::lock_guard lock(mu_);
    source_rt_[name].progress_done_bytes = done;
  };
  auto tool = [&](std::vector<std::string> argv, bool with_password) -> status {
    spawn_options opt;
    opt.argv = std::move(argv);
    if (with_password && !parts->password.empty()) opt.env.emplace_back("PGPASSWORD", parts->password);
    opt.user = os_user_;
    opt.log_path = log;
    auto out = run_tool(opt, config_.copy_timeout_ms, progress);
    if (!out.ok()) return out.err();
    if (out->exit_code != 0) {
      return make_error(errc::unavailable, fmt::format("{} exited with {}: {}", fs::path(opt.argv[0]).filename().string(),
                                                       out->exit_code, out->output_tail));
    }
    return {};
  };
  for (const auto& db : r.spec.databases) {
    auto conn = split_conninfo(r.spec.conninfo, "dbname", db);
    if (!conn.ok()) return conn.err();
    STRATA_TRY(tool({bins_.tool("pg_dump"), "-Fd", "-j", std::to_string(r.spec.jobs), "-f", dump_root + "/db." + db,
                     "-w", "-d", conn->without_password},
                    true));
  }
  // Roles are cluster-wide, outside any database's dump; only a superuser may
  // read them, so a source without one restores with --no-owner instead.
  bool have_roles = tool({bins_.tool("pg_dumpall"), "--roles-only", "--no-role-passwords", "-w", "-f",
                          dump_root + "/roles.sql", "-d", parts->without_password},
                         true)
                        .ok();
  STRATA_TRY(tool({bins_.tool("initdb"), "-D", pgdata, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-sync"},
                  false));
  auto ic = make_instance("base." + name, pgdata, private_port, "", {});
  auto pid = start_and_wait(ic);
  if (!pid.ok()) return pid.err();
  instance_state base{*pid};
  const std::string local = socket_conninfo(ic, "postgres", "postgres");
  std::string warnings;
  status st;
  if (have_roles) {
    auto s = tool({bins_.tool("psql"), "-X", "-q", "-d", local, "-f", dump_root + "/roles.sql"}, false);
    if (!s.ok()) warnings += "roles: " + s.err().message + "; ";
  }
  for (const auto& db : r.spec.databases) {
    std::vector<std::string> argv = {bins_.tool("pg_restore"), "-j", std::to_string(r.spec.jobs), "-d", local};
    if (db != "postgres") argv.push_back("--create");
    if (!have_roles) argv.insert(argv.end(), {"--no-owner", "--no-acl"});
    argv.push_back(dump_root + "/db." + db);
    auto s = tool(argv, false);
    // pg_restore exits 1 when it skipped objects it could not restore (such
    // as an extension this machine lacks); the copy is usable, with a warning.
    if (!s.ok() && s.err().message.find("exited with 1:") == std::string::npos) {
      st = s;
      break;
    }
    if (!s.ok()) warnings += db + ": " + s.err().message + "; ";
  }
  if (st.ok()) {
    auto cp = query(local, "CHECKPOINT", query_timeout_ms);
    if (!cp.ok()) st = cp.err();
  }
  stop_pid(base, stop_mode::fast);
  best_effort((*p)->destroy(dump_dataset), "removing a dataset");
  ::sync();
  if (!st.ok()) return st;
  r.data_state_ms = started_ms;
  r.superuser = "postgres";
  r.reason = warnings.empty() ? "" : "pg_restore warnings: " + warnings.substr(0, 2000);
  return {};
}

std::vector<source_info> service_impl::list_sources() {
  std::vector<source_info> out;
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, r] : sources_) names.push_back(name);
  }
  for (const auto& n : names) {
    auto s = get_source(n);
    if (s.ok()) out.push_back(std::move(*s));
  }
  return out;
}

result<source_info> service_impl::get_source(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = sources_.find(name);
  if (it == sources_.end()) {
    return make_error(errc::not_found, fmt::format("source {} does not exist (see GET /v1/db/sources)",
                                                   name.substr(0, 80)));
  }
  const source_record& r = it->second;
  const source_runtime& rt = source_rt_[name];
  source_info info;
  info.spec = r.spec;
  info.spec.conninfo = mask_conninfo(r.spec.conninfo);
  info.status = r.status;
  info.reason = r.reason;
  info.progress_done_bytes = rt.progress_done_bytes;
  info.progress_total_bytes = rt.progress_total_bytes;
  info.created_ms = r.created_ms;
  info.sync_pid = rt.sync.pid;
  info.replay_lag_bytes = rt.replay_lag_bytes;
  info.replay_lag_seconds = rt.replay_lag_seconds;
  info.last_replay_ms = rt.last_replay_ms;
  int64_t newest_ms = -1;
  for (const auto& [id, s] : snapshots_) {
    if (s.info.source != name || !s.info.branch.empty()) continue;
    info.snapshots++;
    if (s.info.created_ms > newest_ms) {
      newest_ms = s.info.created_ms;
      info.latest_snapshot = id;
    }
  }
  return info;
}

status service_impl::delete_source(const std::string& name) {
  source_record r;
  instance_state sync;
  {
    std::lock_guard lock(mu_);
    auto it = sources_.find(name);
    if (it == sources_.end()) return make_error(errc::not_found, fmt::format("source {} does not exist", name));
    for (const auto& [id, s] : snapshots_) {
      if (s.info.source == name) {
        return make_error(errc::unavailable, fmt::format("source {} still has snapshots (such as {}); delete them "
                                                         "first", name, id));
      }
    }
    if (source_rt_[name].busy) {
      return make_error(errc::unavailable, fmt::format("source {} is busy (copying or snapshotting); retry later",
                                                       name));
    }
    r = it->second;
    sync = source_rt_[name].sync;
    sources_.erase(it);
    source_rt_.erase(name);
  }
  stop_pid(sync, stop_mode::fast);
  auto p = pool_for(r.spec.backend);
  if (p.ok()) STRATA_TRY((*p)->destroy(base_dataset(r)));
  std::error_code ec;
  fs::remove(run_dir("sync." + name) + ".pgpass", ec);
  return kv_.remove(std::string(source_prefix) + name);
}

}  // namespace strata::dbclone
