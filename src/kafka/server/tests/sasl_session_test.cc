#include "kafka/server/sasl_session.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/user_store.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

class SaslSession : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = auth::user_store::open(*kv_);
    ASSERT_TRUE(store.ok());
    users_ = std::move(*store);
    ASSERT_TRUE(users_->create_user("alice", "wonderland", auth::system_random()).ok());
  }
  sasl_session session() { return sasl_session(users_.get(), auth::system_random()); }

  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  std::unique_ptr<auth::user_store> users_;
};

TEST_F(SaslSession, PlainLogsInWithTheRightPassword) {
  auto s = session();
  ASSERT_EQ(s.on_handshake("PLAIN", 1), error_code::none);
  EXPECT_FALSE(s.expects_bare_token());
  auto step = s.on_token(bytes(std::string("\0alice\0wonderland", 17)));
  EXPECT_EQ(step.error, error_code::none) << step.message;
  EXPECT_TRUE(s.authenticated());
  EXPECT_EQ(s.principal(), "User:alice");
  EXPECT_TRUE(step.reply.empty());
}

TEST_F(SaslSession, PlainRefusesAWrongPasswordAndAnUnknownUser) {
  for (std::string token : {std::string("\0alice\0looking-glass", 20), std::string("\0carol\0wonderland", 17)}) {
    auto s = session();
    ASSERT_EQ(s.on_handshake("PLAIN", 1), error_code::none);
    auto step = s.on_token(bytes(token));
    EXPECT_EQ(step.error, error_code::sasl_authentication_failed);
    EXPECT_EQ(step.message, "Authentication failed: Invalid username or password");
    EXPECT_TRUE(s.failed());
    EXPECT_FALSE(s.authenticated());
  }
}

TEST_F(SaslSession, AMalformedPlainMessageFails) {
  auto s = session();
  ASSERT_EQ(s.on_handshake("PLAIN", 1), error_code::none);
  auto step = s.on_token(bytes("no separators"));
  EXPECT_EQ(step.error, error_code::sasl_authentication_failed);
  EXPECT_NE(step.message.find("Authentication failed: "), std::string::npos);
}

TEST_F(SaslSession, UnknownMechanismsAreRefusedAndTheSessionMayRetry) {
  auto s = session();
  EXPECT_EQ(s.on_handshake("GSSAPI", 1), error_code::unsupported_sasl_mechanism);
  EXPECT_EQ(s.on_handshake("SCRAM-SHA-512", 1), error_code::none);
  EXPECT_EQ(s.on_handshake("PLAIN", 1), error_code::illegal_sasl_state);
}

TEST_F(SaslSession, ATokenBeforeTheHandshakeIsAnIllegalState) {
  auto s = session();
  EXPECT_EQ(s.on_token(bytes("x")).error, error_code::illegal_sasl_state);
}

TEST_F(SaslSession, AVersionZeroHandshakeExpectsBareTokensUntilDone) {
  auto s = session();
  ASSERT_EQ(s.on_handshake("PLAIN", 0), error_code::none);
  EXPECT_TRUE(s.expects_bare_token());
  ASSERT_EQ(s.on_token(bytes(std::string("\0alice\0wonderland", 17))).error, error_code::none);
  EXPECT_FALSE(s.expects_bare_token());
  EXPECT_EQ(s.on_token(bytes("again")).error, error_code::illegal_sasl_state);
}

TEST_F(SaslSession, ScramAnswersTheFirstMessageAndRefusesABadProof) {
  for (const char* mechanism : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    auto s = session();
    ASSERT_EQ(s.on_handshake(mechanism, 1), error_code::none);
    auto first = s.on_token(bytes("n,,n=alice,r=clientnonce"));
    ASSERT_EQ(first.error, error_code::none) << first.message;
    const std::string server_first = text(first.reply);
    ASSERT_EQ(server_first.rfind("r=clientnonce", 0), 0u) << server_first;
    EXPECT_NE(server_first.find(",i=4096"), std::string::npos) << server_first;
    const std::string nonce = server_first.substr(2, server_first.find(',') - 2);
    const std::string zero_proof = auth::base64_encode(std::vector<uint8_t>(std::string_view(mechanism) == "SCRAM-SHA-256" ? 32 : 64));
    auto final = s.on_token(bytes("c=biws,r=" + nonce + ",p=" + zero_proof));
    EXPECT_EQ(final.error, error_code::sasl_authentication_failed);
    EXPECT_NE(final.message.find("invalid credentials"), std::string::npos) << final.message;
    EXPECT_FALSE(s.authenticated());
  }
}

TEST_F(SaslSession, OversizedTokensFail) {
  auto s = session();
  ASSERT_EQ(s.on_handshake("SCRAM-SHA-256", 1), error_code::none);
  auto step = s.on_token(std::vector<uint8_t>(5000, 'x'));
  EXPECT_EQ(step.error, error_code::sasl_authentication_failed);
  EXPECT_NE(step.message.find("limit"), std::string::npos);
}

TEST_F(SaslSession, WithoutAUserStoreEveryLoginFails) {
  sasl_session s(nullptr, auth::system_random());
  ASSERT_EQ(s.on_handshake("PLAIN", 1), error_code::none);
  EXPECT_EQ(s.on_token(bytes(std::string("\0alice\0wonderland", 17))).error, error_code::sasl_authentication_failed);
}

}  // namespace
}  // namespace strata::kafka
