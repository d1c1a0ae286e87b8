// One Kafka client connection, plain or TLS. Reads size-prefixed request
// frames, checks them against the limits, dispatches each to its API handler,
// and writes the responses back in request order (the protocol requires it)
// even when handlers finish out of order. A frame that cannot be a valid
// request, or a TLS handshake that fails or does not finish in time, closes
// the connection, as Kafka brokers do; other connections are unaffected.
#pragma once

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "kafka/server/sasl_session.h"
#include "kafka/server/server.h"
#include "net/byte_budget.h"
#include "net/stream.h"

namespace strata::kafka {

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(net::stream stream, std::shared_ptr<void> slot, services& svc, std::shared_ptr<connection_env> env);
  void start();

 private:
  struct pending {
    request_header header;
    net::byte_budget::grant request_grant;  // the request frame's bytes
    uint64_t response_bytes_reserved = 0;   // taken from the budget when the response was queued
    uint64_t request_bytes = 0;
    std::chrono::steady_clock::time_point started;
    bool done = false;
    std::optional<std::vector<uint8_t>> body;
    std::vector<uint8_t> head;  // size prefix and response header
    bool bare_token = false;    // a SASL token after a v0 handshake: a size prefix, no header
  };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> idle_watchdog();
  void arm_deadline(int64_t timeout_ms, const char* what_did_not_happen);
  void handle_frame(std::vector<uint8_t> frame, net::byte_budget::grant grant);
  void handle_bare_token(std::vector<uint8_t> frame, net::byte_budget::grant grant);
  bool allowed_before_authentication(int16_t api_key) const;
  void after_sasl_step();
  void release(pending& p);
  void reject(rejection why, int16_t api_key, const std::string& detail);
  void on_response(uint64_t seq, std::optional<std::vector<uint8_t>> body);
  void write_next();
  void finish_front();
  void close();

  net::stream stream_;
  std::shared_ptr<void> slot_;
  services& services_;
  std::shared_ptr<connection_env> env_;
  const server_limits& limits_;
  net::byte_budget& budget_;
  const server_observer& observer_;
  std::string peer_;
  std::string client_host_;
  std::string client_ip_;
  bool from_cluster_node_ = false;
  std::unique_ptr<sasl_session> sasl_;  // on SASL listeners
  std::string principal_ = "User:ANONYMOUS";
  bool close_after_write_ = false;  // authentication failed: close once the answer is out
  std::shared_ptr<connection_throttle> throttle_ = std::make_shared<connection_throttle>();
  std::map<uint64_t, pending> pending_;
  uint64_t next_seq_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_activity_;
  boost::asio::steady_timer gate_;   // wakes the reader when in-flight requests drop
  boost::asio::steady_timer idle_;
  boost::asio::steady_timer deadline_;  // closes a connection that stalls in a handshake or inside a frame
};

}  // namespace strata::kafka
