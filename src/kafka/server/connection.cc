#include "kafka/server/connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/buffer_pool.h"
#include "kafka/server/handlers/api_versions.h"
#include "net/byte_budget.h"
#include "net/transfer.h"
#include "net/tls.h"

namespace strata::kafka {

namespace asio = boost::asio;

namespace {
constexpr uint32_t request_header_bytes_min = 8;  // api key, version, correlation id
constexpr size_t responses_per_write_max = 64;

int32_t load_i32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
}
}  // namespace

const char* rejection_name(rejection r) {
  switch (r) {
    case rejection::oversized_frame: return "oversized_frame";
    case rejection::malformed_header: return "malformed_header";
    case rejection::unknown_api: return "unknown_api";
    case rejection::unsupported_version: return "unsupported_version";
    case rejection::undecodable_body: return "undecodable_body";
    case rejection::unauthenticated: return "unauthenticated";
  }
  return "unknown";
}

connection::connection(net::stream stream, std::shared_ptr<void> slot, services& svc, std::shared_ptr<connection_env> env)
    : stream_(std::move(stream)),
      slot_(std::move(slot)),
      services_(svc),
      env_(std::move(env)),
      limits_(env_->limits),
      budget_(*env_->budget),
      observer_(env_->observer),
      last_activity_(std::chrono::steady_clock::now()),
      gate_(stream_.get_executor()),
      idle_(stream_.get_executor()),
      deadline_(stream_.get_executor()) {
  boost::system::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  peer_ = ec ? "unknown peer" : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  client_ip_ = ec ? "" : ep.address().to_string();
  client_host_ = ec ? "" : "/" + client_ip_;
  if (uses_sasl(env_->listener.protocol)) sasl_ = std::make_unique<sasl_session>(svc.users, auth::system_random());
}

void connection::start() {
  asio::co_spawn(stream_.get_executor(), [self = shared_from_this()] { return self->run(); }, asio::detached);
}

asio::awaitable<void> connection::run() {
  auto self = shared_from_this();
  if (!co_await handshake()) {
    close();
    co_return;
  }
  asio::co_spawn(stream_.get_executor(), [self] { return self->idle_watchdog(); }, asio::detached);
  co_await read_loop();
}

// True once a TLS connection is established (at once for plain TCP). The
// handshake holds a connection slot, so a flood of stalled handshakes is
// bounded by the listener's limit and each ends at the timeout.
asio::awaitable<bool> connection::handshake() {
  auto* tls = stream_.tls();
  if (!tls) co_return true;
  boost::system::error_code ec;
  arm_deadline(limits_.tls_handshake_timeout_ms, "the TLS handshake did not finish");
  co_await tls->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  deadline_.cancel();
  if (closed_) co_return false;  // the deadline closed it, and said so
  if (ec) {
    spdlog::warn("kafka: TLS handshake with {} failed: {}; connection closed", peer_, net::handshake_failure(ec, *tls));
    co_return false;
  }
  from_cluster_node_ = env_->listener.tls.peers_are_nodes && net::peer_verified(*tls);
  if (env_->listener.principal_from_certificate) principal_ = "User:" + net::peer_subject(*tls);
  co_return true;
}

void connection::arm_deadline(int64_t timeout_ms, const char* what_did_not_happen) {
  deadline_.expires_after(std::chrono::milliseconds(timeout_ms));
  deadline_.async_wait([weak = weak_from_this(), timeout_ms, what_did_not_happen](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    spdlog::warn("kafka: closing connection from {}: {} within {} ms", self->peer_, what_did_not_happen, timeout_ms);
    self->close();
  });
}

asio::awaitable<void> connection::read_loop() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  auto on_error = asio::redirect_error(asio::use_awaitable, ec);
  while (!closed_) {
    if (close_after_write_) co_return;  // the failed login's answer closes the connection once written
    if (throttle_->until > std::chrono::steady_clock::now()) {  // over a quota: muted (KIP-219)
      gate_.expires_at(throttle_->until);
      co_await gate_.async_wait(on_error);
      continue;
    }
    uint8_t size_prefix[4];
    co_await asio::async_read(stream_, asio::buffer(size_prefix), on_error);
    if (ec || closed_) break;
    last_activity_ = std::chrono::steady_clock::now();
    int32_t size = load_i32(size_prefix);
    if (size < static_cast<int32_t>(request_header_bytes_min) || static_cast<uint32_t>(size) > limits_.request_bytes_max) {
      reject(rejection::oversized_frame, -1,
             fmt::format("request frame of {} bytes is outside 8..{} (request_bytes_max)", size, limits_.request_bytes_max));
      break;
    }
    while (!closed_ && pending_.size() >= limits_.requests_in_flight_max) {
      gate_.expires_at(asio::steady_timer::time_point::max());
      co_await gate_.async_wait(on_error);
    }
    if (closed_) break;
    auto grant = co_await budget_.acquire(static_cast<uint64_t>(size));
    std::vector<uint8_t> frame(static_cast<size_t>(size));
    arm_deadline(limits_.frame_body_timeout_ms, "a request body did not arrive");
    co_await asio::async_read(stream_, asio::buffer(frame), net::transfer_whole_buffer(), on_error);
    deadline_.cancel();
    if (ec || closed_) {
      budget_.release(grant);
      break;
    }
    last_activity_ = std::chrono::steady_clock::now();
    handle_frame(std::move(frame), grant);
  }
  close();
}

asio::awaitable<void> connection::idle_watchdog() {
  auto self = shared_from_this();
  const auto idle_limit = std::chrono::milliseconds(limits_.idle_timeout_ms);
  boost::system::error_code ec;
  while (!closed_) {
    idle_.expires_after(idle_limit);
    co_await idle_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (pending_.empty() && std::chrono::steady_clock::now() - last_activity_ >= idle_limit) {
      spdlog::info("kafka: closing idle connection from {}", peer_);
      close();
    }
  }
}

// Kafka brokers serve nothing but these until a SASL client has logged in.
bool connection::allowed_before_authentication(int16_t key) const {
  return key == static_cast<int16_t>(api_key::api_versions) || key == static_cast<int16_t>(api_key::sasl_handshake) ||
         key == static_cast<int16_t>(api_key::sasl_authenticate);
}

void connection::after_sasl_step() {
  if (!sasl_) return;
  if (sasl_->authenticated() && principal_ != sasl_->principal()) {
    principal_ = sasl_->principal();
    spdlog::info("kafka: {} logged in as {} with {}", peer_, principal_, sasl_->mechanism());
  } else if (sasl_->failed() && !close_after_write_) {
    spdlog::warn("kafka: {} failed to log in with {}; closing the connection", peer_, sasl_->mechanism());
    close_after_write_ = true;
  }
}

// A bare token (after a v0 SaslHandshake) is answered with a bare token; a
// failure closes the connection at once, as Kafka does in that framing.
void connection::handle_bare_token(std::vector<uint8_t> frame, net::byte_budget::grant grant) {
  auto step = sasl_->on_token(frame);
  budget_.release(grant);
  if (step.error != error_code::none) {
    spdlog::warn("kafka: {} failed to log in with {}: {}; closing the connection", peer_, sasl_->mechanism(), step.message);
    return close();
  }
  uint64_t seq = next_seq_++;
  pending& p = pending_[seq];
  p.bare_token = true;
  p.request_bytes = frame.size() + 4;
  p.started = std::chrono::steady_clock::now();
  after_sasl_step();
  on_response(seq, std::move(step.reply));
}

void connection::handle_frame(std::vector<uint8_t> frame, net::byte_budget::grant grant) {
  if (sasl_ && sasl_->expects_bare_token()) return handle_bare_token(std::move(frame), grant);
  const uint64_t frame_bytes = frame.size();
  reader r(frame);
  auto header = decode_request_header(r);
  if (!header) {
    budget_.release(grant);
    return reject(rejection::malformed_header, -1, "the request header is malformed");
  }
  const api_info* api = find_api(header->api_key);
  if (!api) {
    budget_.release(grant);
    return reject(rejection::unknown_api, header->api_key, fmt::format("API key {} is not supported", header->api_key));
  }
  if (sasl_ && !sasl_->authenticated() && !allowed_before_authentication(header->api_key)) {
    budget_.release(grant);
    return reject(rejection::unauthenticated, header->api_key,
                  fmt::format("{} before SASL authentication; a SASL listener serves only ApiVersions, "
                              "SaslHandshake and SaslAuthenticate until the client has logged in",
                              api->name));
  }
  uint64_t seq = next_seq_++;
  pending& p = pending_[seq];
  p.header = *header;
  p.request_grant = grant;
  p.request_bytes = frame_bytes + 4;
  p.started = std::chrono::steady_clock::now();
  std::weak_ptr<connection> weak = weak_from_this();
  respond_fn respond = [weak, seq](std::optional<std::vector<uint8_t>> body) {
    if (auto self = weak.lock()) self->on_response(seq, std::move(body));
  };
  if (header->api_version < api->min_version || header->api_version > api->max_version) {
    if (header->api_key == static_cast<int16_t>(api_key::api_versions)) {
      // KIP-511: answer in v0 with UNSUPPORTED_VERSION and our ranges, so the client can retry.
      p.header.api_version = 0;
      p.header.flexible = false;
      return respond(handlers::encode_api_versions(0, error_code::unsupported_version));
    }
    pending_.erase(seq);
    budget_.release(grant);
    return reject(rejection::unsupported_version, header->api_key,
                  fmt::format("{} v{} is not supported (versions {} to {})", api->name, header->api_version,
                              api->min_version, api->max_version));
  }
  handler_fn handler = find_handler(header->api_key);
  STRATA_ASSERT(handler != nullptr, "every API in the table has a handler");
  const request req{.header = *header,
                    .body = std::span<const uint8_t>(frame).subspan(r.position()),
                    .client_host = client_host_,
                    .from_cluster_node = from_cluster_node_,
                    .principal = principal_,
                    .client_ip = client_ip_,
                    .sasl = sasl_.get(),
                    .node_listener = env_->listener.node_listener,
                    .advertised_host = env_->listener.advertised_host,
                    .advertised_port = env_->advertised_port,
                    .listener_name = protocol_name(env_->listener.protocol),
                    .throttle = throttle_};
  status s = handler(services_, req, std::move(respond));
  after_sasl_step();
  if (!s.ok()) {
    reject(rejection::undecodable_body, header->api_key,
           fmt::format("{} v{} request body could not be decoded: {}", api->name, header->api_version, s.err().message));
  }
}

void connection::reject(rejection why, int16_t api_key, const std::string& detail) {
  spdlog::warn("kafka: closing connection from {}: {}", peer_, detail);
  if (observer_.on_rejection) observer_.on_rejection(why, api_key);
  close();
}

void connection::on_response(uint64_t seq, std::optional<std::vector<uint8_t>> body) {
  if (closed_) return;
  auto it = pending_.find(seq);
  STRATA_ASSERT(it != pending_.end() && !it->second.done, "a handler responded twice");
  pending& p = it->second;
  p.done = true;
  if (body) {
    writer w(p.head);
    size_t size_at = w.reserve_i32();
    if (!p.bare_token) encode_response_header(w, p.header);
    w.patch_i32(size_at, static_cast<int32_t>(p.head.size() - 4 + body->size()));
    budget_.add(body->size());  // counted so that large responses also push back on readers
    p.response_bytes_reserved = body->size();
    p.body = std::move(body);
  }
  if (observer_.on_request) {
    request_stats stats;
    stats.api_key = p.header.api_key;
    stats.api_version = p.header.api_version;
    stats.request_bytes = p.request_bytes;
    stats.response_bytes = p.body ? p.head.size() + p.body->size() : 0;
    stats.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p.started).count();
    observer_.on_request(stats);
  }
  write_next();
}

void connection::release(pending& p) {
  budget_.release(p.request_grant);
  budget_.release_unowned(p.response_bytes_reserved);
  p.request_grant = {};
  p.response_bytes_reserved = 0;
}

void connection::finish_front() {
  auto front = pending_.begin();
  release(front->second);
  // Large response bodies (Fetch) are kept for the next response on this thread.
  if (front->second.body) buffer_pool::give(std::move(*front->second.body));
  pending_.erase(front);
  gate_.cancel();
}

// Sends every finished response at the front in one write (up to
// responses_per_write_max): when an acks=all high watermark moves, dozens of
// responses finish at once, and one write each would cost a trip through the
// event loop apiece.
void connection::write_next() {
  if (writing_ || closed_) return;
  while (!pending_.empty() && pending_.begin()->second.done && !pending_.begin()->second.body) {
    finish_front();  // nothing is sent back (Produce with acks=0)
  }
  std::vector<asio::const_buffer> buffers;
  size_t responses = 0;
  for (auto it = pending_.begin(); it != pending_.end() && responses < responses_per_write_max; ++it) {
    if (!it->second.done || !it->second.body) break;  // a body-less one finishes once it is at the front
    buffers.push_back(asio::buffer(it->second.head));
    buffers.push_back(asio::buffer(*it->second.body));
    ++responses;
  }
  if (responses == 0) return;
  writing_ = true;
  auto on_written = [self = shared_from_this(), responses](const boost::system::error_code& ec, size_t) {
    self->writing_ = false;
    if (self->closed_) return;
    self->last_activity_ = std::chrono::steady_clock::now();
    for (size_t i = 0; i < responses; ++i) self->finish_front();
    if (ec || (self->close_after_write_ && self->pending_.empty())) return self->close();
    self->write_next();
  };
  asio::async_write(stream_, buffers, net::transfer_whole_buffer(), std::move(on_written));
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  stream_.close();
  gate_.cancel();
  idle_.cancel();
  deadline_.cancel();
  for (auto& [seq, p] : pending_) release(p);
  pending_.clear();
  slot_.reset();
}

}  // namespace strata::kafka
