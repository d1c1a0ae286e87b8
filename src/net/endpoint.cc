#include "net/endpoint.h"

#include <fmt/format.h>

#include <charconv>

namespace strata::net {

result<host_port> parse_host_port(const std::string& text, const std::string& flag) {
  auto bad = [&](const char* why) {
    return make_error(errc::invalid_argument, fmt::format("{} {} is invalid: {}; expected HOST:PORT such as 127.0.0.1:9092", flag, text, why));
  };
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("no host");
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') return bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  }
  std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) return bad("the port must be 0 to 65535");
  return host_port{host, static_cast<uint16_t>(port)};
}

}  // namespace strata::net
