#pragma once

#include "app/options.h"

namespace strata::app {

// Runs `strata server` until SIGINT or SIGTERM. Returns the process exit code.
int run_server(const server_options& options);

}  // namespace strata::app
