// SCRAM-SHA-256 against RFC 7677's test vector, md5, base64, and the
// SCRAM exchange through the backend.
#include "pgwire/auth.h"

#include <gtest/gtest.h>

#include "pgwire/backend.h"
#include "pgwire/tests/fake_engine.h"
#include "pgwire/tests/wire.h"

namespace strata::pgwire {
namespace {

using namespace testing;

// RFC 7677, section 3: user "user", password "pencil".
constexpr std::string_view rfc_salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view rfc_client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view rfc_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view rfc_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

random_source zeros() {
  return [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), 0); };
}

scram_secret rfc_secret() {
  auto salt = base64_decode(rfc_salt);
  EXPECT_TRUE(salt.has_value());
  return make_scram_secret("pencil", *salt, 4096);
}

TEST(Scram, Rfc7677TestVector) {
  const scram_secret secret = rfc_secret();
  scram_server server(&secret, zeros(), "user");
  server.set_server_nonce_for_testing(std::string(rfc_server_nonce));
  std::string reply;
  ASSERT_EQ(server.on_client_first("SCRAM-SHA-256", rfc_client_first, reply), scram_server::outcome::next);
  EXPECT_EQ(reply, rfc_server_first);
  ASSERT_EQ(server.on_client_final(rfc_client_final, reply), scram_server::outcome::authenticated) << server.problem();
  EXPECT_EQ(reply, rfc_server_final);
}

TEST(Scram, WrongProofFails) {
  const scram_secret secret = rfc_secret();
  scram_server server(&secret, zeros(), "user");
  server.set_server_nonce_for_testing(std::string(rfc_server_nonce));
  std::string reply;
  ASSERT_EQ(server.on_client_first("SCRAM-SHA-256", rfc_client_first, reply), scram_server::outcome::next);
  std::string final(rfc_client_final);
  final[final.size() - 5] = final[final.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(server.on_client_final(final, reply), scram_server::outcome::bad_password);
}

TEST(Scram, UnknownUserAlwaysFailsAfterAFullExchange) {
  scram_server server(nullptr, zeros(), "nobody");
  server.set_server_nonce_for_testing(std::string(rfc_server_nonce));
  std::string reply;
  ASSERT_EQ(server.on_client_first("SCRAM-SHA-256", rfc_client_first, reply), scram_server::outcome::next);
  EXPECT_TRUE(reply.starts_with("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s="));
  EXPECT_EQ(server.on_client_final(rfc_client_final, reply), scram_server::outcome::bad_password);
  // The made-up salt is stable per user, so probing twice does not reveal the user is missing.
  scram_server again(nullptr, zeros(), "nobody");
  std::string reply2;
  ASSERT_EQ(again.on_client_first("SCRAM-SHA-256", rfc_client_first, reply2), scram_server::outcome::next);
  EXPECT_EQ(reply.substr(reply.find(",s=")), reply2.substr(reply2.find(",s=")));
}

TEST(Scram, MalformedMessages) {
  const scram_secret secret = rfc_secret();
  auto first = [&](std::string_view mech, std::string_view msg) {
    scram_server s(&secret, zeros(), "user");
    std::string reply;
    return s.on_client_first(mech, msg, reply);
  };
  EXPECT_EQ(first("SCRAM-SHA-1", rfc_client_first), scram_server::outcome::malformed);
  EXPECT_EQ(first("SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc"), scram_server::outcome::malformed);
  EXPECT_EQ(first("SCRAM-SHA-256", "n,a=admin,n=,r=abc"), scram_server::outcome::malformed);
  EXPECT_EQ(first("SCRAM-SHA-256", "n,,r=abc"), scram_server::outcome::malformed);
  EXPECT_EQ(first("SCRAM-SHA-256", "garbage"), scram_server::outcome::malformed);
  EXPECT_EQ(first("SCRAM-SHA-256", ""), scram_server::outcome::malformed);
  EXPECT_EQ(first("SCRAM-SHA-256", "y,,n=,r=abc"), scram_server::outcome::next);

  scram_server s(&secret, zeros(), "user");
  std::string reply;
  ASSERT_EQ(s.on_client_first("SCRAM-SHA-256", "n,,n=,r=abc", reply), scram_server::outcome::next);
  const std::string nonce = reply.substr(2, reply.find(',') - 2);
  // Wrong nonce, wrong channel binding, missing proof.
  EXPECT_EQ(s.on_client_final("c=biws,r=abcX,p=" + base64_encode(std::vector<uint8_t>(32)), reply),
            scram_server::outcome::malformed);
  scram_server t(&secret, zeros(), "user");
  ASSERT_EQ(t.on_client_first("SCRAM-SHA-256", "n,,n=,r=abc", reply), scram_server::outcome::next);
  EXPECT_EQ(t.on_client_final("c=eSws,r=" + nonce + ",p=" + base64_encode(std::vector<uint8_t>(32)), reply),
            scram_server::outcome::malformed);
  scram_server u(&secret, zeros(), "user");
  ASSERT_EQ(u.on_client_first("SCRAM-SHA-256", "n,,n=,r=abc", reply), scram_server::outcome::next);
  EXPECT_EQ(u.on_client_final("c=biws,r=" + nonce, reply), scram_server::outcome::malformed);
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    std::vector<uint8_t> bytes(s.begin(), s.end());
    auto enc = base64_encode(bytes);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec.has_value()) << s;
    EXPECT_EQ(*dec, bytes);
  }
  EXPECT_EQ(base64_encode(std::vector<uint8_t>{'f', 'o', 'o', 'b'}), "Zm9vYg==");
  EXPECT_FALSE(base64_decode("Zm9").has_value());
  EXPECT_FALSE(base64_decode("Zm=v").has_value());
  EXPECT_FALSE(base64_decode("Zm9v!A==").has_value());
  EXPECT_FALSE(base64_decode("=AAA").has_value());
}

TEST(Md5, MatchesPostgresScheme) {
  // PostgreSQL stores "md5" + md5(password || user); for "secret"/"alice" psql's
  // \password would store md5 of "secretalice".
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  const credential c = make_credential("alice", "secret", zeros());
  EXPECT_EQ(c.md5_hex, md5_hex("secretalice"));
  const uint8_t salt[4] = {1, 2, 3, 4};
  const std::string answer = "md5" + md5_hex(c.md5_hex + std::string("\x01\x02\x03\x04", 4));
  EXPECT_TRUE(md5_response_matches(c, salt, answer));
  EXPECT_FALSE(md5_response_matches(c, salt, answer.substr(0, answer.size() - 1) + "0"));
  EXPECT_FALSE(md5_response_matches(c, salt, "md5"));
}

// A client side of SCRAM for the backend test (the math of RFC 5802).
class ScramBackendTest : public ::testing::Test {
 protected:
  ScramBackendTest() {
    auth_.method = auth_method::scram_sha_256;
    auth_.users.push_back(make_credential("alice", "pencil", system_random()));
    env_.engine = &engine_;
    env_.auth = &auth_;
    env_.random = system_random();
  }

  std::vector<message> send(backend& b, std::string_view bytes) {
    b.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    std::string out;
    out.swap(b.output());
    return split_output(out);
  }

  // Runs the exchange with `password`; returns the messages after the client-final.
  std::vector<message> login(backend& b, std::string_view user, std::string_view password) {
    auto msgs = send(b, startup({{"user", std::string(user)}}));
    EXPECT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].body, be32(10) + cstr("SCRAM-SHA-256") + std::string(1, '\0'));
    const std::string client_first_bare = "n=,r=clientnonce123";
    msgs = send(b, sasl_initial("SCRAM-SHA-256", "n,," + client_first_bare));
    EXPECT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].body.substr(0, 4), be32(11));
    const std::string server_first = msgs[0].body.substr(4);
    // r=NONCE,s=SALT,i=ITER
    const size_t s_at = server_first.find(",s=");
    const size_t i_at = server_first.find(",i=");
    const std::string nonce = server_first.substr(2, s_at - 2);
    auto salt = base64_decode(server_first.substr(s_at + 3, i_at - s_at - 3));
    EXPECT_TRUE(salt.has_value());
    const uint32_t iterations = uint32_t(std::stoul(server_first.substr(i_at + 3)));
    const scram_secret mine = make_scram_secret(password, *salt, iterations);
    const std::string without_proof = "c=biws,r=" + nonce;
    const std::string auth_message = client_first_bare + "," + server_first + "," + without_proof;
    // ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage); recompute ClientKey from the password.
    std::vector<uint8_t> proof = client_proof(password, *salt, iterations, auth_message);
    (void)mine;
    return send(b, sasl_response(without_proof + ",p=" + base64_encode(proof)));
  }

  static std::vector<uint8_t> client_proof(std::string_view password, const std::vector<uint8_t>& salt, uint32_t iterations,
                                           const std::string& auth_message);

  fake_engine engine_;
  auth_settings auth_;
  backend_env env_;
};

}  // namespace
}  // namespace strata::pgwire

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace strata::pgwire {
namespace {

std::vector<uint8_t> ScramBackendTest::client_proof(std::string_view password, const std::vector<uint8_t>& salt,
                                                    uint32_t iterations, const std::string& auth_message) {
  uint8_t salted[32];
  PKCS5_PBKDF2_HMAC(password.data(), int(password.size()), salt.data(), int(salt.size()), int(iterations), EVP_sha256(), 32,
                    salted);
  uint8_t client_key[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), salted, 32, reinterpret_cast<const uint8_t*>("Client Key"), 10, client_key, &len);
  uint8_t stored[32];
  EVP_Digest(client_key, 32, stored, &len, EVP_sha256(), nullptr);
  uint8_t signature[32];
  HMAC(EVP_sha256(), stored, 32, reinterpret_cast<const uint8_t*>(auth_message.data()), auth_message.size(), signature, &len);
  std::vector<uint8_t> proof(32);
  for (int i = 0; i < 32; ++i) proof[i] = client_key[i] ^ signature[i];
  return proof;
}

TEST_F(ScramBackendTest, RightPasswordAuthenticates) {
  backend b(env_, false, backend_key{1, 2});
  auto msgs = login(b, "alice", "pencil");
  ASSERT_GE(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].type, 'R');
  EXPECT_EQ(msgs[0].body.substr(0, 6), be32(12) + "v=");
  EXPECT_EQ(msgs[1].body, be32(0));
  EXPECT_EQ(msgs.back().type, 'Z');
  EXPECT_EQ(b.current_phase(), backend::phase::serving);
}

TEST_F(ScramBackendTest, WrongPasswordGets28P01) {
  backend b(env_, false, backend_key{1, 2});
  auto msgs = login(b, "alice", "pen");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "28P01");
  EXPECT_EQ(error_field(msgs[0], 'M'), "password authentication failed for user \"alice\"");
  EXPECT_TRUE(b.closing());
}

TEST_F(ScramBackendTest, UnknownUserGets28P01) {
  backend b(env_, false, backend_key{1, 2});
  auto msgs = login(b, "mallory", "pencil");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "28P01");
}

TEST_F(ScramBackendTest, TrustMethodStillAsksRemoteClientsForPasswordsWhenUsersExist) {
  auth_.method = auth_method::trust;
  backend remote(env_, false, backend_key{1, 2});
  auto msgs = login(remote, "alice", "pencil");
  EXPECT_EQ(remote.current_phase(), backend::phase::serving);
  backend local(env_, true, backend_key{1, 2});
  msgs = send(local, startup({{"user", "alice"}}));
  EXPECT_EQ(local.current_phase(), backend::phase::serving);
}

}  // namespace
}  // namespace strata::pgwire
