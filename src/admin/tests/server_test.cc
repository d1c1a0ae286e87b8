#include "admin/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "admin/tests/test_support.h"
#include "cli/http_client.h"

namespace strata::admin {
namespace {

using nlohmann::json;
using testing::running_server;

cli::http_response call(const running_server& s, std::string_view method, std::string_view target,
                        std::string_view body = {}) {
  auto client = cli::http_client::create(s.url());
  EXPECT_TRUE(client.ok());
  auto res = client->request(method, target, body);
  EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.err().message);
  return res.ok() ? *res : cli::http_response{};
}

json body_of(const cli::http_response& res) { return json::parse(res.body, nullptr, false); }

std::string error_code_of(const cli::http_response& res) {
  json body = body_of(res);
  if (!body.is_object() || !body.contains("error")) return "(no error object: " + res.body + ")";
  return body["error"].value("code", "(no code)");
}

std::string error_message_of(const cli::http_response& res) {
  json body = body_of(res);
  if (!body.is_object() || !body.contains("error")) return "(no error object: " + res.body + ")";
  return body["error"].value("message", "(no message)");
}

// A plain blocking socket with a receive timeout, for what the HTTP client
// cannot send: garbage, pipelined requests, idle connections.
class raw_connection {
 public:
  explicit raw_connection(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~raw_connection() { ::close(fd_); }

  bool connected() const { return connected_; }
  void send(std::string_view data) { ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL), ssize_t(data.size())); }

  // Reads until the peer closes, the timeout passes or `until` appears `count` times.
  std::string receive(std::string_view until = {}, int count = 1) {
    std::string got;
    char buf[4096];
    for (;;) {
      if (!until.empty() && occurrences(got, until) >= count) break;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_by_peer_ = n == 0 || errno == ECONNRESET;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  bool closed_by_peer() const { return closed_by_peer_; }

 private:
  static int occurrences(const std::string& s, std::string_view what) {
    int n = 0;
    for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
    return n;
  }
  int fd_;
  bool connected_ = false;
  bool closed_by_peer_ = false;
};

TEST(AdminServer, Health) {
  running_server s;
  auto res = call(s, "GET", "/health");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(body_of(res), json({{"status", "ok"}}));
}

TEST(AdminServer, MetricsAreTheRegistryInTextFormat) {
  running_server s;
  s.registry().counter("strata_test_total", "A test counter.", {{"k", "v"}}).inc(7);
  call(s, "GET", "/health");
  call(s, "POST", "/v1/topics", R"({"name": "orders", "partitions": 2})");
  s.on_network_thread([&] { s.fake().topics()["orders"].partitions[1].size_bytes = 4096; });

  auto res = call(s, "GET", "/metrics");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res.body.find("# TYPE strata_test_total counter\nstrata_test_total{k=\"v\"} 7\n"), std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find("strata_admin_requests_total{code=\"200\",method=\"GET\",route=\"/health\"} 1\n"),
            std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find("strata_admin_requests_total{code=\"201\",method=\"POST\",route=\"/v1/topics\"} 1\n"),
            std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find("strata_partition_size_bytes{partition=\"1\",topic=\"orders\"} 4096\n"), std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find("strata_topics 1\n"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("# TYPE strata_admin_open_connections gauge\nstrata_admin_open_connections "),
            std::string::npos)
      << res.body;
}

TEST(AdminServer, CreateListDescribeDelete) {
  running_server s;
  EXPECT_EQ(body_of(call(s, "GET", "/v1/topics")), json({{"topics", json::array()}}));

  auto created = call(s, "POST", "/v1/topics",
                      R"({"name": "orders", "partitions": 3, "configs": {"retention.ms": "86400000"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  json topic = body_of(created);
  EXPECT_EQ(topic["name"], "orders");
  EXPECT_EQ(topic["id"], "ab000000000000000000000000000001");
  ASSERT_EQ(topic["partitions"].size(), 3u);
  EXPECT_EQ(topic["partitions"][2], json({{"id", 2},
                                          {"log_start_offset", 0},
                                          {"high_watermark", 0},
                                          {"log_end_offset", 0},
                                          {"size_bytes", 0},
                                          {"leader", 0},
                                          {"leader_epoch", 0},
                                          {"replicas", json::array()},
                                          {"isr", json::array()}}));
  EXPECT_EQ(topic["configs"]["retention.ms"], "86400000");

  auto defaulted = call(s, "POST", "/v1/topics", R"({"name": "events", "configs": {"retention.bytes": 1000}})");
  ASSERT_EQ(defaulted.status, 201) << defaulted.body;
  EXPECT_EQ(body_of(defaulted)["partitions"].size(), 2u);  // the service's default_partitions
  EXPECT_EQ(body_of(defaulted)["configs"]["retention.bytes"], "1000");

  json list = body_of(call(s, "GET", "/v1/topics"));
  EXPECT_EQ(list, json({{"topics",
                         {{{"name", "events"}, {"partitions", 2}, {"id", "ab000000000000000000000000000002"}},
                          {{"name", "orders"}, {"partitions", 3}, {"id", "ab000000000000000000000000000001"}}}}}));

  s.on_network_thread([&] {
    auto& p = s.fake().topics()["orders"].partitions[0];
    p.log_start_offset = 5;
    p.high_watermark = 9;
    p.log_end_offset = 10;
    p.size_bytes = 1234;
  });
  auto described = call(s, "GET", "/v1/topics/orders");
  ASSERT_EQ(described.status, 200);
  json detail = body_of(described);
  EXPECT_EQ(detail["partitions"][0], json({{"id", 0},
                                           {"log_start_offset", 5},
                                           {"high_watermark", 9},
                                           {"log_end_offset", 10},
                                           {"size_bytes", 1234},
                                           {"leader", 0},
                                           {"leader_epoch", 0},
                                           {"replicas", json::array()},
                                           {"isr", json::array()}}));
  EXPECT_EQ(detail["configs"]["retention.ms"], "86400000");
  EXPECT_EQ(detail["configs"]["cleanup.policy"], "delete");

  auto deleted = call(s, "DELETE", "/v1/topics/orders");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.body, "");
  EXPECT_EQ(body_of(call(s, "GET", "/v1/topics"))["topics"].size(), 1u);
}

TEST(AdminServer, MissingTopicsAre404) {
  running_server s;
  auto get = call(s, "GET", "/v1/topics/nope");
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(error_code_of(get), "not_found");
  EXPECT_EQ(error_message_of(get), "unknown topic nope");
  auto del = call(s, "DELETE", "/v1/topics/nope");
  EXPECT_EQ(del.status, 404);
  EXPECT_EQ(error_code_of(del), "not_found");
}

TEST(AdminServer, ExistingTopicIs409) {
  running_server s;
  ASSERT_EQ(call(s, "POST", "/v1/topics", R"({"name": "t", "partitions": 1})").status, 201);
  auto again = call(s, "POST", "/v1/topics", R"({"name": "t", "partitions": 1})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(error_code_of(again), "already_exists");
  EXPECT_EQ(error_message_of(again), "topic t already exists");
}

TEST(AdminServer, BadCreateRequestsAre400WithAMessage) {
  running_server s;
  struct bad_case {
    std::string body;
    std::string message_part;
  };
  const std::vector<bad_case> cases = {
      {"{not json", "not a JSON object"},
      {"[1, 2]", "not a JSON object"},
      {"", "not a JSON object"},
      {R"({"partitions": 1})", "name is required"},
      {R"({"name": 5})", "name must be a string"},
      {R"({"name": "bad name!"})", "topic name bad name! is invalid"},
      {R"({"name": "t", "partitions": 0})", "partitions must be a whole number"},
      {R"({"name": "t", "partitions": "3"})", "partitions must be a whole number"},
      {R"({"name": "t", "partitions": 1.5})", "partitions must be a whole number"},
      {R"({"name": "t", "partitions": 99999999999})", "partitions must be a whole number"},
      {R"({"name": "t", "partitions": 101})", "partitions must be 1 to 100"},
      {R"({"name": "t", "partition": 1})", "unknown field partition"},
      {R"({"name": "t", "configs": []})", "configs must be an object"},
      {R"({"name": "t", "configs": {"retention.ms": true}})", "config retention.ms must be a string"},
      {R"({"name": "t", "configs": {"retention.ms": "soon"}})", "retention.ms=soon is invalid"},
      {R"({"name": "t", "configs": {"colour": "blue"}})", "unknown topic config colour"},
  };
  for (const auto& c : cases) {
    auto res = call(s, "POST", "/v1/topics", c.body);
    EXPECT_EQ(res.status, 400) << c.body;
    EXPECT_EQ(error_code_of(res), "invalid_argument") << c.body;
    EXPECT_NE(error_message_of(res).find(c.message_part), std::string::npos) << c.body << " -> " << res.body;
  }
  EXPECT_EQ(body_of(call(s, "GET", "/v1/topics"))["topics"].size(), 0u);
}

TEST(AdminServer, UnknownRouteIs404AndWrongMethodIs405) {
  running_server s;
  auto unknown = call(s, "GET", "/v2/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(error_code_of(unknown), "not_found");
  auto wrong = call(s, "PUT", "/v1/topics", "{}");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(error_code_of(wrong), "method_not_allowed");
  EXPECT_EQ(error_message_of(wrong), "PUT is not allowed here; use GET, POST");
  EXPECT_EQ(call(s, "POST", "/health").status, 405);
}

TEST(AdminServer, BodyAtTheLimitIsReadAndOneByteMoreIs413) {
  running_server s(server_limits{.request_body_bytes_max = 1024});
  std::string body = R"({"name": "padded"})";
  std::string at_limit = body + std::string(1024 - body.size(), ' ');
  auto ok = call(s, "POST", "/v1/topics", at_limit);
  EXPECT_EQ(ok.status, 201) << ok.body;
  auto over = call(s, "POST", "/v1/topics", at_limit + " ");
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(error_code_of(over), "limit_exceeded");
  EXPECT_EQ(error_message_of(over), "the request body is larger than the limit of 1024 bytes");
}

TEST(AdminServer, DefaultBodyLimitIsOneMebibyte) {
  running_server s;
  auto over = call(s, "POST", "/v1/topics", std::string(MiB + 1, ' '));
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(error_message_of(over), "the request body is larger than the limit of 1048576 bytes");
  EXPECT_EQ(call(s, "GET", "/health").status, 200);  // and the server keeps serving
}

// Header and body in one segment: Beast 1.74 would lose the limit error here.
TEST(AdminServer, OversizedBodySentWithTheHeaderIs413) {
  running_server s(server_limits{.request_body_bytes_max = 1024});
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  conn.send("POST /v1/topics HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n" + std::string(1025, ' '));
  std::string reply = conn.receive();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << reply;
}

TEST(AdminServer, HugeDeclaredLengthIs413WithoutReadingIt) {
  running_server s;
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  conn.send("POST /v1/topics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n{}");
  std::string reply = conn.receive("larger than the limit");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << reply;
}

TEST(AdminServer, OversizedChunkedBodyIs413) {
  running_server s(server_limits{.request_body_bytes_max = 1024});
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  std::string chunk = "200\r\n" + std::string(0x200, ' ') + "\r\n";
  conn.send("POST /v1/topics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + chunk +
            "0\r\n\r\n");
  std::string reply = conn.receive();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << reply;
}

TEST(AdminServer, ChunkedBodyWithinTheLimitIsRead) {
  running_server s(server_limits{.request_body_bytes_max = 1024});
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  std::string json = R"({"name": "chunked"})";
  conn.send("POST /v1/topics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" +
            fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", json.size(), json));
  std::string reply = conn.receive();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 201 Created\r\n")) << reply;
}

TEST(AdminServer, OversizedHeadersAre431) {
  running_server s(server_limits{.request_header_bytes_max = 1024});
  auto res = call(s, "GET", "/v1/topics/" + std::string(2000, 'x'));
  EXPECT_EQ(res.status, 431);
  EXPECT_EQ(error_code_of(res), "limit_exceeded");
}

TEST(AdminServer, GarbageIs400AndTheServerKeepsServing) {
  running_server s;
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  conn.send("\x01\x02 this is not http\r\n\r\n");
  std::string reply = conn.receive();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 Bad Request\r\n")) << reply;
  EXPECT_NE(reply.find("malformed HTTP request"), std::string::npos) << reply;
  EXPECT_TRUE(conn.closed_by_peer());
  EXPECT_EQ(call(s, "GET", "/health").status, 200);
}

TEST(AdminServer, KeepAliveServesPipelinedRequests) {
  running_server s;
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  conn.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/topics HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string replies = conn.receive(R"({"topics":[]})");
  size_t first = replies.find(R"({"status":"ok"})");
  size_t second = replies.find("HTTP/1.1 200 OK", first);
  EXPECT_TRUE(replies.starts_with("HTTP/1.1 200 OK")) << replies;
  EXPECT_NE(first, std::string::npos) << replies;
  EXPECT_NE(second, std::string::npos) << replies;
  EXPECT_FALSE(conn.closed_by_peer());
  conn.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(conn.receive().find(R"({"status":"ok"})"), std::string::npos);
  EXPECT_TRUE(conn.closed_by_peer());
}

TEST(AdminServer, IdleConnectionsAreClosed) {
  running_server s(server_limits{.idle_timeout_ms = 100});
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(conn.receive(), "");
  EXPECT_TRUE(conn.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST(AdminServer, ConnectionsPastTheLimitAreClosed) {
  running_server s(server_limits{.connections_max = 1});
  raw_connection first(s.port());
  ASSERT_TRUE(first.connected());
  first.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(first.receive(R"({"status":"ok"})").find("200 OK"), std::string::npos);

  raw_connection second(s.port());
  EXPECT_EQ(second.receive(), "");
  EXPECT_TRUE(second.closed_by_peer());

  first.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(first.receive(R"({"status":"ok"})").find("200 OK"), std::string::npos);
}

TEST(AdminServer, StopClosesOpenConnectionsAndUnregistersCollectors) {
  running_server s;
  raw_connection conn(s.port());
  ASSERT_TRUE(conn.connected());
  call(s, "POST", "/v1/topics", R"({"name": "t"})");
  EXPECT_NE(s.registry().render().find("strata_topics 1"), std::string::npos);
  s.stop();
  EXPECT_EQ(conn.receive(), "");
  EXPECT_TRUE(conn.closed_by_peer());
  EXPECT_EQ(s.registry().render().find("strata_topics"), std::string::npos);
  auto client = cli::http_client::create(s.url());
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(client->request("GET", "/health").ok());
}

TEST(AdminServer, PortInUseIsAClearError) {
  running_server first;
  boost::asio::io_context io;
  testing::fake_service fake;
  metrics::registry registry;
  std::string listen = "127.0.0.1:" + std::to_string(first.port());
  server second(io, listen, fake, registry);
  status started = second.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), errc::unavailable);
  EXPECT_NE(started.err().message.find("cannot listen on " + listen + " for the admin API"), std::string::npos)
      << started.err().message;
  EXPECT_NE(started.err().message.find("Address already in use"), std::string::npos) << started.err().message;
  EXPECT_NE(started.err().message.find("--http-listen"), std::string::npos) << started.err().message;
}

TEST(AdminServer, BadListenAddressIsAClearError) {
  boost::asio::io_context io;
  testing::fake_service fake;
  metrics::registry registry;
  server bad(io, "127.0.0.1", fake, registry);
  status started = bad.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), errc::invalid_argument);
  EXPECT_NE(started.err().message.find("--http-listen"), std::string::npos) << started.err().message;
}

}  // namespace
}  // namespace strata::admin
