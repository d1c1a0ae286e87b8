// PostgreSQL protocol metrics: sessions started, statements executed, errors
// by SQLSTATE class, and connections the server hung up on, by reason.
#pragma once

#include "metrics/registry.h"
#include "pgwire/server.h"

namespace strata::app {

pgwire::server_observer make_pg_observer(metrics::registry& registry);

}  // namespace strata::app
