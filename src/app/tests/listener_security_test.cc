// The rule for listeners beyond loopback, and the admin API's security flags.
#include "app/listener_security.h"

#include <gtest/gtest.h>

namespace strata::app {
namespace {

TEST(IsLoopbackHost, LoopbackAddressesAndLocalhost) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
  }
  for (const char* host : {"", "0.0.0.0", "::", "10.0.0.5", "192.168.1.1", "128.0.0.1", "::ffff:10.0.0.1",
                           "example.com", "localhost.example.com"}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

TEST(CheckListenerSecurity, OnlyUnauthenticatedNonLoopbackWithoutAllowInsecureFails) {
  EXPECT_TRUE(check_listener_security("--nbd-listen", "127.0.0.1", false, false).ok());
  EXPECT_TRUE(check_listener_security("--nbd-listen", "::1", false, false).ok());
  EXPECT_TRUE(check_listener_security("--http-listen", "0.0.0.0", true, false).ok());
  EXPECT_TRUE(check_listener_security("--nbd-listen", "0.0.0.0", false, true).ok());

  auto refused = check_listener_security("--nbd-listen", "10.0.0.5", false, false, "NBD has no authentication");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), errc::invalid_argument);
  EXPECT_EQ(refused.err().message,
            "--nbd-listen listens on 10.0.0.5, which is not a loopback address, without authentication, so anyone "
            "who can reach it could use it; NBD has no authentication, or pass --allow-insecure to serve it anyway");
  auto every = check_listener_security("--kafka-listen", "", false, false);
  ASSERT_FALSE(every.ok());
  EXPECT_NE(every.err().message.find("--kafka-listen listens on every interface"), std::string::npos)
      << every.err().message;
}

server_options exposed() {
  server_options o;
  o.http_listen = "0.0.0.0:9644";
  o.pg_listen = "0.0.0.0:5433";
  o.nbd_listen = "0.0.0.0:10809";
  o.db_clone_listen = "0.0.0.0";
  return o;
}

TEST(CheckListenerSecurity, TheServerListenersAndTheirAuthentication) {
  EXPECT_TRUE(check_listener_security(server_options{}).ok());  // the defaults are loopback

  server_options o = exposed();
  auto http = check_listener_security(o);
  ASSERT_FALSE(http.ok());
  EXPECT_TRUE(http.err().message.starts_with("--http-listen listens on 0.0.0.0")) << http.err().message;
  EXPECT_NE(http.err().message.find("set --http-token-file"), std::string::npos) << http.err().message;

  o.http_token_file = "/etc/strata/tokens";
  auto pg = check_listener_security(o);
  ASSERT_FALSE(pg.ok());
  EXPECT_TRUE(pg.err().message.starts_with("--pg-listen listens on 0.0.0.0")) << pg.err().message;
  EXPECT_NE(pg.err().message.find("--pg-auth scram-sha-256"), std::string::npos) << pg.err().message;

  o.pg_auth = "scram-sha-256";
  auto nbd = check_listener_security(o);
  ASSERT_FALSE(nbd.ok());
  EXPECT_TRUE(nbd.err().message.starts_with("--nbd-listen listens on 0.0.0.0")) << nbd.err().message;

  o.nbd_listen = "";  // no NBD over TCP; clones authenticate with SCRAM
  EXPECT_TRUE(check_listener_security(o).ok());

  server_options allowed = exposed();
  allowed.allow_insecure = true;
  EXPECT_TRUE(check_listener_security(allowed).ok());

  server_options bad = exposed();
  bad.http_listen = "nowhere";
  auto unparsable = check_listener_security(bad);
  ASSERT_FALSE(unparsable.ok());
  EXPECT_NE(unparsable.err().message.find("--http-listen nowhere is invalid"), std::string::npos)
      << unparsable.err().message;
}

TEST(LoadAdminSecurity, NothingSetIsPlainAndOpen) {
  auto security = load_admin_security(server_options{});
  ASSERT_TRUE(security.ok());
  EXPECT_TRUE(security->tokens.empty());
  EXPECT_EQ(security->tls, nullptr);
}

TEST(LoadAdminSecurity, BadFlagsNameTheFlagAndFile) {
  server_options o;
  o.http_token_file = "/nonexistent/tokens";
  auto tokens = load_admin_security(o);
  ASSERT_FALSE(tokens.ok());
  EXPECT_TRUE(tokens.err().message.starts_with("--http-token-file /nonexistent/tokens: cannot open it"))
      << tokens.err().message;

  server_options half;
  half.http_tls_cert = "/etc/strata/admin.crt";
  auto cert_only = load_admin_security(half);
  ASSERT_FALSE(cert_only.ok());
  EXPECT_EQ(cert_only.err().message,
            "--http-tls-cert needs --http-tls-key: the admin API's certificate and its key go together");

  half.http_tls_key = "/nonexistent/admin.key";
  half.http_tls_cert = "/nonexistent/admin.crt";
  auto missing = load_admin_security(half);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.err().message.starts_with("--http-tls-cert /nonexistent/admin.crt: no such file"))
      << missing.err().message;
}

}  // namespace
}  // namespace strata::app
