#include "admin/tables_metrics.h"

#include "tables/service.h"

namespace strata::admin {
namespace {

double as_double(uint64_t v) { return static_cast<double>(v); }

void collect(metrics::collector_sink& sink, tables::service& svc) {
  auto list = svc.list_tables();
  sink.gauge("strata_tables", "Tables in the catalog.", {}, as_double(list.size()));
  for (const auto& t : list) {
    metrics::labels labels = {{"table", t.schema.name}};
    sink.gauge("strata_table_rows", "Live rows of the table.", labels, as_double(t.row_count));
    sink.gauge("strata_table_stored_bytes", "Compressed bytes in the table's bucket logs.", labels,
               as_double(t.stored_bytes));
    sink.gauge("strata_table_partitions", "Partitions of the table.", labels, as_double(t.partition_count));
    sink.gauge("strata_table_batches", "Columnar batches stored for the table.", labels, as_double(t.batch_count));
  }
}

}  // namespace

metrics::registry::collector_id add_tables_collector(metrics::registry& registry, tables::service& tables) {
  return registry.add_collector([&tables](metrics::collector_sink& sink) { collect(sink, tables); });
}

}  // namespace strata::admin
