// An nbd::server on its own io_context thread, for tests that drive it with
// real clients (test_client, nbdfuse). stop() stops it on its own thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "nbd/server.h"

namespace strata::nbd::testing {

class running_server {
 public:
  ~running_server() { stop(); }

  status start(volumes::service& volumes, const std::string& tcp_listen, const std::string& unix_socket) {
    io_ = std::make_unique<boost::asio::io_context>();
    server_ = std::make_unique<server>(*io_, volumes);
    STRATA_TRY(server_->start(tcp_listen, unix_socket));
    thread_ = std::thread([this] { io_->run(); });
    return {};
  }

  void stop() {
    if (!thread_.joinable()) return;
    std::promise<void> stopped;
    boost::asio::post(*io_, [&] {
      server_->stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    io_->stop();
    thread_.join();
    server_.reset();
    io_.reset();
  }

  uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<server> server_;
  std::thread thread_;
};

}  // namespace strata::nbd::testing
