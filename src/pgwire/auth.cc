#include "pgwire/auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/assert.h"

namespace strata::pgwire {

namespace {

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

credential make_credential(std::string_view name, std::string_view password, const auth::random_source& random) {
  credential c;
  c.name = std::string(name);
  std::vector<uint8_t> salt(auth::scram_salt_bytes);
  random(salt);
  c.scram = auth::make_scram_secret(auth::scram_hash::sha256, password, salt, auth::scram_iterations_default);
  std::string material(password);
  material += name;
  c.md5_hex = md5_hex(material);
  OPENSSL_cleanse(material.data(), material.size());
  return c;
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

bool md5_response_matches(const credential& user, std::span<const uint8_t, 4> salt, std::string_view response) {
  std::string material = user.md5_hex;
  material.append(reinterpret_cast<const char*>(salt.data()), salt.size());
  const std::string expected = "md5" + md5_hex(material);
  return auth::equal_constant_time(as_bytes(expected), as_bytes(response));
}

std::unique_ptr<auth::scram_server> make_scram_server(const credential* user, std::string_view startup_user,
                                                      const auth::random_source& random) {
  std::optional<auth::scram_secret> secret;
  if (user != nullptr) secret = user->scram;
  auto server = std::make_unique<auth::scram_server>(
      auth::scram_hash::sha256, [secret](std::string_view) { return secret; }, random);
  server->set_mock_salt_name(std::string(startup_user));
  return server;
}

}  // namespace strata::pgwire
