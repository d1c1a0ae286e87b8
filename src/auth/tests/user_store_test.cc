// The user store: validation, write-through to the kv, reopen, corrupt records.
#include "auth/user_store.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "meta/kv.h"

namespace strata::auth {
namespace {

random_source counting_random() {
  auto n = std::make_shared<uint8_t>(0);
  return [n](std::span<uint8_t> out) {
    for (auto& b : out) b = (*n)++;
  };
}

// A kv whose writes can be made to fail, to show a failed write leaves the cache alone.
class flaky_kv : public meta::kv {
 public:
  bool fail_writes = false;
  int writes = 0;
  status put(std::string_view key, std::string_view value) override {
    if (auto s = check(); !s.ok()) return s;
    return inner_->put(key, value);
  }
  status remove(std::string_view key) override {
    if (auto s = check(); !s.ok()) return s;
    return inner_->remove(key);
  }
  status write_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override {
    if (auto s = check(); !s.ok()) return s;
    return inner_->write_batch(ops);
  }
  result<std::optional<std::string>> get(std::string_view key) override { return inner_->get(key); }
  status scan_prefix(std::string_view prefix,
                     const std::function<void(std::string_view, std::string_view)>& fn) override {
    return inner_->scan_prefix(prefix, fn);
  }

 private:
  status check() {
    ++writes;
    if (fail_writes) return make_error(errc::io_error, "injected write failure");
    return {};
  }
  std::unique_ptr<meta::kv> inner_ = meta::make_memory_kv();
};

std::unique_ptr<user_store> open_store(meta::kv& kv) {
  auto s = user_store::open(kv);
  EXPECT_TRUE(s.ok()) << s.err().message;
  return std::move(s.value());
}

scram_secret secret_for(scram_hash h, std::string_view password, uint32_t iterations = 4096) {
  const std::vector<uint8_t> salt(16, 7);
  return make_scram_secret(h, password, salt, iterations);
}

std::vector<std::string> keys(meta::kv& kv) {
  std::vector<std::string> out;
  EXPECT_TRUE(kv.scan_prefix("auth/", [&](std::string_view k, std::string_view) { out.emplace_back(k); }).ok());
  return out;
}

TEST(UserStore, CreateListDescribeAndVerify) {
  flaky_kv kv;
  auto store = open_store(kv);
  ASSERT_TRUE(store->create_user("bob", "pw-b", counting_random()).ok());
  ASSERT_TRUE(store->create_user("alice", "pw-a", counting_random()).ok());
  const auto all = store->list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob");
  ASSERT_EQ(all[0].mechanisms.size(), 2u);
  EXPECT_EQ(all[0].mechanisms[0].hash, scram_hash::sha256);
  EXPECT_EQ(all[0].mechanisms[1].hash, scram_hash::sha512);
  EXPECT_EQ(all[0].mechanisms[0].iterations, scram_iterations_default);
  EXPECT_TRUE(store->describe("alice").has_value());
  EXPECT_FALSE(store->describe("carol").has_value());
  EXPECT_EQ(keys(kv), (std::vector<std::string>{"auth/user/alice", "auth/user/bob"}));

  EXPECT_TRUE(store->verify_password("alice", "pw-a"));
  EXPECT_FALSE(store->verify_password("alice", "pw-b"));
  EXPECT_FALSE(store->verify_password("carol", "pw-a"));
  for (scram_hash h : {scram_hash::sha256, scram_hash::sha512}) {
    auto s = store->secret("bob", h);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->hash, h);
    EXPECT_TRUE(password_matches(*s, "pw-b"));
  }
  EXPECT_FALSE(store->secret("carol", scram_hash::sha256).has_value());
}

TEST(UserStore, DuplicateAndInvalidNamesAndPasswords) {
  flaky_kv kv;
  auto store = open_store(kv);
  ASSERT_TRUE(store->create_user("alice", "pw", counting_random()).ok());
  EXPECT_EQ(store->create_user("alice", "other", counting_random()).code(), errc::already_exists);
  EXPECT_TRUE(store->verify_password("alice", "pw"));

  for (const std::string& name : {std::string(), std::string(user_name_bytes_max + 1, 'a'), std::string("a\nb"),
                                  std::string("a\x7f"), std::string("tab\there"), std::string("\xff\xfe"),
                                  std::string("a\0b", 3)}) {
    EXPECT_EQ(store->create_user(name, "pw", counting_random()).code(), errc::invalid_argument) << name;
  }
  EXPECT_TRUE(store->create_user(std::string(user_name_bytes_max, 'a'), "pw", counting_random()).ok());
  EXPECT_TRUE(store->create_user("User:x/y,z=w \xc3\xa9", "pw", counting_random()).ok());
  EXPECT_EQ(store->create_user("carol", "", counting_random()).code(), errc::invalid_argument);
  EXPECT_EQ(store->create_user("carol", std::string(password_bytes_max + 1, 'p'), counting_random()).code(),
            errc::invalid_argument);
  EXPECT_TRUE(store->create_user("carol", std::string(password_bytes_max, 'p'), counting_random()).ok());
}

TEST(UserStore, SetPassword) {
  flaky_kv kv;
  auto store = open_store(kv);
  ASSERT_TRUE(store->create_user("alice", "old", counting_random()).ok());
  ASSERT_TRUE(store->set_password("alice", "new", counting_random()).ok());
  EXPECT_FALSE(store->verify_password("alice", "old"));
  EXPECT_TRUE(store->verify_password("alice", "new"));
  EXPECT_TRUE(password_matches(*store->secret("alice", scram_hash::sha512), "new"));
  EXPECT_EQ(store->set_password("bob", "new", counting_random()).code(), errc::not_found);
  EXPECT_EQ(store->set_password("alice", "", counting_random()).code(), errc::invalid_argument);
}

TEST(UserStore, UpsertAndDeleteCredentials) {
  flaky_kv kv;
  auto store = open_store(kv);
  // Upsert creates the user with just that mechanism.
  ASSERT_TRUE(store->upsert_credential("alice", secret_for(scram_hash::sha512, "five-twelve", 8192)).ok());
  auto d = store->describe("alice");
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->mechanisms.size(), 1u);
  EXPECT_EQ(d->mechanisms[0].hash, scram_hash::sha512);
  EXPECT_EQ(d->mechanisms[0].iterations, 8192u);
  // PLAIN falls back to SHA-512 when it is the only verifier.
  EXPECT_TRUE(store->verify_password("alice", "five-twelve"));

  ASSERT_TRUE(store->upsert_credential("alice", secret_for(scram_hash::sha256, "two-five-six")).ok());
  d = store->describe("alice");
  ASSERT_EQ(d->mechanisms.size(), 2u);
  EXPECT_EQ(d->mechanisms[0].hash, scram_hash::sha256);
  EXPECT_TRUE(store->verify_password("alice", "two-five-six"));  // SHA-256 preferred
  EXPECT_FALSE(store->verify_password("alice", "five-twelve"));

  // Replacing keeps one verifier per mechanism.
  ASSERT_TRUE(store->upsert_credential("alice", secret_for(scram_hash::sha512, "again", 16384)).ok());
  d = store->describe("alice");
  ASSERT_EQ(d->mechanisms.size(), 2u);
  EXPECT_EQ(d->mechanisms[1].iterations, 16384u);
  EXPECT_TRUE(password_matches(*store->secret("alice", scram_hash::sha512), "again"));

  // Out-of-range iterations, wrong key sizes, an unknown mechanism, an empty salt.
  EXPECT_EQ(store->upsert_credential("alice", secret_for(scram_hash::sha256, "x", 4095)).code(), errc::invalid_argument);
  EXPECT_EQ(store->upsert_credential("alice", secret_for(scram_hash::sha256, "x", 16385)).code(), errc::invalid_argument);
  scram_secret wrong = secret_for(scram_hash::sha256, "x");
  wrong.hash = scram_hash::sha512;
  EXPECT_EQ(store->upsert_credential("alice", wrong).code(), errc::invalid_argument);
  wrong = secret_for(scram_hash::sha256, "x");
  wrong.hash = scram_hash(int8_t(9));
  EXPECT_EQ(store->upsert_credential("alice", wrong).code(), errc::invalid_argument);
  wrong = secret_for(scram_hash::sha256, "x");
  wrong.salt.clear();
  EXPECT_EQ(store->upsert_credential("alice", wrong).code(), errc::invalid_argument);
  EXPECT_EQ(store->upsert_credential("", secret_for(scram_hash::sha256, "x")).code(), errc::invalid_argument);
  EXPECT_TRUE(store->verify_password("alice", "two-five-six"));

  EXPECT_EQ(store->delete_credential("bob", scram_hash::sha256).code(), errc::not_found);
  ASSERT_TRUE(store->delete_credential("alice", scram_hash::sha256).ok());
  EXPECT_EQ(store->delete_credential("alice", scram_hash::sha256).code(), errc::not_found);
  EXPECT_FALSE(store->secret("alice", scram_hash::sha256).has_value());
  EXPECT_TRUE(store->describe("alice").has_value());
  // The last mechanism takes the user with it.
  ASSERT_TRUE(store->delete_credential("alice", scram_hash::sha512).ok());
  EXPECT_FALSE(store->describe("alice").has_value());
  EXPECT_TRUE(keys(kv).empty());
}

TEST(UserStore, DeleteUser) {
  flaky_kv kv;
  auto store = open_store(kv);
  ASSERT_TRUE(store->create_user("alice", "pw", counting_random()).ok());
  ASSERT_TRUE(store->create_user("bob", "pw", counting_random()).ok());
  ASSERT_TRUE(store->delete_user("alice").ok());
  EXPECT_EQ(store->delete_user("alice").code(), errc::not_found);
  EXPECT_FALSE(store->verify_password("alice", "pw"));
  EXPECT_EQ(keys(kv), std::vector<std::string>{"auth/user/bob"});
  ASSERT_TRUE(store->create_user("alice", "again", counting_random()).ok());
  EXPECT_TRUE(store->verify_password("alice", "again"));
}

TEST(UserStore, ReopenFromTheSameKv) {
  flaky_kv kv;
  {
    auto store = open_store(kv);
    ASSERT_TRUE(store->create_user("alice", "pw-a", counting_random()).ok());
    ASSERT_TRUE(store->upsert_credential("bob", secret_for(scram_hash::sha512, "pw-b", 10000)).ok());
    ASSERT_TRUE(store->create_user("carol", "pw-c", counting_random()).ok());
    ASSERT_TRUE(store->delete_user("carol").ok());
  }
  auto first = open_store(kv);
  auto again = open_store(kv);
  const auto all = again->list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob");
  ASSERT_EQ(all[1].mechanisms.size(), 1u);
  EXPECT_EQ(all[1].mechanisms[0].iterations, 10000u);
  EXPECT_TRUE(again->verify_password("alice", "pw-a"));
  EXPECT_TRUE(again->verify_password("bob", "pw-b"));
  const auto a = first->secret("alice", scram_hash::sha512);
  const auto b = again->secret("alice", scram_hash::sha512);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->salt, b->salt);
  EXPECT_EQ(a->stored_key, b->stored_key);
  EXPECT_EQ(a->server_key, b->server_key);
}

TEST(UserStore, FailedWriteLeavesTheCacheAlone) {
  flaky_kv kv;
  auto store = open_store(kv);
  ASSERT_TRUE(store->create_user("alice", "pw", counting_random()).ok());
  kv.fail_writes = true;
  EXPECT_EQ(store->create_user("bob", "pw", counting_random()).code(), errc::io_error);
  EXPECT_EQ(store->set_password("alice", "new", counting_random()).code(), errc::io_error);
  EXPECT_EQ(store->upsert_credential("carol", secret_for(scram_hash::sha256, "x")).code(), errc::io_error);
  EXPECT_EQ(store->delete_credential("alice", scram_hash::sha256).code(), errc::io_error);
  EXPECT_EQ(store->delete_user("alice").code(), errc::io_error);
  EXPECT_FALSE(store->describe("bob").has_value());
  EXPECT_FALSE(store->describe("carol").has_value());
  EXPECT_TRUE(store->verify_password("alice", "pw"));
  EXPECT_EQ(store->describe("alice")->mechanisms.size(), 2u);
}

TEST(UserStore, CorruptRecordNamesItsKey) {
  flaky_kv kv;
  {
    auto store = open_store(kv);
    ASSERT_TRUE(store->create_user("alice", "pw", counting_random()).ok());
  }
  const std::string good = *kv.get("auth/user/alice").value();
  auto expect_corrupt = [&](std::string_view key, const std::string& value, errc code = errc::corrupt) {
    flaky_kv other;
    ASSERT_TRUE(other.put(key, value).ok());
    auto s = user_store::open(other);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), code);
    EXPECT_NE(s.err().message.find(std::string(key)), std::string::npos) << s.err().message;
  };
  expect_corrupt("auth/user/alice", "");
  expect_corrupt("auth/user/alice", good.substr(0, good.size() - 1));
  expect_corrupt("auth/user/alice", good + "x");
  expect_corrupt("auth/user/alice", std::string(1, '\x01') + std::string(1, '\0'));  // no mechanism
  std::string bad_mech = good;
  bad_mech[2] = '\x07';
  expect_corrupt("auth/user/alice", bad_mech);
  std::string bad_iterations = good;
  bad_iterations[3] = bad_iterations[4] = bad_iterations[5] = bad_iterations[6] = '\0';
  expect_corrupt("auth/user/alice", bad_iterations);
  expect_corrupt("auth/user/", good);
  expect_corrupt("auth/user/a\nb", good);
  std::string newer = good;
  newer[0] = '\x02';
  expect_corrupt("auth/user/alice", newer, errc::unsupported);
}

TEST(UserStore, UsersMax) {
  flaky_kv kv;
  auto store = open_store(kv);
  const scram_secret s = secret_for(scram_hash::sha256, "pw");
  // Names in order, so each insert lands at the end.
  for (size_t i = 0; i < users_max; ++i) {
    ASSERT_TRUE(store->upsert_credential(fmt::format("u{:06}", i), s).ok()) << i;
  }
  EXPECT_EQ(store->upsert_credential("v", s).code(), errc::limit_exceeded);
  EXPECT_EQ(store->create_user("v", "pw", counting_random()).code(), errc::limit_exceeded);
  // Changing an existing user is still allowed at the limit.
  EXPECT_TRUE(store->upsert_credential("u000000", secret_for(scram_hash::sha512, "pw")).ok());
  EXPECT_EQ(store->list().size(), users_max);
}

TEST(UserStore, SecretsDriveAScramExchange) {
  flaky_kv kv;
  auto store = open_store(kv);
  ASSERT_TRUE(store->create_user("alice", "pw", system_random()).ok());
  scram_server server(
      scram_hash::sha512, [&](std::string_view user) { return store->secret(user, scram_hash::sha512); },
      system_random());
  std::string reply;
  ASSERT_EQ(server.on_client_first("n,,n=alice,r=abc", reply), scram_server::outcome::next);
  const auto stored = store->secret("alice", scram_hash::sha512);
  EXPECT_NE(reply.find(",s=" + base64_encode(stored->salt) + ",i=4096"), std::string::npos) << reply;
}

}  // namespace
}  // namespace strata::auth
