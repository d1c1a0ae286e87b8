// A Kafka listener as users write it, in Kafka's own syntax:
// "PROTOCOL://HOST:PORT" with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT
// and SASL_SSL, or a bare "HOST:PORT" (PLAINTEXT). The protocol is also the
// listener's name, so each protocol may be used by one listener.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace strata::kafka {

enum class security_protocol { plaintext, ssl, sasl_plaintext, sasl_ssl };

const char* protocol_name(security_protocol p);  // "SASL_SSL"
inline bool uses_tls(security_protocol p) { return p == security_protocol::ssl || p == security_protocol::sasl_ssl; }
inline bool uses_sasl(security_protocol p) {
  return p == security_protocol::sasl_plaintext || p == security_protocol::sasl_ssl;
}

struct listener_spec {
  security_protocol protocol = security_protocol::plaintext;
  std::string host_port;  // as given, for the listener to parse
  std::string host;
};

// `flag` names the setting in errors.
result<listener_spec> parse_listener(std::string_view text, std::string_view flag);
// Every entry parsed; invalid_argument for none, or a protocol used twice.
result<std::vector<listener_spec>> parse_listeners(const std::vector<std::string>& texts, std::string_view flag);

}  // namespace strata::kafka
