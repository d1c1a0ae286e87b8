// The supervisor thread: notices clones whose postgres ended (FATAL with the
// log tail), destroys idle unprotected clones, keeps sync instances running
// and measures their lag, takes scheduled snapshots and refreshes, and keeps
// the space figures that /metrics reports.
#include <dirent.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "dbclone/service_impl.h"

namespace strata::dbclone {

namespace fs = std::filesystem;

namespace {

constexpr int64_t usage_interval_ms = 5'000;
constexpr int64_t sync_poll_interval_ms = 2'000;
constexpr int64_t idle_check_interval_max_ms = 60'000;
constexpr int64_t query_timeout_ms = 5'000;

int64_t next_run_ms(const std::string& schedule, int64_t after_ms) {
  if (schedule.empty()) return 0;
  auto parsed = cron_schedule::parse(schedule);
  if (!parsed.ok()) return 0;
  return parsed->next_after_ms(after_ms).value_or(0);
}

}  // namespace

void service_impl::supervise() {
  int64_t next_usage_ms = 0;
  int64_t next_sync_ms = 0;
  while (!stopping_) {
    {
      std::unique_lock lock(wake_mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(config_.supervisor_interval_ms), [this] { return stopping_.load(); });
    }
    if (stopping_ || !recovered_ || !available().ok()) continue;
    check_clone_processes();
    check_idle_clones();
    run_schedules();
    int64_t now = now_ms();
    if (now >= next_sync_ms) {
      std::vector<std::string> names;
      {
        std::lock_guard lock(mu_);
        for (const auto& [name, r] : sources_) {
          if (!source_rt_[name].busy) names.push_back(name);
        }
      }
      for (const auto& n : names) poll_sync(n);
      next_sync_ms = now + sync_poll_interval_ms;
    }
    if (now >= next_usage_ms) {
      refresh_usage();
      next_usage_ms = now + usage_interval_ms;
    }
  }
}

void service_impl::check_clone_processes() {
  std::vector<std::pair<std::string, instance_state>> running;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, rt] : clone_rt_) {
      auto c = clones_.find(id);
      if (c != clones_.end() && c->second.info.status == clone_status::ok && rt.instance.pid > 0) {
        running.emplace_back(id, rt.instance);
      }
    }
  }
  for (const auto& [id, st] : running) {
    std::optional<int> code = instance_ended(st);
    if (!code) continue;
    std::string tail = file_tail(log_path("clone." + id), 2048);
    mark_fatal(id, fmt::format("its postgres (pid {}) ended{}; log tail:\n{}", st.pid,
                               *code >= 0 ? fmt::format(" with status {}", *code) : "", tail));
  }
}

void service_impl::check_idle_clones() {
  if (config_.clone_max_idle_minutes <= 0) return;
  const auto max_idle_ms = static_cast<int64_t>(config_.clone_max_idle_minutes * 60'000);
  const int64_t check_every_ms = std::clamp<int64_t>(max_idle_ms / 4, 200, idle_check_interval_max_ms);
  const int64_t now = now_ms();
  struct probe {
    std::string id, superuser;
    uint16_t port;
  };
  std::vector<probe> due;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, rt] : clone_rt_) {
      auto c = clones_.find(id);
      if (c == clones_.end() || c->second.info.status != clone_status::ok || c->second.info.is_protected) continue;
      if (rt.instance.pid <= 0 || now < rt.next_idle_check_ms) continue;
      rt.next_idle_check_ms = now + check_every_ms;
      due.push_back({id, c->second.superuser, c->second.info.port});
    }
  }
  for (const auto& p : due) {
    auto ic = make_instance("clone." + p.id, "", p.port, "", {});
    // Sessions other than this probe, and transactions since the last probe
    // (a client that connects, works and leaves between probes is activity).
    auto rows = query(socket_conninfo(ic, p.superuser.empty() ? "postgres" : p.superuser, "template1"),
                      "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> "
                      "pg_backend_pid()), (SELECT coalesce(sum(xact_commit + xact_rollback), 0) FROM pg_stat_database "
                      "WHERE datname <> 'template1')::bigint",
                      query_timeout_ms);
    if (!rows.ok() || rows->empty()) continue;
    int64_t sessions = std::stoll((*rows)[0][0].value_or("0"));
    int64_t counter = std::stoll((*rows)[0][1].value_or("0"));
    bool destroy = false;
    {
      std::lock_guard lock(mu_);
      auto rt = clone_rt_.find(p.id);
      if (rt == clone_rt_.end()) continue;
      // The probe's own transaction counts once; more than that is a client's.
      bool active = sessions > 0 || (rt->second.activity_counter >= 0 && counter > rt->second.activity_counter + 1);
      rt->second.activity_counter = counter;
      if (active) rt->second.last_activity_ms = now;
      destroy = now - rt->second.last_activity_ms > max_idle_ms;
    }
    if (destroy) {
      spdlog::info("db: clone {} idle for more than {} minutes; destroying it", p.id, config_.clone_max_idle_minutes);
      if (auto st = delete_clone(p.id); !st.ok()) spdlog::warn("db: idle clone {}: {}", p.id, st.err().message);
    }
  }
}

void service_impl::run_schedules() {
  const int64_t now = now_ms();
  std::vector<std::string> snapshot_due, refresh_due;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, r] : sources_) {
      source_runtime& rt = source_rt_[name];
      if (rt.next_snapshot_ms == 0) rt.next_snapshot_ms = next_run_ms(r.spec.snapshot_schedule, now);
      if (rt.next_refresh_ms == 0) rt.next_refresh_ms = next_run_ms(r.spec.refresh_schedule, now);
      if (r.status != "ready" || rt.busy) continue;
      if (rt.next_snapshot_ms > 0 && now >= rt.next_snapshot_ms) {
        snapshot_due.push_back(name);
        rt.next_snapshot_ms = next_run_ms(r.spec.snapshot_schedule, now);
      }
      if (rt.next_refresh_ms > 0 && now >= rt.next_refresh_ms) {
        refresh_due.push_back(name);
        rt.next_refresh_ms = next_run_ms(r.spec.refresh_schedule, now);
        r.status = "refreshing";
        rt.busy = true;
      }
    }
  }
  for (const auto& name : snapshot_due) {
    run_async([this, name] {
      auto made = create_snapshot(name, "scheduled");
      if (!made.ok()) {
        spdlog::warn("db: scheduled snapshot of {}: {}", name, made.err().message);
        return;
      }
      apply_retention(name);
    });
  }
  for (const auto& name : refresh_due) {
    spdlog::info("db: source {}: scheduled refresh", name);
    run_async([this, name] { copy_source(name); });
  }
}

void service_impl::refresh_usage() {
  std::vector<std::pair<std::string, std::string>> datasets;  // clone id, backend
  std::vector<pool*> pools;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, c] : clones_) {
      if (c.info.status == clone_status::ok) datasets.emplace_back(id, backend_of(c.info.source));
    }
    for (const auto& [b, p] : pools_) pools.push_back(p.get());
  }
  pool_usage total;
  for (pool* p : pools) {
    auto u = p->usage();
    if (!u.ok()) continue;
    total.size_bytes += u->size_bytes;
    total.used_bytes += u->used_bytes;
    total.free_bytes += u->free_bytes;
  }
  std::map<std::string, uint64_t> exclusive;
  for (const auto& [id, backend] : datasets) {
    auto p = pool_for(backend);
    if (!p.ok()) continue;
    auto bytes = (*p)->exclusive_bytes("clone." + id);
    if (bytes.ok()) exclusive[id] = *bytes;
  }
  std::lock_guard lock(mu_);
  pool_usage_ = total;
  for (const auto& [id, bytes] : exclusive) {
    auto it = clones_.find(id);
    if (it != clones_.end()) it->second.info.exclusive_bytes = bytes;
  }
}

// Datasets no record owns (a create, snapshot or prepare cut short by a
// kill -9), and postgres processes still running in them, are removed.
void service_impl::remove_orphans() {
  std::set<std::string> wanted;
  std::map<std::string, pool*> pools;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, r] : sources_) {
      if (r.status == "ready" || r.status == "error") wanted.insert(base_dataset(r));
    }
    for (const auto& [id, s] : snapshots_) wanted.insert("snap." + id);
    for (const auto& [id, c] : clones_) wanted.insert("clone." + id);
    for (const auto& [b, p] : pools_) pools[b] = p.get();
  }
  for (const auto& [backend, p] : pools) {
    auto names = p->list();
    if (!names.ok()) continue;
    for (const auto& ds : *names) {
      if (wanted.count(ds)) continue;
      if (auto pid = running_postmaster(p->path(ds) + "/data")) {
        instance_state st{*pid};
        stop_pid(st, stop_mode::immediate);
      }
      spdlog::info("db: removing orphan dataset {} ({})", ds, backend);
      if (auto st = p->destroy(ds); !st.ok()) spdlog::warn("db: orphan {}: {}", ds, st.err().message);
    }
  }
}

}  // namespace strata::dbclone
