#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "auth/scram.h"
#include "auth/user_store.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

constexpr int16_t code(error_code e) { return static_cast<int16_t>(e); }
constexpr int8_t sha256 = 1;
constexpr int8_t sha512 = 2;

// What a Kafka client sends: Hi(password, salt, iterations), i.e. PBKDF2.
std::vector<uint8_t> salted(int8_t mechanism, const std::string& password, const std::vector<uint8_t>& salt,
                            int32_t iterations) {
  const EVP_MD* md = mechanism == sha512 ? EVP_sha512() : EVP_sha256();
  std::vector<uint8_t> out(static_cast<size_t>(EVP_MD_size(md)));
  EXPECT_EQ(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                              static_cast<int>(salt.size()), iterations, md, static_cast<int>(out.size()), out.data()),
            1);
  return out;
}

struct deletion_spec {
  std::string name;
  int8_t mechanism = sha256;
};

struct upsertion_spec {
  std::string name;
  int8_t mechanism = sha256;
  int32_t iterations = 4096;
  std::vector<uint8_t> salt = std::vector<uint8_t>(16, 7);
  std::vector<uint8_t> salted_password = std::vector<uint8_t>(32, 1);
};

upsertion_spec with_password(std::string name, int8_t mechanism, const std::string& password, int32_t iterations) {
  std::vector<uint8_t> salt{'s', 'a', 'l', 't', static_cast<uint8_t>(mechanism)};
  return {.name = std::move(name), .mechanism = mechanism, .iterations = iterations, .salt = salt,
          .salted_password = salted(mechanism, password, salt, iterations)};
}

std::vector<uint8_t> alter_request(const std::vector<deletion_spec>& deletions,
                                   const std::vector<upsertion_spec>& upsertions) {
  writer w;
  w.array_length(static_cast<int32_t>(deletions.size()), true);
  for (const auto& d : deletions) {
    w.string(d.name, true);
    w.i8(d.mechanism);
    w.empty_tagged_fields();
  }
  w.array_length(static_cast<int32_t>(upsertions.size()), true);
  for (const auto& u : upsertions) {
    w.string(u.name, true);
    w.i8(u.mechanism);
    w.i32(u.iterations);
    w.bytes(u.salt, true);
    w.bytes(u.salted_password, true);
    w.empty_tagged_fields();
  }
  w.empty_tagged_fields();
  return w.buffer();
}

struct alter_out {
  std::string user;
  int16_t error = 0;
  std::optional<std::string> message;
};

std::vector<alter_out> decode_alter(const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  std::vector<alter_out> out;
  int32_t n = r.array_length(true);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    alter_out a;
    a.user = r.string(true);
    a.error = r.i16();
    a.message = r.nullable_string(true);
    r.skip_tagged_fields();
    out.push_back(a);
  }
  r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

std::vector<uint8_t> describe_request(const std::optional<std::vector<std::string>>& users) {
  writer w;
  w.array_length(users ? static_cast<int32_t>(users->size()) : -1, true);
  if (users) {
    for (const auto& u : *users) {
      w.string(u, true);
      w.empty_tagged_fields();
    }
  }
  w.empty_tagged_fields();
  return w.buffer();
}

struct credential_out {
  int8_t mechanism = 0;
  int32_t iterations = 0;
};

struct user_out {
  std::string user;
  int16_t error = 0;
  std::optional<std::string> message;
  std::vector<credential_out> credentials;
};

struct describe_out {
  int16_t error = 0;
  std::optional<std::string> message;
  std::vector<user_out> users;
};

describe_out decode_describe(const std::vector<uint8_t>& body) {
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  describe_out out;
  out.error = r.i16();
  out.message = r.nullable_string(true);
  int32_t n = r.array_length(true);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    user_out u;
    u.user = r.string(true);
    u.error = r.i16();
    u.message = r.nullable_string(true);
    int32_t m = r.array_length(true);
    for (int32_t j = 0; j < m && r.ok(); ++j) {
      credential_out c;
      c.mechanism = r.i8();
      c.iterations = r.i32();
      r.skip_tagged_fields();
      u.credentials.push_back(c);
    }
    r.skip_tagged_fields();
    out.users.push_back(u);
  }
  r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class ScramCredentials : public ::testing::Test {
 protected:
  void SetUp() override {
    auto users_opened = auth::user_store::open(*kv);
    ASSERT_TRUE(users_opened.ok());
    users = std::move(*users_opened);
    auto acls_opened = auth::acl_store::open(*kv);
    ASSERT_TRUE(acls_opened.ok());
    acls = std::move(*acls_opened);
    h.svc().users = users.get();
    h.svc().acls = acls.get();
  }

  std::vector<alter_out> alter(const std::vector<deletion_spec>& deletions,
                               const std::vector<upsertion_spec>& upsertions) {
    return decode_alter(h.call(handlers::alter_user_scram_credentials, api_key::alter_user_scram_credentials, 0,
                               alter_request(deletions, upsertions)));
  }
  describe_out describe(const std::optional<std::vector<std::string>>& names) {
    return decode_describe(h.call(handlers::describe_user_scram_credentials,
                                  api_key::describe_user_scram_credentials, 0, describe_request(names)));
  }

  // Runs a handler as `principal` (the harness sends User:ANONYMOUS).
  std::vector<uint8_t> call_as(std::string_view principal, handler_fn fn, api_key key,
                               const std::vector<uint8_t>& body) {
    request req;
    req.header.api_key = static_cast<int16_t>(key);
    req.header.api_version = 0;
    req.header.flexible = true;
    req.body = body;
    req.principal = principal;
    req.client_ip = "127.0.0.1";
    int calls = 0;
    std::vector<uint8_t> out;
    status st = fn(h.svc(), req, [&](std::optional<std::vector<uint8_t>> r) {
      ++calls;
      out = r.value_or(std::vector<uint8_t>{});
    });
    EXPECT_TRUE(st.ok());
    EXPECT_EQ(calls, 1);
    return out;
  }

  std::unique_ptr<meta::kv> kv = meta::make_memory_kv();
  std::unique_ptr<auth::user_store> users;
  std::unique_ptr<auth::acl_store> acls;
  testing::handler_harness h;
};

TEST_F(ScramCredentials, UpsertedCredentialsLogInAndAreDescribed) {
  auto out = alter({}, {with_password("alice", sha256, "wonderland", 4096),
                        with_password("alice", sha512, "wonderland", 8192),
                        with_password("bob", sha512, "builder", 16384)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].user, "alice");
  EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
  EXPECT_EQ(out[0].message, std::nullopt);
  EXPECT_EQ(out[1].user, "bob");
  EXPECT_EQ(out[1].error, 0) << out[1].message.value_or("");

  EXPECT_TRUE(users->verify_password("alice", "wonderland"));
  EXPECT_FALSE(users->verify_password("alice", "looking-glass"));
  EXPECT_TRUE(users->verify_password("bob", "builder"));
  auto secret = users->secret("alice", auth::scram_hash::sha512);
  ASSERT_TRUE(secret.has_value());
  EXPECT_EQ(secret->iterations, 8192u);

  auto one = describe(std::vector<std::string>{"alice"});
  EXPECT_EQ(one.error, 0);
  ASSERT_EQ(one.users.size(), 1u);
  EXPECT_EQ(one.users[0].user, "alice");
  EXPECT_EQ(one.users[0].error, 0);
  ASSERT_EQ(one.users[0].credentials.size(), 2u);
  EXPECT_EQ(one.users[0].credentials[0].mechanism, sha256);
  EXPECT_EQ(one.users[0].credentials[0].iterations, 4096);
  EXPECT_EQ(one.users[0].credentials[1].mechanism, sha512);
  EXPECT_EQ(one.users[0].credentials[1].iterations, 8192);

  for (const auto& all : {describe(std::nullopt), describe(std::vector<std::string>{})}) {
    EXPECT_EQ(all.error, 0);
    ASSERT_EQ(all.users.size(), 2u);
    EXPECT_EQ(all.users[0].user, "alice");
    EXPECT_EQ(all.users[1].user, "bob");
    ASSERT_EQ(all.users[1].credentials.size(), 1u);
    EXPECT_EQ(all.users[1].credentials[0].iterations, 16384);
  }
}

TEST_F(ScramCredentials, DescribeReportsDuplicatesAndUnknownUsers) {
  ASSERT_EQ(alter({}, {with_password("alice", sha256, "pw", 4096)})[0].error, 0);
  auto out = describe(std::vector<std::string>{"alice", "nobody", "alice", ""});
  EXPECT_EQ(out.error, 0);
  ASSERT_EQ(out.users.size(), 3u);
  EXPECT_EQ(out.users[0].user, "alice");
  EXPECT_EQ(out.users[0].error, code(error_code::duplicate_resource));
  EXPECT_TRUE(out.users[0].credentials.empty());
  EXPECT_EQ(out.users[1].user, "nobody");
  EXPECT_EQ(out.users[1].error, code(error_code::resource_not_found));
  ASSERT_TRUE(out.users[1].message.has_value());
  EXPECT_NE(out.users[1].message->find("nobody"), std::string::npos);
  EXPECT_EQ(out.users[2].user, "");
  EXPECT_EQ(out.users[2].error, code(error_code::resource_not_found));
}

TEST_F(ScramCredentials, DeletionsRemoveMechanismsThenTheUser) {
  ASSERT_EQ(alter({}, {with_password("alice", sha256, "pw", 4096), with_password("alice", sha512, "pw", 4096)})[0].error,
            0);
  auto out = alter({{.name = "alice", .mechanism = sha256}}, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
  auto described = describe(std::vector<std::string>{"alice"});
  ASSERT_EQ(described.users.size(), 1u);
  ASSERT_EQ(described.users[0].credentials.size(), 1u);
  EXPECT_EQ(described.users[0].credentials[0].mechanism, sha512);

  out = alter({{.name = "alice", .mechanism = sha256}}, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, code(error_code::resource_not_found));
  ASSERT_TRUE(out[0].message.has_value());

  out = alter({{.name = "alice", .mechanism = sha512}}, {});
  EXPECT_EQ(out[0].error, 0);
  EXPECT_FALSE(users->describe("alice").has_value());
}

TEST_F(ScramCredentials, ReplacingTheOnlyMechanismInOneRequestKeepsTheUser) {
  ASSERT_EQ(alter({}, {with_password("carol", sha256, "old", 4096)})[0].error, 0);
  auto out = alter({{.name = "carol", .mechanism = sha256}}, {with_password("carol", sha512, "new", 4096)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
  EXPECT_FALSE(users->secret("carol", auth::scram_hash::sha256).has_value());
  EXPECT_TRUE(users->verify_password("carol", "new"));
}

TEST_F(ScramCredentials, BadChangesFailTheirUserOnly) {
  auto out = alter({{.name = "ghost", .mechanism = sha256}, {.name = "dave", .mechanism = sha512}},
                   {{.name = "erin", .mechanism = 3},
                    {.name = "frank", .iterations = 100},
                    {.name = "grace", .iterations = 20'000},
                    {.name = ""},
                    {.name = "heidi", .salted_password = std::vector<uint8_t>(5, 1)},
                    {.name = "ivan", .salt = {}},
                    {.name = "judy"},
                    {.name = "judy"},
                    {.name = "dave"},
                    {.name = "ok"}});
  ASSERT_EQ(out.size(), 10u);
  auto error_of = [&](const std::string& user) {
    for (const auto& r : out) {
      if (r.user == user) {
        EXPECT_TRUE(r.error == 0 || r.message.has_value()) << user;
        return r.error;
      }
    }
    ADD_FAILURE() << "no result for " << user;
    return int16_t{-2};
  };
  EXPECT_EQ(error_of("ghost"), code(error_code::resource_not_found));
  EXPECT_EQ(error_of("dave"), code(error_code::resource_not_found));  // its upsertion is not applied either
  EXPECT_EQ(error_of("erin"), code(error_code::unsupported_sasl_mechanism));
  EXPECT_EQ(error_of("frank"), code(error_code::unacceptable_credential));
  EXPECT_EQ(error_of("grace"), code(error_code::unacceptable_credential));
  EXPECT_EQ(error_of(""), code(error_code::unacceptable_credential));
  EXPECT_EQ(error_of("heidi"), code(error_code::unacceptable_credential));
  EXPECT_EQ(error_of("ivan"), code(error_code::unacceptable_credential));
  EXPECT_EQ(error_of("judy"), code(error_code::duplicate_resource));
  EXPECT_EQ(error_of("ok"), 0);
  auto listed = users->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "ok");
}

TEST_F(ScramCredentials, DeletionAndUpsertionOfOneMechanismIsADuplicate) {
  auto out = alter({{.name = "kim", .mechanism = sha256}}, {{.name = "kim", .mechanism = sha256}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, code(error_code::duplicate_resource));
  EXPECT_FALSE(users->describe("kim").has_value());
}

TEST_F(ScramCredentials, AuthorizationNeedsClusterDescribeOrAlter) {
  auth::authorizer authz(*acls, {"User:admin"});
  h.svc().authorizer = &authz;
  auto body = alter_request({{.name = "x", .mechanism = sha256}}, {{.name = "mallory"}, {.name = "trent"}});
  auto denied = decode_alter(call_as("User:mallory", handlers::alter_user_scram_credentials,
                                     api_key::alter_user_scram_credentials, body));
  ASSERT_EQ(denied.size(), 3u);
  for (const auto& r : denied) EXPECT_EQ(r.error, code(error_code::cluster_authorization_failed));
  EXPECT_TRUE(users->list().empty());

  auto describe_denied = decode_describe(call_as("User:mallory", handlers::describe_user_scram_credentials,
                                                 api_key::describe_user_scram_credentials, describe_request({})));
  EXPECT_EQ(describe_denied.error, code(error_code::cluster_authorization_failed));
  ASSERT_TRUE(describe_denied.message.has_value());
  EXPECT_NE(describe_denied.message->find("DESCRIBE"), std::string::npos);
  EXPECT_TRUE(describe_denied.users.empty());

  auto by_admin = decode_alter(call_as("User:admin", handlers::alter_user_scram_credentials,
                                       api_key::alter_user_scram_credentials,
                                       alter_request({}, {{.name = "trent"}})));
  ASSERT_EQ(by_admin.size(), 1u);
  EXPECT_EQ(by_admin[0].error, 0);

  ASSERT_TRUE(acls->add({.type = auth::resource_type::cluster, .name = "kafka-cluster",
                         .pattern = auth::pattern_type::literal, .principal = "User:mallory", .host = "*",
                         .op = auth::operation::describe, .perm = auth::permission::allow})
                  .ok());
  auto described = decode_describe(call_as("User:mallory", handlers::describe_user_scram_credentials,
                                           api_key::describe_user_scram_credentials, describe_request({})));
  EXPECT_EQ(described.error, 0);
  ASSERT_EQ(described.users.size(), 1u);
  EXPECT_EQ(described.users[0].user, "trent");
}

TEST_F(ScramCredentials, WithoutAUserStoreTheAnswerIsSecurityDisabled) {
  h.svc().users = nullptr;
  auto d = describe(std::nullopt);
  EXPECT_EQ(d.error, code(error_code::security_disabled));
  ASSERT_TRUE(d.message.has_value());
  EXPECT_NE(d.message->find("start strata"), std::string::npos);
  auto a = alter({}, {{.name = "u"}});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].error, code(error_code::security_disabled));
}

TEST_F(ScramCredentials, TruncatedBodiesAreErrors) {
  int responded = 0;
  auto alter_body = alter_request({}, {{.name = "u"}});
  alter_body.resize(alter_body.size() - 10);
  EXPECT_FALSE(h.call_raw(handlers::alter_user_scram_credentials, api_key::alter_user_scram_credentials, 0, alter_body,
                          responded)
                   .ok());
  auto describe_body = describe_request(std::vector<std::string>{"someone"});
  describe_body.resize(3);
  EXPECT_FALSE(h.call_raw(handlers::describe_user_scram_credentials, api_key::describe_user_scram_credentials, 0,
                          describe_body, responded)
                   .ok());
  EXPECT_EQ(responded, 0);
  EXPECT_TRUE(users->list().empty());
}

}  // namespace
}  // namespace strata::kafka
