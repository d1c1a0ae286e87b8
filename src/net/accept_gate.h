// What the TCP and the unix-socket listeners share: the connection limit, the
// slot token whose destruction frees a place, and the back-off after a failed
// accept (EMFILE, ENFILE), so that running out of descriptors cannot spin the
// accept loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace strata::net {

class accept_gate {
 public:
  accept_gate(boost::asio::io_context& io, std::string name, uint32_t connections_max)
      : name_(std::move(name)), connections_max_(connections_max), retry_(io) {}

  // A slot for a new connection, or nullptr (logged and counted) past the limit.
  std::shared_ptr<void> admit();
  // Logs the failed accept and calls `retry` once the back-off delay has passed.
  void back_off(const boost::system::error_code& ec, std::function<void()> retry);
  void stop() { retry_.cancel(); }

  const std::string& name() const { return name_; }
  uint32_t open() const { return *open_; }
  uint64_t refused() const { return refused_; }

 private:
  std::string name_;
  uint32_t connections_max_;
  boost::asio::steady_timer retry_;
  std::shared_ptr<uint32_t> open_ = std::make_shared<uint32_t>(0);
  uint64_t refused_ = 0;
};

}  // namespace strata::net
