// A Kafka listener with TLS that requires client certificates of the
// cluster CA (the replication listener under cluster TLS): a node's
// connection is served; a handshake that stalls holds a connection slot and
// ends at its timeout.
#include <utility>  // before Boost 1.74's awaitable.hpp

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>

#include "kafka/server/server.h"
#include "kafka/server/tests/handler_harness.h"
#include "net/tests/test_certs.h"
#include "net/tls.h"

namespace strata::kafka {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// ApiVersions v0, correlation id 7, null client id.
constexpr uint8_t api_versions_request[] = {0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff};

bool closed_by_server(tcp::socket& s) {
  boost::system::error_code ec;
  s.non_blocking(true, ec);
  uint8_t byte;
  s.read_some(asio::buffer(&byte, 1), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

// A node's client: handshake, ApiVersions, and the response's correlation id (-1 on failure).
asio::awaitable<void> ask_api_versions(tcp::endpoint server, net::tls_context& ctx, int32_t& correlation_id) {
  auto executor = co_await asio::this_coro::executor;
  net::stream s(tcp::socket(executor), ctx);
  boost::system::error_code ec;
  auto on_error = asio::redirect_error(asio::use_awaitable, ec);
  EXPECT_TRUE(net::expect_server_name(*s.tls(), "127.0.0.1").ok());
  co_await s.socket().async_connect(server, on_error);
  if (!ec) co_await s.tls()->async_handshake(net::stream::tls_stream::client, on_error);
  if (!ec) co_await asio::async_write(s, asio::buffer(api_versions_request), on_error);
  uint8_t head[8];
  if (!ec) co_await asio::async_read(s, asio::buffer(head), on_error);
  EXPECT_FALSE(ec) << ec.message();
  if (!ec) correlation_id = (head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7];
}

class KafkaTlsListener : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = net::testing::make_test_certs();
    auto server_ctx = net::make_server_tls({file("cluster/node1.crt"), file("cluster/node1.key"), file("cluster/ca.crt")});
    auto client_ctx = net::make_client_tls({file("cluster/ca.crt"), file("cluster/node2.crt"), file("cluster/node2.key")});
    ASSERT_TRUE(server_ctx.ok()) << server_ctx.err().message;
    ASSERT_TRUE(client_ctx.ok()) << client_ctx.err().message;
    server_tls_ = *server_ctx;
    client_tls_ = *client_ctx;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  net::pem_file file(const std::string& name) const { return {"--test", (dir_ / name).string()}; }

  std::filesystem::path dir_;
  std::shared_ptr<net::tls_context> server_tls_;
  std::shared_ptr<net::tls_context> client_tls_;
  testing::handler_harness harness_;
};

TEST_F(KafkaTlsListener, ServesNodesAndBoundsStalledHandshakesByTheConnectionLimitAndTheTimeout) {
  asio::io_context io;
  server_limits limits;
  limits.connections_max = 1;
  limits.tls_handshake_timeout_ms = 300;
  listener_settings settings;
  settings.protocol = security_protocol::ssl;
  settings.tls = listener_tls{server_tls_, /*peers_are_nodes=*/true};
  server s(io, harness_.svc(), limits, {}, settings);
  ASSERT_TRUE(s.start("127.0.0.1:0", "--replication-listen", "Kafka replication").ok());
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), s.port());

  tcp::socket stalled(io);  // connects and never says hello
  stalled.connect(endpoint);
  io.run_for(100ms);
  tcp::socket second(io);
  second.connect(endpoint);
  io.run_for(100ms);
  EXPECT_TRUE(closed_by_server(second)) << "the stalled handshake holds the only slot";
  EXPECT_FALSE(closed_by_server(stalled));

  io.run_for(400ms);
  EXPECT_TRUE(closed_by_server(stalled)) << "the handshake timed out";

  int32_t correlation_id = -1;
  asio::co_spawn(io, ask_api_versions(endpoint, *client_tls_, correlation_id), asio::detached);
  for (int i = 0; i < 200 && correlation_id < 0; ++i) io.run_for(10ms);
  EXPECT_EQ(correlation_id, 7);
  s.stop();
}

}  // namespace
}  // namespace strata::kafka
