// Clones: a writable copy of a prepared snapshot with its own postgres on a
// port from the pool, and the clone user created in it from a SCRAM verifier
// (computed by libpq on Strata's side), so the password is never stored.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>

#include "dbclone/service_impl.h"
#include "meta/kv.h"

namespace strata::dbclone {

namespace fs = std::filesystem;

namespace {

constexpr int64_t query_timeout_ms = 30'000;
constexpr size_t password_bytes_max = 1024;
constexpr size_t settings_max = 64;
constexpr size_t setting_value_bytes_max = 1024;

std::string clone_dataset(const std::string& id) { return "clone." + id; }
std::string clone_instance(const std::string& id) { return "clone." + id; }

status check_settings(const std::map<std::string, std::string>& settings) {
  static const std::regex name("[a-z_][a-z0-9_.]{0,62}");
  static const std::set<std::string, std::less<>> owned = {
      "port", "listen_addresses", "unix_socket_directories", "hba_file", "ident_file", "data_directory",
      "config_file", "external_pid_file", "logging_collector", "log_destination", "archive_mode", "cluster_name"};
  if (settings.size() > settings_max) return make_error(errc::invalid_argument, "at most 64 settings per clone");
  for (const auto& [k, v] : settings) {
    if (!std::regex_match(k, name)) {
      return make_error(errc::invalid_argument, fmt::format("setting name \"{}\" is not a postgresql.conf name",
                                                            k.substr(0, 70)));
    }
    if (owned.count(k)) {
      return make_error(errc::invalid_argument, fmt::format("setting {} is chosen by Strata and cannot be set", k));
    }
    if (v.size() > setting_value_bytes_max || v.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
      return make_error(errc::invalid_argument, fmt::format("setting {} has an invalid value", k));
    }
  }
  return {};
}

status check_clone_spec(const clone_spec& s) {
  STRATA_TRY(check_object_name(s.id, "clone id"));
  if (s.user.empty() || s.user.size() > 63 || s.user.find('\0') != std::string::npos) {
    return make_error(errc::invalid_argument, "user is required: the database role Strata creates in the clone "
                                              "(1 to 63 bytes)");
  }
  if (s.password.empty() || s.password.size() > password_bytes_max || s.password.find('\0') != std::string::npos) {
    return make_error(errc::invalid_argument, "password is required (1 to 1024 bytes)");
  }
  int choices = !s.snapshot.empty() + !s.branch.empty();
  if (choices > 1) return make_error(errc::invalid_argument, "give at most one of snapshot and branch");
  return check_settings(s.settings);
}

bool port_bindable(const std::string& host, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_ANY);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

result<uint16_t> service_impl::allocate_port() {
  for (uint32_t port = config_.clone_port_first; port <= config_.clone_port_last; ++port) {
    auto p = static_cast<uint16_t>(port);
    if (ports_held_.count(p)) continue;
    if (!port_bindable(config_.clone_listen, p)) continue;
    ports_held_.insert(p);
    return p;
  }
  return make_error(errc::limit_exceeded,
                    fmt::format("every clone port ({}-{}) is in use; delete a clone or widen --db-clone-ports",
                                config_.clone_port_first, config_.clone_port_last));
}

result<std::string> service_impl::resolve_snapshot(const std::string& source, const std::string& snapshot,
                                                   const std::string& branch) {
  if (!snapshot.empty()) {
    if (!snapshots_.count(snapshot)) {
      return make_error(errc::not_found, fmt::format("snapshot {} does not exist (see GET /v1/db/snapshots)",
                                                     snapshot.substr(0, 80)));
    }
    return snapshot;
  }
  if (!branch.empty()) {
    auto b = branches_.find(branch);
    if (b == branches_.end()) {
      return make_error(errc::not_found, fmt::format("branch {} does not exist (see GET /v1/db/branches)",
                                                     branch.substr(0, 80)));
    }
    return b->second.head;
  }
  std::string from = source;
  if (from.empty()) {
    if (sources_.size() != 1) {
      return make_error(errc::invalid_argument, "several sources exist: name a source, snapshot or branch");
    }
    from = sources_.begin()->first;
  }
  if (!sources_.count(from)) {
    return make_error(errc::not_found, fmt::format("source {} does not exist (see GET /v1/db/sources)",
                                                   from.substr(0, 80)));
  }
  const snapshot_record* latest = nullptr;
  for (const auto& [id, s] : snapshots_) {
    if (s.info.source == from && s.info.branch.empty() && (!latest || s.info.created_ms > latest->info.created_ms)) {
      latest = &s;
    }
  }
  if (!latest) {
    return make_error(errc::not_found, fmt::format("source {} has no snapshot yet; take one with POST "
                                                   "/v1/db/sources/{}/snapshots", from, from));
  }
  return latest->info.id;
}

clone_info service_impl::clone_view(const clone_record& r) const {
  clone_info info = r.info;
  auto rt = clone_rt_.find(r.info.id);
  if (rt != clone_rt_.end()) info.pid = rt->second.instance.pid;
  return info;
}

result<clone_info> service_impl::create_clone(const clone_spec& spec, bool wait) {
  STRATA_TRY(available());
  STRATA_TRY(check_clone_spec(spec));
  {
    std::lock_guard lock(mu_);
    if (clones_.count(spec.id)) {
      return make_error(errc::already_exists, fmt::format("clone {} exists; delete it or pick another id", spec.id));
    }
    auto snap = resolve_snapshot(spec.source, spec.snapshot, spec.branch);
    if (!snap.ok()) return snap.err();
    auto port = allocate_port();
    if (!port.ok()) return port.err();
    clone_record rec;
    rec.info.id = spec.id;
    rec.info.status = clone_status::creating;
    rec.info.host = config_.clone_listen;
    rec.info.port = *port;
    rec.info.snapshot = *snap;
    rec.info.source = snapshots_[*snap].info.source;
    rec.info.branch = spec.branch;
    rec.info.user = spec.user;
    rec.info.is_protected = spec.is_protected;
    rec.info.settings = spec.settings;
    rec.info.created_ms = now_ms();
    rec.superuser = snapshots_[*snap].superuser;
    if (auto st = persist_clone(rec); !st.ok()) {
      ports_held_.erase(*port);
      return st.err();
    }
    clones_[spec.id] = rec;
    clone_rt_[spec.id] = {};
  }
  if (wait) {
    // The caller hears the error; a clone that never ran leaves nothing behind.
    auto done = finish_clone(spec.id, spec.password, true);
    if (!done.ok()) best_effort(delete_clone(spec.id), "removing a clone that failed to start");
    return done;
  }
  std::string id = spec.id;
  std::string password = spec.password;
  run_async([this, id, password] { (void)finish_clone(id, password, true); });
  return get_clone(id);
}

status service_impl::build_clone(clone_record& rec, const std::string& password) {
  std::string backend;
  {
    std::lock_guard lock(mu_);
    backend = backend_of(rec.info.source);
  }
  auto p = pool_for(backend);
  if (!p.ok()) return p.err();
  const std::string ds = clone_dataset(rec.info.id);
  stop_postmaster_in((*p)->path(ds) + "/data");
  STRATA_TRY((*p)->destroy(ds));
  STRATA_TRY((*p)->clone("snap." + rec.info.snapshot, ds));
  auto ic = make_instance(clone_instance(rec.info.id), (*p)->path(ds) + "/data", rec.info.port, config_.clone_listen,
                          rec.info.settings);
  auto pid = start_and_wait(ic);
  if (!pid.ok()) return pid.err();
  {
    std::lock_guard lock(mu_);
    clone_rt_[rec.info.id].instance = {*pid};
    clone_rt_[rec.info.id].last_activity_ms = now_ms();
  }
  const std::string admin = socket_conninfo(ic, rec.superuser.empty() ? "postgres" : rec.superuser, "template1");
  std::string verifier = rec.verifier;
  if (!password.empty()) {
    auto v = scram_verifier(admin, rec.info.user, password);
    if (!v.ok()) return make_error(v.err().code, "cannot compute the password verifier: " + v.err().message);
    verifier = *v;
  }
  if (verifier.empty()) {
    return make_error(errc::unavailable, "the clone has no stored credentials (its creation was interrupted); "
                                         "delete it and create it again");
  }
  auto exists = query_params(admin, "SELECT 1 FROM pg_roles WHERE rolname = $1", {rec.info.user}, query_timeout_ms);
  if (!exists.ok()) return exists.err();
  std::string verb = exists->empty() ? "CREATE" : "ALTER";
  // The statement carries only the verifier; still, keep it out of the log.
  auto made = query(admin,
                    "SET log_statement = 'none'; SET log_min_error_statement = 'panic'; " + verb + " ROLE " +
                        quote_ident(rec.info.user) + " WITH LOGIN SUPERUSER PASSWORD " + quote_literal(verifier),
                    query_timeout_ms);
  if (!made.ok()) return made.err();
  rec.verifier = verifier;
  return {};
}

result<clone_info> service_impl::finish_clone(const std::string& id, const std::string& password, bool fresh) {
  auto started = std::chrono::steady_clock::now();
  clone_record rec;
  {
    std::lock_guard lock(mu_);
    auto it = clones_.find(id);
    if (it == clones_.end()) return make_error(errc::not_found, fmt::format("clone {} was deleted meanwhile", id));
    rec = it->second;
  }
  status st = build_clone(rec, password);
  auto took_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard lock(mu_);
  auto it = clones_.find(id);
  if (it == clones_.end()) return make_error(errc::not_found, fmt::format("clone {} was deleted meanwhile", id));
  clone_record& live = it->second;
  live.verifier = rec.verifier;
  live.info.clone_ms = took_ms;
  if (!fresh) live.info.reset_ms = now_ms();
  if (st.ok()) {
    live.info.status = clone_status::ok;
    live.info.reason.clear();
    clones_created_++;
    clone_seconds_sum_ += static_cast<double>(took_ms) / 1000.0;
  } else {
    live.info.status = clone_status::fatal;
    live.info.reason = st.err().message;
    spdlog::warn("db: clone {}: {}", id, st.err().message);
  }
  if (auto s = persist_clone(live); !s.ok()) return s.err();
  if (!st.ok()) return st.err();
  return clone_view(live);
}

std::vector<clone_info> service_impl::list_clones() {
  std::lock_guard lock(mu_);
  std::vector<clone_info> out;
  for (const auto& [id, c] : clones_) out.push_back(clone_view(c));
  return out;
}

result<clone_info> service_impl::get_clone(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = clones_.find(id);
  if (it == clones_.end()) {
    return make_error(errc::not_found, fmt::format("clone {} does not exist (see GET /v1/db/clones)", id.substr(0, 80)));
  }
  return clone_view(it->second);
}

result<clone_info> service_impl::reset_clone(const std::string& id, const std::string& snapshot, bool latest,
                                             bool wait) {
  STRATA_TRY(available());
  instance_state running;
  {
    std::lock_guard lock(mu_);
    auto it = clones_.find(id);
    if (it == clones_.end()) {
      return make_error(errc::not_found, fmt::format("clone {} does not exist (see GET /v1/db/clones)", id.substr(0, 80)));
    }
    clone_record& rec = it->second;
    if (rec.info.status != clone_status::ok && rec.info.status != clone_status::fatal) {
      return make_error(errc::unavailable, fmt::format("clone {} is {}; retry when it is OK", id,
                                                       clone_status_name(rec.info.status)));
    }
    std::string target = rec.info.snapshot;
    if (!snapshot.empty() || latest) {
      auto resolved = resolve_snapshot(latest ? rec.info.source : "", snapshot, "");
      if (!resolved.ok()) return resolved.err();
      target = *resolved;
    }
    if (rec.verifier.empty()) {
      return make_error(errc::unavailable, fmt::format("clone {} has no stored credentials (its creation was "
                                                       "interrupted); delete it and create it again", id));
    }
    rec.info.snapshot = target;
    rec.info.status = clone_status::resetting;
    rec.info.reason.clear();
    STRATA_TRY(persist_clone(rec));
    running = clone_rt_[id].instance;
    clone_rt_[id].instance = {};
  }
  stop_pid(running, stop_mode::fast);
  if (wait) return finish_clone(id, "", false);
  run_async([this, id] { (void)finish_clone(id, "", false); });
  return get_clone(id);
}

status service_impl::delete_clone(const std::string& id) {
  instance_state running;
  std::string backend;
  {
    std::lock_guard lock(mu_);
    auto it = clones_.find(id);
    if (it == clones_.end()) {
      return make_error(errc::not_found, fmt::format("clone {} does not exist (see GET /v1/db/clones)", id.substr(0, 80)));
    }
    if (it->second.info.status == clone_status::creating || it->second.info.status == clone_status::resetting) {
      return make_error(errc::unavailable, fmt::format("clone {} is {}; retry when it is OK", id,
                                                       clone_status_name(it->second.info.status)));
    }
    it->second.info.status = clone_status::deleting;
    STRATA_TRY(persist_clone(it->second));
    running = clone_rt_[id].instance;
    clone_rt_[id].instance = {};
    backend = backend_of(it->second.info.source);
  }
  stop_pid(running, stop_mode::fast);
  auto p = pool_for(backend);
  if (!p.ok()) return p.err();
  stop_postmaster_in((*p)->path(clone_dataset(id)) + "/data");
  STRATA_TRY((*p)->destroy(clone_dataset(id)));
  std::error_code ec;
  fs::remove_all(run_dir(clone_instance(id)), ec);
  std::lock_guard lock(mu_);
  auto it = clones_.find(id);
  if (it != clones_.end()) {
    ports_held_.erase(it->second.info.port);
    clones_.erase(it);
  }
  clone_rt_.erase(id);
  return kv_.remove(std::string(clone_prefix) + id);
}

void service_impl::mark_fatal(const std::string& id, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = clones_.find(id);
  if (it == clones_.end()) return;
  it->second.info.status = clone_status::fatal;
  it->second.info.reason = reason;
  clone_rt_[id].instance = {};
  if (auto st = persist_clone(it->second); !st.ok()) spdlog::error("db: clone {}: {}", id, st.err().message);
  spdlog::warn("db: clone {} is FATAL: {}", id, reason.substr(0, 500));
}

void service_impl::recover_clones(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    clone_record c;
    {
      std::lock_guard lock(mu_);
      auto it = clones_.find(id);
      if (it == clones_.end()) continue;
      c = it->second;
    }
    const std::string pgdata = data_path(backend_of(c.info.source), clone_dataset(id));
    switch (c.info.status) {
      case clone_status::creating:
        stop_postmaster_in(pgdata);
        mark_fatal(id, "its creation was interrupted by a restart of Strata; delete the clone and create it again");
        break;
      case clone_status::deleting:
        best_effort(delete_clone(id), "finishing an interrupted delete");
        break;
      case clone_status::resetting:
        (void)finish_clone(id, "", false);  // build_clone stops what the interrupted reset started
        break;
      case clone_status::ok:
        recover_running_clone(c, pgdata);
        break;
      case clone_status::fatal:
        break;
    }
  }
}

// A clone whose postmaster outlived Strata is adopted; otherwise it is
// started again on its port (with crash recovery if it was running).
void service_impl::recover_running_clone(const clone_record& c, const std::string& pgdata) {
  const std::string& id = c.info.id;
  if (auto running = running_postmaster(pgdata)) {
    std::lock_guard lock(mu_);
    clone_rt_[id].instance = {*running};
    clone_rt_[id].last_activity_ms = now_ms();
    return;
  }
  auto ic = make_instance(clone_instance(id), pgdata, c.info.port, config_.clone_listen, c.info.settings);
  auto pid = start_and_wait(ic);
  if (!pid.ok()) return mark_fatal(id, "restart after a Strata restart failed: " + pid.err().message);
  std::lock_guard lock(mu_);
  clone_rt_[id].instance = {*pid};
  clone_rt_[id].last_activity_ms = now_ms();
}

}  // namespace strata::dbclone
