#include "nbd/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "nbd/connection.h"
#include "net/listener.h"
#include "net/unix_listener.h"

namespace strata::nbd {

namespace asio = boost::asio;

namespace {

// The advertised maximum block size must leave room for a chunk's 8-byte
// offset in a 32-bit length, and should be at least 1 MiB (the spec's advice).
constexpr uint32_t request_bytes_floor = 1 * MiB;
constexpr uint32_t request_bytes_ceiling = 1 * GiB;

server_limits sanitized(server_limits l) {
  l.request_bytes_max = std::clamp(l.request_bytes_max, request_bytes_floor, request_bytes_ceiling);
  l.worker_threads = std::max<uint32_t>(1, l.worker_threads);
  l.requests_in_flight_max = std::max<uint32_t>(1, l.requests_in_flight_max);
  return l;
}

}  // namespace

server::server(asio::io_context& io, volumes::service& volumes, server_limits limits, server_observer observer)
    : io_(io), pool_(std::make_unique<asio::thread_pool>(sanitized(limits).worker_threads)) {
  limits = sanitized(limits);
  env_ = std::shared_ptr<connection_env>(new connection_env{
      limits, std::move(observer), volumes, pool_->get_executor(),
      net::byte_budget(io, net::byte_budget_config{.bytes_max = limits.inflight_bytes_max})});
}

server::~server() {
  stop();
  pool_->join();
  for (auto& weak : connections_) {
    if (auto c = weak.lock()) c->release_exports();
  }
}

status server::start(const std::string& tcp_listen, const std::string& unix_socket_path, const std::string& tcp_flag,
                     const std::string& unix_flag) {
  const uint32_t connections_max = env_->limits.connections_max;
  if (!tcp_listen.empty()) {
    tcp_ = std::make_shared<net::listener>(io_, "NBD", connections_max,
                                           [this](asio::ip::tcp::socket socket, std::shared_ptr<void> slot) {
                                             boost::system::error_code ec;
                                             auto ep = socket.remote_endpoint(ec);
                                             std::string peer = ec ? "unknown peer"
                                                                   : fmt::format("{}:{}", ep.address().to_string(), ep.port());
                                             accept(std::move(socket), std::move(slot), std::move(peer));
                                           });
    STRATA_TRY(tcp_->start(tcp_listen, tcp_flag));
  }
  if (!unix_socket_path.empty()) {
    unix_ = std::make_shared<net::unix_listener>(io_, "NBD (unix socket)", connections_max,
                                                 [this](net::unix_listener::socket socket, std::shared_ptr<void> slot) {
                                                   accept(std::move(socket), std::move(slot), "unix socket " + unix_->path());
                                                 });
    STRATA_TRY(unix_->start(unix_socket_path, unix_flag));
  }
  return {};
}

template <class Socket>
void server::accept(Socket socket, std::shared_ptr<void> slot, std::string peer) {
  std::erase_if(connections_, [](const std::weak_ptr<connection>& w) { return w.expired(); });
  auto c = std::make_shared<connection>(connection::socket_type(std::move(socket)), std::move(slot), std::move(peer), env_);
  connections_.push_back(c);
  c->start();
}

void server::stop() {
  if (tcp_) tcp_->stop();
  if (unix_) unix_->stop();
  for (auto& weak : connections_) {
    if (auto c = weak.lock()) c->close();
  }
}

uint16_t server::port() const { return tcp_ ? tcp_->port() : 0; }

uint32_t server::open_connections() const {
  return (tcp_ ? tcp_->open_connections() : 0) + (unix_ ? unix_->open_connections() : 0);
}

}  // namespace strata::nbd
