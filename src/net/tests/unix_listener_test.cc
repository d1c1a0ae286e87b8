#include "net/unix_listener.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <vector>

namespace strata::net {
namespace {

namespace asio = boost::asio;
using asio::local::stream_protocol;

std::string temp_socket_path(const std::string& tag) {
  return ::testing::TempDir() + "strata-unix-" + tag + "-" + std::to_string(::getpid()) + ".sock";
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

TEST(UnixListener, AcceptsUpToTheLimitAndRemovesItsSocketOnStop) {
  asio::io_context io;
  std::string path = temp_socket_path("limit");
  std::vector<std::pair<stream_protocol::socket, std::shared_ptr<void>>> sessions;
  auto l = std::make_shared<unix_listener>(io, "test", 1, [&](stream_protocol::socket s, std::shared_ptr<void> slot) {
    sessions.emplace_back(std::move(s), std::move(slot));
  });
  ASSERT_TRUE(l->start(path, "--test-socket").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  stream_protocol::socket a(io), b(io);
  a.connect(stream_protocol::endpoint(path));
  b.connect(stream_protocol::endpoint(path));
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(sessions.size(), 1u);
  EXPECT_EQ(l->open_connections(), 1u);
  EXPECT_EQ(l->refused_connections(), 1u);
  uint8_t byte;
  boost::system::error_code ec;
  asio::read(b, asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);

  sessions.clear();  // the slot is free again
  EXPECT_EQ(l->open_connections(), 0u);
  l->stop();
  EXPECT_FALSE(is_socket(path));
}

TEST(UnixListener, ReplacesAStaleSocketButNotALiveOne) {
  asio::io_context io;
  std::string path = temp_socket_path("stale");
  ::unlink(path.c_str());
  // A socket file whose owner is gone: bound, never listening, closed.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  ASSERT_TRUE(is_socket(path));

  auto first = std::make_shared<unix_listener>(io, "first", 4, [](stream_protocol::socket, std::shared_ptr<void>) {});
  auto s = first->start(path, "--test-socket");
  ASSERT_TRUE(s.ok()) << s.err().message;

  auto second = std::make_shared<unix_listener>(io, "second", 4, [](stream_protocol::socket, std::shared_ptr<void>) {});
  s = second->start(path, "--other-socket");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.err().message.find("another process is listening"), std::string::npos);
  EXPECT_NE(s.err().message.find("--other-socket"), std::string::npos);
  EXPECT_TRUE(is_socket(path));  // the live socket was left alone

  // The first still accepts.
  stream_protocol::socket c(io);
  boost::system::error_code ec;
  c.connect(stream_protocol::endpoint(path), ec);
  EXPECT_FALSE(ec) << ec.message();
  first->stop();
}

TEST(UnixListener, RefusesAPathThatIsNotASocket) {
  asio::io_context io;
  std::string path = temp_socket_path("file");
  { std::ofstream(path) << "precious"; }
  auto l = std::make_shared<unix_listener>(io, "test", 4, [](stream_protocol::socket, std::shared_ptr<void>) {});
  auto s = l->start(path, "--test-socket");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), errc::already_exists);
  std::ifstream in(path);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
  ::unlink(path.c_str());
}

TEST(UnixListener, RefusesATooLongPath) {
  asio::io_context io;
  auto l = std::make_shared<unix_listener>(io, "test", 4, [](stream_protocol::socket, std::shared_ptr<void>) {});
  auto s = l->start("/tmp/" + std::string(200, 'x'), "--test-socket");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), errc::invalid_argument);
}

}  // namespace
}  // namespace strata::net
