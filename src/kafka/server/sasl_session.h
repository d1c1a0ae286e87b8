// One connection's SASL exchange on a SASL_PLAINTEXT or SASL_SSL listener,
// without I/O: SaslHandshake picks the mechanism, then the client's tokens
// arrive in SaslAuthenticate requests (handshake v1) or as bare size-prefixed
// frames (handshake v0, as kafka-python sends them). PLAIN takes one token;
// SCRAM-SHA-256 and SCRAM-SHA-512 take two. Until it succeeds, the
// connection serves nothing but ApiVersions and these two APIs; a failure
// ends the connection once its answer is sent, as Kafka brokers do.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth/scram.h"
#include "kafka/protocol/api.h"

namespace strata::auth {
class user_store;
}

namespace strata::kafka {

// The mechanisms a SASL listener offers, in the order SaslHandshake lists them.
inline const std::vector<std::string>& sasl_mechanisms() {
  static const std::vector<std::string> all{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
  return all;
}

class sasl_session {
 public:
  // `users` may be null: every login then fails.
  sasl_session(const auth::user_store* users, auth::random_source random);
  ~sasl_session();

  // SaslHandshake: none, unsupported_sasl_mechanism (with the list to offer
  // back), or illegal_sasl_state when a mechanism was chosen already.
  error_code on_handshake(std::string_view mechanism, int16_t version);

  struct step {
    error_code error = error_code::none;
    std::string message;          // for the client, when error is set
    std::vector<uint8_t> reply;   // the server's token
  };
  // One token from the client, in either framing.
  step on_token(std::span<const uint8_t> token);

  bool authenticated() const { return stage_ == stage::done; }
  bool failed() const { return stage_ == stage::failed; }
  // After a v0 handshake: the next frames are bare tokens, not Kafka requests.
  bool expects_bare_token() const { return bare_tokens_ && stage_ == stage::tokens; }
  const std::string& principal() const { return principal_; }  // "User:NAME" once authenticated
  const std::string& mechanism() const { return mechanism_; }

 private:
  enum class stage { handshake, tokens, done, failed };
  step fail(error_code code, std::string message);
  step plain(std::span<const uint8_t> token);
  step scram(std::span<const uint8_t> token);

  const auth::user_store* users_;
  auth::random_source random_;
  stage stage_ = stage::handshake;
  bool bare_tokens_ = false;
  std::string mechanism_;
  std::unique_ptr<auth::scram_server> scram_;
  bool scram_first_done_ = false;
  std::string principal_;
};

}  // namespace strata::kafka
