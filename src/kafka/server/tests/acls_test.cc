#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

using auth::acl_binding;
using auth::operation;
using auth::pattern_type;
using auth::permission;
using auth::resource_type;

constexpr int16_t code(error_code e) { return static_cast<int16_t>(e); }

bool flexible(api_key key, int16_t version) { return testing::handler_harness::is_flexible(key, version); }

// The filter fields as sent: raw wire codes, so tests can send bad ones.
struct filter_spec {
  int8_t type = 1;  // ANY
  std::optional<std::string> name{};
  int8_t pattern = 1;  // ANY (not sent before v1)
  std::optional<std::string> principal{};
  std::optional<std::string> host{};
  int8_t op = 1;    // ANY
  int8_t perm = 1;  // ANY
};

void write_filter(writer& w, int16_t version, bool flex, const filter_spec& f) {
  w.i8(f.type);
  w.nullable_string(f.name, flex);
  if (version >= 1) w.i8(f.pattern);
  w.nullable_string(f.principal, flex);
  w.nullable_string(f.host, flex);
  w.i8(f.op);
  w.i8(f.perm);
}

acl_binding binding(resource_type t, std::string name, pattern_type p, std::string principal, operation op,
                    permission perm = permission::allow, std::string host = "*") {
  return {.type = t, .name = std::move(name), .pattern = p, .principal = std::move(principal), .host = std::move(host),
          .op = op, .perm = perm};
}

std::vector<uint8_t> create_request(int16_t version, const std::vector<acl_binding>& creations) {
  bool flex = flexible(api_key::create_acls, version);
  writer w;
  w.array_length(static_cast<int32_t>(creations.size()), flex);
  for (const auto& b : creations) {
    w.i8(static_cast<int8_t>(b.type));
    w.string(b.name, flex);
    if (version >= 1) w.i8(static_cast<int8_t>(b.pattern));
    w.string(b.principal, flex);
    w.string(b.host, flex);
    w.i8(static_cast<int8_t>(b.op));
    w.i8(static_cast<int8_t>(b.perm));
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct create_out {
  int16_t error = 0;
  std::optional<std::string> message;
};

std::vector<create_out> decode_create(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = flexible(api_key::create_acls, version);
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  std::vector<create_out> out;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    create_out c;
    c.error = r.i16();
    c.message = r.nullable_string(flex);
    if (flex) r.skip_tagged_fields();
    out.push_back(c);
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

std::vector<uint8_t> describe_request(int16_t version, const filter_spec& f) {
  bool flex = flexible(api_key::describe_acls, version);
  writer w;
  write_filter(w, version, flex, f);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct describe_out {
  int16_t error = 0;
  std::optional<std::string> message;
  std::vector<acl_binding> bindings;  // flattened from the resources
  size_t resources = 0;
};

describe_out decode_describe(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = flexible(api_key::describe_acls, version);
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  describe_out out;
  out.error = r.i16();
  out.message = r.nullable_string(flex);
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    ++out.resources;
    auto type = static_cast<resource_type>(r.i8());
    std::string name = r.string(flex);
    auto pattern = version >= 1 ? static_cast<pattern_type>(r.i8()) : pattern_type::literal;
    int32_t acls = r.array_length(flex);
    EXPECT_GT(acls, 0);
    for (int32_t j = 0; j < acls && r.ok(); ++j) {
      acl_binding b{.type = type, .name = name, .pattern = pattern, .principal = "", .host = "",
                    .op = operation::unknown, .perm = permission::unknown};
      b.principal = r.string(flex);
      b.host = r.string(flex);
      b.op = static_cast<operation>(r.i8());
      b.perm = static_cast<permission>(r.i8());
      if (flex) r.skip_tagged_fields();
      out.bindings.push_back(b);
    }
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

std::vector<uint8_t> delete_request(int16_t version, const std::vector<filter_spec>& filters) {
  bool flex = flexible(api_key::delete_acls, version);
  writer w;
  w.array_length(static_cast<int32_t>(filters.size()), flex);
  for (const auto& f : filters) {
    write_filter(w, version, flex, f);
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct delete_out {
  int16_t error = 0;
  std::optional<std::string> message;
  std::vector<acl_binding> deleted;
};

std::vector<delete_out> decode_delete(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = flexible(api_key::delete_acls, version);
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  std::vector<delete_out> out;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    delete_out d;
    d.error = r.i16();
    d.message = r.nullable_string(flex);
    int32_t m = r.array_length(flex);
    for (int32_t j = 0; j < m && r.ok(); ++j) {
      EXPECT_EQ(r.i16(), 0);
      EXPECT_EQ(r.nullable_string(flex), std::nullopt);
      acl_binding b;
      b.type = static_cast<resource_type>(r.i8());
      b.name = r.string(flex);
      b.pattern = version >= 1 ? static_cast<pattern_type>(r.i8()) : pattern_type::literal;
      b.principal = r.string(flex);
      b.host = r.string(flex);
      b.op = static_cast<operation>(r.i8());
      b.perm = static_cast<permission>(r.i8());
      if (flex) r.skip_tagged_fields();
      d.deleted.push_back(b);
    }
    if (flex) r.skip_tagged_fields();
    out.push_back(d);
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class Acls : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = auth::acl_store::open(*kv);
    ASSERT_TRUE(opened.ok());
    store = std::move(*opened);
    h.svc().acls = store.get();
  }

  // Runs a handler as `principal` (the harness sends User:ANONYMOUS).
  std::vector<uint8_t> call_as(std::string_view principal, handler_fn fn, api_key key, int16_t version,
                               const std::vector<uint8_t>& body) {
    request req;
    req.header.api_key = static_cast<int16_t>(key);
    req.header.api_version = version;
    req.header.flexible = flexible(key, version);
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

  std::vector<create_out> create(int16_t version, const std::vector<acl_binding>& creations) {
    return decode_create(version, h.call(handlers::create_acls, api_key::create_acls, version,
                                         create_request(version, creations)));
  }
  describe_out describe(int16_t version, const filter_spec& f = {}) {
    return decode_describe(version, h.call(handlers::describe_acls, api_key::describe_acls, version,
                                           describe_request(version, f)));
  }
  std::vector<delete_out> remove(int16_t version, const std::vector<filter_spec>& filters) {
    return decode_delete(version, h.call(handlers::delete_acls, api_key::delete_acls, version,
                                         delete_request(version, filters)));
  }
  std::vector<acl_binding> stored() const { return store->matching(auth::acl_filter{}); }

  std::unique_ptr<meta::kv> kv = meta::make_memory_kv();
  std::unique_ptr<auth::acl_store> store;
  testing::handler_harness h;
};

TEST_F(Acls, V0CreatesLiteralBindingsAndDescribesThem) {
  auto created = create(0, {binding(resource_type::topic, "orders", pattern_type::literal, "User:alice", operation::read),
                            binding(resource_type::group, "g", pattern_type::literal, "User:alice", operation::read)});
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].error, 0);
  EXPECT_EQ(created[0].message, std::nullopt);
  EXPECT_EQ(created[1].error, 0);
  ASSERT_EQ(stored().size(), 2u);

  auto out = describe(0, {.type = static_cast<int8_t>(resource_type::topic)});
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.resources, 1u);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0],
            binding(resource_type::topic, "orders", pattern_type::literal, "User:alice", operation::read));
}

TEST_F(Acls, V1GroupsBindingsByResourcePattern) {
  auto created = create(1, {
      binding(resource_type::topic, "logs-", pattern_type::prefixed, "User:bob", operation::write),
      binding(resource_type::topic, "logs-", pattern_type::prefixed, "User:bob", operation::describe),
      binding(resource_type::topic, "logs-", pattern_type::literal, "User:bob", operation::read, permission::deny,
              "10.0.0.1"),
      binding(resource_type::cluster, "kafka-cluster", pattern_type::literal, "User:ops", operation::alter),
  });
  ASSERT_EQ(created.size(), 4u);
  for (const auto& c : created) EXPECT_EQ(c.error, 0) << c.message.value_or("");

  auto all = describe(1);
  EXPECT_EQ(all.error, 0);
  EXPECT_EQ(all.resources, 3u);
  EXPECT_EQ(all.bindings.size(), 4u);

  // MATCH selects the bindings that apply to a topic name, prefixed ones included.
  auto match = describe(1, {.type = static_cast<int8_t>(resource_type::topic), .name = "logs-app",
                            .pattern = static_cast<int8_t>(pattern_type::match)});
  EXPECT_EQ(match.error, 0);
  ASSERT_EQ(match.bindings.size(), 2u);
  for (const auto& b : match.bindings) EXPECT_EQ(b.pattern, pattern_type::prefixed);

  // v0 sees literal bindings only.
  auto v0 = describe(0);
  EXPECT_EQ(v0.bindings.size(), 2u);
}

TEST_F(Acls, FlexibleVersionsRoundTrip) {
  for (int16_t version : {2, 3}) {
    auto b = binding(resource_type::transactional_id, "tx-" + std::to_string(version), pattern_type::prefixed,
                     "User:carol", operation::write);
    auto created = create(version, {b});
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(created[0].error, 0) << created[0].message.value_or("");
    auto out = describe(version, {.type = static_cast<int8_t>(resource_type::transactional_id), .name = b.name,
                                  .pattern = static_cast<int8_t>(pattern_type::prefixed)});
    ASSERT_EQ(out.bindings.size(), 1u);
    EXPECT_EQ(out.bindings[0], b);
    auto deleted = remove(version, {{.type = static_cast<int8_t>(resource_type::transactional_id), .name = b.name,
                                     .pattern = static_cast<int8_t>(pattern_type::prefixed)}});
    ASSERT_EQ(deleted.size(), 1u);
    ASSERT_EQ(deleted[0].deleted.size(), 1u);
    EXPECT_EQ(deleted[0].deleted[0], b);
  }
  EXPECT_TRUE(stored().empty());
}

TEST_F(Acls, InvalidCreationsFailOneByOne) {
  auto created = create(1, {
      binding(resource_type::cluster, "not-the-cluster", pattern_type::literal, "User:a", operation::alter),
      binding(resource_type::topic, "t", pattern_type::any, "User:a", operation::read),
      binding(resource_type::topic, "t", pattern_type::literal, "alice", operation::read),
      binding(resource_type::topic, "", pattern_type::literal, "User:a", operation::read),
      binding(resource_type::group, "g", pattern_type::literal, "User:a", operation::write),
      binding(resource_type::topic, "ok", pattern_type::literal, "User:a", operation::read),
      binding(resource_type::topic, std::string(2000, 'x'), pattern_type::literal, "User:a", operation::read),
  });
  ASSERT_EQ(created.size(), 7u);
  for (size_t i = 0; i < created.size(); ++i) {
    if (i == 5) {
      EXPECT_EQ(created[i].error, 0);
      continue;
    }
    EXPECT_EQ(created[i].error, code(error_code::invalid_request)) << i;
    ASSERT_TRUE(created[i].message.has_value()) << i;
    EXPECT_FALSE(created[i].message->empty());
  }
  ASSERT_EQ(stored().size(), 1u);
  EXPECT_EQ(stored()[0].name, "ok");
}

TEST_F(Acls, UnknownWireCodesAreInvalidNotCrashes) {
  std::vector<acl_binding> creations(1);
  creations[0] = binding(resource_type::topic, "t", pattern_type::literal, "User:a", operation::read);
  auto body = create_request(1, creations);
  body[4] = 99;  // resource type, after the array length
  auto out = decode_create(1, h.call(handlers::create_acls, api_key::create_acls, 1, body));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, code(error_code::invalid_request));

  auto bad = describe(1, {.pattern = 0});
  EXPECT_EQ(bad.error, code(error_code::invalid_request));
  ASSERT_TRUE(bad.message.has_value());
  EXPECT_TRUE(bad.bindings.empty());

  auto deleted = remove(1, {{.op = 77}});
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].error, code(error_code::invalid_request));
}

TEST_F(Acls, DeleteReportsEachBindingUnderTheFirstFilterThatSelectsIt) {
  auto a = binding(resource_type::topic, "t", pattern_type::literal, "User:a", operation::read);
  auto b = binding(resource_type::topic, "t", pattern_type::literal, "User:b", operation::write);
  auto c = binding(resource_type::topic, "t", pattern_type::prefixed, "User:a", operation::read);
  auto d = binding(resource_type::group, "g", pattern_type::literal, "User:a", operation::read);
  ASSERT_EQ(create(1, {a, b, c, d}).size(), 4u);

  auto out = remove(1, {{.type = 2, .name = "t", .pattern = 3, .principal = "User:a"},
                        {.type = 2},
                        {.type = 2, .name = "nothing"}});
  ASSERT_EQ(out.size(), 3u);
  for (const auto& f : out) EXPECT_EQ(f.error, 0);
  ASSERT_EQ(out[0].deleted.size(), 1u);
  EXPECT_EQ(out[0].deleted[0], a);
  ASSERT_EQ(out[1].deleted.size(), 2u);
  EXPECT_TRUE(out[2].deleted.empty());
  ASSERT_EQ(stored().size(), 1u);
  EXPECT_EQ(stored()[0], d);
}

TEST_F(Acls, V0DeleteSelectsLiteralBindingsOnly) {
  auto literal = binding(resource_type::topic, "t", pattern_type::literal, "User:a", operation::read);
  auto prefixed = binding(resource_type::topic, "t", pattern_type::prefixed, "User:a", operation::read);
  ASSERT_EQ(create(1, {literal, prefixed}).size(), 2u);
  auto out = remove(0, {{}});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].deleted.size(), 1u);
  EXPECT_EQ(out[0].deleted[0], literal);
  ASSERT_EQ(stored().size(), 1u);
  EXPECT_EQ(stored()[0], prefixed);
}

TEST_F(Acls, AuthorizationNeedsClusterDescribeOrAlter) {
  auth::authorizer authz(*store, {"User:admin"});
  h.svc().authorizer = &authz;
  auto topic_acl = binding(resource_type::topic, "t", pattern_type::literal, "User:bob", operation::read);

  auto denied = decode_create(2, call_as("User:bob", handlers::create_acls, api_key::create_acls, 2,
                                         create_request(2, {topic_acl, topic_acl})));
  ASSERT_EQ(denied.size(), 2u);
  for (const auto& c : denied) {
    EXPECT_EQ(c.error, code(error_code::cluster_authorization_failed));
    ASSERT_TRUE(c.message.has_value());
    EXPECT_NE(c.message->find("ALTER"), std::string::npos);
  }
  EXPECT_TRUE(stored().empty());

  auto by_admin = decode_create(2, call_as("User:admin", handlers::create_acls, api_key::create_acls, 2,
                                           create_request(2, {topic_acl})));
  ASSERT_EQ(by_admin.size(), 1u);
  EXPECT_EQ(by_admin[0].error, 0);

  auto describe_denied =
      decode_describe(2, call_as("User:bob", handlers::describe_acls, api_key::describe_acls, 2, describe_request(2, {})));
  EXPECT_EQ(describe_denied.error, code(error_code::cluster_authorization_failed));
  EXPECT_TRUE(describe_denied.bindings.empty());

  auto delete_denied =
      decode_delete(2, call_as("User:bob", handlers::delete_acls, api_key::delete_acls, 2, delete_request(2, {{}})));
  ASSERT_EQ(delete_denied.size(), 1u);
  EXPECT_EQ(delete_denied[0].error, code(error_code::cluster_authorization_failed));
  EXPECT_EQ(stored().size(), 1u);

  // DESCRIBE on the cluster lets bob list ACLs, but not change them.
  ASSERT_TRUE(store->add(binding(resource_type::cluster, "kafka-cluster", pattern_type::literal, "User:bob",
                                 operation::describe)).ok());
  auto described =
      decode_describe(3, call_as("User:bob", handlers::describe_acls, api_key::describe_acls, 3, describe_request(3, {})));
  EXPECT_EQ(described.error, 0);
  EXPECT_EQ(described.bindings.size(), 2u);
  auto still_denied =
      decode_delete(3, call_as("User:bob", handlers::delete_acls, api_key::delete_acls, 3, delete_request(3, {{}})));
  ASSERT_EQ(still_denied.size(), 1u);
  EXPECT_EQ(still_denied[0].error, code(error_code::cluster_authorization_failed));
  EXPECT_EQ(stored().size(), 2u);
}

TEST_F(Acls, WithoutAStoreTheAnswerIsSecurityDisabled) {
  h.svc().acls = nullptr;
  auto d = describe(1);
  EXPECT_EQ(d.error, code(error_code::security_disabled));
  ASSERT_TRUE(d.message.has_value());
  EXPECT_NE(d.message->find("start strata"), std::string::npos);

  auto c = create(3, {binding(resource_type::topic, "t", pattern_type::literal, "User:a", operation::read)});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].error, code(error_code::security_disabled));

  auto del = remove(0, {{}, {}});
  ASSERT_EQ(del.size(), 2u);
  EXPECT_EQ(del[1].error, code(error_code::security_disabled));
}

TEST_F(Acls, TooManyCreationsAreRefusedTogether) {
  std::vector<acl_binding> many(10'001, binding(resource_type::topic, "t", pattern_type::literal, "User:a",
                                                operation::read));
  auto out = create(1, many);
  ASSERT_EQ(out.size(), many.size());
  EXPECT_EQ(out.front().error, code(error_code::invalid_request));
  EXPECT_EQ(out.back().error, code(error_code::invalid_request));
  EXPECT_TRUE(stored().empty());
}

TEST_F(Acls, TruncatedBodiesAreErrors) {
  int responded = 0;
  auto create_body =
      create_request(2, {binding(resource_type::topic, "t", pattern_type::literal, "User:a", operation::read)});
  create_body.resize(create_body.size() - 3);
  EXPECT_FALSE(h.call_raw(handlers::create_acls, api_key::create_acls, 2, create_body, responded).ok());
  auto describe_body = describe_request(1, {.name = "t"});
  describe_body.resize(4);
  EXPECT_FALSE(h.call_raw(handlers::describe_acls, api_key::describe_acls, 1, describe_body, responded).ok());
  auto delete_body = delete_request(3, {{.name = "t"}});
  delete_body.pop_back();
  delete_body.pop_back();
  EXPECT_FALSE(h.call_raw(handlers::delete_acls, api_key::delete_acls, 3, delete_body, responded).ok());
  EXPECT_EQ(responded, 0);
  EXPECT_TRUE(stored().empty());
}

}  // namespace
}  // namespace strata::kafka
