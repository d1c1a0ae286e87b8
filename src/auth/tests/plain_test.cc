// RFC 4616 PLAIN messages: authzid NUL user NUL password.
#include "auth/plain.h"

#include <gtest/gtest.h>

namespace strata::auth {
namespace {

using namespace std::string_literals;

TEST(Plain, ParsesWithAndWithoutAuthzid) {
  auto m = parse_plain("\0alice\0s3cret"s);
  ASSERT_TRUE(m.ok()) << m.err().message;
  EXPECT_EQ(m->authzid, "");
  EXPECT_EQ(m->user, "alice");
  EXPECT_EQ(m->password, "s3cret");

  m = parse_plain("alice\0alice\0pa ss,word=\xc3\xa9"s);
  ASSERT_TRUE(m.ok()) << m.err().message;
  EXPECT_EQ(m->authzid, "alice");
  EXPECT_EQ(m->user, "alice");
  EXPECT_EQ(m->password, "pa ss,word=\xc3\xa9");
}

TEST(Plain, RefusesMalformedMessages) {
  for (const std::string& bad : {
           ""s,                       // nothing
           "alice"s,                  // no NUL
           "alice\0pw"s,              // one NUL
           "\0\0pw"s,                 // empty user
           "\0alice\0"s,              // empty password
           "\0alice\0pw\0"s,          // a third NUL
           "bob\0alice\0pw"s,         // acting as another user
           "\0alice\0" + std::string(plain_message_bytes_max, 'x'),  // oversized
       }) {
    auto m = parse_plain(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.code(), errc::invalid_argument);
    EXPECT_FALSE(m.err().message.empty());
  }
}

TEST(Plain, AcceptsAMessageAtTheLimit) {
  const std::string prefix = "\0alice\0"s;
  auto m = parse_plain(prefix + std::string(plain_message_bytes_max - prefix.size(), 'x'));
  ASSERT_TRUE(m.ok()) << m.err().message;
  EXPECT_EQ(m->password.size(), plain_message_bytes_max - prefix.size());
}

}  // namespace
}  // namespace strata::auth
