// /health and /metrics.
#pragma once

#include "admin/router.h"

namespace strata::metrics {
class registry;
}

namespace strata::admin {

void add_system_routes(router& routes, const metrics::registry& registry);

}  // namespace strata::admin
