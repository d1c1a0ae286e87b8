// SaslAuthenticate v0-2 (flexible from v2): one SASL token each way. A
// failed exchange is answered with SASL_AUTHENTICATION_FAILED and the
// connection closes after the answer is sent. Sessions do not expire
// (session_lifetime_ms 0: no re-authentication, KIP-368).
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/sasl_session.h"

namespace strata::kafka::handlers {

status sasl_authenticate(services&, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  const auto token = r.bytes(flex);
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return make_error(errc::invalid_argument, "malformed SaslAuthenticate request");
  sasl_session::step step;
  if (req.sasl) {
    step = req.sasl->on_token(token);
  } else {
    step.error = error_code::illegal_sasl_state;
    step.message = "this listener does not use SASL; connect to a SASL_PLAINTEXT or SASL_SSL listener";
  }
  std::vector<uint8_t> out;
  writer w(out);
  w.i16(static_cast<int16_t>(step.error));
  w.nullable_string(step.error == error_code::none ? std::nullopt : std::optional<std::string>(step.message), flex);
  w.bytes(step.reply, flex);
  if (req.header.api_version >= 1) w.i64(0);  // session_lifetime_ms
  if (flex) w.empty_tagged_fields();
  respond(std::move(out));
  return {};
}

}  // namespace strata::kafka::handlers
