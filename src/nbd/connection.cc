#include "nbd/connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace strata::nbd {

namespace asio = boost::asio;

namespace {
constexpr size_t discard_chunk_bytes = 64 * KiB;

handshake_limits handshake_limits_of(const server_limits& l) {
  handshake_limits h;
  h.option_bytes_max = l.option_bytes_max;
  h.options_max = l.options_max;
  h.block_bytes_max = l.request_bytes_max;
  h.block_status_extents_max = l.block_status_extents_max;
  return h;
}
}  // namespace

connection::connection(socket_type socket, std::shared_ptr<void> slot, std::string peer, std::shared_ptr<connection_env> env)
    : socket_(std::move(socket)),
      slot_(std::move(slot)),
      peer_(std::move(peer)),
      env_(std::move(env)),
      handshake_(env_->volumes, handshake_limits_of(env_->limits)),
      deadline_(socket_.get_executor()),
      gate_(socket_.get_executor()) {}

void connection::start() {
  asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->run(); }, asio::detached);
}

asio::awaitable<void> connection::run() {
  auto self = shared_from_this();
  if (co_await negotiate()) co_await serve();
  if (!disconnecting_) close();
}

void connection::arm(int64_t timeout_ms, rejection why) {
  deadline_.expires_after(std::chrono::milliseconds(timeout_ms));
  deadline_.async_wait([weak = weak_from_this(), why](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    self->reject(why);
  });
}

void connection::disarm() { deadline_.cancel(); }

void connection::arm_idle_if_quiet() {
  // Idle means no request in flight and none arriving; a client waiting on a
  // slow reply is not idle.
  if (env_->limits.idle_timeout_ms > 0 && awaiting_request_ && in_flight_ == 0 && !closed_) {
    arm(env_->limits.idle_timeout_ms, rejection::idle_timeout);
  }
}

void connection::reject(rejection why) {
  spdlog::warn("nbd: closing the connection from {}: {}", peer_, rejection_name(why));
  if (env_->observer.on_rejection) env_->observer.on_rejection(why);
  close();
}

asio::awaitable<bool> connection::read_exact(std::span<uint8_t> into) {
  boost::system::error_code ec;
  co_await asio::async_read(socket_, asio::buffer(into.data(), into.size()), asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && !closed_;
}

asio::awaitable<bool> connection::discard(uint64_t bytes) {
  std::vector<uint8_t> scratch(std::min<uint64_t>(bytes, discard_chunk_bytes));
  while (bytes > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, scratch.size()));
    if (!co_await read_exact(std::span(scratch.data(), n))) co_return false;
    bytes -= n;
  }
  co_return true;
}

asio::awaitable<bool> connection::send(const std::vector<uint8_t>& bytes) {
  boost::system::error_code ec;
  co_await asio::async_write(socket_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && !closed_;
}

asio::awaitable<handshake::step> connection::decide_option(std::shared_ptr<connection> self, handshake::option_header header,
                                                           std::vector<uint8_t> payload) {
  co_return self->handshake_.on_option(header, payload);
}

asio::awaitable<bool> connection::negotiate() {
  const auto& limits = env_->limits;
  arm(limits.handshake_timeout_ms, rejection::handshake_timeout);
  const auto greeting = handshake::greeting();
  if (!co_await send(greeting)) co_return false;
  uint8_t flags[client_flags_bytes];
  if (!co_await read_exact(flags)) co_return false;
  if (auto s = handshake_.on_client_flags(flags); s.then == handshake::next::close) {
    reject(s.why);
    co_return false;
  }
  for (;;) {
    arm(limits.handshake_timeout_ms, rejection::handshake_timeout);
    uint8_t header_bytes[option_header_bytes];
    if (!co_await read_exact(header_bytes)) co_return false;
    handshake::option_header header;
    auto plan = handshake_.on_option_header(header_bytes, header);
    if (plan == handshake::payload_plan::close) {
      if (handshake_.why() != rejection::none) reject(handshake_.why());
      co_return false;
    }
    handshake::step step;
    if (plan == handshake::payload_plan::discard) {
      if (!co_await discard(header.length)) co_return false;
      step = handshake_.on_oversized_option(header);
    } else {
      std::vector<uint8_t> payload(header.length);
      if (!co_await read_exact(payload)) co_return false;
      // The option may open an export (disk I/O): decide it on a worker. (No
      // lambda with captures inside co_await: GCC 12 destroys its captures twice.)
      auto decision = decide_option(shared_from_this(), header, std::move(payload));
      step = co_await asio::co_spawn(env_->workers, std::move(decision), asio::use_awaitable);
      if (closed_) co_return false;
    }
    if (!step.reply.empty() && !co_await send(step.reply)) co_return false;
    if (step.then == handshake::next::close) {
      if (step.why != rejection::none) reject(step.why);
      co_return false;
    }
    if (step.then == handshake::next::transmission) break;
  }
  disarm();
  export_ = handshake_.take_export();
  session_ = std::make_shared<const session>(handshake_.negotiated());
  if (env_->observer.on_session) env_->observer.on_session();
  spdlog::debug("nbd: {} opened export '{}'{}", peer_, session_->export_name,
                session_->structured_replies ? " with structured replies" : "");
  co_return true;
}

asio::awaitable<void> connection::serve() {
  const auto& limits = env_->limits;
  boost::system::error_code ec;
  while (!closed_) {
    while (!closed_ && in_flight_ >= limits.requests_in_flight_max) {
      gate_.expires_at(asio::steady_timer::time_point::max());
      co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (closed_) break;
    awaiting_request_ = true;
    arm_idle_if_quiet();
    uint8_t header_bytes[request_header_bytes];
    if (!co_await read_exact(header_bytes)) break;
    awaiting_request_ = false;
    disarm();
    const auto started = clock::now();
    request r;
    if (!decode_request(header_bytes, r)) {
      reject(rejection::bad_request_magic);
      break;
    }
    if (r.type == cmd_disc) {
      disconnecting_ = true;  // no reply; finish what is in flight, then hang up
      finish_disconnect_if_done();
      co_return;
    }
    verdict v = check_request(*session_, r);
    ++in_flight_;
    if (has_payload(r)) {
      if (v.error != 0) {
        // Skip the refused payload in small pieces instead of buffering it.
        arm(limits.payload_timeout_ms, rejection::payload_timeout);
        if (!co_await discard(r.length)) break;
        disarm();
        complete(r, make_reply(*session_, r, v.error, v.message), {}, started);
        continue;
      }
      auto grant = co_await env_->budget.acquire(r.length);
      if (closed_) {
        env_->budget.release(grant);
        break;
      }
      buffer payload(r.length);
      arm(limits.payload_timeout_ms, rejection::payload_timeout);
      bool got = co_await read_exact(payload.span());
      disarm();
      if (!got) {
        env_->budget.release(grant);
        break;
      }
      submit(r, std::move(payload), grant, started);
      continue;
    }
    if (v.error != 0) {
      complete(r, make_reply(*session_, r, v.error, v.message), {}, started);
      continue;
    }
    net::byte_budget::grant grant;
    if (r.type == cmd_read) grant = co_await env_->budget.acquire(r.length);  // the reply's bytes
    if (closed_) {
      env_->budget.release(grant);
      break;
    }
    submit(r, {}, grant, started);
  }
}

void connection::submit(const request& r, buffer payload, net::byte_budget::grant grant, clock::time_point started) {
  asio::post(env_->workers, [self = shared_from_this(), io = socket_.get_executor(), exp = export_, sess = session_, r,
                             payload = std::move(payload), grant, started]() mutable {
    reply body = execute(*exp, *sess, r, payload.span());
    exp.reset();  // no handle is held past the worker
    payload = buffer();
    asio::post(io, [self = std::move(self), r, body = std::move(body), grant, started]() mutable {
      self->complete(r, std::move(body), grant, started);
    });
  });
}

void connection::complete(const request& r, reply body, net::byte_budget::grant grant, clock::time_point started) {
  if (closed_) {
    env_->budget.release(grant);
    return;
  }
  if (env_->observer.on_request) {
    request_stats stats;
    stats.command = r.type;
    stats.error = body.error;
    if (body.error == 0) {
      if (r.type == cmd_read) stats.read_bytes = r.length;
      if (r.type == cmd_write) stats.write_bytes = r.length;
    }
    stats.latency_ms = std::chrono::duration<double, std::milli>(clock::now() - started).count();
    env_->observer.on_request(stats);
  }
  outgoing out;
  out.body = std::move(body);
  out.grant = grant;
  queue_.push_back(std::move(out));
  write_next();
}

void connection::write_next() {
  if (writing_ || closed_ || queue_.empty()) return;
  writing_ = true;
  outgoing& front = queue_.front();
  front.buffers.reserve(front.body.pieces.size());
  for (const auto& p : front.body.pieces) {
    const uint8_t* base = p.from_payload ? front.body.payload.data() : front.body.head.data();
    front.buffers.emplace_back(base + p.offset, p.length);
  }
  asio::async_write(socket_, front.buffers, [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    self->writing_ = false;
    self->env_->budget.release(self->queue_.front().grant);
    self->queue_.pop_front();
    if (self->in_flight_ > 0) --self->in_flight_;
    self->gate_.cancel();
    if (ec || self->closed_) return self->close();
    self->arm_idle_if_quiet();
    self->write_next();
    self->finish_disconnect_if_done();
  });
}

void connection::finish_disconnect_if_done() {
  if (disconnecting_ && in_flight_ == 0 && queue_.empty() && !writing_) close();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(socket_type::shutdown_both, ignored);
  socket_.close(ignored);
  deadline_.cancel();
  gate_.cancel();
  // The reply being written (if any) is released by its write handler.
  size_t keep = writing_ ? 1 : 0;
  while (queue_.size() > keep) {
    env_->budget.release(queue_.back().grant);
    queue_.pop_back();
  }
  export_.reset();
  slot_.reset();
}

void connection::release_exports() {
  export_.reset();
  handshake_.take_export().reset();
}

}  // namespace strata::nbd
