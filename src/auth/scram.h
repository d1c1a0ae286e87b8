// SCRAM (RFC 5802) with SHA-256 (RFC 7677) and SHA-512, the server side, as
// PostgreSQL and Kafka speak it. Passwords are never kept: a user is stored
// as a verifier (salt, iteration count, StoredKey, ServerKey), and proofs are
// compared in constant time. Pure code over OpenSSL's libcrypto; no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata::auth {

enum class scram_hash : int8_t { sha256 = 1, sha512 = 2 };  // values are Kafka's ScramMechanism codes

inline constexpr uint32_t scram_iterations_default = 4096;
inline constexpr uint32_t scram_iterations_min = 4096;    // Kafka's lower bound
inline constexpr uint32_t scram_iterations_max = 16384;   // Kafka's upper bound
inline constexpr size_t scram_salt_bytes = 16;
inline constexpr size_t scram_nonce_bytes = 18;  // random bytes in the server's nonce part (24 base64 chars)

const char* mechanism_name(scram_hash h);                         // "SCRAM-SHA-256"
std::optional<scram_hash> parse_mechanism(std::string_view name);  // nullopt for any other name
size_t digest_bytes(scram_hash h);                                 // 32 or 64

// Fills a buffer with random bytes (OpenSSL's RAND_bytes in the server; fixed in tests).
using random_source = std::function<void(std::span<uint8_t>)>;
random_source system_random();

struct scram_secret {
  scram_hash hash = scram_hash::sha256;
  std::vector<uint8_t> salt;
  uint32_t iterations = scram_iterations_default;
  std::vector<uint8_t> stored_key;  // digest_bytes(hash) each
  std::vector<uint8_t> server_key;
};

// The verifier of `password` (used as given: no SASLprep normalization).
scram_secret make_scram_secret(scram_hash h, std::string_view password, std::span<const uint8_t> salt,
                               uint32_t iterations);
// The verifier from an already salted password (Kafka's AlterUserScramCredentials sends that).
scram_secret scram_secret_from_salted(scram_hash h, std::span<const uint8_t> salted_password,
                                      std::span<const uint8_t> salt, uint32_t iterations);
// True when `password` produces this verifier (PLAIN logins check a password this way).
bool password_matches(const scram_secret& secret, std::string_view password);

std::string base64_encode(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);
bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Finds the verifier of the user named in the client-first-message (n=...,
// unescaped; PostgreSQL clients send it empty and the caller knows the user
// from the startup message). nullopt: no such user.
using secret_lookup = std::function<std::optional<scram_secret>(std::string_view user)>;

// The server side of one SCRAM exchange. An unknown user runs the exchange
// with a made-up verifier, so the client cannot tell a missing user from a
// wrong password; the proof then always fails.
class scram_server {
 public:
  enum class outcome { next, authenticated, bad_password, malformed };
  scram_server(scram_hash h, secret_lookup lookup, random_source random);

  // The client-first-message; on `next`, `reply` is the server-first-message.
  // The mechanism name is the caller's to check.
  outcome on_client_first(std::string_view message, std::string& reply);
  // The client-final-message; on `authenticated`, `reply` is the server-final-message.
  outcome on_client_final(std::string_view message, std::string& reply);
  // The user name the client-first-message gave (n=...), unescaped.
  const std::string& client_user() const { return client_user_; }
  const std::string& problem() const { return problem_; }  // what was wrong with a malformed message
  void set_server_nonce_for_testing(std::string nonce_part);
  // Derives an unknown user's made-up salt from `name` instead of the n=
  // user; PostgreSQL clients send n= empty and name the user at startup.
  void set_mock_salt_name(std::string name);

 private:
  outcome malformed(std::string why);

  scram_hash hash_;
  secret_lookup lookup_;
  random_source random_;
  scram_secret secret_;
  bool known_user_ = false;
  std::string server_nonce_part_;
  std::string nonce_;  // client nonce + server part
  std::string client_first_bare_;
  std::string server_first_;
  std::string gs2_header_;
  std::string client_user_;
  std::optional<std::string> mock_salt_name_;
  bool first_done_ = false;
  bool final_done_ = false;
  std::string problem_;
};

}  // namespace strata::auth
