// The admin server with bearer tokens and TLS: 401s and their challenge,
// /health open, /metrics closed, users over HTTPS, handshakes that fail or
// stall. Certificates come from scripts/make-cluster-certs.sh.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "admin/server.h"
#include "admin/tests/test_support.h"
#include "auth/user_store.h"
#include "cli/http_client.h"
#include "meta/kv.h"
#include "net/tests/test_certs.h"
#include "net/tls.h"

namespace strata::admin {
namespace {

using testing::running_server;

const std::string token = "an-admin-token-of-32-characters!";

server_security with_token() {
  auto tokens = token_set::parse(token + "\n", "--http-token-file", "tokens");
  EXPECT_TRUE(tokens.ok());
  server_security security;
  security.tokens = std::move(*tokens);
  return security;
}

result<cli::http_response> call(const running_server& s, std::string_view method, std::string_view target,
                                cli::http_client_security security = {}, std::string_view body = {},
                                std::string url = "") {
  auto client = cli::http_client::create(url.empty() ? s.url() : url, cli::http_client_limits{.timeout_ms = 5000},
                                         std::move(security));
  if (!client) return client.err();
  return client->request(method, target, body);
}

int status_of(const result<cli::http_response>& res) {
  EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.err().message);
  return res.ok() ? res->status : 0;
}

// One raw request on a plain TCP connection; returns all the server sends.
std::string raw_exchange(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return got;
}

TEST(AdminTokens, RequestsWithoutTheTokenAre401ButHealthIsOpen) {
  running_server s({}, running_server::volumes_face::on, with_token());
  EXPECT_EQ(status_of(call(s, "GET", "/health")), 200);
  EXPECT_EQ(status_of(call(s, "GET", "/v1/topics")), 401);
  EXPECT_EQ(status_of(call(s, "GET", "/metrics")), 401);
  EXPECT_EQ(status_of(call(s, "POST", "/v1/topics", {}, R"({"name": "t"})")), 401);
  EXPECT_EQ(status_of(call(s, "GET", "/v1/topics", {.bearer_token = "not-the-token-at-all", .ca_file = ""})), 401);
  EXPECT_EQ(status_of(call(s, "GET", "/v1/topics", {.bearer_token = token, .ca_file = ""})), 200);
  EXPECT_EQ(status_of(call(s, "POST", "/v1/topics", {.bearer_token = token, .ca_file = ""}, R"({"name": "t"})")), 201);
  auto metrics = call(s, "GET", "/metrics", {.bearer_token = token, .ca_file = ""});
  ASSERT_EQ(status_of(metrics), 200);
  EXPECT_NE(metrics->body.find(R"(strata_admin_requests_total{code="401",method="GET",route="unauthorized"} 3)"),
            std::string::npos)
      << metrics->body;
}

TEST(AdminTokens, The401CarriesTheChallengeAndTheErrorShape) {
  running_server s({}, running_server::volumes_face::on, with_token());
  std::string reply = raw_exchange(s.port(), "GET /v1/topics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 401 Unauthorized\r\n")) << reply;
  EXPECT_NE(reply.find("WWW-Authenticate: Bearer realm=\"strata\"\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"({"error":{"code":"unauthorized","message":"this admin API needs a token)"), std::string::npos)
      << reply;
  // Keep-alive survives a refusal: the next request on the connection is served.
  std::string two = raw_exchange(s.port(),
                                 "GET /v1/topics HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /v1/topics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                     token + "\r\nConnection: close\r\n\r\n");
  EXPECT_NE(two.find("HTTP/1.1 401"), std::string::npos) << two;
  EXPECT_NE(two.find("HTTP/1.1 200 OK"), std::string::npos) << two;
}

class AdminTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = net::testing::make_test_certs(); }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static std::string file(const std::string& name) { return (dir_ / name).string(); }

  static server_security tls_security(const std::string& cert = "cluster/node1") {
    net::tls_server_files files;
    files.cert_chain = net::pem_file{"--http-tls-cert", file(cert + ".crt")};
    files.key = net::pem_file{"--http-tls-key", file(cert + ".key")};
    auto tls = net::make_server_tls(files);
    EXPECT_TRUE(tls.ok()) << (tls.ok() ? "" : tls.err().message);
    server_security security = with_token();
    security.tls = tls.ok() ? *tls : nullptr;
    return security;
  }

  cli::http_client_security trusted() { return {.bearer_token = token, .ca_file = file("cluster/ca.crt")}; }

  static std::filesystem::path dir_;
};

std::filesystem::path AdminTls::dir_;

TEST_F(AdminTls, HttpsWithTheCaAndTokenIsServed) {
  running_server s({}, running_server::volumes_face::on, tls_security());
  ASSERT_TRUE(s.url().starts_with("https://")) << s.url();
  EXPECT_EQ(status_of(call(s, "GET", "/health", trusted())), 200);
  EXPECT_EQ(status_of(call(s, "GET", "/v1/topics", trusted())), 200);
  EXPECT_EQ(status_of(call(s, "GET", "/v1/topics", {.bearer_token = "", .ca_file = file("cluster/ca.crt")})), 401);
  // localhost is in node1's certificate too.
  EXPECT_EQ(status_of(call(s, "GET", "/health", trusted(), {}, "https://localhost:" + std::to_string(s.port()))), 200);
}

TEST_F(AdminTls, UsersOverHttps) {
  auto kv = meta::make_memory_kv();
  auto users = auth::user_store::open(*kv);
  ASSERT_TRUE(users.ok()) << users.err().message;
  running_server s({}, running_server::volumes_face::on, tls_security(), users->get());
  auto created = call(s, "POST", "/v1/users", trusted(), R"({"name": "alice", "password": "pw-of-alice"})");
  ASSERT_EQ(status_of(created), 201) << created->body;
  EXPECT_TRUE((*users)->verify_password("alice", "pw-of-alice"));
  auto list = call(s, "GET", "/v1/users", trusted());
  ASSERT_EQ(status_of(list), 200);
  EXPECT_NE(list->body.find(R"("name":"alice")"), std::string::npos) << list->body;
  EXPECT_EQ(status_of(call(s, "DELETE", "/v1/users/alice", trusted())), 204);
}

TEST_F(AdminTls, AnUntrustedCertificateOrAWrongNameFailsTheHandshake) {
  running_server s({}, running_server::volumes_face::on, tls_security());
  auto rogue = call(s, "GET", "/health", {.bearer_token = token, .ca_file = file("rogue/ca.crt")});
  ASSERT_FALSE(rogue.ok());
  EXPECT_EQ(rogue.code(), errc::unavailable);
  EXPECT_NE(rogue.err().message.find("the TLS handshake with the admin API at " + s.url() + " failed"),
            std::string::npos)
      << rogue.err().message;
  EXPECT_NE(rogue.err().message.find("set STRATA_CA_FILE"), std::string::npos) << rogue.err().message;

  running_server node2({}, running_server::volumes_face::on, tls_security("cluster/node2"));  // names 127.0.0.1 only
  auto wrong_name = call(node2, "GET", "/health", trusted(), {}, "https://localhost:" + std::to_string(node2.port()));
  ASSERT_FALSE(wrong_name.ok());
  EXPECT_NE(wrong_name.err().message.find("hostname mismatch"), std::string::npos) << wrong_name.err().message;

  auto plain = call(s, "GET", "/health", {}, {}, "http://127.0.0.1:" + std::to_string(s.port()));
  EXPECT_FALSE(plain.ok() && plain->status == 200);
}

TEST_F(AdminTls, AStalledHandshakeIsClosedAtTheTimeout) {
  running_server s(server_limits{.tls_handshake_timeout_ms = 100}, running_server::volumes_face::on, tls_security());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(raw_exchange(s.port(), ""), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(AdminTls, AMissingCaFileIsNamed) {
  auto client = cli::http_client::create("https://127.0.0.1:1", {}, {.bearer_token = "", .ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.err().message.find("STRATA_CA_FILE /nonexistent/ca.pem: no such file"), std::string::npos)
      << client.err().message;
}

}  // namespace
}  // namespace strata::admin
