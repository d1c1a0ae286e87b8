// A TCP listener: binds HOST:PORT, accepts until stopped, and hands each
// socket to a session factory while fewer than connections_max are open.
// Past the limit a new connection is closed at once (and counted), so a flood
// of connections cannot exhaust file descriptors or memory.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "net/accept_gate.h"

namespace strata::net {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Called with an accepted socket and a token; the session keeps the token
  // alive while it is open, and its destruction frees the connection slot.
  using session_factory = std::function<void(boost::asio::ip::tcp::socket, std::shared_ptr<void> slot)>;

  listener(boost::asio::io_context& io, std::string name, uint32_t connections_max, session_factory factory);

  // Binds and starts accepting. `flag` names the setting in errors.
  status start(const std::string& host_port_text, const std::string& flag);
  void stop();
  uint16_t port() const { return port_; }
  uint32_t open_connections() const { return gate_.open(); }
  uint64_t refused_connections() const { return gate_.refused(); }
  const std::string& name() const { return gate_.name(); }

 private:
  void accept_next();
  boost::asio::io_context& io_;
  accept_gate gate_;
  session_factory factory_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
};

}  // namespace strata::net
