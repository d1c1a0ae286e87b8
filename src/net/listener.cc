#include "net/listener.h"

#include <fmt/format.h>

#include "net/endpoint.h"

namespace strata::net {

using boost::asio::ip::tcp;

listener::listener(boost::asio::io_context& io, std::string name, uint32_t connections_max, session_factory factory)
    : io_(io), gate_(io, std::move(name), connections_max), factory_(std::move(factory)), acceptor_(io) {}

status listener::start(const std::string& text, const std::string& flag) {
  auto hp = parse_host_port(text, flag);
  STRATA_TRY(hp);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(hp->host, ec);
  if (ec) {
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(hp->host, std::to_string(hp->port), ec);
    if (ec || results.empty()) {
      return make_error(errc::invalid_argument, fmt::format("{} {}: cannot resolve host {}: {}", flag, text, hp->host, ec.message()));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, hp->port);
  auto fail = [&](const char* what) {
    return make_error(errc::unavailable,
                      fmt::format("cannot listen on {} for {}: {} failed: {}; pass {} to choose another address", text, gate_.name(),
                                  what, ec.message(), flag));
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor_.listen(tcp::socket::max_listen_connections, ec);
  if (ec) return fail("listen");
  port_ = acceptor_.local_endpoint().port();
  accept_next();
  return {};
}

void listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  gate_.stop();
}

void listener::accept_next() {
  acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) return self->gate_.back_off(ec, [self] { self->accept_next(); });
    boost::system::error_code ignored;
    if (auto slot = self->gate_.admit()) {
      socket.set_option(tcp::no_delay(true), ignored);
      self->factory_(std::move(socket), std::move(slot));
    } else {
      socket.close(ignored);
    }
    self->accept_next();
  });
}

}  // namespace strata::net
