#include <utility>  // before Boost 1.74's awaitable.hpp

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <vector>

#include "net/byte_budget.h"
#include "net/endpoint.h"
#include "net/listener.h"

namespace strata::net {

namespace asio = boost::asio;
using asio::ip::tcp;

TEST(Endpoint, ParsesHostsAndRejectsBadPorts) {
  auto v4 = parse_host_port("127.0.0.1:9092", "--x");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9092);
  auto v6 = parse_host_port("[::1]:0", "--x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(parse_host_port("127.0.0.1", "--x").ok());
  EXPECT_FALSE(parse_host_port("127.0.0.1:70000", "--x").ok());
  EXPECT_FALSE(parse_host_port(":80", "--x").ok());
  auto bad = parse_host_port("host:port", "--kafka-listen");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.err().message.find("--kafka-listen"), std::string::npos);
}

TEST(Listener, RefusesConnectionsPastTheLimitAndFreesSlotsOnClose) {
  asio::io_context io;
  std::vector<std::pair<tcp::socket, std::shared_ptr<void>>> sessions;
  auto l = std::make_shared<listener>(io, "test", 2, [&](tcp::socket s, std::shared_ptr<void> slot) {
    sessions.emplace_back(std::move(s), std::move(slot));
  });
  ASSERT_TRUE(l->start("127.0.0.1:0", "--test-listen").ok());
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), l->port());

  std::vector<tcp::socket> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back(io);
    clients.back().connect(ep);
  }
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(sessions.size(), 2u);
  EXPECT_EQ(l->open_connections(), 2u);
  EXPECT_EQ(l->refused_connections(), 1u);

  // The refused client sees end of file.
  uint8_t byte;
  boost::system::error_code ec;
  asio::read(clients[2], asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);

  sessions.pop_back();  // a session ends: its slot is free again
  EXPECT_EQ(l->open_connections(), 1u);
  clients.emplace_back(io);
  clients.back().connect(ep);
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(sessions.size(), 2u);
  l->stop();
}

TEST(Listener, ReportsAPortInUse) {
  asio::io_context io;
  auto first = std::make_shared<listener>(io, "first", 1, [](tcp::socket, std::shared_ptr<void>) {});
  ASSERT_TRUE(first->start("127.0.0.1:0", "--a").ok());
  auto second = std::make_shared<listener>(io, "second", 1, [](tcp::socket, std::shared_ptr<void>) {});
  auto s = second->start("127.0.0.1:" + std::to_string(first->port()), "--b");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.err().message.find("--b"), std::string::npos);
}

TEST(ByteBudget, WaitersResumeWhenBytesAreReleased) {
  asio::io_context io;
  byte_budget budget(io, byte_budget_config{.bytes_max = 100, .small_request_bytes_max = 0, .small_pool_bytes_max = 0});
  std::vector<int> order;
  byte_budget::grant first;
  auto take = [&](uint64_t n, int tag) -> asio::awaitable<void> {
    auto g = co_await budget.acquire(n);
    if (tag == 1) first = g;
    order.push_back(tag);
  };
  asio::co_spawn(io, take(80, 1), asio::detached);
  asio::co_spawn(io, take(50, 2), asio::detached);
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(order, std::vector<int>({1}));
  EXPECT_EQ(budget.used_bytes(), 80u);
  budget.release(first);
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(order, std::vector<int>({1, 2}));
  EXPECT_EQ(budget.used_bytes(), 50u);
}

TEST(ByteBudget, AnOversizedRequestRunsAlone) {
  asio::io_context io;
  byte_budget budget(io, byte_budget_config{.bytes_max = 100, .small_request_bytes_max = 0, .small_pool_bytes_max = 0});
  bool done = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await budget.acquire(1000);
    done = true;
  }, asio::detached);
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(done);
  EXPECT_EQ(budget.used_bytes(), 1000u);
}

TEST(ByteBudget, SmallRequestsProceedWhileLargeOnesFillTheBudget) {
  asio::io_context io;
  byte_budget budget(io, byte_budget_config{.bytes_max = 100, .small_request_bytes_max = 10, .small_pool_bytes_max = 20});
  std::vector<byte_budget::grant> grants;
  auto take = [&](uint64_t n) -> asio::awaitable<void> { grants.push_back(co_await budget.acquire(n)); };
  asio::co_spawn(io, take(100), asio::detached);  // fills the main budget
  asio::co_spawn(io, take(50), asio::detached);   // large: must wait
  asio::co_spawn(io, take(10), asio::detached);   // small: uses the small pool
  asio::co_spawn(io, take(10), asio::detached);
  asio::co_spawn(io, take(10), asio::detached);   // small pool full: waits
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_EQ(grants.size(), 3u);
  EXPECT_FALSE(grants[0].small_pool);
  EXPECT_TRUE(grants[1].small_pool);
  EXPECT_TRUE(grants[2].small_pool);
  EXPECT_EQ(budget.small_pool_used_bytes(), 20u);
  budget.release(grants[1]);
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_EQ(grants.size(), 4u);
  EXPECT_TRUE(grants[3].small_pool);
  EXPECT_EQ(budget.used_bytes(), 100u);  // the 50-byte request still waits for the main budget
  budget.release(grants[0]);
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_EQ(grants.size(), 5u);  // every coroutine finished before the budget goes away
  EXPECT_EQ(budget.used_bytes(), 50u);
}

}  // namespace strata::net
