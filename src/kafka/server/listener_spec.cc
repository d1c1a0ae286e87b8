#include "kafka/server/listener_spec.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "net/endpoint.h"

namespace strata::kafka {

namespace {
constexpr std::array<std::pair<std::string_view, security_protocol>, 4> protocols{{
    {"PLAINTEXT", security_protocol::plaintext},
    {"SSL", security_protocol::ssl},
    {"SASL_PLAINTEXT", security_protocol::sasl_plaintext},
    {"SASL_SSL", security_protocol::sasl_ssl},
}};
}  // namespace

const char* protocol_name(security_protocol p) {
  for (const auto& [name, value] : protocols) {
    if (value == p) return name.data();
  }
  return "unknown";
}

result<listener_spec> parse_listener(std::string_view text, std::string_view flag) {
  listener_spec spec;
  const size_t scheme_end = text.find("://");
  std::string_view address = text;
  if (scheme_end != std::string_view::npos) {
    const std::string_view scheme = text.substr(0, scheme_end);
    bool known = false;
    for (const auto& [name, value] : protocols) {
      if (scheme == name) {
        spec.protocol = value;
        known = true;
      }
    }
    if (!known) {
      return make_error(errc::invalid_argument,
                        fmt::format("{} {}: unknown security protocol '{}'; use PLAINTEXT, SSL, SASL_PLAINTEXT or "
                                    "SASL_SSL, as in SASL_SSL://0.0.0.0:9094",
                                    flag, text, scheme));
    }
    address = text.substr(scheme_end + 3);
  }
  spec.host_port = std::string(address);
  auto parsed = net::parse_host_port(spec.host_port, std::string(flag));
  STRATA_TRY(parsed);
  spec.host = parsed->host;
  return spec;
}

result<std::vector<listener_spec>> parse_listeners(const std::vector<std::string>& texts, std::string_view flag) {
  if (texts.empty()) {
    return make_error(errc::invalid_argument, fmt::format("give at least one {} PROTOCOL://HOST:PORT", flag));
  }
  std::vector<listener_spec> out;
  for (const auto& text : texts) {
    auto spec = parse_listener(text, flag);
    STRATA_TRY(spec);
    for (const auto& earlier : out) {
      if (earlier.protocol == spec->protocol) {
        return make_error(errc::invalid_argument,
                          fmt::format("{}: {} is used by two listeners; a protocol names its listener, so give each "
                                      "protocol once",
                                      flag, protocol_name(spec->protocol)));
      }
    }
    out.push_back(std::move(*spec));
  }
  return out;
}

}  // namespace strata::kafka
