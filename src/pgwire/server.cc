#include "pgwire/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>

#include "pgwire/connection.h"
#include "net/listener.h"

namespace strata::pgwire {

namespace asio = boost::asio;

namespace {

// Below these a server cannot serve ordinary clients (psql's startup, a small COPY).
constexpr uint32_t message_bytes_floor = 64 * KiB;
constexpr uint32_t startup_bytes_floor = 1024;
constexpr uint64_t output_bytes_floor = 16 * KiB;

server_limits sanitized(server_limits l) {
  l.worker_threads = std::max<uint32_t>(1, l.worker_threads);
  l.message_bytes_max = std::max(l.message_bytes_max, message_bytes_floor);
  l.startup_bytes_max = std::max(l.startup_bytes_max, startup_bytes_floor);
  l.output_bytes_soft_max = std::max(l.output_bytes_soft_max, output_bytes_floor);
  l.fetch_rows_max = std::max<uint32_t>(1, l.fetch_rows_max);
  return l;
}

backend_limits backend_limits_of(const server_limits& l) {
  backend_limits b;
  b.message_bytes_max = l.message_bytes_max;
  b.startup_bytes_max = l.startup_bytes_max;
  b.statements_max = l.statements_max;
  b.portals_max = l.portals_max;
  b.fetch_rows_max = l.fetch_rows_max;
  b.output_bytes_soft_max = l.output_bytes_soft_max;
  return b;
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

}  // namespace

server::server(asio::io_context& io, sql::engine& engine, server_config config, server_observer observer)
    : io_(io), listen_(config.listen), pool_(std::make_unique<worker_pool>(sanitized(config.limits).worker_threads, sanitized(config.limits).connections_max)) {
  const server_limits limits = sanitized(config.limits);
  env_ = std::shared_ptr<connection_env>(new connection_env{
      limits, std::move(observer), auth_settings{}, backend_env{}, pool_.get(),
      net::byte_budget(io, net::byte_budget_config{.bytes_max = limits.inflight_bytes_max}), {}, {}, config.tls});
  env_->next_process_id = 1000;
  auto random = auth::system_random();
  env_->auth.method = config.auth;
  env_->auth.trust_remote = config.trust_remote;
  for (const auto& u : config.users) env_->auth.users.push_back(make_credential(u.name, u.password, random));
  env_->backend.engine = &engine;
  env_->backend.auth = &env_->auth;
  env_->backend.limits = backend_limits_of(limits);
  env_->backend.random = random;
  env_->backend.tls_available = config.tls != nullptr;
}

server::~server() {
  stop();
  pool_->join();
  for (auto& weak : connections_) {
    if (auto c = weak.lock()) c->release_session();
  }
}

status server::start(const std::string& flag) {
  tcp_ = std::make_shared<net::listener>(
      io_, "PostgreSQL", env_->limits.connections_max, [this](asio::ip::tcp::socket socket, std::shared_ptr<void> slot) {
        boost::system::error_code ec;
        auto ep = socket.remote_endpoint(ec);
        std::string peer = ec ? "unknown peer" : fmt::format("{}:{}", ep.address().to_string(), ep.port());
        const bool loopback = !ec && is_loopback(ep.address());
        std::erase_if(connections_, [](const std::weak_ptr<connection>& w) { return w.expired(); });
        auto c = std::make_shared<connection>(std::move(socket), std::move(slot), std::move(peer), loopback, env_);
        connections_.push_back(c);
        c->start();
      });
  return tcp_->start(listen_, flag);
}

void server::stop() {
  if (tcp_) tcp_->stop();
  for (auto& weak : connections_) {
    if (auto c = weak.lock()) c->close();
  }
}

uint16_t server::port() const { return tcp_ ? tcp_->port() : 0; }

uint32_t server::open_connections() const { return tcp_ ? tcp_->open_connections() : 0; }

result<user> parse_user(std::string_view text, std::string_view flag) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} {}: expected NAME:PASSWORD with a non-empty name and password", flag,
                                  colon == std::string_view::npos ? std::string(text) : std::string(text.substr(0, colon)) + ":***"));
  }
  return user{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

result<auth_method> parse_auth_method(std::string_view text, std::string_view flag) {
  if (text == "trust") return auth_method::trust;
  if (text == "scram-sha-256") return auth_method::scram_sha_256;
  if (text == "md5") return auth_method::md5;
  return make_error(errc::invalid_argument,
                    fmt::format("{} {}: expected trust, scram-sha-256 or md5", flag, std::string(text)));
}

}  // namespace strata::pgwire
