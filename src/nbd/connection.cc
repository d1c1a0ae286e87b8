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
#include <cstring>

#include "net/transfer.h"

namespace strata::nbd {

namespace asio = boost::asio;

namespace {
constexpr size_t discard_chunk_bytes = 64 * KiB;
// Per connection, allocated when transmission starts: one read takes in many
// request headers (and small WRITE payloads) at once.
constexpr size_t receive_buffer_bytes = 64 * KiB;
// Requests a worker runs for one connection before it lets others' turns in.
constexpr uint32_t drain_turn_jobs_max = 32;
// Bounds on the READs a worker gathers into one batch of disk reads, where
// the export batches them: small reads gain (one submission for many), large
// ones gain more from running on several workers at once.
constexpr size_t read_batch_requests_max = 32;
constexpr uint64_t read_batch_bytes_max = 1 * MiB;
// Bounds on one gathered write of replies (a single larger reply still goes alone).
constexpr size_t replies_per_write_max = 64;
constexpr size_t write_bytes_soft_max = 1 * MiB;

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
      net_executor_(socket_.get_executor()),
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
  co_await asio::async_read(socket_, asio::buffer(into.data(), into.size()), net::transfer_whole_buffer(),
                            asio::redirect_error(asio::use_awaitable, ec));
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
  co_await asio::async_write(socket_, asio::buffer(bytes), net::transfer_whole_buffer(),
                             asio::redirect_error(asio::use_awaitable, ec));
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
  rx_ = std::make_unique_for_overwrite<uint8_t[]>(receive_buffer_bytes);
  while (!closed_) {
    if (!co_await wait_for_room()) break;
    awaiting_request_ = true;
    const bool got_header = co_await buffer_at_least(request_header_bytes);
    awaiting_request_ = false;
    if (!got_header) break;
    const auto started = clock::now();
    request r;
    const bool magic_ok = decode_request(std::span(rx_.get() + rx_begin_, request_header_bytes), r);
    rx_begin_ += request_header_bytes;
    if (!magic_ok) {
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
    if (v.error != 0) {
      // A refused payload is skipped in small pieces instead of buffered.
      if (has_payload(r) && !co_await skip_payload(r.length)) break;
      answer_now(r, make_reply(*session_, r, v.error, v.message), started);
      continue;
    }
    // A WRITE's payload and a READ's reply draw on the budget until the reply is written.
    net::byte_budget::grant grant;
    if (r.type == cmd_read || has_payload(r)) grant = co_await env_->budget.acquire(r.length);
    if (closed_) {
      env_->budget.release(grant);
      break;
    }
    buffer payload;
    if (has_payload(r)) {
      payload = buffer(r.length);
      if (!co_await read_payload(payload)) {
        env_->budget.release(grant);
        break;
      }
    }
    submit(job{r, std::move(payload), grant, started});
  }
}

asio::awaitable<bool> connection::wait_for_room() {
  boost::system::error_code ec;
  while (!closed_ && in_flight_ >= env_->limits.requests_in_flight_max) {
    gate_.expires_at(asio::steady_timer::time_point::max());
    co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return !closed_;
}

asio::awaitable<bool> connection::buffer_at_least(size_t bytes) {
  if (buffered() >= bytes) co_return true;
  // Move the unread tail to the front, so the next read has the most room.
  if (rx_begin_ > 0) {
    std::memmove(rx_.get(), rx_.get() + rx_begin_, buffered());
    rx_end_ -= rx_begin_;
    rx_begin_ = 0;
  }
  arm_idle_if_quiet();
  boost::system::error_code ec;
  while (rx_end_ < bytes) {
    size_t got = co_await socket_.async_read_some(asio::buffer(rx_.get() + rx_end_, receive_buffer_bytes - rx_end_),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) co_return false;
    rx_end_ += got;
  }
  disarm();
  co_return true;
}

asio::awaitable<bool> connection::read_payload(buffer& payload) {
  const size_t have = std::min(buffered(), payload.size());
  if (have > 0) std::memcpy(payload.data(), rx_.get() + rx_begin_, have);
  rx_begin_ += have;
  if (have == payload.size()) co_return true;
  // The rest is not here yet: read it straight into the payload (no second
  // copy of a large WRITE), under the payload deadline.
  arm(env_->limits.payload_timeout_ms, rejection::payload_timeout);
  bool got = co_await read_exact(payload.span().subspan(have));
  disarm();
  co_return got;
}

asio::awaitable<bool> connection::skip_payload(uint64_t bytes) {
  const size_t have = static_cast<size_t>(std::min<uint64_t>(buffered(), bytes));
  rx_begin_ += have;
  if (have == bytes) co_return true;
  arm(env_->limits.payload_timeout_ms, rejection::payload_timeout);
  bool got = co_await discard(bytes - have);
  disarm();
  co_return got;
}

void connection::submit(job j) {
  bool wake = false;
  {
    std::lock_guard lock(work_mu_);
    todo_.push_back(std::move(j));
    // A drainer between two requests takes this one; wake another only when
    // every drainer is busy running one, which may be slow (a cold read, a
    // flush): a free worker should not idle while a request waits.
    wake = drainers_ == running_ && drainers_ < env_->limits.worker_threads;
    if (wake) ++drainers_;
  }
  if (wake) post_drainer(export_, session_);
}

void connection::post_drainer(std::shared_ptr<volumes::export_handle> exp, std::shared_ptr<const session> sess) {
  asio::post(env_->workers, [self = shared_from_this(), exp = std::move(exp), sess = std::move(sess)]() mutable {
    self->drain(std::move(exp), std::move(sess));
  });
}

// Runs on a worker: executes queued requests until none is left (or its turn
// is over) and hands their replies to the network thread.
void connection::drain(std::shared_ptr<volumes::export_handle> exp, std::shared_ptr<const session> sess) {
  const bool gather_reads = exp->batches_reads();
  std::vector<job> taken;
  std::vector<request> reads;
  std::vector<reply> replies;
  std::unique_lock lock(work_mu_);
  for (uint32_t ran = 0;; ran += static_cast<uint32_t>(taken.size())) {
    if (todo_.empty() || work_closed_) {
      --drainers_;
      return;
    }
    if (ran >= drain_turn_jobs_max) {
      // Other connections share the pool: go to the back of its queue.
      lock.unlock();
      post_drainer(std::move(exp), std::move(sess));
      return;
    }
    take_jobs(gather_reads, taken);
    // What is queued behind these requests gets a helper, as in submit().
    const bool helper = !todo_.empty() && drainers_ == running_ + 1 && drainers_ < env_->limits.worker_threads;
    if (helper) ++drainers_;
    ++running_;
    lock.unlock();
    if (helper) post_drainer(exp, sess);
    run_jobs(*exp, *sess, taken, reads, replies);
    lock.lock();
    --running_;
    for (size_t i = 0; i < taken.size(); ++i) {
      done_.push_back(finished{taken[i].r, std::move(replies[i]), taken[i].grant, taken[i].started});
    }
    if (!take_posted_) {
      // Only the first reply of a batch wakes the network thread.
      take_posted_ = true;
      lock.unlock();
      asio::post(net_executor_, [self = shared_from_this()] { self->take_finished(); });
      lock.lock();
    }
  }
}

// Under work_mu_: takes the request at the front of the queue, and with
// gather_reads the READs right behind a READ, up to a batch's bounds.
void connection::take_jobs(bool gather_reads, std::vector<job>& taken) {
  taken.clear();
  uint64_t read_bytes = 0;
  do {
    read_bytes += todo_.front().r.type == cmd_read ? todo_.front().r.length : 0;
    taken.push_back(std::move(todo_.front()));
    todo_.pop_front();
  } while (gather_reads && taken.front().r.type == cmd_read && !todo_.empty() && todo_.front().r.type == cmd_read &&
           taken.size() < read_batch_requests_max && read_bytes + todo_.front().r.length <= read_batch_bytes_max);
}

void connection::run_jobs(volumes::export_handle& exp, const session& sess, std::vector<job>& taken,
                          std::vector<request>& reads, std::vector<reply>& replies) {
  replies.clear();
  replies.resize(taken.size());
  if (taken.front().r.type == cmd_read) {
    reads.clear();
    for (const auto& j : taken) reads.push_back(j.r);
    execute_reads(exp, sess, reads, replies);
  } else {
    replies[0] = execute(exp, sess, taken[0].r, taken[0].payload.span());
    taken[0].payload = buffer();
  }
}

void connection::take_finished() {
  {
    std::lock_guard lock(work_mu_);
    batch_.swap(done_);
    take_posted_ = false;
  }
  for (auto& f : batch_) queue_reply(f.r, std::move(f.body), f.grant, f.started);
  batch_.clear();
  write_next();
}

void connection::answer_now(const request& r, reply body, clock::time_point started) {
  queue_reply(r, std::move(body), {}, started);
  write_next();
}

void connection::queue_reply(const request& r, reply body, net::byte_budget::grant grant, clock::time_point started) {
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
  queue_.push_back(outgoing{std::move(body), grant});
}

// Sends every queued reply (up to a bound) in one gathered write.
void connection::write_next() {
  if (writing_replies_ > 0 || closed_ || queue_.empty()) return;
  tx_buffers_.clear();
  size_t replies = 0;
  size_t bytes = 0;
  for (const auto& out : queue_) {
    if (replies == replies_per_write_max || (replies > 0 && bytes >= write_bytes_soft_max)) break;
    for (const auto& p : out.body.pieces) {
      const uint8_t* base = p.from_payload ? out.body.payload.data() : out.body.head.data();
      tx_buffers_.emplace_back(base + p.offset, p.length);
    }
    bytes += out.body.size();
    ++replies;
  }
  writing_replies_ = replies;
  asio::async_write(socket_, tx_buffers_, net::transfer_whole_buffer(),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    self->on_written(ec);
  });
}

void connection::on_written(const boost::system::error_code& ec) {
  const size_t sent = writing_replies_;
  writing_replies_ = 0;
  for (size_t i = 0; i < sent; ++i) {
    env_->budget.release(queue_.front().grant);
    queue_.pop_front();
  }
  in_flight_ -= static_cast<uint32_t>(std::min<size_t>(sent, in_flight_));
  gate_.cancel();
  if (ec || closed_) return close();
  arm_idle_if_quiet();
  write_next();
  finish_disconnect_if_done();
}

void connection::finish_disconnect_if_done() {
  if (disconnecting_ && in_flight_ == 0 && queue_.empty() && writing_replies_ == 0) close();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(socket_type::shutdown_both, ignored);
  socket_.close(ignored);
  deadline_.cancel();
  gate_.cancel();
  // The replies being written (if any) are released by the write handler.
  while (queue_.size() > writing_replies_) {
    env_->budget.release(queue_.back().grant);
    queue_.pop_back();
  }
  {
    // Requests no worker has taken are dropped; running ones finish, and
    // their grants come back through take_finished().
    std::lock_guard lock(work_mu_);
    work_closed_ = true;
    for (const auto& j : todo_) env_->budget.release(j.grant);
    todo_.clear();
  }
  export_.reset();
  slot_.reset();
}

void connection::release_exports() {
  export_.reset();
  handshake_.take_export().reset();
}

}  // namespace strata::nbd
