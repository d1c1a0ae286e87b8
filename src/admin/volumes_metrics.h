// Volume space and write accounting for /metrics, computed at scrape time from
// volumes::service: totals from usage() and per-volume size and allocation.
// The collector calls the service on the thread that renders the registry (the
// admin server's network thread), so it must be removed before the service
// goes away; the admin server removes it in stop().
#pragma once

#include "metrics/registry.h"

namespace strata::volumes {
class service;
}

namespace strata::admin {

metrics::registry::collector_id add_volumes_collector(metrics::registry& registry, volumes::service& volumes);

}  // namespace strata::admin
