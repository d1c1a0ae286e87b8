// Prepared snapshots and branches. A snapshot is made as DLE does: a
// crash-consistent copy of the source's base (or of a clone, for a branch
// commit) is started as a temporary instance, which recovers and opens for
// writes; preprocessing SQL runs; a CHECKPOINT and a clean stop follow; the
// stopped data is frozen read-only. Clones of it then start without recovery.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "base/utc_time.h"
#include "dbclone/conninfo.h"
#include "dbclone/service_impl.h"
#include "meta/kv.h"

namespace strata::dbclone {

namespace fs = std::filesystem;

namespace {

constexpr uint16_t private_port = 5432;
constexpr int64_t query_timeout_ms = 60'000;
constexpr int64_t preprocess_timeout_ms = 3'600'000;
constexpr size_t message_bytes_max = 4096;

std::string snapshot_dataset(const std::string& id) { return "snap." + id; }

std::string utc_stamp(int64_t ms) { return format_utc_ms(ms, "%Y%m%dt%H%M%Sz"); }

}  // namespace

result<std::string> find_superuser(const instance_config& ic, const std::vector<std::string>& candidates) {
  std::string last_error;
  for (const auto& user : candidates) {
    if (user.empty()) continue;
    auto rows = query(socket_conninfo(ic, user, "template1"), "SELECT rolname FROM pg_roles WHERE oid = 10",
                      query_timeout_ms);
    if (rows.ok() && !rows->empty() && (*rows)[0][0]) return *(*rows)[0][0];
    if (!rows.ok()) last_error = rows.err().message;
  }
  return make_error(errc::unavailable, "cannot find a superuser role in the copied cluster: " + last_error);
}

std::string service_impl::new_snapshot_id(const std::string& prefix) {
  std::string stamp = utc_stamp(now_ms());
  std::string base = prefix.substr(0, 63 - stamp.size() - 4) + "-" + stamp;
  std::lock_guard lock(mu_);
  std::string id = base;
  for (int n = 2; snapshots_.count(id); ++n) id = fmt::format("{}-{}", base, n);
  return id;
}

result<snapshot_record> service_impl::prepare_snapshot(const std::string& from, snapshot_record rec,
                                                       const std::string& superuser,
                                                       const std::string& preprocess_sql,
                                                       const std::vector<std::string>& dbs) {
  std::string backend;
  std::vector<std::string> candidates = {superuser, "postgres"};
  {
    std::lock_guard lock(mu_);
    backend = backend_of(rec.info.source);
    auto it = sources_.find(rec.info.source);
    if (it != sources_.end()) {
      auto parts = split_conninfo(it->second.spec.conninfo);
      if (parts.ok()) candidates.push_back(parts->user);
    }
  }
  if (os_user_) candidates.push_back(os_user_->name);
  auto p = pool_for(backend);
  if (!p.ok()) return p.err();
  const std::string prep = "prep." + rec.info.id;
  best_effort((*p)->destroy(prep), "removing a dataset");
  STRATA_TRY((*p)->clone(from, prep));
  const std::string pgdata = (*p)->path(prep) + "/data";
  std::error_code ec;
  // A copy of a standby is started as a standby with nothing to stream from:
  // it replays the WAL it has up to consistency and is then promoted, which
  // opens it for writes on a new timeline.
  const bool standby = fs::exists(fs::path(pgdata) / "standby.signal");
  for (const char* f : {"recovery.signal", "postmaster.pid"}) fs::remove(fs::path(pgdata) / f, ec);
  auto ic = make_instance(prep, pgdata, private_port, "", {});
  auto pid = start_and_wait(ic);
  if (!pid.ok()) {
    best_effort((*p)->destroy(prep), "removing a dataset");
    return make_error(pid.err().code, "the snapshot's temporary instance did not start: " + pid.err().message);
  }
  instance_state temp{*pid};
  status st;
  auto su = find_superuser(ic, candidates);
  if (!su.ok()) st = su.err();
  if (st.ok() && standby) {
    auto promoted = query(socket_conninfo(ic, *su, "template1"), "SELECT pg_promote(true, 300)", query_timeout_ms * 5);
    if (!promoted.ok()) st = promoted.err();
    else if (promoted->empty() || promoted->at(0).at(0) != std::optional<std::string>("t")) {
      st = make_error(errc::internal, "the snapshot's temporary instance did not finish its promotion");
    }
  }
  if (st.ok() && !preprocess_sql.empty()) {
    std::vector<std::string> targets = dbs;
    if (targets.empty()) {
      auto rows = query(socket_conninfo(ic, *su, "template1"),
                        "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> "
                        "'postgres' ORDER BY 1",
                        query_timeout_ms);
      if (rows.ok()) {
        for (const auto& row : *rows) targets.push_back(row[0].value_or(""));
      }
    }
    for (const auto& db : targets) {
      auto done = query(socket_conninfo(ic, *su, db), preprocess_sql, preprocess_timeout_ms);
      if (!done.ok()) {
        st = make_error(errc::invalid_argument, fmt::format("preprocess SQL failed in database {}: {}", db,
                                                            done.err().message));
        break;
      }
    }
  }
  if (st.ok()) {
    auto cp = query(socket_conninfo(ic, *su, "template1"), "CHECKPOINT", query_timeout_ms);
    if (!cp.ok()) st = cp.err();
  }
  stop_pid(temp, stop_mode::fast);
  // Measured here: a snapshot's files are not mounted on every backend.
  rec.info.size_bytes = tree_bytes(pgdata);
  if (st.ok()) st = (*p)->snapshot(prep, snapshot_dataset(rec.info.id));
  best_effort((*p)->destroy(prep), "removing a dataset");
  if (!st.ok()) return st.err();
  rec.superuser = *su;
  rec.info.created_ms = now_ms();
  return rec;
}

result<snapshot_info> service_impl::create_snapshot(const std::string& source, const std::string& message) {
  STRATA_TRY(available());
  if (message.size() > message_bytes_max) return make_error(errc::invalid_argument, "message is longer than 4 KiB");
  source_record r;
  {
    std::lock_guard lock(mu_);
    auto it = sources_.find(source);
    if (it == sources_.end()) {
      return make_error(errc::not_found, fmt::format("source {} does not exist (see GET /v1/db/sources)",
                                                     source.substr(0, 80)));
    }
    r = it->second;
    if (r.status != "ready") {
      return make_error(errc::unavailable, fmt::format("source {} is {}{}; a snapshot needs it ready", source,
                                                       r.status, r.reason.empty() ? "" : " (" + r.reason + ")"));
    }
    if (source_rt_[source].busy) {
      return make_error(errc::unavailable, fmt::format("source {} is busy with another snapshot or a refresh; "
                                                       "retry later", source));
    }
    size_t count = 0;
    for (const auto& [id, s] : snapshots_) count += s.info.source == source;
    if (count >= config_.snapshots_max) {
      return make_error(errc::limit_exceeded, fmt::format("source {} has {} snapshots, the limit; delete some or "
                                                          "set a retention_limit", source, count));
    }
    source_rt_[source].busy = true;
  }
  snapshot_record rec;
  rec.info.id = new_snapshot_id(source);
  rec.info.source = source;
  rec.info.message = message;
  rec.info.data_state_ms = r.data_state_ms;
  if (r.spec.mode == source_mode::physical) {
    auto ic = make_instance("sync." + source, "", private_port, "", {});
    auto rows = query(socket_conninfo(ic, r.superuser.empty() ? "postgres" : r.superuser, "template1"),
                      "CHECKPOINT; SELECT (extract(epoch from pg_last_xact_replay_timestamp()) * 1000)::bigint",
                      query_timeout_ms);
    rec.info.data_state_ms = rows.ok() && !rows->empty() && (*rows)[0][0] ? std::stoll(*(*rows)[0][0]) : now_ms();
  }
  auto made = prepare_snapshot(base_dataset(r), rec, r.superuser, r.spec.preprocess_sql, r.spec.databases);
  std::lock_guard lock(mu_);
  source_rt_[source].busy = false;
  if (!made.ok()) return made.err();
  if (sources_.count(source) && sources_[source].superuser.empty()) {
    sources_[source].superuser = made->superuser;
    STRATA_TRY(persist_source(sources_[source]));
  }
  STRATA_TRY(persist_snapshot(*made));
  snapshots_[made->info.id] = *made;
  spdlog::info("db: snapshot {} of source {} is ready", made->info.id, source);
  return made->info;
}

snapshot_info service_impl::with_clone_count(snapshot_info info) const {
  info.clones = 0;
  for (const auto& [cid, c] : clones_) info.clones += c.info.snapshot == info.id;
  return info;
}

bool service_impl::snapshot_in_use(const std::string& id) const {
  for (const auto& [cid, c] : clones_) {
    if (c.info.snapshot == id) return true;
  }
  for (const auto& [name, b] : branches_) {
    if (b.head == id) return true;
  }
  for (const auto& [sid, s] : snapshots_) {
    if (s.info.parent == id) return true;
  }
  return false;
}

std::vector<snapshot_info> service_impl::list_snapshots(const std::string& source) {
  std::lock_guard lock(mu_);
  std::vector<snapshot_info> out;
  for (const auto& [id, s] : snapshots_) {
    if (!source.empty() && s.info.source != source) continue;
    out.push_back(with_clone_count(s.info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created_ms > b.created_ms; });
  return out;
}

result<snapshot_info> service_impl::get_snapshot(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = snapshots_.find(id);
  if (it == snapshots_.end()) {
    return make_error(errc::not_found, fmt::format("snapshot {} does not exist (see GET /v1/db/snapshots)",
                                                   id.substr(0, 80)));
  }
  return with_clone_count(it->second.info);
}

status service_impl::delete_snapshot(const std::string& id) {
  std::string backend;
  {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(id);
    if (it == snapshots_.end()) return make_error(errc::not_found, fmt::format("snapshot {} does not exist", id.substr(0, 80)));
    if (snapshot_in_use(id)) {
      return make_error(errc::unavailable, fmt::format("snapshot {} is in use by a clone, a branch head or a later "
                                                       "commit; delete those first", id));
    }
    backend = backend_of(it->second.info.source);
    STRATA_TRY(kv_.remove(std::string(snapshot_prefix) + id));
    snapshots_.erase(it);
  }
  auto p = pool_for(backend);
  if (!p.ok()) return p.err();
  return (*p)->destroy(snapshot_dataset(id));
}

void service_impl::apply_retention(const std::string& source) {
  std::vector<std::string> doomed;
  {
    std::lock_guard lock(mu_);
    auto it = sources_.find(source);
    if (it == sources_.end() || it->second.spec.retention_limit == 0) return;
    std::vector<const snapshot_record*> own;
    for (const auto& [id, s] : snapshots_) {
      if (s.info.source == source && s.info.branch.empty()) own.push_back(&s);
    }
    std::sort(own.begin(), own.end(), [](auto* a, auto* b) { return a->info.created_ms > b->info.created_ms; });
    for (size_t i = it->second.spec.retention_limit; i < own.size(); ++i) {
      if (!snapshot_in_use(own[i]->info.id)) doomed.push_back(own[i]->info.id);
    }
  }
  for (const auto& id : doomed) {
    if (auto st = delete_snapshot(id); !st.ok()) spdlog::warn("db: retention: {}", st.err().message);
    else spdlog::info("db: retention deleted snapshot {}", id);
  }
}

result<branch_info> service_impl::create_branch(const std::string& name, const std::string& snapshot,
                                                const std::string& from_branch) {
  STRATA_TRY(available());
  STRATA_TRY(check_object_name(name, "branch name"));
  std::lock_guard lock(mu_);
  if (branches_.count(name)) return make_error(errc::already_exists, fmt::format("branch {} exists", name));
  if (!snapshot.empty() && !from_branch.empty()) {
    return make_error(errc::invalid_argument, "give either snapshot or from_branch, not both");
  }
  auto head = resolve_snapshot("", snapshot, from_branch);
  if (!head.ok()) return head.err();
  branch_info b;
  b.name = name;
  b.head = *head;
  b.source = snapshots_[*head].info.source;
  b.created_ms = now_ms();
  STRATA_TRY(persist_branch(b));
  branches_[name] = b;
  return b;
}

std::vector<branch_info> service_impl::list_branches() {
  std::lock_guard lock(mu_);
  std::vector<branch_info> out;
  for (const auto& [name, b] : branches_) out.push_back(b);
  return out;
}

result<snapshot_info> service_impl::commit_branch(const std::string& branch, const std::string& clone,
                                                  const std::string& message) {
  STRATA_TRY(available());
  if (message.size() > message_bytes_max) return make_error(errc::invalid_argument, "message is longer than 4 KiB");
  snapshot_record rec;
  std::string su;
  uint16_t port = 0;
  {
    std::lock_guard lock(mu_);
    auto b = branches_.find(branch);
    if (b == branches_.end()) {
      return make_error(errc::not_found, fmt::format("branch {} does not exist (see GET /v1/db/branches)",
                                                     branch.substr(0, 80)));
    }
    auto c = clones_.find(clone);
    if (c == clones_.end()) return make_error(errc::not_found, fmt::format("clone {} does not exist", clone.substr(0, 80)));
    if (c->second.info.status != clone_status::ok) {
      return make_error(errc::unavailable, fmt::format("clone {} is {}; a commit needs it OK", clone,
                                                       clone_status_name(c->second.info.status)));
    }
    rec.info.source = c->second.info.source;
    rec.info.branch = branch;
    rec.info.parent = b->second.head;
    rec.info.message = message;
    su = c->second.superuser;
    port = c->second.info.port;
  }
  rec.info.id = new_snapshot_id(branch);
  rec.info.data_state_ms = now_ms();
  auto ic = make_instance("clone." + clone, "", port, "", {});
  auto cp = query(socket_conninfo(ic, su, "template1"), "CHECKPOINT", query_timeout_ms);
  if (!cp.ok()) return make_error(cp.err().code, fmt::format("clone {}: CHECKPOINT failed: {}", clone, cp.err().message));
  auto made = prepare_snapshot("clone." + clone, rec, su, "", {});
  if (!made.ok()) return made.err();
  std::lock_guard lock(mu_);
  auto b = branches_.find(branch);
  if (b == branches_.end()) return make_error(errc::not_found, fmt::format("branch {} was deleted meanwhile", branch));
  STRATA_TRY(persist_snapshot(*made));
  snapshots_[made->info.id] = *made;
  b->second.head = made->info.id;
  STRATA_TRY(persist_branch(b->second));
  return made->info;
}

result<std::vector<snapshot_info>> service_impl::branch_log(const std::string& branch) {
  std::lock_guard lock(mu_);
  auto b = branches_.find(branch);
  if (b == branches_.end()) {
    return make_error(errc::not_found, fmt::format("branch {} does not exist (see GET /v1/db/branches)",
                                                   branch.substr(0, 80)));
  }
  std::vector<snapshot_info> log;
  std::string at = b->second.head;
  while (!at.empty() && log.size() <= snapshots_.size()) {
    auto it = snapshots_.find(at);
    if (it == snapshots_.end()) break;
    log.push_back(with_clone_count(it->second.info));
    at = it->second.info.parent;
  }
  return log;
}

status service_impl::delete_branch(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!branches_.count(name)) return make_error(errc::not_found, fmt::format("branch {} does not exist", name.substr(0, 80)));
  STRATA_TRY(kv_.remove(std::string(branch_prefix) + name));
  branches_.erase(name);
  return {};
}

}  // namespace strata::dbclone
