// Loopback sockets for the benchmark: free ports, waiting for a server.
#pragma once

#include <cstdint>
#include <functional>

#include "base/result.h"

namespace strata::bench {

// A port on 127.0.0.1 that was free a moment ago (bound to 0, then closed).
result<uint16_t> free_loopback_port();

// Picks a free loopback port into `port` unless it already holds one, so a
// restarted server listens where its clients expect it.
status keep_loopback_port(uint16_t& port);

// A blocking TCP connection to 127.0.0.1:port with TCP_NODELAY; the caller
// closes the fd.
result<int> connect_loopback(uint16_t port);

// Retries connecting until it succeeds, `alive` returns false (the server
// exited) or timeout_ms passes.
status wait_for_port(uint16_t port, int64_t timeout_ms, const std::function<bool()>& alive);

}  // namespace strata::bench
