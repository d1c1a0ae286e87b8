#include "dbclone/service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>

#include "dbclone/service_impl.h"
#include "dbclone/volume_pool.h"
#include "meta/kv.h"

#include <xxhash.h>

namespace strata::dbclone {

namespace fs = std::filesystem;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// Removes an emptied mount root with its bookkeeping folders, but never
// through a mount that a failed unmount left in place.
void remove_tree_if_unmounted(const std::string& root) {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, point, rest;
  while (mounts >> device >> point && std::getline(mounts, rest)) {
    if (point == root || point.rfind(root + "/", 0) == 0) {
      spdlog::warn("db: {} is still mounted; leaving {} in place", point, root);
      return;
    }
  }
  std::error_code ec;
  fs::remove_all(root, ec);
}

}  // namespace

error with_space_hint(const std::string& path, error failure) {
  constexpr uint64_t pool_low_bytes = 64ULL << 20;
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return failure;
  uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (free_bytes >= pool_low_bytes) return failure;
  return make_error(errc::no_space, fmt::format("the database pool is full ({} bytes free): raise --db-pool-bytes, or "
                                                "delete clones and snapshots; {}", free_bytes, failure.message));
}

constexpr size_t tool_output_tail_bytes = 2048;

void best_effort(const status& st, const char* what) {
  if (!st.ok()) spdlog::warn("db: {}: {}", what, st.err().message);
}

status check_object_name(const std::string& name, const char* what) {
  static const std::regex valid("[a-z0-9][a-z0-9_-]{0,62}");
  if (name.size() <= 63 && std::regex_match(name, valid)) return {};
  return make_error(errc::invalid_argument,
                    fmt::format("{} \"{}\" is not a valid name: use 1 to 63 of a-z, 0-9, '_' and '-', starting with "
                                "a letter or digit",
                                what, name.size() > 80 ? name.substr(0, 80) + "..." : name));
}

std::string mask_conninfo(const std::string& conninfo) {
  static const std::regex password(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))", std::regex::icase);
  std::string masked = std::regex_replace(conninfo, password, "$1********");
  static const std::regex url_password(R"((postgres(?:ql)?://[^:/@\s]+:)[^@\s]*@)", std::regex::icase);
  return std::regex_replace(masked, url_password, "$1********@");
}

result<std::unique_ptr<service>> service::open(service_config config, meta::kv& kv) {
  auto impl = std::make_unique<service_impl>(std::move(config), kv);
  STRATA_TRY(impl->start());
  return std::unique_ptr<service>(std::move(impl));
}

service_impl::service_impl(service_config config, meta::kv& kv) : config_(std::move(config)), kv_(kv) {
  bins_.bin_dir = config_.postgres_bin;
}

service_impl::~service_impl() { shutdown(); }

namespace {

template <class Record, class Decode>
status load_prefix(meta::kv& kv, std::string_view prefix, Decode decode, std::map<std::string, Record>& out) {
  status failure;
  STRATA_TRY(kv.scan_prefix(prefix, [&](std::string_view key, std::string_view value) {
    auto rec = decode(value);
    if (!rec.ok()) {
      failure = make_error(rec.err().code, fmt::format("{}: {}", key, rec.err().message));
      return;
    }
    out.emplace(std::string(key.substr(prefix.size())), std::move(*rec));
  }));
  return failure;
}

}  // namespace

status service_impl::start() {
  std::error_code ec;
  fs::create_directories(fs::path(config_.data_dir) / "db" / "logs", ec);
  if (ec) {
    return make_error(errc::io_error, fmt::format("cannot create {}/db/logs: {}", config_.data_dir, ec.message()));
  }
  auto major = binaries_major_version(bins_);
  if (!major.ok()) {
    unavailable_reason_ = fmt::format("database clones are unavailable: {} (install postgresql-15 or set "
                                      "--db-postgres-bin)", major.err().message);
  }
  if (geteuid() == 0) {
    auto user = lookup_os_user(config_.os_user);
    if (!user.ok()) {
      unavailable_reason_ = fmt::format("database clones are unavailable: {}", user.err().message);
    } else if (user->uid == 0) {
      unavailable_reason_ = "database clones are unavailable: --db-os-user must not be root (postgres refuses to run "
                            "as root)";
    } else {
      os_user_ = *user;
    }
  }
  STRATA_TRY(load_prefix(kv_, source_prefix, decode_source, sources_));
  STRATA_TRY(load_prefix(kv_, snapshot_prefix, decode_snapshot, snapshots_));
  STRATA_TRY(load_prefix(kv_, clone_prefix, decode_clone, clones_));
  STRATA_TRY(load_prefix(kv_, branch_prefix, decode_branch, branches_));
  for (const auto& [id, c] : clones_) {
    if (c.info.port != 0) ports_held_.insert(c.info.port);
  }
  // Mounting pools and restarting instances waits on child processes (and,
  // for the volume backend, on Strata's own NBD listener, which serves only
  // once the server runs), so it happens in the background.
  if (unavailable_reason_.empty() && !sources_.empty()) {
    std::vector<std::string> loaded;
    for (const auto& [id, c] : clones_) loaded.push_back(id);
    run_async([this, loaded] {
      recover(loaded);
      std::lock_guard lock(mu_);
      recovered_ = true;
      recovered_cv_.notify_all();
    });
  } else {
    recovered_ = true;
  }
  if (!unavailable_reason_.empty()) spdlog::warn("db: {}", unavailable_reason_);
  supervisor_ = std::thread([this] { supervise(); });
  return {};
}

void service_impl::recover(const std::vector<std::string>& clone_ids) {
  std::set<std::string> backends;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, s] : sources_) backends.insert(s.spec.backend);
  }
  if (backends.count("volume")) stop_stale_volume_instances();
  for (const auto& b : backends) {
    auto p = pool_for(b);
    if (!p.ok()) {
      std::lock_guard lock(mu_);
      unavailable_reason_ = fmt::format("database clones are unavailable: the {} pool cannot be opened: {}", b,
                                        p.err().message);
      spdlog::error("db: {}", unavailable_reason_);
      return;
    }
  }
  remove_orphans();
  std::vector<std::pair<std::string, std::string>> to_resume;  // name, status
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, s] : sources_) to_resume.emplace_back(name, s.status);
  }
  for (const auto& [name, status] : to_resume) {
    if (status == "copying" || status == "refreshing") {
      std::string n = name;
      run_async([this, n] { copy_source(n); });
    } else if (status == "ready") {
      std::lock_guard lock(mu_);
      if (sources_[name].spec.mode != source_mode::physical) continue;
    }
    if (status == "ready") {
      if (auto st = start_sync(name); !st.ok()) spdlog::warn("db: source {}: {}", name, st.err().message);
    }
  }
  recover_clones(clone_ids);
  spdlog::info("db: recovered {} sources and their clones", to_resume.size());
}

// Instances on the volume backend outlive a kill -9 of Strata, but their file
// systems went with Strata's NBD listener; they are stopped before the pool
// remounts those file systems, and started again by recover_clones.
void service_impl::stop_stale_volume_instances() {
  std::vector<std::string> datasets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, s] : sources_) {
      if (s.spec.backend == "volume") datasets.push_back(base_dataset(s));
    }
    for (const auto& [id, c] : clones_) {
      if (backend_of(c.info.source) == "volume") datasets.push_back("clone." + id);
    }
  }
  for (const auto& ds : datasets) {
    auto pid = running_postmaster(volume_mount_root() + "/" + ds + "/data");
    if (!pid) continue;
    spdlog::info("db: stopping postgres {} on {}: its file system is gone with the last Strata process", *pid, ds);
    instance_state st{*pid};
    stop_pid(st, stop_mode::immediate);
  }
}

std::string service_impl::volume_mount_root() const { return config_.pool_mount + "-volumes"; }

status service_impl::available() {
  std::unique_lock lock(mu_);
  // Changes wait until a restart's recovery has adopted or restarted every
  // instance, so they never race it.
  if (!recovered_cv_.wait_for(lock, std::chrono::milliseconds(config_.recovery_wait_ms),
                              [this] { return recovered_.load(); })) {
    return make_error(errc::unavailable, "database clones are still being recovered after a restart; retry shortly");
  }
  if (!unavailable_reason_.empty()) return make_error(errc::unavailable, unavailable_reason_);
  return {};
}

result<pool*> service_impl::pool_for(const std::string& backend) {
  std::lock_guard open_lock(pool_open_mu_);
  {
    std::lock_guard lock(mu_);
    auto it = pools_.find(backend);
    if (it != pools_.end()) return it->second.get();
  }
  result<std::unique_ptr<pool>> opened = make_error(errc::invalid_argument, "");
  if (backend == "btrfs") {
    btrfs_pool_config pc;
    pc.pool_dir = (fs::path(config_.data_dir) / "db").string();
    pc.mount_point = config_.pool_mount;
    pc.image_bytes = config_.pool_bytes;
    opened = open_btrfs_pool(pc);
  } else if (backend == "volume") {
    if (config_.volumes == nullptr) {
      return make_error(errc::unavailable, "the volume backend needs the volumes face (it is off on this server)");
    }
    volume_pool_config vc;
    vc.mount_root = volume_mount_root();
    vc.data_dir = config_.data_dir;
    vc.nbd_unix_socket = config_.nbd_unix_socket;
    vc.nbd_host_port = config_.nbd_host_port;
    opened = open_volume_pool(vc, *config_.volumes);
  } else {
    return make_error(errc::invalid_argument,
                      fmt::format("backend \"{}\" is not btrfs or volume", backend.substr(0, 40)));
  }
  if (!opened.ok()) return opened.err();
  std::lock_guard lock(mu_);
  pool* raw = opened->get();
  pools_[backend] = std::move(*opened);
  return raw;
}

std::string service_impl::backend_of(const std::string& source) const {
  auto it = sources_.find(source);
  return it == sources_.end() ? "btrfs" : it->second.spec.backend;
}

std::string service_impl::data_path(const std::string& backend, const std::string& dataset) {
  auto p = pool_for(backend);
  if (!p.ok()) return "";
  return (fs::path((*p)->path(dataset)) / "data").string();
}

std::string service_impl::run_root() const { return config_.pool_mount + "-run"; }

// Named by a hash of the instance name: a unix socket path must fit in 107
// bytes, and ids may be 63 characters long. XXH64 is stable across builds, so
// an instance adopted after an upgrade is still found.
std::string service_impl::run_dir(const std::string& instance) const {
  return fmt::format("{}/i{:016x}", run_root(), XXH64(instance.data(), instance.size(), 0));
}

std::string service_impl::log_path(const std::string& instance) const {
  return (fs::path(config_.data_dir) / "db" / "logs" / (instance + ".log")).string();
}

std::optional<os_user> service_impl::child_user() const { return os_user_; }

instance_config service_impl::make_instance(const std::string& instance, const std::string& pgdata, uint16_t port,
                                            const std::string& listen,
                                            const std::map<std::string, std::string>& extra) const {
  instance_config ic;
  ic.data_dir = pgdata;
  ic.socket_dir = run_dir(instance);
  ic.listen_addresses = listen;
  ic.port = port;
  ic.user = child_user();
  ic.log_path = log_path(instance);
  // Strata's own settings: the clone must not reach back to the source, must
  // log where Strata reads it, and must not depend on files outside its data.
  ic.settings = {{"hba_file", ic.socket_dir + "/pg_hba.conf"},
                 {"ident_file", ic.socket_dir + "/pg_ident.conf"},
                 {"logging_collector", "off"},
                 {"log_destination", "stderr"},
                 {"archive_mode", "off"},
                 {"primary_conninfo", ""},
                 {"restore_command", ""},
                 {"ssl", "off"},
                 {"cluster_name", instance},
                 {"password_encryption", "scram-sha-256"}};
  for (const auto& [k, v] : extra) ic.settings.emplace_back(k, v);
  return ic;
}

status service_impl::prepare_run_dir(const instance_config& ic) {
  std::error_code ec;
  fs::path dir(ic.socket_dir);
  fs::create_directories(dir.parent_path(), ec);
  ::chmod(dir.parent_path().c_str(), 0755);
  fs::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  ::chmod(dir.c_str(), 0700);
  fs::create_directories(fs::path(ic.log_path).parent_path(), ec);
  {
    // Local sockets are reachable only by root and the clones' OS user (the
    // directory is 0700), so trust there is Strata's own admin path; every
    // TCP connection needs a SCRAM password.
    std::ofstream hba(dir / "pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\n"
           "host all all 0.0.0.0/0 scram-sha-256\n"
           "host all all ::/0 scram-sha-256\n";
    std::ofstream ident(dir / "pg_ident.conf", std::ios::trunc);
    if (!hba || !ident) return make_error(errc::io_error, fmt::format("cannot write the config in {}", dir.string()));
  }
  if (ic.user) STRATA_TRY(chown_tree(dir.string(), *ic.user));
  return {};
}

result<pid_t> service_impl::start_and_wait(const instance_config& ic) {
  STRATA_TRY(prepare_run_dir(ic));
  // A copy of a running instance carries its postmaster.pid; the pid in it
  // may be alive (the source's own postmaster), which would block the start.
  std::error_code ec;
  fs::remove(fs::path(ic.data_dir) / "postmaster.pid", ec);
  auto pid = start_instance(bins_, ic);
  if (!pid.ok()) return pid.err();
  if (auto st = wait_ready(ic, *pid, config_.instance_ready_timeout_ms); !st.ok()) {
    stop_process(*pid, SIGKILL, 5000);
    return with_space_hint(ic.data_dir, st.err());
  }
  return *pid;
}

std::optional<int> instance_ended(const instance_state& st) {
  if (st.pid <= 0) return -1;
  return process_ended(st.pid);
}

void service_impl::stop_postmaster_in(const std::string& pgdata) {
  auto pid = running_postmaster(pgdata);
  if (!pid) return;
  spdlog::info("db: stopping postgres {} left running in {}", *pid, pgdata);
  instance_state st{*pid};
  stop_pid(st, stop_mode::immediate);
}

void service_impl::stop_pid(instance_state& st, stop_mode mode) {
  if (st.pid <= 0) return;
  if (auto s = stop_instance(st.pid, mode, 30'000); !s.ok()) spdlog::warn("db: stopping pid {}: {}", st.pid, s.err().message);
  st = {};
}

status service_impl::persist_source(const source_record& r) {
  return kv_.put(std::string(source_prefix) + r.spec.name, encode(r));
}
status service_impl::persist_snapshot(const snapshot_record& r) {
  return kv_.put(std::string(snapshot_prefix) + r.info.id, encode(r));
}
status service_impl::persist_clone(const clone_record& r) {
  return kv_.put(std::string(clone_prefix) + r.info.id, encode(r));
}
status service_impl::persist_branch(const branch_info& r) {
  return kv_.put(std::string(branch_prefix) + r.name, encode(r));
}

result<run_output> service_impl::run_tool(const spawn_options& options, int64_t timeout_ms,
                                          const std::function<void()>& on_tick) {
  return run(options, timeout_ms, tool_output_tail_bytes, {[this] { return stopping_.load(); }, on_tick});
}

void service_impl::run_async(std::function<void()> fn) {
  std::lock_guard lock(jobs_mu_);
  if (shut_down_) return;
  jobs_.emplace_back([fn = std::move(fn)] { fn(); });
}

metrics_view service_impl::metrics() {
  std::lock_guard lock(mu_);
  metrics_view m;
  for (auto s : {clone_status::creating, clone_status::ok, clone_status::resetting, clone_status::deleting,
                 clone_status::fatal}) {
    m.clones_by_status[clone_status_name(s)] = 0;
  }
  for (const auto& [id, c] : clones_) {
    m.clones_by_status[clone_status_name(c.info.status)]++;
    m.clone_exclusive_bytes[id] = c.info.exclusive_bytes;
  }
  m.clones_created = clones_created_;
  m.clone_seconds_sum = clone_seconds_sum_;
  m.pool_open = !pools_.empty();
  m.pool_used_bytes = pool_usage_.used_bytes;
  m.pool_free_bytes = pool_usage_.free_bytes;
  m.snapshots = static_cast<uint32_t>(snapshots_.size());
  int64_t now = now_ms();
  for (const auto& [id, s] : snapshots_) {
    if (s.info.branch.empty() && s.info.data_state_ms > 0) {
      double lag = static_cast<double>(now - s.info.data_state_ms) / 1000.0;
      auto [it, inserted] = m.newest_snapshot_lag_seconds.emplace(s.info.source, lag);
      if (!inserted && lag < it->second) it->second = lag;
    }
  }
  for (const auto& [name, rt] : source_rt_) {
    if (rt.replay_lag_bytes >= 0) {
      m.sync_lag_bytes[name] = rt.replay_lag_bytes;
      m.sync_lag_seconds[name] = rt.replay_lag_seconds;
    }
  }
  return m;
}

void service_impl::shutdown() {
  {
    std::lock_guard lock(jobs_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  stopping_ = true;
  wake_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  std::vector<std::thread> jobs;
  {
    std::lock_guard lock(jobs_mu_);
    jobs.swap(jobs_);
  }
  for (auto& t : jobs) t.join();
  std::lock_guard lock(mu_);
  for (auto& [id, rt] : clone_rt_) stop_pid(rt.instance, stop_mode::fast);
  for (auto& [name, rt] : source_rt_) stop_pid(rt.sync, stop_mode::fast);
  for (auto& [backend, p] : pools_) p->close();
  pools_.clear();
  // Sockets, pg_hba files and the sync instances' passfiles (which hold the
  // sources' passwords) are rebuilt at the next start; none is left behind.
  std::error_code ec;
  fs::remove_all(run_root(), ec);
  remove_tree_if_unmounted(volume_mount_root());
  fs::remove(config_.pool_mount, ec);   // only when empty: the btrfs pool is unmounted
}

}  // namespace strata::dbclone
