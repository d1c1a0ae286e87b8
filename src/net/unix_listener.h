// A unix-domain stream listener, the local twin of `listener`: binds a socket
// path (mode 0660), accepts until stopped, and hands each socket to a session
// factory while fewer than connections_max are open; past the limit a new
// connection is closed at once and counted.
//
// A socket file left behind by a process that died is removed before
// binding; a path where another process still listens, or that is not a
// socket, is refused rather than deleted. stop() removes the socket file.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "net/accept_gate.h"

namespace strata::net {

class unix_listener : public std::enable_shared_from_this<unix_listener> {
 public:
  using socket = boost::asio::local::stream_protocol::socket;
  // As for `listener`: the session keeps `slot` while open; its destruction
  // frees the connection slot.
  using session_factory = std::function<void(socket, std::shared_ptr<void> slot)>;

  unix_listener(boost::asio::io_context& io, std::string name, uint32_t connections_max, session_factory factory);
  ~unix_listener();

  // Binds `path` and starts accepting. `flag` names the setting in errors.
  status start(const std::string& path, const std::string& flag);
  void stop();
  const std::string& path() const { return path_; }
  uint32_t open_connections() const { return gate_.open(); }
  uint64_t refused_connections() const { return gate_.refused(); }

 private:
  status remove_stale_socket(const std::string& path, const std::string& flag);
  void accept_next();

  boost::asio::io_context& io_;
  accept_gate gate_;
  session_factory factory_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  bool bound_ = false;  // we created the socket file, so stop() removes it
};

}  // namespace strata::net
