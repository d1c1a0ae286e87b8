// SaslHandshake v0-1: the client names its mechanism; the answer lists the
// ones this listener offers. After v0 the tokens follow as bare frames,
// after v1 inside SaslAuthenticate. On a listener without SASL there is
// nothing to hand shake: ILLEGAL_SASL_STATE with an empty list.
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/sasl_session.h"

namespace strata::kafka::handlers {

status sasl_handshake(services&, const request& req, respond_fn respond) {
  reader r(req.body);
  const std::string mechanism = r.string(false);
  if (!r.ok()) return make_error(errc::invalid_argument, "malformed SaslHandshake request");
  const error_code error =
      req.sasl ? req.sasl->on_handshake(mechanism, req.header.api_version) : error_code::illegal_sasl_state;
  std::vector<uint8_t> out;
  writer w(out);
  w.i16(static_cast<int16_t>(error));
  const auto& offered = req.sasl ? sasl_mechanisms() : std::vector<std::string>{};
  w.array_length(static_cast<int32_t>(offered.size()), false);
  for (const auto& m : offered) w.string(m, false);
  respond(std::move(out));
  return {};
}

}  // namespace strata::kafka::handlers
