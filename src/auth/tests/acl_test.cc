// ACL validation, the store's filters (Kafka's semantics), reopen, and the authorizer.
#include "auth/acl.h"

#include <gtest/gtest.h>

#include "meta/kv.h"

namespace strata::auth {
namespace {

acl_binding binding(resource_type t, std::string name, pattern_type p, std::string principal, operation op,
                    permission perm, std::string host = "*") {
  acl_binding b;
  b.type = t;
  b.name = std::move(name);
  b.pattern = p;
  b.principal = std::move(principal);
  b.host = std::move(host);
  b.op = op;
  b.perm = perm;
  return b;
}

acl_binding topic_allow(std::string name, std::string principal, operation op, pattern_type p = pattern_type::literal) {
  return binding(resource_type::topic, std::move(name), p, std::move(principal), op, permission::allow);
}

std::unique_ptr<acl_store> open_store(meta::kv& kv) {
  auto s = acl_store::open(kv);
  EXPECT_TRUE(s.ok()) << s.err().message;
  return std::move(s.value());
}

size_t kv_keys(meta::kv& kv) {
  size_t n = 0;
  EXPECT_TRUE(kv.scan_prefix("auth/acl/", [&](std::string_view, std::string_view) { ++n; }).ok());
  return n;
}

std::vector<std::string> names(const std::vector<acl_binding>& bs) {
  std::vector<std::string> out;
  for (const auto& b : bs) out.push_back(b.name);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Acl, Names) {
  EXPECT_STREQ(resource_type_name(resource_type::topic), "TOPIC");
  EXPECT_STREQ(resource_type_name(resource_type::transactional_id), "TRANSACTIONAL_ID");
  EXPECT_STREQ(operation_name(operation::remove), "DELETE");
  EXPECT_STREQ(operation_name(operation::idempotent_write), "IDEMPOTENT_WRITE");
}

TEST(Acl, ValidateBindings) {
  const acl_binding good = topic_allow("orders", "User:alice", operation::read);
  EXPECT_TRUE(validate(good).ok());

  auto bad = [&](auto change) {
    acl_binding b = good;
    change(b);
    const status s = validate(b);
    EXPECT_EQ(s.code(), errc::invalid_argument);
    return s.ok() ? std::string() : s.err().message;
  };
  bad([](acl_binding& b) { b.type = resource_type::any; });
  bad([](acl_binding& b) { b.type = resource_type::unknown; });
  bad([](acl_binding& b) { b.type = resource_type(int8_t(42)); });
  bad([](acl_binding& b) { b.pattern = pattern_type::match; });
  bad([](acl_binding& b) { b.pattern = pattern_type::any; });
  bad([](acl_binding& b) { b.op = operation::any; });
  bad([](acl_binding& b) { b.op = operation::unknown; });
  bad([](acl_binding& b) { b.perm = permission::any; });
  bad([](acl_binding& b) { b.perm = permission(int8_t(-3)); });
  bad([](acl_binding& b) { b.name.clear(); });
  bad([](acl_binding& b) { b.host.clear(); });
  bad([](acl_binding& b) { b.principal = "alice"; });
  bad([](acl_binding& b) { b.principal = ":alice"; });
  bad([](acl_binding& b) { b.principal = "User:"; });
  bad([](acl_binding& b) { b.name.assign(acl_field_bytes_max + 1, 'x'); });
  bad([](acl_binding& b) { b.principal = "User:" + std::string(acl_field_bytes_max, 'x'); });
  EXPECT_NE(bad([](acl_binding& b) { b.op = operation::cluster_action; }).find("CLUSTER_ACTION"), std::string::npos);
  bad([](acl_binding& b) { b.op = operation::idempotent_write; });

  // Operations per resource type, as Kafka has them.
  struct row {
    resource_type t;
    std::vector<operation> ok;
  };
  using o = operation;
  const std::vector<row> rows = {
      {resource_type::topic,
       {o::all, o::read, o::write, o::create, o::remove, o::alter, o::describe, o::describe_configs, o::alter_configs}},
      {resource_type::group, {o::all, o::read, o::remove, o::describe}},
      {resource_type::cluster,
       {o::all, o::create, o::alter, o::describe, o::cluster_action, o::describe_configs, o::alter_configs,
        o::idempotent_write, o::create_tokens, o::describe_tokens}},
      {resource_type::transactional_id, {o::all, o::write, o::describe}},
  };
  for (const row& r : rows) {
    for (int8_t code = int8_t(o::all); code <= int8_t(o::describe_tokens); ++code) {
      acl_binding b = good;
      b.type = r.t;
      if (r.t == resource_type::cluster) b.name = std::string(cluster_resource_name);
      b.op = operation(code);
      const bool expected = std::find(r.ok.begin(), r.ok.end(), b.op) != r.ok.end();
      EXPECT_EQ(validate(b).ok(), expected) << resource_type_name(r.t) << " " << operation_name(b.op);
    }
  }

  acl_binding cluster = binding(resource_type::cluster, "kafka-cluster", pattern_type::literal, "User:*",
                                operation::describe, permission::deny, "10.0.0.1");
  EXPECT_TRUE(validate(cluster).ok());
  cluster.name = "other";
  EXPECT_EQ(validate(cluster).code(), errc::invalid_argument);
  cluster.name = "kafka-cluster";
  cluster.pattern = pattern_type::prefixed;
  EXPECT_EQ(validate(cluster).code(), errc::invalid_argument);
}

TEST(Acl, ValidateFilters) {
  EXPECT_TRUE(validate(acl_filter{}).ok());
  acl_filter f;
  f.type = resource_type::unknown;
  EXPECT_EQ(validate(f).code(), errc::invalid_argument);
  f = {};
  f.pattern = pattern_type::unknown;
  EXPECT_EQ(validate(f).code(), errc::invalid_argument);
  f = {};
  f.op = operation(int8_t(99));
  EXPECT_EQ(validate(f).code(), errc::invalid_argument);
  f = {};
  f.perm = permission::unknown;
  EXPECT_EQ(validate(f).code(), errc::invalid_argument);
  f = {};
  f.pattern = pattern_type::match;
  f.name = "x";
  EXPECT_TRUE(validate(f).ok());
}

TEST(AclStore, AddIsIdempotentAndValidates) {
  auto kv = meta::make_memory_kv();
  auto store = open_store(*kv);
  const acl_binding b = topic_allow("orders", "User:alice", operation::read);
  ASSERT_TRUE(store->add(b).ok());
  ASSERT_TRUE(store->add(b).ok());
  EXPECT_EQ(kv_keys(*kv), 1u);
  EXPECT_EQ(store->matching({}).size(), 1u);
  // Any field that differs makes another binding.
  acl_binding other = b;
  other.host = "10.0.0.1";
  ASSERT_TRUE(store->add(other).ok());
  other = b;
  other.pattern = pattern_type::prefixed;
  ASSERT_TRUE(store->add(other).ok());
  other = b;
  other.perm = permission::deny;
  ASSERT_TRUE(store->add(other).ok());
  EXPECT_EQ(kv_keys(*kv), 4u);
  // Names that could run together in a naive key stay apart.
  ASSERT_TRUE(store->add(topic_allow("a/1:b", "User:c", operation::read)).ok());
  ASSERT_TRUE(store->add(topic_allow("a", "User:b/1:c", operation::read)).ok());
  EXPECT_EQ(kv_keys(*kv), 6u);

  acl_binding invalid = b;
  invalid.op = operation::cluster_action;
  EXPECT_EQ(store->add(invalid).code(), errc::invalid_argument);
  EXPECT_EQ(kv_keys(*kv), 6u);
}

class AclStoreFilterTest : public ::testing::Test {
 protected:
  AclStoreFilterTest() {
    store_ = open_store(*kv_);
    for (const acl_binding& b : {
             topic_allow("orders", "User:alice", operation::read),
             topic_allow("*", "User:bob", operation::describe),
             topic_allow("ord", "User:carol", operation::write, pattern_type::prefixed),
             topic_allow("orders-eu", "User:dave", operation::read, pattern_type::prefixed),
             topic_allow("payments", "User:alice", operation::read),
             topic_allow("orders", "User:erin", operation::read, pattern_type::prefixed),
             binding(resource_type::group, "orders", pattern_type::literal, "User:alice", operation::read,
                     permission::deny, "10.1.1.1"),
         }) {
      EXPECT_TRUE(store_->add(b).ok());
    }
  }
  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  std::unique_ptr<acl_store> store_;
};

TEST_F(AclStoreFilterTest, Matching) {
  EXPECT_EQ(store_->matching({}).size(), 7u);

  acl_filter f;
  f.type = resource_type::topic;
  EXPECT_EQ(store_->matching(f).size(), 6u);

  // MATCH: literal equal, literal "*", prefixes of the name.
  f.pattern = pattern_type::match;
  f.name = "orders";
  EXPECT_EQ(names(store_->matching(f)), (std::vector<std::string>{"*", "ord", "orders", "orders"}));

  // ANY with a name: exactly that name, any pattern type.
  f.pattern = pattern_type::any;
  EXPECT_EQ(names(store_->matching(f)), (std::vector<std::string>{"orders", "orders"}));

  // LITERAL / PREFIXED with a name: exactly that name and pattern.
  f.pattern = pattern_type::literal;
  auto got = store_->matching(f);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].principal, "User:alice");
  f.pattern = pattern_type::prefixed;
  got = store_->matching(f);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].principal, "User:erin");
  f.name = "*";
  f.pattern = pattern_type::literal;
  EXPECT_EQ(store_->matching(f).size(), 1u);

  // PREFIXED with no name: every prefixed binding.
  f.name.reset();
  f.pattern = pattern_type::prefixed;
  EXPECT_EQ(store_->matching(f).size(), 3u);
  // MATCH with no name: everything of the type.
  f.pattern = pattern_type::match;
  EXPECT_EQ(store_->matching(f).size(), 6u);

  // Entry fields match exactly.
  acl_filter e;
  e.principal = "User:alice";
  EXPECT_EQ(store_->matching(e).size(), 3u);
  e.perm = permission::deny;
  EXPECT_EQ(store_->matching(e).size(), 1u);
  e.perm = permission::any;
  e.host = "10.1.1.1";
  EXPECT_EQ(store_->matching(e).size(), 1u);
  e = {};
  e.op = operation::write;
  EXPECT_EQ(names(store_->matching(e)), std::vector<std::string>{"ord"});
  e.principal = "User:*";
  EXPECT_TRUE(store_->matching(e).empty());

  // An invalid filter selects nothing.
  acl_filter invalid;
  invalid.type = resource_type::unknown;
  EXPECT_TRUE(store_->matching(invalid).empty());
}

TEST_F(AclStoreFilterTest, ForResource) {
  EXPECT_EQ(names(store_->for_resource(resource_type::topic, "orders")),
            (std::vector<std::string>{"*", "ord", "orders", "orders"}));
  EXPECT_EQ(names(store_->for_resource(resource_type::topic, "orders-eu-1")),
            (std::vector<std::string>{"*", "ord", "orders", "orders-eu"}));
  EXPECT_EQ(names(store_->for_resource(resource_type::topic, "x")), std::vector<std::string>{"*"});
  EXPECT_EQ(names(store_->for_resource(resource_type::group, "orders")), std::vector<std::string>{"orders"});
  EXPECT_TRUE(store_->for_resource(resource_type::group, "ord").empty());
}

TEST_F(AclStoreFilterTest, RemoveMatchingAndReopen) {
  acl_filter f;
  f.type = resource_type::topic;
  f.pattern = pattern_type::match;
  f.name = "orders";
  f.op = operation::read;
  auto removed = store_->remove_matching(f);
  ASSERT_TRUE(removed.ok()) << removed.err().message;
  EXPECT_EQ(names(*removed), (std::vector<std::string>{"orders", "orders"}));
  EXPECT_EQ(store_->matching({}).size(), 5u);
  EXPECT_EQ(kv_keys(*kv_), 5u);

  removed = store_->remove_matching(f);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());

  acl_filter invalid;
  invalid.perm = permission::unknown;
  EXPECT_EQ(store_->remove_matching(invalid).code(), errc::invalid_argument);

  auto reopened = open_store(*kv_);
  auto before = store_->matching({});
  auto after = reopened->matching({});
  EXPECT_EQ(before, after);
  EXPECT_EQ(after.size(), 5u);

  removed = reopened->remove_matching({});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 5u);
  EXPECT_EQ(kv_keys(*kv_), 0u);
  EXPECT_TRUE(open_store(*kv_)->matching({}).empty());
}

TEST(AclStore, CorruptRecordNamesItsKey) {
  auto kv = meta::make_memory_kv();
  ASSERT_TRUE(open_store(*kv)->add(topic_allow("orders", "User:alice", operation::read)).ok());
  std::string key, value;
  ASSERT_TRUE(kv->scan_prefix("auth/acl/", [&](std::string_view k, std::string_view v) {
                  key = k;
                  value = v;
                }).ok());
  auto expect = [&](std::string_view k, const std::string& v, errc code) {
    auto other = meta::make_memory_kv();
    ASSERT_TRUE(other->put(k, v).ok());
    auto s = acl_store::open(*other);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), code);
    EXPECT_NE(s.err().message.find(std::string(k)), std::string::npos) << s.err().message;
  };
  expect(key, "", errc::corrupt);
  expect(key, value.substr(0, value.size() - 1), errc::corrupt);
  expect(key, value + "x", errc::corrupt);
  expect(key + "x", value, errc::corrupt);  // value and key disagree
  std::string bad_op = value;
  bad_op[3] = char(operation::cluster_action);
  expect(key, bad_op, errc::corrupt);
  std::string newer = value;
  newer[0] = '\x02';
  expect(key, newer, errc::unsupported);
}

class AuthorizerTest : public ::testing::Test {
 protected:
  bool allowed(std::string_view principal, operation op, std::string_view topic, std::string_view host = "10.0.0.1") {
    authorizer a(*store_, {"User:admin"});
    return a.allowed(principal, host, op, resource_type::topic, topic);
  }
  void add(const acl_binding& b) { ASSERT_TRUE(store_->add(b).ok()); }

  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  std::unique_ptr<acl_store> store_ = open_store(*kv_);
};

TEST_F(AuthorizerTest, NoAclMeansDenied) {
  EXPECT_FALSE(allowed("User:alice", operation::read, "orders"));
  EXPECT_FALSE(allowed("User:alice", operation::describe, "orders"));
}

TEST_F(AuthorizerTest, SuperUserMayDoAnything) {
  add(binding(resource_type::topic, "orders", pattern_type::literal, "User:admin", operation::all, permission::deny));
  EXPECT_TRUE(allowed("User:admin", operation::remove, "orders"));
  authorizer a(*store_, {"User:admin"});
  EXPECT_TRUE(a.is_super_user("User:admin"));
  EXPECT_FALSE(a.is_super_user("User:alice"));
  EXPECT_TRUE(a.allowed("User:admin", "1.2.3.4", operation::cluster_action, resource_type::cluster,
                        cluster_resource_name));
}

TEST_F(AuthorizerTest, LiteralAllow) {
  add(topic_allow("orders", "User:alice", operation::read));
  EXPECT_TRUE(allowed("User:alice", operation::read, "orders"));
  EXPECT_FALSE(allowed("User:alice", operation::write, "orders"));
  EXPECT_FALSE(allowed("User:alice", operation::read, "orders2"));
  EXPECT_FALSE(allowed("User:bob", operation::read, "orders"));
  authorizer a(*store_, {});
  EXPECT_FALSE(a.allowed("User:alice", "*", operation::read, resource_type::group, "orders"));
}

TEST_F(AuthorizerTest, DenyWinsOverAllow) {
  add(topic_allow("orders", "User:alice", operation::all));
  add(binding(resource_type::topic, "orders", pattern_type::literal, "User:alice", operation::write, permission::deny));
  EXPECT_TRUE(allowed("User:alice", operation::read, "orders"));
  EXPECT_FALSE(allowed("User:alice", operation::write, "orders"));
  // A wildcard-principal DENY of ALL beats a specific ALLOW.
  add(topic_allow("payments", "User:alice", operation::read));
  add(binding(resource_type::topic, "pay", pattern_type::prefixed, "User:*", operation::all, permission::deny));
  EXPECT_FALSE(allowed("User:alice", operation::read, "payments"));
}

TEST_F(AuthorizerTest, DenyIsNotImplied) {
  // DENY READ does not deny DESCRIBE (implication is for ALLOW only).
  add(topic_allow("orders", "User:alice", operation::describe));
  add(binding(resource_type::topic, "orders", pattern_type::literal, "User:alice", operation::read, permission::deny));
  EXPECT_TRUE(allowed("User:alice", operation::describe, "orders"));
  EXPECT_FALSE(allowed("User:alice", operation::read, "orders"));
}

TEST_F(AuthorizerTest, WildcardPrincipalAndResource) {
  add(topic_allow("*", "User:*", operation::read));
  EXPECT_TRUE(allowed("User:anyone", operation::read, "anything"));
  EXPECT_FALSE(allowed("User:anyone", operation::write, "anything"));
}

TEST_F(AuthorizerTest, Host) {
  add(binding(resource_type::topic, "orders", pattern_type::literal, "User:alice", operation::read, permission::allow,
              "10.0.0.1"));
  EXPECT_TRUE(allowed("User:alice", operation::read, "orders", "10.0.0.1"));
  EXPECT_FALSE(allowed("User:alice", operation::read, "orders", "10.0.0.2"));
  add(binding(resource_type::topic, "orders", pattern_type::literal, "User:alice", operation::read, permission::deny,
              "10.0.0.1"));
  add(topic_allow("orders", "User:alice", operation::read));  // host "*"
  EXPECT_FALSE(allowed("User:alice", operation::read, "orders", "10.0.0.1"));
  EXPECT_TRUE(allowed("User:alice", operation::read, "orders", "10.0.0.2"));
}

TEST_F(AuthorizerTest, Prefixed) {
  add(topic_allow("orders-", "User:alice", operation::write, pattern_type::prefixed));
  EXPECT_TRUE(allowed("User:alice", operation::write, "orders-eu"));
  EXPECT_TRUE(allowed("User:alice", operation::write, "orders-"));
  EXPECT_FALSE(allowed("User:alice", operation::write, "orders"));
  EXPECT_FALSE(allowed("User:alice", operation::write, "xorders-eu"));
}

TEST_F(AuthorizerTest, ImpliedDescribe) {
  add(topic_allow("r", "User:alice", operation::read));
  add(topic_allow("w", "User:alice", operation::write));
  add(topic_allow("d", "User:alice", operation::remove));
  add(topic_allow("a", "User:alice", operation::alter));
  add(topic_allow("c", "User:alice", operation::create));
  add(topic_allow("ac", "User:alice", operation::alter_configs));
  add(topic_allow("dc", "User:alice", operation::describe_configs));
  for (std::string_view t : {"r", "w", "d", "a"}) EXPECT_TRUE(allowed("User:alice", operation::describe, t)) << t;
  EXPECT_FALSE(allowed("User:alice", operation::describe, "c"));
  EXPECT_FALSE(allowed("User:alice", operation::describe, "ac"));
  EXPECT_TRUE(allowed("User:alice", operation::describe_configs, "ac"));
  EXPECT_FALSE(allowed("User:alice", operation::alter_configs, "dc"));
  EXPECT_FALSE(allowed("User:alice", operation::read, "w"));  // implication only goes to DESCRIBE
  EXPECT_FALSE(allowed("User:alice", operation::describe_configs, "r"));
}

TEST_F(AuthorizerTest, AllMatchesEveryOperation) {
  add(topic_allow("orders", "User:alice", operation::all));
  for (operation op : {operation::read, operation::write, operation::create, operation::remove, operation::alter,
                       operation::describe, operation::describe_configs, operation::alter_configs}) {
    EXPECT_TRUE(allowed("User:alice", op, "orders")) << operation_name(op);
  }
  EXPECT_FALSE(allowed("User:alice", operation::any, "orders"));
  EXPECT_FALSE(allowed("User:alice", operation::all, "orders"));
}

TEST_F(AuthorizerTest, ClusterIdempotentWriteIsSeparate) {
  add(binding(resource_type::cluster, "kafka-cluster", pattern_type::literal, "User:alice", operation::alter,
              permission::allow));
  authorizer a(*store_, {});
  auto on_cluster = [&](operation op) {
    return a.allowed("User:alice", "h", op, resource_type::cluster, cluster_resource_name);
  };
  EXPECT_TRUE(on_cluster(operation::alter));
  EXPECT_TRUE(on_cluster(operation::describe));
  EXPECT_FALSE(on_cluster(operation::idempotent_write));
  EXPECT_FALSE(on_cluster(operation::cluster_action));
}

TEST_F(AuthorizerTest, SeesBindingsAddedAfterItWasMade) {
  authorizer a(*store_, {});
  EXPECT_FALSE(a.allowed("User:alice", "h", operation::read, resource_type::topic, "orders"));
  add(topic_allow("orders", "User:alice", operation::read));
  EXPECT_TRUE(a.allowed("User:alice", "h", operation::read, resource_type::topic, "orders"));
  acl_filter f;
  f.principal = "User:alice";
  ASSERT_TRUE(store_->remove_matching(f).ok());
  EXPECT_FALSE(a.allowed("User:alice", "h", operation::read, resource_type::topic, "orders"));
}

}  // namespace
}  // namespace strata::auth
