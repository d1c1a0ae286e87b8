#include "kafka/replica/fetcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <set>

#include "kafka/protocol/api.h"
#include "kafka/replica/messages.h"
#include "net/stream.h"
#include "net/tls.h"
#include "net/transfer.h"
#include "streams/service.h"

namespace strata::kafka::replica {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

using partition_key = std::pair<std::string, int32_t>;

constexpr int16_t code_of(error_code e) { return static_cast<int16_t>(e); }

bool leadership_error(int16_t code) {
  return code == code_of(error_code::not_leader_or_follower) || code == code_of(error_code::fenced_leader_epoch) ||
         code == code_of(error_code::unknown_leader_epoch) || code == code_of(error_code::unknown_topic_or_partition) ||
         code == code_of(error_code::leader_not_available);
}

// Waits, inside a coroutine, for a callback-style call on the same thread.
template <class T>
asio::awaitable<T> await_callback(std::function<void(std::function<void(T)>)> start) {
  auto executor = co_await asio::this_coro::executor;
  struct state {
    explicit state(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    std::optional<T> value;
  };
  auto st = std::make_shared<state>(executor);
  st->timer.expires_at(asio::steady_timer::time_point::max());
  start([st](T v) {
    st->value.emplace(std::move(v));
    st->timer.cancel();
  });
  while (!st->value) {
    boost::system::error_code ec;
    co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(*st->value);
}

}  // namespace

class fetchers::session : public std::enable_shared_from_this<session> {
 public:
  session(asio::io_context& io, streams::service& svc, const fetcher_config& config, int32_t leader,
          std::shared_ptr<fetcher_stats> stats)
      : io_(io), svc_(svc), config_(config), leader_(leader), deadline_(io), backoff_(io), stats_(std::move(stats)) {}

  void start() {
    asio::co_spawn(io_, [self = shared_from_this()] { return self->run(); }, asio::detached);
  }
  void stop() {
    stopped_ = true;
    close();
    backoff_.cancel();
  }
  bool finished() const { return finished_; }

 private:
  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopped_) {
      auto parts = followed();
      if (parts.empty()) break;
      if (!connected() && !co_await connect()) {
        co_await sleep();
        continue;
      }
      bool ok = co_await check_epochs(parts);
      if (ok) ok = co_await fetch_once(parts);
      if (!ok) co_await sleep();
    }
    close();
    finished_ = true;
  }

  std::vector<streams::followed_partition> followed() const {
    std::vector<streams::followed_partition> out;
    for (auto& p : svc_.followed_partitions()) {
      if (p.leader == leader_) out.push_back(std::move(p));
    }
    return out;
  }

  asio::awaitable<bool> connect() {
    const streams::broker* leader = nullptr;
    for (auto& b : svc_.cluster_state().brokers) {
      if (b.id == leader_) leader = &b;
    }
    if (!leader) co_return false;
    if (config_.tls && leader->replication_port == 0) {
      co_return log_failure(fmt::format("leader node {} has no replication listener; with --cluster-tls-* every node needs "
                                        "--replication-listen", leader_));
    }
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    const std::string host = leader->host;
    const std::string port = std::to_string(leader->replication_port ? leader->replication_port : leader->port);
    auto endpoints = co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return log_failure(fmt::format("resolving {}: {}", host, ec.message()));
    if (config_.tls) {
      stream_.emplace(tcp::socket(io_), *config_.tls);
      if (auto s = net::expect_server_name(*stream_->tls(), host); !s.ok()) co_return log_failure(s.err().message);
    } else {
      stream_.emplace(tcp::socket(io_));
    }
    arm_deadline(config_.request_timeout_ms);
    co_await asio::async_connect(stream_->socket(), endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      deadline_.cancel();
      close();
      co_return log_failure(fmt::format("connecting to {}:{}: {}", host, port, ec.message()));
    }
    stream_->socket().set_option(tcp::no_delay(true), ec);
    if (auto* tls = stream_->tls()) {
      co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        deadline_.cancel();
        const std::string reason = net::handshake_failure(ec, *tls);
        close();
        co_return log_failure(fmt::format("TLS handshake with {}:{} failed: {}", host, port, reason));
      }
    }
    deadline_.cancel();
    spdlog::info("replica fetcher: connected to leader node {} at {}:{}{}", leader_, host, port, config_.tls ? " (TLS)" : "");
    co_return true;
  }

  bool connected() { return stream_ && stream_->socket().is_open(); }

  // Sends one request frame and reads the response frame (after its size).
  asio::awaitable<std::optional<std::vector<uint8_t>>> roundtrip(std::vector<uint8_t> frame, int64_t timeout_ms) {
    boost::system::error_code ec;
    auto on_error = asio::redirect_error(asio::use_awaitable, ec);
    arm_deadline(timeout_ms);
    co_await asio::async_write(*stream_, asio::buffer(frame), net::transfer_whole_buffer(), on_error);
    uint8_t size_bytes[4];
    if (!ec) co_await asio::async_read(*stream_, asio::buffer(size_bytes), on_error);
    std::optional<std::vector<uint8_t>> out;
    if (!ec) {
      uint32_t size = (uint32_t{size_bytes[0]} << 24) | (uint32_t{size_bytes[1]} << 16) | (uint32_t{size_bytes[2]} << 8) | size_bytes[3];
      if (size < 4 || size > config_.response_bytes_max) {
        log_failure(fmt::format("leader node {} sent a {} byte frame; the limit is {}", leader_, size, config_.response_bytes_max));
      } else {
        std::vector<uint8_t> body(size);
        co_await asio::async_read(*stream_, asio::buffer(body), net::transfer_whole_buffer(), on_error);
        if (!ec) out = std::move(body);
      }
    }
    deadline_.cancel();
    if (ec) log_failure(fmt::format("talking to leader node {}: {}", leader_, ec.message()));
    if (!out) close();
    co_return out;
  }

  // Checks every partition whose epoch is not yet checked; cuts divergent tails.
  asio::awaitable<bool> check_epochs(const std::vector<streams::followed_partition>& parts) {
    std::vector<epoch_request_partition> ask;
    for (auto& p : parts) {
      auto it = checked_.find({p.topic, p.partition});
      if (!p.ready || (it != checked_.end() && it->second == p.leader_epoch)) continue;
      if (p.latest_local_epoch < 0 && p.log_end_offset == 0) {
        checked_[{p.topic, p.partition}] = p.leader_epoch;
        continue;
      }
      ask.push_back({p.topic, p.partition, p.leader_epoch, std::max(p.latest_local_epoch, 0)});
    }
    if (ask.empty()) co_return true;
    const int32_t cid = next_correlation_id_++;
    auto request = encode_offset_for_leader_epoch(config_.node_id, ask, cid);
    auto frame = co_await roundtrip(std::move(request), config_.request_timeout_ms);
    if (!frame) co_return false;
    auto answers = decode_offset_for_leader_epoch(*frame, cid);
    if (!answers.ok()) co_return log_failure(answers.err().message);
    bool all_ok = true;
    for (auto& a : *answers) {
      if (a.error != 0) {
        all_ok = false;
        continue;
      }
      int32_t epoch = epoch_of(parts, a.topic, a.partition);
      streams::truncation_point point{a.leader_epoch, a.end_offset, -1};
      auto s = co_await cut(a.topic, a.partition, epoch, point);
      if (s) checked_[{a.topic, a.partition}] = epoch;
      all_ok = all_ok && s;
    }
    co_return all_ok;
  }

  asio::awaitable<bool> cut(const std::string& topic, int32_t partition, int32_t epoch, streams::truncation_point point) {
    auto& svc = svc_;
    // Named, not a temporary in the co_await expression: GCC 12 destroys such
    // temporaries twice.
    std::function<void(std::function<void(status)>)> start = [&svc, topic, partition, epoch, point](std::function<void(status)> done) {
      svc.truncate_replica(topic, partition, epoch, point, std::move(done));
    };
    auto s = co_await await_callback<status>(std::move(start));
    if (!s.ok()) spdlog::warn("replica fetcher: truncating {}-{}: {}", topic, partition, s.err().message);
    co_return s.ok();
  }

  static int32_t epoch_of(const std::vector<streams::followed_partition>& parts, const std::string& topic, int32_t partition) {
    for (auto& p : parts) {
      if (p.topic == topic && p.partition == partition) return p.leader_epoch;
    }
    return -1;
  }

  asio::awaitable<bool> fetch_once(const std::vector<streams::followed_partition>& parts) {
    fetch_request req;
    req.replica_id = config_.node_id;
    req.max_wait_ms = config_.max_wait_ms;
    req.bytes_max = config_.fetch_bytes_max;
    for (auto& p : parts) {
      auto it = checked_.find({p.topic, p.partition});
      if (!p.ready || it == checked_.end() || it->second != p.leader_epoch) continue;
      req.partitions.push_back({p.topic, p.partition, p.leader_epoch, p.log_end_offset, config_.partition_bytes_max});
    }
    if (req.partitions.empty()) co_return false;
    const int32_t cid = next_correlation_id_++;
    auto request = encode_fetch(req, cid);
    auto frame = co_await roundtrip(std::move(request), config_.max_wait_ms + config_.request_timeout_ms);
    if (!frame) co_return false;
    auto answers = decode_fetch(*frame, cid);
    if (!answers.ok()) co_return log_failure(answers.err().message);
    ++stats_->fetches;
    bool all_ok = true;
    for (auto& a : *answers) all_ok = co_await take(parts, a) && all_ok;
    co_return all_ok;
  }

  // Appends one partition's answer and waits until it is durable here.
  asio::awaitable<bool> take(const std::vector<streams::followed_partition>& parts, const fetch_partition_response& a) {
    if (a.error == code_of(error_code::offset_out_of_range)) {
      checked_.erase({a.topic, a.partition});
      int64_t local_end = -1;
      for (auto& p : parts) {
        if (p.topic == a.topic && p.partition == a.partition) local_end = p.log_end_offset;
      }
      if (a.log_start_offset > local_end) {
        streams::truncation_point restart{-1, -1, a.log_start_offset};
        co_return co_await cut(a.topic, a.partition, epoch_of(parts, a.topic, a.partition), restart);
      }
      co_return false;
    }
    if (a.error != 0) {
      if (!leadership_error(a.error)) log_failure(fmt::format("fetching {}-{}: error {}", a.topic, a.partition, a.error));
      co_return false;
    }
    stats_->fetched_bytes += a.records.size();
    auto& svc = svc_;
    const int32_t epoch = epoch_of(parts, a.topic, a.partition);
    // a.records points into the response buffer, which outlives this call.
    std::function<void(std::function<void(result<int64_t>)>)> start = [&svc, &a, epoch](std::function<void(result<int64_t>)> done) {
      svc.append_replicated(a.topic, a.partition, epoch, a.records, a.high_watermark, std::move(done));
    };
    auto appended = co_await await_callback<result<int64_t>>(std::move(start));
    if (!appended.ok()) {
      if (appended.code() == errc::invalid_argument) checked_.erase({a.topic, a.partition});
      if (appended.code() != errc::unavailable) log_failure(appended.err().message);
      co_return false;
    }
    co_return true;
  }

  void arm_deadline(int64_t timeout_ms) {
    deadline_.expires_after(std::chrono::milliseconds(timeout_ms));
    deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->close();
    });
  }

  asio::awaitable<void> sleep() {
    boost::system::error_code ec;
    backoff_.expires_after(std::chrono::milliseconds(config_.retry_backoff_ms));
    co_await backoff_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  bool log_failure(const std::string& what) {
    ++stats_->errors;
    spdlog::warn("replica fetcher (leader node {}): {}", leader_, what);
    return false;
  }

  // The stream stays until the next connect replaces it: an operation may
  // still be completing on it.
  void close() {
    if (stream_) stream_->close();
  }

  asio::io_context& io_;
  streams::service& svc_;
  const fetcher_config config_;
  const int32_t leader_;
  std::optional<net::stream> stream_;
  asio::steady_timer deadline_;
  asio::steady_timer backoff_;
  std::shared_ptr<fetcher_stats> stats_;
  std::map<partition_key, int32_t> checked_;  // the leader epoch each partition's log was checked against
  int32_t next_correlation_id_ = 1;
  bool stopped_ = false;
  bool finished_ = false;
};

fetchers::fetchers(asio::io_context& io, streams::service& svc, fetcher_config config)
    : io_(io), svc_(svc), config_(config), stats_(std::make_shared<fetcher_stats>()) {}

fetchers::~fetchers() { stop(); }

void fetchers::refresh() {
  if (stopped_) return;
  std::set<int32_t> leaders;
  for (auto& p : svc_.followed_partitions()) leaders.insert(p.leader);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second->finished() ? sessions_.erase(it) : std::next(it);
  }
  for (int32_t leader : leaders) {
    if (sessions_.contains(leader)) continue;
    auto s = std::make_shared<session>(io_, svc_, config_, leader, stats_);
    sessions_.emplace(leader, s);
    s->start();
  }
}

void fetchers::stop() {
  stopped_ = true;
  for (auto& [id, s] : sessions_) s->stop();
  sessions_.clear();
}

fetcher_stats fetchers::stats() const { return *stats_; }

}  // namespace strata::kafka::replica
