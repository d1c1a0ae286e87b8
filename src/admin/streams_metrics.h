// Per-partition gauges computed at scrape time from streams::service: log
// size, start and end offsets, high watermark. The collector calls the service,
// so the registry must be rendered on the network thread (the admin server
// does), and the collector removed before the service goes away.
#pragma once

#include "metrics/registry.h"

namespace strata::streams {
class service;
}

namespace strata::admin {

metrics::registry::collector_id add_streams_collector(metrics::registry& registry, const streams::service& streams);

}  // namespace strata::admin
