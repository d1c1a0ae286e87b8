// Table sizes for /metrics, computed at scrape time from tables::service:
// per-table live rows, stored bytes, partitions and batches. The admin server
// removes the collector in stop(), before the service goes away.
#pragma once

#include "metrics/registry.h"

namespace strata::tables {
class service;
}

namespace strata::admin {

metrics::registry::collector_id add_tables_collector(metrics::registry& registry, tables::service& tables);

}  // namespace strata::admin
