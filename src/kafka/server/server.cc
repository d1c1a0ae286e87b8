#include "kafka/server/server.h"

#include "kafka/server/connection.h"
#include "net/byte_budget.h"
#include "net/listener.h"

namespace strata::kafka {

server::server(boost::asio::io_context& io, services& svc, server_limits limits, server_observer observer,
               listener_settings listener)
    : io_(io),
      services_(svc),
      env_(std::make_shared<connection_env>(connection_env{
          limits, std::move(observer),
          std::make_unique<net::byte_budget>(io, net::byte_budget_config{.bytes_max = limits.inflight_bytes_max}),
          std::move(listener), 0})) {}

server::~server() { stop(); }

status server::start(const std::string& listen, const std::string& flag, const std::string& name) {
  listener_ = std::make_shared<net::listener>(
      io_, name, env_->limits.connections_max,
      [this](boost::asio::ip::tcp::socket socket, std::shared_ptr<void> slot) {
        auto* tls = env_->listener.tls.context.get();
        auto stream = tls ? net::stream(std::move(socket), *tls) : net::stream(std::move(socket));
        std::make_shared<connection>(std::move(stream), std::move(slot), services_, env_)->start();
      });
  STRATA_TRY(listener_->start(listen, flag));
  env_->advertised_port = listener_->port();
  return {};
}

void server::stop() {
  if (listener_) listener_->stop();
}

uint16_t server::port() const { return listener_ ? listener_->port() : 0; }

}  // namespace strata::kafka
