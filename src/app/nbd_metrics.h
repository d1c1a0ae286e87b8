// NBD request metrics: requests, bytes and latency by command; errors by
// command and NBD error; connections the server hung up on, by reason.
#pragma once

#include "metrics/registry.h"
#include "nbd/server.h"

namespace strata::app {

nbd::server_observer make_nbd_observer(metrics::registry& registry);

}  // namespace strata::app
