// Password authentication: SCRAM-SHA-256 (RFC 5802, RFC 7677, as PostgreSQL
// speaks it) and PostgreSQL's md5 scheme. Passwords are not kept: each user
// is stored as its SCRAM verifier (salt, iteration count, StoredKey,
// ServerKey) and its md5 hash, and proofs are compared in constant time.
// Pure code over OpenSSL's libcrypto; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata::pgwire {

inline constexpr uint32_t scram_iterations_default = 4096;
inline constexpr size_t scram_salt_bytes = 16;
inline constexpr size_t scram_nonce_bytes = 18;  // random bytes in the server's nonce part (24 base64 chars)
inline constexpr size_t sha256_bytes = 32;

using digest = std::array<uint8_t, sha256_bytes>;
// Fills a buffer with random bytes (OpenSSL's RAND_bytes in the server; fixed in tests).
using random_source = std::function<void(std::span<uint8_t>)>;
random_source system_random();

struct scram_secret {
  std::vector<uint8_t> salt;
  uint32_t iterations = scram_iterations_default;
  digest stored_key{};
  digest server_key{};
};

// The verifier of `password` (used as given: no SASLprep normalization, so
// non-ASCII passwords must be sent in the same normalization form).
scram_secret make_scram_secret(std::string_view password, std::span<const uint8_t> salt, uint32_t iterations);

// A configured user, as the server keeps it.
struct credential {
  std::string name;
  scram_secret scram;
  std::string md5_hex;  // md5(password || name) in lower-case hex, PostgreSQL's stored form
};
credential make_credential(std::string_view name, std::string_view password, const random_source& random);

std::string base64_encode(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);
std::string md5_hex(std::string_view data);
bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b);

// The md5 method: the client answers "md5" + md5_hex(stored_md5_hex + salt).
bool md5_response_matches(const credential& user, std::span<const uint8_t, 4> salt, std::string_view response);

// The server side of one SCRAM-SHA-256 exchange. A null `secret` (unknown
// user) runs the exchange with a made-up verifier, so the client cannot tell
// a missing user from a wrong password; the proof then always fails.
class scram_server {
 public:
  enum class outcome { next, authenticated, bad_password, malformed };
  scram_server(const scram_secret* secret, const random_source& random, std::string_view user);

  // SASLInitialResponse's mechanism and client-first-message; on `next`,
  // `reply` is the server-first-message (AuthenticationSASLContinue).
  outcome on_client_first(std::string_view mechanism, std::string_view message, std::string& reply);
  // The client-final-message; on `authenticated`, `reply` is the
  // server-final-message (AuthenticationSASLFinal).
  outcome on_client_final(std::string_view message, std::string& reply);
  // What was wrong with a malformed message.
  const std::string& problem() const { return problem_; }
  // Replaces the random server nonce part (RFC 7677's test vector uses a fixed one).
  void set_server_nonce_for_testing(std::string nonce_part);

 private:
  outcome malformed(std::string why);

  scram_secret secret_;
  bool known_user_ = false;
  std::string server_nonce_part_;
  std::string nonce_;  // client nonce + server part
  std::string client_first_bare_;
  std::string server_first_;
  std::string gs2_header_;
  bool first_done_ = false;
  std::string problem_;
};

}  // namespace strata::pgwire
