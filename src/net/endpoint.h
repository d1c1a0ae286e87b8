#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace strata::net {

struct host_port {
  std::string host;
  uint16_t port = 0;
};

// Parses "HOST:PORT" or "[V6]:PORT". `flag` names the setting in errors.
result<host_port> parse_host_port(const std::string& text, const std::string& flag);

}  // namespace strata::net
