#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dbclone/conninfo.h"
#include "dbclone/records.h"
#include "dbclone/service.h"

namespace strata::dbclone {
namespace {

TEST(ObjectName, AcceptsLowerCaseDigitsDashUnderscore) {
  EXPECT_TRUE(check_object_name("dev1", "clone id").ok());
  EXPECT_TRUE(check_object_name("a", "clone id").ok());
  EXPECT_TRUE(check_object_name("prod-20261206t172000z", "snapshot").ok());
  EXPECT_TRUE(check_object_name(std::string(63, 'x'), "clone id").ok());
}

TEST(ObjectName, RefusesEverythingElseWithTheRule) {
  for (std::string bad : std::vector<std::string>{"", "Dev", "-a", "_a", "a/b", "a.b", "a b", "ä", std::string(64, 'x'), std::string("a\0b", 3)}) {
    auto st = check_object_name(bad, "clone id");
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.code(), errc::invalid_argument);
    EXPECT_NE(st.err().message.find("clone id"), std::string::npos);
  }
}

TEST(MaskConninfo, HidesPasswordsInEveryForm) {
  EXPECT_EQ(mask_conninfo("host=h password=secret user=u"), "host=h password=******** user=u");
  EXPECT_EQ(mask_conninfo("host=h password = 'se cr\\'et' user=u"), "host=h password = ******** user=u");
  EXPECT_EQ(mask_conninfo("postgresql://u:secret@h:5432/db"), "postgresql://u:********@h:5432/db");
  EXPECT_EQ(mask_conninfo("host=h user=u"), "host=h user=u");
}

TEST(SplitConninfo, TakesThePasswordOutAndOverridesAKey) {
  auto parts = split_conninfo("host=127.0.0.1 port=5432 user=rep password='it\\'s' dbname=app");
  ASSERT_TRUE(parts.ok()) << parts.err().message;
  EXPECT_EQ(parts->password, "it's");
  EXPECT_EQ(parts->user, "rep");
  EXPECT_EQ(parts->without_password.find("password"), std::string::npos);
  EXPECT_NE(parts->without_password.find("dbname='app'"), std::string::npos);
  auto other = split_conninfo("postgresql://rep:pw@127.0.0.1:5432/app", "dbname", "shop");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->password, "pw");
  EXPECT_NE(other->without_password.find("dbname='shop'"), std::string::npos);
  EXPECT_EQ(other->without_password.find("app"), std::string::npos);
  EXPECT_FALSE(split_conninfo("host=h 'unterminated").ok());
}

TEST(Records, RoundTripEveryKind) {
  source_record s;
  s.spec.name = "prod";
  s.spec.mode = source_mode::logical;
  s.spec.conninfo = "host=h password=p";
  s.spec.databases = {"app", "shop"};
  s.spec.retention_limit = 3;
  s.status = "ready";
  s.base_generation = 4;
  s.data_state_ms = 123;
  auto s2 = decode_source(encode(s));
  ASSERT_TRUE(s2.ok()) << s2.err().message;
  EXPECT_EQ(s2->spec.mode, source_mode::logical);
  EXPECT_EQ(s2->spec.databases, s.spec.databases);
  EXPECT_EQ(s2->base_generation, 4u);
  EXPECT_EQ(s2->data_state_ms, 123);

  clone_record c;
  c.info.id = "dev1";
  c.info.status = clone_status::resetting;
  c.info.port = 6001;
  c.info.settings = {{"work_mem", "64MB"}};
  c.verifier = "SCRAM-SHA-256$4096:abc$def:ghi";
  auto c2 = decode_clone(encode(c));
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->info.status, clone_status::resetting);
  EXPECT_EQ(c2->info.port, 6001);
  EXPECT_EQ(c2->info.settings, c.info.settings);
  EXPECT_EQ(c2->verifier, c.verifier);

  snapshot_record snap;
  snap.info.id = "b-1";
  snap.info.parent = "a-1";
  snap.info.branch = "feature";
  snap.superuser = "postgres";
  auto snap2 = decode_snapshot(encode(snap));
  ASSERT_TRUE(snap2.ok());
  EXPECT_EQ(snap2->info.parent, "a-1");
  EXPECT_EQ(snap2->superuser, "postgres");

  branch_info b{"feature", "b-1", "prod", 5};
  auto b2 = decode_branch(encode(b));
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(b2->head, "b-1");
}

TEST(Records, RefuseGarbageAndNewerVersions) {
  EXPECT_EQ(decode_clone("not json").code(), errc::corrupt);
  EXPECT_EQ(decode_clone("[1,2]").code(), errc::corrupt);
  EXPECT_EQ(decode_clone(R"({"v": 2, "id": "x"})").code(), errc::unsupported);
  EXPECT_EQ(decode_clone(R"({"v": 1})").code(), errc::corrupt);
  EXPECT_EQ(decode_source(R"({"v": 1, "name": 5, "mode": "physical", "conninfo": ""})").code(), errc::corrupt);
}

}  // namespace
}  // namespace strata::dbclone
