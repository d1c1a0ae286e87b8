// SCRAM against RFC 7677's test vector, SHA-512 against a client written here
// with OpenSSL, unknown users, malformed messages, name escapes, base64.
#include "auth/scram.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>

namespace strata::auth {
namespace {

using outcome = scram_server::outcome;

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

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

scram_secret rfc_secret() {
  auto salt = base64_decode(rfc_salt);
  EXPECT_TRUE(salt.has_value());
  return make_scram_secret(scram_hash::sha256, "pencil", *salt, 4096);
}

// A lookup over a map that records the names it was asked for.
struct directory {
  std::map<std::string, scram_secret, std::less<>> users;
  std::vector<std::string> asked;
  secret_lookup lookup() {
    return [this](std::string_view user) -> std::optional<scram_secret> {
      asked.emplace_back(user);
      auto it = users.find(user);
      if (it == users.end()) return std::nullopt;
      return it->second;
    };
  }
};

// The client side of RFC 5802, computed independently of the server code.
struct client {
  scram_hash hash;
  std::string password;
  std::string client_first_bare;
  std::string server_first;
  std::string auth_message;
  std::vector<uint8_t> salted;

  const EVP_MD* md() const { return hash == scram_hash::sha256 ? EVP_sha256() : EVP_sha512(); }
  size_t n() const { return size_t(EVP_MD_size(md())); }

  std::vector<uint8_t> hmac(std::span<const uint8_t> key, std::string_view data) const {
    std::vector<uint8_t> out(n());
    unsigned len = 0;
    HMAC(md(), key.data(), int(key.size()), reinterpret_cast<const uint8_t*>(data.data()), data.size(), out.data(), &len);
    return out;
  }

  // The client-final-message for the server-first-message `sf`.
  std::string final_message(const std::string& sf, std::string_view gs2 = "n,,") {
    server_first = sf;
    const size_t s_at = sf.find(",s=");
    const size_t i_at = sf.find(",i=");
    const std::string nonce = sf.substr(2, s_at - 2);
    const auto salt = base64_decode(sf.substr(s_at + 3, i_at - s_at - 3));
    EXPECT_TRUE(salt.has_value());
    const int iterations = std::stoi(sf.substr(i_at + 3));
    salted.resize(n());
    PKCS5_PBKDF2_HMAC(password.data(), int(password.size()), salt->data(), int(salt->size()), iterations, md(),
                      int(n()), salted.data());
    const std::string without_proof = "c=" + base64_encode(bytes_of(gs2)) + ",r=" + nonce;
    auth_message = client_first_bare + "," + sf + "," + without_proof;
    const auto client_key = hmac(salted, "Client Key");
    std::vector<uint8_t> stored(n());
    unsigned len = 0;
    EVP_Digest(client_key.data(), client_key.size(), stored.data(), &len, md(), nullptr);
    const auto signature = hmac(stored, auth_message);
    std::vector<uint8_t> proof(n());
    for (size_t i = 0; i < n(); ++i) proof[i] = client_key[i] ^ signature[i];
    return without_proof + ",p=" + base64_encode(proof);
  }

  std::string expected_server_final() const { return "v=" + base64_encode(hmac(hmac(salted, "Server Key"), auth_message)); }
};

TEST(Scram, MechanismNames) {
  EXPECT_STREQ(mechanism_name(scram_hash::sha256), "SCRAM-SHA-256");
  EXPECT_STREQ(mechanism_name(scram_hash::sha512), "SCRAM-SHA-512");
  EXPECT_EQ(parse_mechanism("SCRAM-SHA-256"), scram_hash::sha256);
  EXPECT_EQ(parse_mechanism("SCRAM-SHA-512"), scram_hash::sha512);
  EXPECT_EQ(parse_mechanism("SCRAM-SHA-1"), std::nullopt);
  EXPECT_EQ(parse_mechanism("scram-sha-256"), std::nullopt);
  EXPECT_EQ(digest_bytes(scram_hash::sha256), 32u);
  EXPECT_EQ(digest_bytes(scram_hash::sha512), 64u);
  EXPECT_EQ(int(scram_hash::sha256), 1);  // Kafka's ScramMechanism codes
  EXPECT_EQ(int(scram_hash::sha512), 2);
}

TEST(Scram, Rfc7677TestVector) {
  directory d;
  d.users["user"] = rfc_secret();
  scram_server server(scram_hash::sha256, d.lookup(), zeros());
  server.set_server_nonce_for_testing(std::string(rfc_server_nonce));
  std::string reply;
  ASSERT_EQ(server.on_client_first(rfc_client_first, reply), outcome::next) << server.problem();
  EXPECT_EQ(reply, rfc_server_first);
  EXPECT_EQ(d.asked, std::vector<std::string>{"user"});
  EXPECT_EQ(server.client_user(), "user");
  ASSERT_EQ(server.on_client_final(rfc_client_final, reply), outcome::authenticated) << server.problem();
  EXPECT_EQ(reply, rfc_server_final);
}

TEST(Scram, Sha512ExchangeWithAnOpenSslClient) {
  directory d;
  const std::vector<uint8_t> salt = bytes_of("0123456789abcdef");
  d.users["alice"] = make_scram_secret(scram_hash::sha512, "hunter2", salt, 8192);
  for (std::string_view gs2 : {"n,,", "y,,"}) {
    scram_server server(scram_hash::sha512, d.lookup(), system_random());
    client c{scram_hash::sha512, "hunter2", "n=alice,r=kafkaclientnonce", {}, {}, {}};
    std::string reply;
    ASSERT_EQ(server.on_client_first(std::string(gs2) + c.client_first_bare, reply), outcome::next) << server.problem();
    EXPECT_TRUE(reply.starts_with("r=kafkaclientnonce")) << reply;
    EXPECT_TRUE(reply.ends_with(",s=" + base64_encode(salt) + ",i=8192")) << reply;
    const std::string final = c.final_message(reply, gs2);
    ASSERT_EQ(server.on_client_final(final, reply), outcome::authenticated) << server.problem();
    EXPECT_EQ(reply, c.expected_server_final());
    EXPECT_EQ(reply.size(), 2 + base64_encode(std::vector<uint8_t>(64)).size());
  }
}

TEST(Scram, WrongPasswordIsBadPassword) {
  for (scram_hash h : {scram_hash::sha256, scram_hash::sha512}) {
    directory d;
    d.users["alice"] = make_scram_secret(h, "right", bytes_of("saltsaltsaltsalt"), 4096);
    scram_server server(h, d.lookup(), system_random());
    client c{h, "wrong", "n=alice,r=abc", {}, {}, {}};
    std::string reply;
    ASSERT_EQ(server.on_client_first("n,," + c.client_first_bare, reply), outcome::next);
    std::string final_reply = "untouched";
    EXPECT_EQ(server.on_client_final(c.final_message(reply), final_reply), outcome::bad_password);
    EXPECT_EQ(final_reply, "untouched");
  }
}

TEST(Scram, RfcProofWithOneBitChangedIsBadPassword) {
  directory d;
  d.users["user"] = rfc_secret();
  scram_server server(scram_hash::sha256, d.lookup(), zeros());
  server.set_server_nonce_for_testing(std::string(rfc_server_nonce));
  std::string reply;
  ASSERT_EQ(server.on_client_first(rfc_client_first, reply), outcome::next);
  std::string final(rfc_client_final);
  final[final.size() - 5] = final[final.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(server.on_client_final(final, reply), outcome::bad_password);
}

TEST(Scram, UnknownUserFailsOnlyAfterANormalLookingExchange) {
  directory d;
  d.users["alice"] = make_scram_secret(scram_hash::sha256, "pw", bytes_of("saltsaltsaltsalt"), 4096);
  scram_server server(scram_hash::sha256, d.lookup(), system_random());
  client c{scram_hash::sha256, "pw", "n=mallory,r=abc", {}, {}, {}};
  std::string reply;
  ASSERT_EQ(server.on_client_first("n,," + c.client_first_bare, reply), outcome::next);
  EXPECT_EQ(d.asked.back(), "mallory");
  // r=NONCE,s=<16 bytes>,i=4096: the shape a real user's would have.
  const size_t s_at = reply.find(",s=");
  const size_t i_at = reply.find(",i=");
  ASSERT_NE(s_at, std::string::npos);
  ASSERT_NE(i_at, std::string::npos);
  auto salt = base64_decode(reply.substr(s_at + 3, i_at - s_at - 3));
  ASSERT_TRUE(salt.has_value());
  EXPECT_EQ(salt->size(), scram_salt_bytes);
  EXPECT_EQ(reply.substr(i_at), ",i=4096");
  EXPECT_EQ(server.on_client_final(c.final_message(reply), reply), outcome::bad_password);

  // The made-up salt is stable per name, and differs between names.
  auto salt_of = [&](std::string_view user) {
    scram_server s(scram_hash::sha256, d.lookup(), system_random());
    std::string r;
    EXPECT_EQ(s.on_client_first("n,,n=" + std::string(user) + ",r=xyz", r), outcome::next);
    return r.substr(r.find(",s="));
  };
  EXPECT_EQ(salt_of("mallory"), salt_of("mallory"));
  EXPECT_NE(salt_of("mallory"), salt_of("trudy"));
}

TEST(Scram, MockSaltNameStandsInForAnEmptyUser) {
  auto salt_of = [](std::string_view name) {
    scram_server s(scram_hash::sha256, [](std::string_view) { return std::nullopt; }, zeros());
    s.set_mock_salt_name(std::string(name));
    std::string r;
    EXPECT_EQ(s.on_client_first("n,,n=,r=xyz", r), outcome::next);
    return r.substr(r.find(",s="));
  };
  EXPECT_EQ(salt_of("bob"), salt_of("bob"));
  EXPECT_NE(salt_of("bob"), salt_of("carol"));
}

TEST(Scram, SecretOfTheOtherHashCountsAsUnknown) {
  directory d;
  d.users["alice"] = make_scram_secret(scram_hash::sha256, "pw", bytes_of("saltsaltsaltsalt"), 4096);
  scram_server server(scram_hash::sha512, d.lookup(), system_random());
  client c{scram_hash::sha512, "pw", "n=alice,r=abc", {}, {}, {}};
  std::string reply;
  ASSERT_EQ(server.on_client_first("n,," + c.client_first_bare, reply), outcome::next);
  EXPECT_EQ(server.on_client_final(c.final_message(reply), reply), outcome::bad_password);
}

TEST(Scram, UserNameEscapes) {
  directory d;
  d.users["a,b=c"] = make_scram_secret(scram_hash::sha256, "pw", bytes_of("saltsaltsaltsalt"), 4096);
  scram_server server(scram_hash::sha256, d.lookup(), system_random());
  client c{scram_hash::sha256, "pw", "n=a=2Cb=3Dc,r=abc", {}, {}, {}};
  std::string reply;
  ASSERT_EQ(server.on_client_first("n,," + c.client_first_bare, reply), outcome::next) << server.problem();
  EXPECT_EQ(server.client_user(), "a,b=c");
  EXPECT_EQ(d.asked, std::vector<std::string>{"a,b=c"});
  EXPECT_EQ(server.on_client_final(c.final_message(reply), reply), outcome::authenticated) << server.problem();

  for (std::string_view bad : {"n,,n=a=2c,r=abc", "n,,n=a=,r=abc", "n,,n=a=3,r=abc", "n,,n==41,r=abc"}) {
    scram_server s(scram_hash::sha256, d.lookup(), zeros());
    EXPECT_EQ(s.on_client_first(bad, reply), outcome::malformed) << bad;
  }
}

TEST(Scram, KafkaExtensionsAreIgnoredButTokenAuthIsRefused) {
  directory d;
  d.users["alice"] = make_scram_secret(scram_hash::sha256, "pw", bytes_of("saltsaltsaltsalt"), 4096);
  {
    scram_server s(scram_hash::sha256, d.lookup(), system_random());
    client c{scram_hash::sha256, "pw", "n=alice,r=abc,tokenauth=false,traceid=7", {}, {}, {}};
    std::string reply;
    ASSERT_EQ(s.on_client_first("n,," + c.client_first_bare, reply), outcome::next) << s.problem();
    EXPECT_EQ(s.on_client_final(c.final_message(reply), reply), outcome::authenticated) << s.problem();
  }
  scram_server s(scram_hash::sha256, d.lookup(), zeros());
  std::string reply;
  EXPECT_EQ(s.on_client_first("n,,n=alice,r=abc,tokenauth=true", reply), outcome::malformed);
  EXPECT_NE(s.problem().find("delegation tokens"), std::string::npos) << s.problem();
}

TEST(Scram, AuthorizationIdentityMustBeTheUser) {
  directory d;
  std::string reply;
  scram_server same(scram_hash::sha256, d.lookup(), zeros());
  EXPECT_EQ(same.on_client_first("n,a=alice,n=alice,r=abc", reply), outcome::next) << same.problem();
  scram_server other(scram_hash::sha256, d.lookup(), zeros());
  EXPECT_EQ(other.on_client_first("n,a=admin,n=alice,r=abc", reply), outcome::malformed);
  scram_server pg(scram_hash::sha256, d.lookup(), zeros());
  EXPECT_EQ(pg.on_client_first("n,a=admin,n=,r=abc", reply), outcome::malformed);
}

TEST(Scram, MalformedClientFirst) {
  directory d;
  d.users["user"] = rfc_secret();
  auto first = [&](std::string_view msg) {
    scram_server s(scram_hash::sha256, d.lookup(), zeros());
    std::string reply;
    const outcome o = s.on_client_first(msg, reply);
    if (o == outcome::malformed) {
      EXPECT_FALSE(s.problem().empty()) << msg;
    }
    return o;
  };
  EXPECT_EQ(first("p=tls-server-end-point,,n=,r=abc"), outcome::malformed);
  EXPECT_EQ(first("x,,n=,r=abc"), outcome::malformed);
  EXPECT_EQ(first("n,,r=abc"), outcome::malformed);
  EXPECT_EQ(first("n,,n=user"), outcome::malformed);
  EXPECT_EQ(first("n,,r=abc,n=user"), outcome::malformed);
  EXPECT_EQ(first("n,,m=ext,n=user,r=abc"), outcome::malformed);
  EXPECT_EQ(first("n,,n=user,r="), outcome::malformed);
  EXPECT_EQ(first("n,,n=user,r=ab\x01"), outcome::malformed);
  EXPECT_EQ(first("n,,n=user,r=abc,"), outcome::malformed);
  EXPECT_EQ(first("n,,n=user,r=abc,=x"), outcome::malformed);
  EXPECT_EQ(first("n,,n=user,r=abc,novalue"), outcome::malformed);
  EXPECT_EQ(first("garbage"), outcome::malformed);
  EXPECT_EQ(first("n,"), outcome::malformed);
  EXPECT_EQ(first(""), outcome::malformed);
  EXPECT_EQ(first("n,,n=user,r=" + std::string(2048, 'a')), outcome::malformed);
  EXPECT_EQ(first("n,,n=user,r=" + std::string(2000, 'a')), outcome::next);
  EXPECT_EQ(first("y,,n=,r=abc"), outcome::next);
  EXPECT_EQ(first("n,,n=user,r=abc,x=1"), outcome::next);

  scram_server twice(scram_hash::sha256, d.lookup(), zeros());
  std::string reply;
  ASSERT_EQ(twice.on_client_first(rfc_client_first, reply), outcome::next);
  EXPECT_EQ(twice.on_client_first(rfc_client_first, reply), outcome::malformed);
}

TEST(Scram, MalformedClientFinal) {
  directory d;
  d.users["user"] = rfc_secret();
  const std::string zero_proof = base64_encode(std::vector<uint8_t>(32));
  auto final = [&](const std::function<std::string(const std::string& nonce)>& make) {
    scram_server s(scram_hash::sha256, d.lookup(), zeros());
    std::string reply;
    EXPECT_EQ(s.on_client_first("n,,n=user,r=abc", reply), outcome::next);
    const std::string nonce = reply.substr(2, reply.find(',') - 2);
    const outcome o = s.on_client_final(make(nonce), reply);
    if (o == outcome::malformed) {
      EXPECT_FALSE(s.problem().empty());
    }
    return o;
  };
  EXPECT_EQ(final([&](auto&) { return "c=biws,r=abcX,p=" + zero_proof; }), outcome::malformed);        // nonce
  EXPECT_EQ(final([&](auto& n) { return "c=eSws,r=" + n + ",p=" + zero_proof; }), outcome::malformed);  // binding
  EXPECT_EQ(final([&](auto& n) { return "c=biws,r=" + n; }), outcome::malformed);                      // no proof
  EXPECT_EQ(final([&](auto& n) { return "c=biws,r=" + n + ",p=AAAA"; }), outcome::malformed);          // short proof
  EXPECT_EQ(final([&](auto& n) { return "c=biws,r=" + n + ",p=!!!!"; }), outcome::malformed);          // not base64
  EXPECT_EQ(final([&](auto& n) { return "r=" + n + ",c=biws,p=" + zero_proof; }), outcome::malformed);  // order
  EXPECT_EQ(final([&](auto& n) { return "c=biws,r=" + n + ",p=" + std::string(2100, 'A'); }), outcome::malformed);
  // A well-formed final with a wrong proof is a bad password, not malformed; extensions are allowed.
  EXPECT_EQ(final([&](auto& n) { return "c=biws,r=" + n + ",p=" + zero_proof; }), outcome::bad_password);
  EXPECT_EQ(final([&](auto& n) { return "c=biws,r=" + n + ",x=1,p=" + zero_proof; }), outcome::bad_password);

  scram_server early(scram_hash::sha256, d.lookup(), zeros());
  std::string reply;
  EXPECT_EQ(early.on_client_final("c=biws,r=abc,p=" + zero_proof, reply), outcome::malformed);

  scram_server again(scram_hash::sha256, d.lookup(), zeros());
  again.set_server_nonce_for_testing(std::string(rfc_server_nonce));
  ASSERT_EQ(again.on_client_first(rfc_client_first, reply), outcome::next);
  ASSERT_EQ(again.on_client_final(rfc_client_final, reply), outcome::authenticated);
  EXPECT_EQ(again.on_client_final(rfc_client_final, reply), outcome::malformed);
}

TEST(Scram, PasswordMatches) {
  for (scram_hash h : {scram_hash::sha256, scram_hash::sha512}) {
    const scram_secret s = make_scram_secret(h, "correct horse", bytes_of("saltsaltsaltsalt"), 4096);
    EXPECT_EQ(s.hash, h);
    EXPECT_EQ(s.stored_key.size(), digest_bytes(h));
    EXPECT_EQ(s.server_key.size(), digest_bytes(h));
    EXPECT_TRUE(password_matches(s, "correct horse"));
    EXPECT_FALSE(password_matches(s, "correct horsf"));
    EXPECT_FALSE(password_matches(s, ""));
    scram_secret broken = s;
    broken.stored_key.pop_back();
    EXPECT_FALSE(password_matches(broken, "correct horse"));
  }
}

TEST(Scram, SecretFromSaltedPasswordMatchesSecretFromPassword) {
  const std::vector<uint8_t> salt = bytes_of("saltsaltsaltsalt");
  std::vector<uint8_t> salted(64);
  PKCS5_PBKDF2_HMAC("pw", 2, salt.data(), int(salt.size()), 4096, EVP_sha512(), 64, salted.data());
  const scram_secret a = scram_secret_from_salted(scram_hash::sha512, salted, salt, 4096);
  const scram_secret b = make_scram_secret(scram_hash::sha512, "pw", salt, 4096);
  EXPECT_EQ(a.stored_key, b.stored_key);
  EXPECT_EQ(a.server_key, b.server_key);
  EXPECT_EQ(a.salt, salt);
  EXPECT_EQ(a.iterations, 4096u);
}

TEST(Scram, EqualConstantTime) {
  EXPECT_TRUE(equal_constant_time(bytes_of("abc"), bytes_of("abc")));
  EXPECT_FALSE(equal_constant_time(bytes_of("abc"), bytes_of("abd")));
  EXPECT_FALSE(equal_constant_time(bytes_of("abc"), bytes_of("ab")));
  EXPECT_TRUE(equal_constant_time({}, {}));
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    std::vector<uint8_t> b(s.begin(), s.end());
    auto dec = base64_decode(base64_encode(b));
    ASSERT_TRUE(dec.has_value()) << s;
    EXPECT_EQ(*dec, b);
  }
  EXPECT_EQ(base64_encode(bytes_of("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(bytes_of("foobar")), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("Zm9").has_value());
  EXPECT_FALSE(base64_decode("Zm=v").has_value());
  EXPECT_FALSE(base64_decode("Zm9v!A==").has_value());
  EXPECT_FALSE(base64_decode("=AAA").has_value());
  EXPECT_FALSE(base64_decode("Zg==Zg==").has_value());
}

}  // namespace
}  // namespace strata::auth
