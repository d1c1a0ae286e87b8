#include "admin/db_metrics.h"

#include "dbclone/service.h"

namespace strata::admin {
namespace {

double as_double(uint64_t v) { return static_cast<double>(v); }

void collect(metrics::collector_sink& sink, dbclone::service& db) {
  dbclone::metrics_view m = db.metrics();
  for (const auto& [status, count] : m.clones_by_status) {
    sink.gauge("strata_db_clones", "Database clones by status.", {{"status", status}}, count);
  }
  sink.counter("strata_db_clones_created_total", "Clone creates and resets that ended with the clone accepting "
               "connections.", {}, as_double(m.clones_created));
  sink.counter("strata_db_clone_seconds_total", "Seconds spent creating and resetting clones, from the request "
               "until the clone accepted connections.", {}, m.clone_seconds_sum);
  for (const auto& [id, bytes] : m.clone_exclusive_bytes) {
    sink.gauge("strata_db_clone_exclusive_bytes", "Disk bytes only this clone holds (not shared with its snapshot).",
               {{"clone", id}}, as_double(bytes));
  }
  if (m.pool_open) {
    sink.gauge("strata_db_pool_used_bytes", "Bytes used in the database clone pool.", {}, as_double(m.pool_used_bytes));
    sink.gauge("strata_db_pool_free_bytes", "Bytes free in the database clone pool.", {}, as_double(m.pool_free_bytes));
  }
  sink.gauge("strata_db_snapshots", "Prepared database snapshots, branch commits included.", {}, m.snapshots);
  for (const auto& [source, seconds] : m.newest_snapshot_lag_seconds) {
    sink.gauge("strata_db_snapshot_data_lag_seconds", "Age of the data in the newest snapshot of each source.",
               {{"source", source}}, seconds);
  }
  for (const auto& [source, bytes] : m.sync_lag_bytes) {
    sink.gauge("strata_db_sync_replay_lag_bytes", "WAL received by the sync instance but not yet replayed.",
               {{"source", source}}, static_cast<double>(bytes));
  }
  for (const auto& [source, seconds] : m.sync_lag_seconds) {
    sink.gauge("strata_db_sync_replay_lag_seconds", "Seconds since the last replayed transaction while WAL waits "
               "to be replayed (0 when caught up).", {{"source", source}}, seconds);
  }
}

}  // namespace

metrics::registry::collector_id add_db_collector(metrics::registry& registry, dbclone::service& db) {
  return registry.add_collector([&db](metrics::collector_sink& sink) { collect(sink, db); });
}

}  // namespace strata::admin
