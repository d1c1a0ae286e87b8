// /metrics for database clones: clones by status, cloning time, exclusive
// bytes, pool space, snapshots and their data lag, sync-instance lag.
#pragma once

#include "metrics/registry.h"

namespace strata::dbclone {
class service;
}

namespace strata::admin {

metrics::registry::collector_id add_db_collector(metrics::registry& registry, dbclone::service& db);

}  // namespace strata::admin
