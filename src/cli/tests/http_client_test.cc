#include "cli/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "admin/tests/test_support.h"
#include "cli/tests/closed_port.h"

namespace strata::cli {
namespace {

TEST(ParseBaseUrl, AcceptsHostPortForms) {
  auto a = parse_base_url("http://127.0.0.1:9644");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "9644");
  EXPECT_EQ(a->text, "http://127.0.0.1:9644");

  auto b = parse_base_url("http://admin.local:1/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "admin.local");
  EXPECT_EQ(b->text, "http://admin.local:1");

  auto c = parse_base_url("localhost:9644");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "localhost");

  auto d = parse_base_url("http://[::1]:9644");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, "9644");

  auto e = parse_base_url("http://example.com");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, "80");
}

TEST(ParseBaseUrl, HttpsIsTlsOnPort443ByDefault) {
  auto a = parse_base_url("https://admin.example.com");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "admin.example.com");
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(a->text, "https://admin.example.com");

  auto b = parse_base_url("https://[::1]:9644/");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, "9644");
  EXPECT_FALSE(parse_base_url("http://h:1")->tls);
  EXPECT_FALSE(parse_base_url("h:1")->tls);
}

TEST(ParseBaseUrl, RejectsWhatItCannotUse) {
  for (const char* bad : {"https://h:0", "ftp://h:1", "http://h:0", "http://h:99999", "http://h:x", "http://h:1/v1",
                          "http://:1", "http://[::1:5", ""}) {
    auto r = parse_base_url(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.code(), errc::invalid_argument) << bad;
    EXPECT_NE(r.err().message.find("invalid admin URL"), std::string::npos) << r.err().message;
  }
}

TEST(EncodePathSegment, EscapesAllButUnreserved) {
  EXPECT_EQ(encode_path_segment("orders.v1-x_y~"), "orders.v1-x_y~");
  EXPECT_EQ(encode_path_segment("a b/c?%"), "a%20b%2Fc%3F%25");
}

TEST(HttpClient, ClosedPortIsUnreachable) {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port());
  auto client = http_client::create(url);
  ASSERT_TRUE(client.ok());
  auto res = client->request("GET", "/health");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.code(), errc::unavailable);
  EXPECT_EQ(res.err().message, "cannot reach the admin API at " + url +
                                   " (Connection refused). Is `strata server` running? Use --admin to point "
                                   "elsewhere.");
}

TEST(HttpClient, SilentServerTimesOut) {
  // Listening but never accepting: the kernel completes the handshake, nobody answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto client = http_client::create(url, http_client_limits{.timeout_ms = 200});
  ASSERT_TRUE(client.ok());
  auto res = client->request("GET", "/health");
  ::close(fd);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.code(), errc::timed_out);
  EXPECT_EQ(res.err().message, "the admin API at " + url + " did not answer within 200 ms");
}

TEST(HttpClient, TalksToTheAdminServer) {
  admin::testing::running_server s;
  auto client = http_client::create(s.url());
  ASSERT_TRUE(client.ok());
  auto res = client->request("POST", "/v1/topics", R"({"name": "t", "partitions": 1})");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->content_type, "application/json");
  EXPECT_NE(res->body.find(R"("name":"t")"), std::string::npos) << res->body;
}

TEST(HttpClient, OversizedResponsesAreRefused) {
  admin::testing::running_server s;
  auto client = http_client::create(s.url(), http_client_limits{.response_body_bytes_max = 8});
  ASSERT_TRUE(client.ok());
  auto res = client->request("GET", "/health");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.code(), errc::limit_exceeded);
}

}  // namespace
}  // namespace strata::cli
