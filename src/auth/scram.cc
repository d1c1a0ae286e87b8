#include "auth/scram.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>

#include "base/assert.h"

namespace strata::auth {

namespace {

constexpr size_t scram_message_bytes_max = 2048;
constexpr size_t digest_bytes_max = 64;
constexpr std::string_view base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

using bytes = std::vector<uint8_t>;

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

bool known_hash(scram_hash h) { return h == scram_hash::sha256 || h == scram_hash::sha512; }

const EVP_MD* md(scram_hash h) {
  STRATA_ASSERT(known_hash(h), "unknown scram_hash");
  return h == scram_hash::sha256 ? EVP_sha256() : EVP_sha512();
}

bytes hmac(scram_hash h, std::span<const uint8_t> key, std::span<const uint8_t> data) {
  bytes out(digest_bytes(h));
  unsigned int len = 0;
  const auto* ok = HMAC(md(h), key.data(), int(key.size()), data.data(), data.size(), out.data(), &len);
  STRATA_ASSERT(ok != nullptr && len == out.size(), "HMAC failed");
  return out;
}

bytes hash(scram_hash h, std::span<const uint8_t> data) {
  bytes out(digest_bytes(h));
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), out.data(), &len, md(h), nullptr);
  STRATA_ASSERT(ok == 1 && len == out.size(), "digest failed");
  return out;
}

// Splits "k=v,k=v,..." attributes of one-letter names; nullopt when one is not of that shape.
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

// Kafka's extensions ("tokenauth=true") have multi-letter names, so they are
// split apart from the one-letter attributes.
struct extension {
  std::string_view name;
  std::string_view value;
};

std::optional<std::vector<extension>> extensions(std::string_view s) {
  std::vector<extension> out;
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view part = s.substr(0, comma);
    const size_t eq = part.find('=');
    if (eq == 0 || eq == std::string_view::npos) return std::nullopt;
    out.push_back({part.substr(0, eq), part.substr(eq + 1)});
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// saslname (RFC 5802 section 5.1): "," and "=" travel as "=2C" and "=3D".
std::optional<std::string> unescape_saslname(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    const std::string_view code = s.substr(i + 1, 2);
    if (code == "2C") {
      out.push_back(',');
    } else if (code == "3D") {
      out.push_back('=');
    } else {
      return std::nullopt;
    }
    i += 2;
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

// Salt for made-up verifiers: stable per user name within a process, so
// asking twice for a missing user gets the same salt, as a real user would.
bytes mock_salt(std::string_view user) {
  static const std::array<uint8_t, 32> process_key = [] {
    std::array<uint8_t, 32> k{};
    system_random()(k);
    return k;
  }();
  const bytes d = hmac(scram_hash::sha256, process_key, as_bytes(user));
  return {d.begin(), d.begin() + scram_salt_bytes};
}

bool well_formed(const scram_secret& s, scram_hash h) {
  return s.hash == h && !s.salt.empty() && s.iterations > 0 && s.iterations <= uint32_t(INT32_MAX) &&
         s.stored_key.size() == digest_bytes(h) && s.server_key.size() == digest_bytes(h);
}

}  // namespace

const char* mechanism_name(scram_hash h) {
  switch (h) {
    case scram_hash::sha256: return "SCRAM-SHA-256";
    case scram_hash::sha512: return "SCRAM-SHA-512";
  }
  return "SCRAM-UNKNOWN";
}

std::optional<scram_hash> parse_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return scram_hash::sha256;
  if (name == "SCRAM-SHA-512") return scram_hash::sha512;
  return std::nullopt;
}

size_t digest_bytes(scram_hash h) {
  STRATA_ASSERT(known_hash(h), "unknown scram_hash");
  return h == scram_hash::sha256 ? 32 : 64;
}

random_source system_random() {
  return [](std::span<uint8_t> out) {
    const int ok = RAND_bytes(out.data(), int(out.size()));
    STRATA_ASSERT(ok == 1, "RAND_bytes failed: no entropy");
  };
}

scram_secret make_scram_secret(scram_hash h, std::string_view password, std::span<const uint8_t> salt,
                               uint32_t iterations) {
  std::array<uint8_t, digest_bytes_max> salted{};
  const size_t n = digest_bytes(h);
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), int(password.size()), salt.data(), int(salt.size()), int(iterations),
                                   md(h), int(n), salted.data());
  STRATA_ASSERT(ok == 1, "PBKDF2 failed");
  scram_secret s = scram_secret_from_salted(h, std::span<const uint8_t>(salted.data(), n), salt, iterations);
  OPENSSL_cleanse(salted.data(), salted.size());
  return s;
}

scram_secret scram_secret_from_salted(scram_hash h, std::span<const uint8_t> salted_password,
                                      std::span<const uint8_t> salt, uint32_t iterations) {
  scram_secret s;
  s.hash = h;
  s.salt.assign(salt.begin(), salt.end());
  s.iterations = iterations;
  bytes client_key = hmac(h, salted_password, as_bytes("Client Key"));
  s.stored_key = hash(h, client_key);
  s.server_key = hmac(h, salted_password, as_bytes("Server Key"));
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return s;
}

bool password_matches(const scram_secret& secret, std::string_view password) {
  if (!known_hash(secret.hash) || !well_formed(secret, secret.hash)) return false;
  const scram_secret mine = make_scram_secret(secret.hash, password, secret.salt, secret.iterations);
  // Both compared, without a short cut, so the time says nothing about which differed.
  const bool stored = equal_constant_time(mine.stored_key, secret.stored_key);
  const bool server = equal_constant_time(mine.server_key, secret.server_key);
  return stored & server;
}

std::string base64_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (size_t i = 0; i < data.size(); i += 3) {
    const uint32_t n = (uint32_t(data[i]) << 16) | (i + 1 < data.size() ? uint32_t(data[i + 1]) << 8 : 0) |
                       (i + 2 < data.size() ? uint32_t(data[i + 2]) : 0);
    out.push_back(base64_alphabet[(n >> 18) & 63]);
    out.push_back(base64_alphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? base64_alphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < data.size() ? base64_alphabet[n & 63] : '=');
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

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

scram_server::scram_server(scram_hash h, secret_lookup lookup, random_source random)
    : hash_(h), lookup_(std::move(lookup)), random_(std::move(random)) {
  STRATA_ASSERT(known_hash(h), "scram_server needs SHA-256 or SHA-512");
  STRATA_ASSERT(random_ != nullptr, "scram_server needs a random source");
  std::vector<uint8_t> nonce(scram_nonce_bytes);
  random_(nonce);
  server_nonce_part_ = base64_encode(nonce);
}

void scram_server::set_mock_salt_name(std::string name) { mock_salt_name_ = std::move(name); }

scram_server::outcome scram_server::malformed(std::string why) {
  problem_ = std::move(why);
  return outcome::malformed;
}

scram_server::outcome scram_server::on_client_first(std::string_view message, std::string& reply) {
  if (first_done_) return malformed("a second SCRAM client-first-message");
  first_done_ = true;
  if (message.size() > scram_message_bytes_max) {
    return malformed(fmt::format("the SCRAM client-first-message is longer than {} bytes", scram_message_bytes_max));
  }
  // gs2-header: cbind-flag "," [authzid] ","
  const size_t first_comma = message.find(',');
  if (first_comma == std::string_view::npos) return malformed("the SCRAM client-first-message has no GS2 header");
  const std::string_view cbind = message.substr(0, first_comma);
  if (cbind.starts_with("p=")) return malformed("SCRAM channel binding is not supported; use a client setting without it");
  if (cbind != "n" && cbind != "y") return malformed("invalid SCRAM channel-binding flag");
  const size_t second_comma = message.find(',', first_comma + 1);
  if (second_comma == std::string_view::npos) return malformed("the SCRAM client-first-message has no GS2 header");
  const std::string_view authzid = message.substr(first_comma + 1, second_comma - first_comma - 1);
  gs2_header_ = std::string(message.substr(0, second_comma + 1));
  client_first_bare_ = std::string(message.substr(second_comma + 1));

  // client-first-message-bare: [reserved-mext ","] username "," nonce ["," extensions]
  std::string_view bare = client_first_bare_;
  if (bare.starts_with("m=")) return malformed("SCRAM mandatory extensions (m=) are not supported");
  const size_t n_end = bare.find(',');
  const size_t r_end = n_end == std::string_view::npos ? n_end : bare.find(',', n_end + 1);
  const auto head = attributes(bare.substr(0, r_end));
  if (!head || head->size() != 2 || (*head)[0].first != 'n' || (*head)[1].first != 'r') {
    return malformed("the SCRAM client-first-message must be n=USER,r=NONCE");
  }
  auto user = unescape_saslname((*head)[0].second);
  if (!user) return malformed("the SCRAM user name has a '=' that is not =2C or =3D");
  const auto exts = r_end == std::string_view::npos ? std::vector<extension>() : extensions(bare.substr(r_end + 1));
  if (!exts) return malformed("a SCRAM extension is not of the form NAME=VALUE");
  for (const extension& e : *exts) {
    if (e.name == "tokenauth" && e.value == "true") {
      return malformed("delegation tokens are not supported; log in with a SCRAM user's password");
    }
  }
  if (!authzid.empty()) {
    // Acting as another user is refused; naming oneself is harmless (Kafka allows it).
    auto as = authzid.starts_with("a=") ? unescape_saslname(authzid.substr(2)) : std::nullopt;
    if (!as || *as != *user) return malformed("SCRAM authorization identities other than the user are not supported");
  }
  const std::string_view client_nonce = (*head)[1].second;
  if (!printable_nonce(client_nonce)) return malformed("the SCRAM client nonce is not printable");
  client_user_ = std::move(*user);

  std::optional<scram_secret> found = lookup_ ? lookup_(client_user_) : std::nullopt;
  if (found && well_formed(*found, hash_)) {
    secret_ = std::move(*found);
    known_user_ = true;
  } else {
    secret_ = scram_secret{};
    secret_.hash = hash_;
    secret_.salt = mock_salt(mock_salt_name_ ? *mock_salt_name_ : client_user_);
    secret_.iterations = scram_iterations_default;
    secret_.stored_key.resize(digest_bytes(hash_));
    secret_.server_key.resize(digest_bytes(hash_));
    random_(secret_.stored_key);
    random_(secret_.server_key);
    known_user_ = false;
  }
  nonce_ = std::string(client_nonce) + server_nonce_part_;
  server_first_ = fmt::format("r={},s={},i={}", nonce_, base64_encode(secret_.salt), secret_.iterations);
  reply = server_first_;
  return outcome::next;
}

scram_server::outcome scram_server::on_client_final(std::string_view message, std::string& reply) {
  if (!first_done_ || server_first_.empty()) return malformed("a SCRAM client-final-message before the client-first");
  if (final_done_) return malformed("a second SCRAM client-final-message");
  final_done_ = true;
  if (message.size() > scram_message_bytes_max) {
    return malformed(fmt::format("the SCRAM client-final-message is longer than {} bytes", scram_message_bytes_max));
  }
  const size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return malformed("the SCRAM client-final-message has no proof");
  // client-final-message-without-proof: channel-binding "," nonce ["," extensions]
  const std::string_view without_proof = message.substr(0, proof_at);
  const size_t c_end = without_proof.find(',');
  const size_t r_end = c_end == std::string_view::npos ? c_end : without_proof.find(',', c_end + 1);
  const auto attrs = attributes(without_proof.substr(0, r_end));
  if (!attrs || attrs->size() != 2 || (*attrs)[0].first != 'c' || (*attrs)[1].first != 'r') {
    return malformed("the SCRAM client-final-message must be c=BINDING,r=NONCE,p=PROOF");
  }
  if (r_end != std::string_view::npos && !extensions(without_proof.substr(r_end + 1))) {
    return malformed("a SCRAM extension is not of the form NAME=VALUE");
  }
  const auto binding = base64_decode((*attrs)[0].second);
  if (!binding || std::string_view(reinterpret_cast<const char*>(binding->data()), binding->size()) != gs2_header_) {
    return malformed("the SCRAM channel binding does not match the GS2 header");
  }
  // librdkafka (2.0) echoes the client nonce in front of the whole nonce;
  // Kafka brokers accept any final nonce that ends with theirs, and so do we.
  // The proof still covers the message as sent.
  if (!(*attrs)[1].second.ends_with(nonce_)) return malformed("the SCRAM nonce does not match");
  const size_t n = digest_bytes(hash_);
  const auto proof = base64_decode(message.substr(proof_at + 3));
  if (!proof || proof->size() != n) {
    return malformed(fmt::format("the SCRAM proof is not a base64 {}-byte value", n));
  }

  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const bytes client_signature = hmac(hash_, secret_.stored_key, as_bytes(auth_message));
  bytes client_key(n);
  for (size_t i = 0; i < n; ++i) client_key[i] = (*proof)[i] ^ client_signature[i];
  const bool match = equal_constant_time(hash(hash_, client_key), secret_.stored_key);
  if (!match || !known_user_) return outcome::bad_password;
  reply = "v=" + base64_encode(hmac(hash_, secret_.server_key, as_bytes(auth_message)));
  return outcome::authenticated;
}

void scram_server::set_server_nonce_for_testing(std::string nonce_part) { server_nonce_part_ = std::move(nonce_part); }

}  // namespace strata::auth
