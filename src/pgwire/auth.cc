#include "pgwire/auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

#include "base/assert.h"

namespace strata::pgwire {

namespace {

constexpr std::string_view scram_mechanism = "SCRAM-SHA-256";
constexpr size_t scram_message_bytes_max = 2048;
constexpr std::string_view base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

digest hmac(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  digest out{};
  unsigned int len = 0;
  const auto* ok = HMAC(EVP_sha256(), key.data(), int(key.size()), data.data(), data.size(), out.data(), &len);
  STRATA_ASSERT(ok != nullptr && len == sha256_bytes, "HMAC-SHA-256 failed");
  return out;
}

digest sha256(std::span<const uint8_t> data) {
  digest out{};
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  STRATA_ASSERT(ok == 1 && len == sha256_bytes, "SHA-256 failed");
  return out;
}

// Splits "k=v,k=v,..." attributes; nullopt when one is not of that shape.
std::optional<std::vector<std::pair<char, std::string_view>>> attributes(std::string_view s) {
  std::vector<std::pair<char, std::string_view>> out;
  while (true) {
    const size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    if (part.size() < 2 || part[1] != '=') return std::nullopt;
    out.emplace_back(part[0], part.substr(2));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool printable_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

// Salt for made-up verifiers: stable per user name within a process.
std::vector<uint8_t> mock_salt(std::string_view user) {
  static const std::array<uint8_t, 32> process_key = [] {
    std::array<uint8_t, 32> k{};
    system_random()(k);
    return k;
  }();
  std::string material(reinterpret_cast<const char*>(process_key.data()), process_key.size());
  material += user;
  const digest d = sha256(as_bytes(material));
  return {d.begin(), d.begin() + scram_salt_bytes};
}

}  // namespace

random_source system_random() {
  return [](std::span<uint8_t> out) {
    const int ok = RAND_bytes(out.data(), int(out.size()));
    STRATA_ASSERT(ok == 1, "RAND_bytes failed: no entropy");
  };
}

scram_secret make_scram_secret(std::string_view password, std::span<const uint8_t> salt, uint32_t iterations) {
  scram_secret s;
  s.salt.assign(salt.begin(), salt.end());
  s.iterations = iterations;
  digest salted{};
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), int(password.size()), salt.data(), int(salt.size()), int(iterations),
                                   EVP_sha256(), int(salted.size()), salted.data());
  STRATA_ASSERT(ok == 1, "PBKDF2 failed");
  const digest client_key = hmac(salted, as_bytes("Client Key"));
  s.stored_key = sha256(client_key);
  s.server_key = hmac(salted, as_bytes("Server Key"));
  OPENSSL_cleanse(salted.data(), salted.size());
  return s;
}

credential make_credential(std::string_view name, std::string_view password, const random_source& random) {
  credential c;
  c.name = std::string(name);
  std::vector<uint8_t> salt(scram_salt_bytes);
  random(salt);
  c.scram = make_scram_secret(password, salt, scram_iterations_default);
  std::string material(password);
  material += name;
  c.md5_hex = md5_hex(material);
  OPENSSL_cleanse(material.data(), material.size());
  return c;
}

std::string base64_encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(bytes[i]) << 16) | (i + 1 < bytes.size() ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < bytes.size() ? uint32_t(bytes[i + 2]) : 0);
    out.push_back(base64_alphabet[(n >> 18) & 63]);
    out.push_back(base64_alphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? base64_alphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? base64_alphabet[n & 63] : '=');
  }
  return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      uint32_t v = 0;
      if (c == '=') {
        // Padding only in the last group's last one or two places.
        if (i + 4 != text.size() || j < 2) return std::nullopt;
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;
        const size_t pos = base64_alphabet.find(c);
        if (pos == std::string_view::npos) return std::nullopt;
        v = uint32_t(pos);
      }
      n = (n << 6) | v;
    }
    out.push_back(uint8_t(n >> 16));
    if (pad < 2) out.push_back(uint8_t((n >> 8) & 0xff));
    if (pad < 1) out.push_back(uint8_t(n & 0xff));
  }
  return out;
}

std::string md5_hex(std::string_view data) {
  uint8_t out[16];
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  STRATA_ASSERT(ok == 1 && len == 16, "MD5 failed");
  std::string hex;
  for (uint8_t b : out) hex += fmt::format("{:02x}", b);
  return hex;
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool md5_response_matches(const credential& user, std::span<const uint8_t, 4> salt, std::string_view response) {
  std::string material = user.md5_hex;
  material.append(reinterpret_cast<const char*>(salt.data()), salt.size());
  const std::string expected = "md5" + md5_hex(material);
  return equal_constant_time(as_bytes(expected), as_bytes(response));
}

scram_server::scram_server(const scram_secret* secret, const random_source& random, std::string_view user) {
  if (secret != nullptr) {
    secret_ = *secret;
    known_user_ = true;
  } else {
    secret_.salt = mock_salt(user);
    random(secret_.stored_key);
    random(secret_.server_key);
  }
  std::vector<uint8_t> nonce(scram_nonce_bytes);
  random(nonce);
  server_nonce_part_ = base64_encode(nonce);
}

scram_server::outcome scram_server::malformed(std::string why) {
  problem_ = std::move(why);
  return outcome::malformed;
}

scram_server::outcome scram_server::on_client_first(std::string_view mechanism, std::string_view message, std::string& reply) {
  if (first_done_) return malformed("a second SASLInitialResponse");
  first_done_ = true;
  if (mechanism != scram_mechanism) {
    return malformed(fmt::format("SASL mechanism \"{}\" is not supported; use SCRAM-SHA-256", mechanism.substr(0, 64)));
  }
  if (message.size() > scram_message_bytes_max) return malformed("the SCRAM client-first-message is too long");
  // gs2-header: cbind flag "," [authzid] ","
  const size_t first_comma = message.find(',');
  if (first_comma == std::string_view::npos) return malformed("the SCRAM client-first-message has no GS2 header");
  const std::string_view cbind = message.substr(0, first_comma);
  if (cbind.starts_with("p=")) return malformed("SCRAM channel binding is not supported (the connection has no TLS)");
  if (cbind != "n" && cbind != "y") return malformed("invalid SCRAM channel-binding flag");
  const size_t second_comma = message.find(',', first_comma + 1);
  if (second_comma == std::string_view::npos) return malformed("the SCRAM client-first-message has no GS2 header");
  if (second_comma != first_comma + 1) return malformed("SCRAM authorization identities are not supported");
  gs2_header_ = std::string(message.substr(0, second_comma + 1));
  client_first_bare_ = std::string(message.substr(second_comma + 1));
  auto attrs = attributes(client_first_bare_);
  if (!attrs || attrs->size() < 2 || (*attrs)[0].first != 'n' || (*attrs)[1].first != 'r') {
    return malformed("the SCRAM client-first-message must be n=USER,r=NONCE");
  }
  if (attrs->size() > 2) return malformed("SCRAM extensions are not supported");
  const std::string_view client_nonce = (*attrs)[1].second;
  if (!printable_nonce(client_nonce)) return malformed("the SCRAM client nonce is not printable");
  nonce_ = std::string(client_nonce) + server_nonce_part_;
  server_first_ = fmt::format("r={},s={},i={}", nonce_, base64_encode(secret_.salt), secret_.iterations);
  reply = server_first_;
  return outcome::next;
}

scram_server::outcome scram_server::on_client_final(std::string_view message, std::string& reply) {
  if (!first_done_ || server_first_.empty()) return malformed("a SASLResponse before the SASLInitialResponse");
  if (message.size() > scram_message_bytes_max) return malformed("the SCRAM client-final-message is too long");
  const size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return malformed("the SCRAM client-final-message has no proof");
  const std::string_view without_proof = message.substr(0, proof_at);
  auto attrs = attributes(without_proof);
  if (!attrs || attrs->size() != 2 || (*attrs)[0].first != 'c' || (*attrs)[1].first != 'r') {
    return malformed("the SCRAM client-final-message must be c=BINDING,r=NONCE,p=PROOF");
  }
  auto binding = base64_decode((*attrs)[0].second);
  if (!binding || std::string_view(reinterpret_cast<const char*>(binding->data()), binding->size()) != gs2_header_) {
    return malformed("the SCRAM channel binding does not match the GS2 header");
  }
  if ((*attrs)[1].second != nonce_) return malformed("the SCRAM nonce does not match");
  auto proof = base64_decode(message.substr(proof_at + 3));
  if (!proof || proof->size() != sha256_bytes) return malformed("the SCRAM proof is not a base64 SHA-256 value");

  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const digest client_signature = hmac(secret_.stored_key, as_bytes(auth_message));
  digest client_key{};
  for (size_t i = 0; i < sha256_bytes; ++i) client_key[i] = (*proof)[i] ^ client_signature[i];
  const digest check = sha256(client_key);
  const bool match = equal_constant_time(check, secret_.stored_key);
  if (!match || !known_user_) return outcome::bad_password;
  const digest server_signature = hmac(secret_.server_key, as_bytes(auth_message));
  reply = "v=" + base64_encode(server_signature);
  return outcome::authenticated;
}

void scram_server::set_server_nonce_for_testing(std::string nonce_part) { server_nonce_part_ = std::move(nonce_part); }

}  // namespace strata::pgwire
