#include "net/accept_gate.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace strata::net {

std::shared_ptr<void> accept_gate::admit() {
  if (*open_ >= connections_max_) {
    ++refused_;
    spdlog::warn("{}: refusing a connection: {} open, the limit is {}", name_, *open_, connections_max_);
    return nullptr;
  }
  ++*open_;
  // Points at the counter it decrements, which the deleter keeps alive.
  return std::shared_ptr<void>(open_.get(), [open = open_](void*) { --*open; });
}

void accept_gate::back_off(const boost::system::error_code& ec, std::function<void()> retry) {
  constexpr auto accept_retry_delay = std::chrono::milliseconds(100);
  spdlog::warn("{}: accept failed: {}; retrying in {} ms", name_, ec.message(), accept_retry_delay.count());
  retry_.expires_after(accept_retry_delay);
  retry_.async_wait([retry = std::move(retry)](const boost::system::error_code& wait_ec) {
    if (!wait_ec) retry();
  });
}

}  // namespace strata::net
