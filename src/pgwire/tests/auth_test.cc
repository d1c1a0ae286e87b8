// SCRAM-SHA-256 against RFC 7677's test vector through pgwire's credential,
// md5, and the SCRAM exchange through the backend.
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

auth::random_source zeros() {
  return [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), 0); };
}

credential rfc_user() {
  credential c = make_credential("user", "pencil", zeros());
  auto salt = auth::base64_decode(rfc_salt);
  EXPECT_TRUE(salt.has_value());
  c.scram = auth::make_scram_secret(auth::scram_hash::sha256, "pencil", *salt, 4096);
  return c;
}

using outcome = auth::scram_server::outcome;

// The SCRAM code is auth::scram_server's (src/auth/tests has its cases);
// these check pgwire's use of it.
TEST(Scram, Rfc7677TestVector) {
  const credential user = rfc_user();
  auto server = make_scram_server(&user, "user", zeros());
  server->set_server_nonce_for_testing(std::string(rfc_server_nonce));
  std::string reply;
  ASSERT_EQ(server->on_client_first(rfc_client_first, reply), outcome::next) << server->problem();
  EXPECT_EQ(reply, rfc_server_first);
  ASSERT_EQ(server->on_client_final(rfc_client_final, reply), outcome::authenticated) << server->problem();
  EXPECT_EQ(reply, rfc_server_final);
}

TEST(Scram, TheNameInTheScramMessageIsIgnored) {
  const credential user = rfc_user();
  for (std::string_view first : {"n,,n=,r=abc", "n,,n=someone-else,r=abc"}) {
    auto server = make_scram_server(&user, "user", zeros());
    std::string reply;
    ASSERT_EQ(server->on_client_first(first, reply), outcome::next) << server->problem();
    EXPECT_NE(reply.find(",s=" + std::string(rfc_salt) + ",i=4096"), std::string::npos) << reply;
  }
}

TEST(Scram, UnknownUserAlwaysFailsAfterAFullExchange) {
  auto server = make_scram_server(nullptr, "nobody", zeros());
  server->set_server_nonce_for_testing(std::string(rfc_server_nonce));
  std::string reply;
  ASSERT_EQ(server->on_client_first(rfc_client_first, reply), outcome::next);
  EXPECT_TRUE(reply.starts_with("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s="));
  EXPECT_EQ(server->on_client_final(rfc_client_final, reply), outcome::bad_password);
  // The made-up salt is stable per startup user (PostgreSQL clients send n=
  // empty), so probing twice does not reveal the user is missing.
  auto salt_of = [](std::string_view startup_user) {
    auto s = make_scram_server(nullptr, startup_user, zeros());
    std::string r;
    EXPECT_EQ(s->on_client_first("n,,n=,r=abc", r), outcome::next);
    return r.substr(r.find(",s="));
  };
  EXPECT_EQ(salt_of("nobody"), salt_of("nobody"));
  EXPECT_NE(salt_of("nobody"), salt_of("somebody"));
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
    auth_.users.push_back(make_credential("alice", "pencil", auth::system_random()));
    env_.engine = &engine_;
    env_.auth = &auth_;
    env_.random = auth::system_random();
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
    auto salt = auth::base64_decode(server_first.substr(s_at + 3, i_at - s_at - 3));
    EXPECT_TRUE(salt.has_value());
    const uint32_t iterations = uint32_t(std::stoul(server_first.substr(i_at + 3)));
    const std::string without_proof = "c=biws,r=" + nonce;
    const std::string auth_message = client_first_bare + "," + server_first + "," + without_proof;
    // ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage); recompute ClientKey from the password.
    std::vector<uint8_t> proof = client_proof(password, *salt, iterations, auth_message);
    return send(b, sasl_response(without_proof + ",p=" + auth::base64_encode(proof)));
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

TEST_F(ScramBackendTest, OtherMechanismsAndMalformedMessagesGet08P01) {
  for (auto [mechanism, first] : std::vector<std::pair<std::string, std::string>>{
           {"SCRAM-SHA-1", "n,,n=,r=abc"},
           {"SCRAM-SHA-512", "n,,n=,r=abc"},
           {"SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc"},
           {"SCRAM-SHA-256", "n,,r=abc"},
       }) {
    backend b(env_, false, backend_key{1, 2});
    send(b, startup({{"user", "alice"}}));
    auto msgs = send(b, sasl_initial(mechanism, first));
    ASSERT_EQ(msgs.size(), 1u) << mechanism << " " << first;
    EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
    EXPECT_TRUE(error_field(msgs[0], 'M').starts_with("invalid SCRAM exchange: ")) << error_field(msgs[0], 'M');
    EXPECT_TRUE(b.closing());
  }
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
