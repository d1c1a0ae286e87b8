#include "pgwire/connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/tls.h"

namespace strata::pgwire {

namespace asio = boost::asio;

namespace {
// Per connection: one read takes in many small messages (a pipeline of
// Parse/Bind/Execute, or CopyData) at once; larger messages get their own buffer.
constexpr size_t receive_buffer_bytes = 64 * KiB;
// How long a worker that has just replied waits for the client's next
// message before handing the connection back to the network thread, and how
// many batches it takes in a row. A client that sends its next query within
// this time (an application's loop, pgbench) costs no thread switch; the
// idle-in-transaction timeout is armed at most this much later.
constexpr int next_message_wait_ms = 2;
constexpr int worker_batches_max = 64;
}  // namespace

void cancel_registry::add(backend_key key, sql::session* session) {
  std::lock_guard lock(mu_);
  sessions_[key.process_id] = {key.secret_key, session};
}

void cancel_registry::remove(backend_key key) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key.process_id);
  if (it != sessions_.end() && it->second.first == key.secret_key) sessions_.erase(it);
}

bool cancel_registry::cancel(backend_key key) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key.process_id);
  if (it == sessions_.end()) return false;
  const auto secret = uint32_t(it->second.first) ^ uint32_t(key.secret_key);
  if (secret != 0) return false;
  // Under the lock: remove() (before the session is destroyed) waits for this call.
  it->second.second->cancel();
  return true;
}

connection::connection(socket_type socket, std::shared_ptr<void> slot, std::string peer, bool loopback,
                       std::shared_ptr<connection_env> env)
    : stream_(std::move(socket)),
      slot_(std::move(slot)),
      peer_(std::move(peer)),
      env_(std::move(env)),
      deadline_(stream_.get_executor()) {
  int32_t secret = 0;
  env_->backend.random(std::span(reinterpret_cast<uint8_t*>(&secret), sizeof(secret)));
  key_ = backend_key{env_->next_process_id.fetch_add(1), secret};
  backend_ = std::make_unique<backend>(env_->backend, loopback, key_);
}

void connection::start() {
  asio::co_spawn(stream_.get_executor(), [self = shared_from_this()] { return self->run(); }, asio::detached);
}

void connection::reject(std::string_view why) {
  spdlog::debug("pgwire: closing the connection from {}: {}", peer_, why);
  if (env_->observer.on_rejection) env_->observer.on_rejection(why);
  close();
}

void connection::arm(int64_t timeout_ms, const char* why) {
  deadline_.expires_after(std::chrono::milliseconds(timeout_ms));
  deadline_.async_wait([weak = weak_from_this(), why](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    self->reject(why);
  });
}

void connection::arm_idle_in_transaction() {
  const int64_t timeout_ms = env_->limits.idle_in_transaction_timeout_ms;
  sql::session* s = backend_ ? backend_->session() : nullptr;
  if (timeout_ms <= 0 || s == nullptr || s->state() == sql::transaction_state::idle) return;
  deadline_.expires_after(std::chrono::milliseconds(timeout_ms));
  deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    // The reader is waiting for a message, so no write is in progress.
    auto bytes = std::make_shared<std::string>();
    put_error(*bytes, error_fields{"FATAL", sqlstate::idle_in_transaction_timeout,
                                   "terminating connection due to idle-in-transaction timeout", {}, {}});
    asio::async_write(self->stream_, asio::buffer(*bytes), [self, bytes](const boost::system::error_code&, size_t) {
      self->reject("idle_in_transaction_timeout");
    });
  });
}

asio::awaitable<bool> connection::fill(size_t bytes) {
  if (buffered() >= bytes) co_return true;
  if (rx_begin_ > 0 && rx_.size() - rx_begin_ < bytes) {
    std::memmove(rx_.data(), rx_.data() + rx_begin_, buffered());
    rx_end_ -= rx_begin_;
    rx_begin_ = 0;
  }
  boost::system::error_code ec;
  while (buffered() < bytes) {
    size_t got = co_await stream_.async_read_some(asio::buffer(rx_.data() + rx_end_, rx_.size() - rx_end_),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) co_return false;
    rx_end_ += got;
  }
  co_return true;
}

// Collects the complete frames that are buffered (at least one), or a single
// large one. A bad length word leaves `frames` empty after the backend wrote
// its FATAL error.
asio::awaitable<bool> connection::next_frames(std::vector<frame>& frames) {
  const auto& limits = env_->limits;
  if (backend_->expects_startup()) {
    if (!co_await fill(startup_header_bytes)) co_return false;
    const uint32_t length = load_be32(rx_.data() + rx_begin_);
    auto body = startup_body_bytes(length, limits.startup_bytes_max);
    if (!body) {
      backend_->on_bad_length(length);
      co_return true;
    }
    if (!co_await fill(length)) co_return false;
    frames.push_back({0, std::span<const uint8_t>(rx_.data() + rx_begin_ + startup_header_bytes, *body)});
    rx_begin_ += length;
    co_return true;
  }
  if (!co_await fill(message_header_bytes)) co_return false;
  while (buffered() >= message_header_bytes) {
    const uint8_t* p = rx_.data() + rx_begin_;
    const char type = char(p[0]);
    const uint32_t length = load_be32(p + 1);
    auto body = message_body_bytes(length, limits.message_bytes_max);
    if (!body) {
      if (frames.empty()) backend_->on_bad_length(length);
      break;  // a later batch reports it
    }
    const size_t total = message_header_bytes + *body;
    if (total > rx_.size()) {
      if (!frames.empty()) break;
      // Larger than the receive buffer: its own buffer, paid for by the budget first.
      large_grant_ = co_await env_->budget.acquire(*body);
      if (closed_) co_return false;
      large_.resize(*body);
      const size_t have = std::min(buffered() - message_header_bytes, size_t(*body));
      std::memcpy(large_.data(), p + message_header_bytes, have);
      rx_begin_ += message_header_bytes + have;
      // Its bytes hold budget, so they must keep coming.
      const bool timed = backend_->current_phase() == backend::phase::serving && limits.message_timeout_ms > 0;
      if (timed) arm(limits.message_timeout_ms, "message_timeout");
      boost::system::error_code ec;
      co_await asio::async_read(stream_, asio::buffer(large_.data() + have, large_.size() - have),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closed_) co_return false;
      if (timed) deadline_.cancel();
      frames.push_back({type, std::span<const uint8_t>(large_.data(), large_.size())});
      co_return true;
    }
    if (buffered() < total) {
      if (!frames.empty()) break;
      if (!co_await fill(total)) co_return false;
      continue;
    }
    frames.push_back({type, std::span<const uint8_t>(p + message_header_bytes, *body)});
    rx_begin_ += total;
  }
  co_return true;
}

// Runs on a worker: the backend is used by this thread alone until it returns.
asio::awaitable<connection::step_result> connection::work(std::shared_ptr<connection> self, std::vector<frame> frames,
                                                          size_t from) {
  size_t next = self->process(frames, from);
  self->continue_on_worker(frames, next);
  co_return step_result{std::move(frames), next};
}

size_t connection::process(const std::vector<frame>& frames, size_t from) {
  backend& b = *backend_;
  if (b.has_pending()) {
    b.resume();
    if (b.has_pending()) return from;
  }
  for (size_t i = from; i < frames.size(); ++i) {
    if (b.closing()) return frames.size();
    if (frames[i].type == fe::copy_data && b.in_copy_in() && i + 1 < frames.size() &&
        frames[i + 1].type == fe::copy_data) {
      // Rows may span CopyData messages, so a run of small ones (psql sends
      // one per row) goes to the COPY sink as one write.
      copy_scratch_.clear();
      size_t j = i;
      for (; j < frames.size() && frames[j].type == fe::copy_data; ++j) {
        copy_scratch_.insert(copy_scratch_.end(), frames[j].body.begin(), frames[j].body.end());
      }
      b.on_message(fe::copy_data, copy_scratch_);
      i = j - 1;
      continue;
    }
    if (frames[i].type == 0) {
      b.on_startup_packet(frames[i].body);
    } else {
      b.on_message(frames[i].type, frames[i].body);
    }
    if (b.has_pending() || b.tls_requested() || b.output().size() >= env_->limits.output_bytes_soft_max) return i + 1;
  }
  return frames.size();
}

void connection::continue_on_worker(std::vector<frame>& frames, size_t& next) {
  if (stream_.tls() != nullptr) return;  // the shortcut uses the socket's descriptor itself
  for (int round = 0; round < worker_batches_max; ++round) {
    backend& b = *backend_;
    if (next < frames.size() || b.has_pending() || b.closing() || b.in_copy_in() || !registered_ ||
        b.current_phase() != backend::phase::serving || large_grant_.bytes > 0 || closed_) {
      return;
    }
    report_statements(b.take_stats());  // serving, so no startup to report
    if (!send_output_now()) return;
    pollfd p{stream_.socket().native_handle(), POLLIN, 0};
    if (::poll(&p, 1, next_message_wait_ms) != 1 || (p.revents & POLLIN) == 0 || closed_) return;
    std::vector<frame> more;
    if (!read_batch_now(more)) return;
    frames = std::move(more);
    next = process(frames, 0);
  }
}

// Sends the backend's output without waiting; what the socket does not take
// now stays in it for flush_output.
bool connection::send_output_now() {
  std::string& out = backend_->output();
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(stream_.socket().native_handle(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  out.erase(0, sent);
  return out.empty();
}

// Reads what the client sent and collects the complete messages that fit the
// receive buffer. False when there is none; bytes read stay buffered for
// next_frames, which handles every other case (a partial or large message,
// a bad length, the end of the stream).
bool connection::read_batch_now(std::vector<frame>& frames) {
  if (rx_begin_ == rx_end_) rx_begin_ = rx_end_ = 0;
  if (rx_begin_ > 0 && rx_.size() - rx_end_ < receive_buffer_bytes / 2) {
    std::memmove(rx_.data(), rx_.data() + rx_begin_, buffered());
    rx_end_ -= rx_begin_;
    rx_begin_ = 0;
  }
  if (rx_end_ == rx_.size()) return false;
  ssize_t got;
  do {
    got = ::recv(stream_.socket().native_handle(), rx_.data() + rx_end_, rx_.size() - rx_end_, MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return false;
  rx_end_ += size_t(got);
  while (buffered() >= message_header_bytes) {
    const uint8_t* p = rx_.data() + rx_begin_;
    auto body = message_body_bytes(load_be32(p + 1), env_->limits.message_bytes_max);
    if (!body || buffered() < message_header_bytes + *body) break;
    frames.push_back({char(p[0]), std::span<const uint8_t>(p + message_header_bytes, *body)});
    rx_begin_ += message_header_bytes + *body;
  }
  return !frames.empty();
}

// Statement and error counts; before the client reads the replies they count.
void connection::report_statements(const backend_stats& stats) {
  const auto& obs = env_->observer;
  if (stats.statements > 0 && obs.on_statements) obs.on_statements(stats.statements);
  if (obs.on_error) {
    for (const auto& code : stats.error_codes) obs.on_error(code);
  }
}

// Network thread, between steps: metrics, the cancel registry, a CancelRequest.
bool connection::after_step() {
  backend_stats stats = backend_->take_stats();
  const auto& obs = env_->observer;
  if (stats.authenticated) {
    deadline_.cancel();
    if (obs.on_session) obs.on_session();
  }
  report_statements(stats);
  if (!registered_ && backend_->session() != nullptr) {
    env_->registry.add(key_, backend_->session());
    registered_ = true;
  }
  if (const auto& c = backend_->cancel_request()) {
    const bool found = env_->registry.cancel(*c);
    spdlog::debug("pgwire: cancel request from {} for process {}: {}", peer_, c->process_id,
                  found ? "cancelled" : "no such session");
    return false;
  }
  return true;
}

asio::awaitable<bool> connection::flush_output() {
  tx_.clear();
  tx_.swap(backend_->output());
  if (tx_.empty()) co_return true;
  const uint64_t bytes = tx_.size();
  env_->budget.add(bytes);
  boost::system::error_code ec;
  co_await asio::async_write(stream_, asio::buffer(tx_), asio::redirect_error(asio::use_awaitable, ec));
  env_->budget.release_unowned(bytes);
  co_return !ec && !closed_;
}

asio::awaitable<bool> connection::start_tls() {
  // Bytes sent after the SSLRequest, before the handshake, were sent in the
  // clear: they must not be taken as if they came through TLS.
  if (buffered() > 0) {
    reject("data_after_ssl_request");
    co_return false;
  }
  stream_.start_tls(*env_->tls);
  boost::system::error_code ec;
  co_await stream_.tls()->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || closed_) {
    if (!closed_) spdlog::info("pgwire: TLS handshake with {} failed: {}", peer_, net::handshake_failure(ec, *stream_.tls()));
    co_return false;
  }
  backend_->on_tls_started();
  co_return true;
}

asio::awaitable<void> connection::run() {
  auto self = shared_from_this();
  rx_.resize(receive_buffer_bytes);
  if (env_->limits.startup_timeout_ms > 0) arm(env_->limits.startup_timeout_ms, "startup_timeout");
  std::vector<frame> frames;
  while (!closed_) {
    frames.clear();
    const bool serving = backend_->current_phase() == backend::phase::serving;
    if (serving) arm_idle_in_transaction();
    const bool got = co_await next_frames(frames);
    if (closed_) break;
    if (serving) deadline_.cancel();
    if (!got) break;
    if (frames.empty()) {  // a bad length word: the backend wrote a FATAL error
      (void)after_step();
      co_await flush_output();
      if (closed_) break;
      reject("bad_message_length");
      break;
    }
    bool keep = true;
    size_t next = 0;
    do {
      auto step = work(self, std::move(frames), next);
      env_->workers->call_begins();
      step_running_ = true;
      auto done = co_await asio::co_spawn(env_->workers->executor(), std::move(step), asio::use_awaitable);
      step_running_ = false;
      env_->workers->call_ends();
      frames = std::move(done.frames);
      next = done.next;
      if (closed_) break;
      keep = after_step();
      if (!co_await flush_output()) keep = false;
      if (backend_->closing()) keep = false;
      if (keep && backend_->tls_requested()) {
        if (next < frames.size()) {
          reject("data_after_ssl_request");
          keep = false;
        } else {
          keep = co_await start_tls();
        }
      }
    } while (keep && !closed_ && (next < frames.size() || backend_->has_pending()));
    if (large_grant_.bytes > 0) {
      env_->budget.release(large_grant_);
      large_grant_ = {};
      large_ = {};
    }
    if (!keep) break;
  }
  if (large_grant_.bytes > 0) {
    env_->budget.release(large_grant_);
    large_grant_ = {};
  }
  close();
}

void connection::close() {
  const bool first = !closed_.exchange(true);
  boost::system::error_code ignored;
  if (first) stream_.socket().shutdown(socket_type::shutdown_both, ignored);
  if (!step_running_ && stream_.socket().is_open()) stream_.socket().close(ignored);
  if (!first) return;
  deadline_.cancel();
  if (registered_) {
    // A statement still running for this client (server stop, or the client
    // hung up) is interrupted rather than left to finish for nobody.
    env_->registry.cancel(key_);
    env_->registry.remove(key_);
    registered_ = false;
  }
  slot_.reset();
}

void connection::release_session() {
  if (registered_) {
    env_->registry.remove(key_);
    registered_ = false;
  }
  backend_.reset();
}

}  // namespace strata::pgwire
