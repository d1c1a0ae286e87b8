#include "kafka/server/sasl_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "auth/plain.h"
#include "auth/user_store.h"

namespace strata::kafka {

namespace {
constexpr size_t sasl_token_bytes_max = 4096;

std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
std::vector<uint8_t> as_bytes(std::string_view text) { return {text.begin(), text.end()}; }
}  // namespace

sasl_session::sasl_session(const auth::user_store* users, auth::random_source random)
    : users_(users), random_(std::move(random)) {}

sasl_session::~sasl_session() = default;

error_code sasl_session::on_handshake(std::string_view mechanism, int16_t version) {
  if (stage_ != stage::handshake) return error_code::illegal_sasl_state;
  const auto& offered = sasl_mechanisms();
  if (std::find(offered.begin(), offered.end(), mechanism) == offered.end()) return error_code::unsupported_sasl_mechanism;
  mechanism_ = std::string(mechanism);
  bare_tokens_ = version == 0;
  stage_ = stage::tokens;
  return error_code::none;
}

sasl_session::step sasl_session::on_token(std::span<const uint8_t> token) {
  if (stage_ != stage::tokens) {
    return fail(error_code::illegal_sasl_state,
                stage_ == stage::handshake ? "send SaslHandshake with a mechanism before SaslAuthenticate"
                                           : "this connection has finished its SASL exchange");
  }
  if (token.size() > sasl_token_bytes_max) {
    return fail(error_code::sasl_authentication_failed,
                fmt::format("SASL token of {} bytes is over the {} byte limit", token.size(), sasl_token_bytes_max));
  }
  return mechanism_ == "PLAIN" ? plain(token) : scram(token);
}

sasl_session::step sasl_session::plain(std::span<const uint8_t> token) {
  auto message = auth::parse_plain(as_text(token));
  if (!message.ok()) return fail(error_code::sasl_authentication_failed, "Authentication failed: " + message.err().message);
  if (users_ == nullptr || !users_->verify_password(message->user, message->password)) {
    return fail(error_code::sasl_authentication_failed, "Authentication failed: Invalid username or password");
  }
  principal_ = "User:" + message->user;
  stage_ = stage::done;
  return {};
}

sasl_session::step sasl_session::scram(std::span<const uint8_t> token) {
  std::string reply;
  if (!scram_first_done_) {
    const auto hash = auth::parse_mechanism(mechanism_);
    auto lookup = [users = users_, hash = *hash](std::string_view user) -> std::optional<auth::scram_secret> {
      if (users == nullptr) return std::nullopt;
      return users->secret(user, hash);
    };
    scram_ = std::make_unique<auth::scram_server>(*hash, lookup, random_);
    const auto outcome = scram_->on_client_first(as_text(token), reply);
    if (outcome != auth::scram_server::outcome::next) {
      return fail(error_code::sasl_authentication_failed, "Authentication failed: " + scram_->problem());
    }
    scram_first_done_ = true;
    return {error_code::none, "", as_bytes(reply)};
  }
  const auto outcome = scram_->on_client_final(as_text(token), reply);
  if (outcome == auth::scram_server::outcome::malformed) {
    return fail(error_code::sasl_authentication_failed, "Authentication failed: " + scram_->problem());
  }
  if (outcome != auth::scram_server::outcome::authenticated) {
    return fail(error_code::sasl_authentication_failed,
                fmt::format("Authentication failed during authentication due to invalid credentials with SASL "
                            "mechanism {}",
                            mechanism_));
  }
  principal_ = "User:" + scram_->client_user();
  stage_ = stage::done;
  return {error_code::none, "", as_bytes(reply)};
}

sasl_session::step sasl_session::fail(error_code code, std::string message) {
  stage_ = stage::failed;
  return {code, std::move(message), {}};
}

}  // namespace strata::kafka
