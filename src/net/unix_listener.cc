#include "net/unix_listener.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace strata::net {

using boost::asio::local::stream_protocol;

namespace {
constexpr mode_t socket_mode = 0660;  // owner and group may connect
}

unix_listener::unix_listener(boost::asio::io_context& io, std::string name, uint32_t connections_max,
                             session_factory factory)
    : io_(io), gate_(io, std::move(name), connections_max), factory_(std::move(factory)), acceptor_(io) {}

unix_listener::~unix_listener() { stop(); }

status unix_listener::remove_stale_socket(const std::string& path, const std::string& flag) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return make_error(errc::unavailable, fmt::format("{} {}: cannot inspect the path: {}", flag, path, std::strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return make_error(errc::already_exists,
                      fmt::format("{} {}: the path exists and is not a socket; remove it or pass another path", flag, path));
  }
  // A socket file: live if something accepts on it, stale if the connect is refused.
  stream_protocol::socket probe(io_);
  boost::system::error_code ec;
  probe.connect(stream_protocol::endpoint(path), ec);
  if (!ec) {
    return make_error(errc::unavailable,
                      fmt::format("{} {}: another process is listening on this socket; stop it or pass another path", flag, path));
  }
  if (ec != boost::asio::error::connection_refused) {
    return make_error(errc::unavailable, fmt::format("{} {}: cannot tell whether the socket is in use: {}", flag, path, ec.message()));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return make_error(errc::unavailable, fmt::format("{} {}: cannot remove the stale socket: {}", flag, path, std::strerror(errno)));
  }
  spdlog::info("{}: removed the stale socket file {}", gate_.name(), path);
  return {};
}

status unix_listener::start(const std::string& path, const std::string& flag) {
  constexpr size_t path_bytes_max = sizeof(sockaddr_un::sun_path) - 1;
  if (path.empty() || path.size() > path_bytes_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} '{}': a unix socket path must be 1 to {} bytes long", flag, path, path_bytes_max));
  }
  STRATA_TRY(remove_stale_socket(path, flag));
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    return make_error(errc::unavailable, fmt::format("cannot listen on {} for {}: {} failed: {}; pass {} to choose another path",
                                                     path, gate_.name(), what, ec.message(), flag));
  };
  stream_protocol::endpoint endpoint(path);
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind");
  path_ = path;
  bound_ = true;
  if (::chmod(path.c_str(), socket_mode) != 0) {
    ec = boost::system::error_code(errno, boost::system::system_category());
    return fail("chmod");
  }
  acceptor_.listen(stream_protocol::socket::max_listen_connections, ec);
  if (ec) return fail("listen");
  accept_next();
  return {};
}

void unix_listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  gate_.stop();
  if (bound_) {
    ::unlink(path_.c_str());
    bound_ = false;
  }
}

void unix_listener::accept_next() {
  acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec, stream_protocol::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) return self->gate_.back_off(ec, [self] { self->accept_next(); });
    if (auto slot = self->gate_.admit()) {
      self->factory_(std::move(socket), std::move(slot));
    } else {
      boost::system::error_code ignored;
      socket.close(ignored);
    }
    self->accept_next();
  });
}

}  // namespace strata::net
