#include "admin/volumes_metrics.h"

#include "volumes/service.h"

namespace strata::admin {
namespace {

double as_double(uint64_t v) { return static_cast<double>(v); }

void collect_usage(metrics::collector_sink& sink, const volumes::usage_info& u) {
  sink.gauge("strata_volumes_allocated_bytes", "Data bytes held by every volume layer, hidden ones included.", {},
             as_double(u.allocated_bytes));
  sink.gauge("strata_volumes_layers", "Volume layer files on disk.", {}, as_double(u.layers));
  sink.gauge("strata_volumes_hidden_layers", "Layers of deleted snapshots that clones or newer layers still read.", {},
             as_double(u.hidden_layers));
  sink.counter("strata_volumes_client_write_bytes_total", "Bytes clients asked to write to volumes.", {},
               as_double(u.client_write_bytes));
  sink.counter("strata_volumes_disk_write_bytes_total",
               "Bytes written to volume layer files, copy-on-write fill included.", {}, as_double(u.disk_write_bytes));
  sink.counter("strata_volumes_map_write_bytes_total", "Bytes appended to volume map journals and checkpoints.", {},
               as_double(u.map_write_bytes));
  sink.counter("strata_volumes_flushes_total", "Volume layer flushes that synced something.", {}, as_double(u.flushes));
}

void collect(metrics::collector_sink& sink, volumes::service& svc) {
  collect_usage(sink, svc.usage());
  auto list = svc.list_volumes();
  sink.gauge("strata_volumes", "Block volumes, clones included.", {}, as_double(list.size()));
  for (const auto& v : list) {
    metrics::labels labels = {{"volume", v.name}};
    sink.gauge("strata_volume_size_bytes", "Size of the volume as its clients see it.", labels,
               as_double(v.size_bytes));
    sink.gauge("strata_volume_allocated_bytes", "Bytes held on disk by the volume's own top layer.", labels,
               as_double(v.allocated_bytes));
  }
}

}  // namespace

metrics::registry::collector_id add_volumes_collector(metrics::registry& registry, volumes::service& volumes) {
  return registry.add_collector([&volumes](metrics::collector_sink& sink) { collect(sink, volumes); });
}

}  // namespace strata::admin
