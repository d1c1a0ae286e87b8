// Redis Streams through hiredis: XADD with appendonly yes, appendfsync always.
// The producer pipelines XADDs over one connection: hiredis formats them, a
// reader thread parses the replies (in order) as they arrive.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "net_util.h"
#include "server.h"
#include "target.h"

namespace strata::bench {
namespace {

constexpr int64_t stop_grace_ms = 10'000;
constexpr int consume_batch_records = 1000;  // XRANGE COUNT
constexpr size_t read_chunk_bytes = 64 * 1024;

status write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return make_error(errc::io_error, fmt::format("redis: send failed: {}", std::strerror(errno)));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

class redis_producer final : public producer {
 public:
  redis_producer(int fd, std::string key, ack_tracker& acks)
      : fd_(fd), key_(std::move(key)), acks_(acks), reader_(redisReaderCreate()) {
    reader_thread_ = std::thread([this] { read_replies(); });
  }
  ~redis_producer() override {
    stopping_.store(true);
    ::shutdown(fd_, SHUT_RDWR);
    reader_thread_.join();
    ::close(fd_);
    redisReaderFree(reader_);
  }

  status send(uint64_t index, std::span<const uint8_t> payload) override {
    if (index != sent_) {
      return make_error(errc::invalid_argument, "redis producer sends records in index order only");
    }
    const char* argv[] = {"XADD", key_.c_str(), "*", "d", reinterpret_cast<const char*>(payload.data())};
    const size_t lens[] = {4, key_.size(), 1, 1, payload.size()};
    char* cmd = nullptr;
    const int len = redisFormatCommandArgv(&cmd, 5, argv, lens);
    if (len < 0) {
      return make_error(errc::internal, "redis: cannot format XADD");
    }
    out_.append(cmd, static_cast<size_t>(len));
    redisFreeCommand(cmd);
    ++sent_;
    return {};
  }

  status flush() override {
    auto written = write_all(fd_, out_.data(), out_.size());
    out_.clear();
    return written;
  }

 private:
  // Replies come back in the order the commands went out: reply k acks record k.
  void read_replies() {
    std::string buf(read_chunk_bytes, '\0');
    uint64_t replies = 0;
    for (;;) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        if (!stopping_.load()) {
          acks_.on_error(replies, "redis closed the connection");
        }
        return;
      }
      redisReaderFeed(reader_, buf.data(), static_cast<size_t>(n));
      void* reply = nullptr;
      while (redisReaderGetReply(reader_, &reply) == REDIS_OK && reply != nullptr) {
        auto* r = static_cast<redisReply*>(reply);
        if (r->type == REDIS_REPLY_ERROR) {
          acks_.on_error(replies, fmt::format("redis: {}", std::string(r->str, r->len)));
        } else {
          acks_.on_ack(replies);
        }
        ++replies;
        freeReplyObject(reply);
        reply = nullptr;
      }
    }
  }

  int fd_;
  std::string key_;
  ack_tracker& acks_;
  redisReader* reader_;
  std::string out_;  // formatted commands not yet written; bounded by the window
  uint64_t sent_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread reader_thread_;
};

class redis_target final : public target {
 public:
  explicit redis_target(target_env env) : env_(std::move(env)) {}

  const char* name() const override { return "redis"; }
  std::string durability() const override {
    return "appendonly yes, appendfsync always: the AOF is fsynced before replies go out "
           "(one fsync per event-loop pass); AOF auto-rewrite off";
  }

  status start() override {
    STRATA_TRY(keep_loopback_port(port_));
    const std::string dir = make_data_dir(env_.work_dir);
    log_path_ = env_.work_dir + "/redis.log";
    auto server = start_server({env_.server_bin, "--bind", "127.0.0.1", "--port", std::to_string(port_), "--dir",
                                dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                                "--auto-aof-rewrite-percentage", "0", "--protected-mode", "no", "--daemonize",
                                "no", "--logfile", ""},
                               log_path_, port_, env_.start_timeout_ms);
    if (!server) {
      return server.err();
    }
    server_ = std::move(*server);
    return wait_loaded();
  }

  status stop() override { return stop_server(server_, stop_grace_ms, SIGTERM); }
  std::string log_tail() const override { return server_log_tail(log_path_); }

  status create_stream(const std::string&) override { return {}; }  // XADD creates it

  result<std::unique_ptr<producer>> open_producer(const std::string& stream, ack_tracker& acks) override {
    auto fd = connect_loopback(port_);
    if (!fd) {
      return fd.err();
    }
    return std::unique_ptr<producer>(new redis_producer(*fd, stream, acks));
  }

  status consume(const std::string& stream, consume_meter& meter) override {
    auto conn = connect();
    if (!conn) {
      return conn.err();
    }
    redisContext* c = conn->get();
    std::string start = "-";
    while (!meter.done()) {
      auto* r = static_cast<redisReply*>(
          redisCommand(c, "XRANGE %s %s + COUNT %d", stream.c_str(), start.c_str(), consume_batch_records));
      if (r == nullptr) {
        return make_error(errc::io_error, fmt::format("redis: XRANGE failed: {}", c->errstr));
      }
      std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(r, &freeReplyObject);
      auto last_id = observe_entries(*r, meter);
      if (!last_id) {
        return last_id.err();
      }
      start = "(" + *last_id;
    }
    return {};
  }

 private:
  using context_ptr = std::unique_ptr<redisContext, decltype(&redisFree)>;

  result<context_ptr> connect() {
    const timeval timeout{static_cast<time_t>(env_.stall_timeout_ms / 1000), 0};
    context_ptr c(redisConnectWithTimeout("127.0.0.1", port_, timeout), &redisFree);
    if (!c || c->err) {
      return make_error(errc::unavailable, fmt::format("redis: connect: {}", c ? c->errstr : "out of memory"));
    }
    redisSetTimeout(c.get(), timeout);
    return c;
  }

  // Redis answers LOADING while it replays the AOF after a restart.
  status wait_loaded() {
    auto conn = connect();
    if (!conn) {
      return conn.err();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(env_.start_timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      auto* r = static_cast<redisReply*>(redisCommand(conn->get(), "PING"));
      if (r == nullptr) {
        return make_error(errc::io_error, "redis: PING failed");
      }
      const bool pong = r->type == REDIS_REPLY_STATUS;
      freeReplyObject(r);
      if (pong) {
        return {};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return make_error(errc::timed_out, "redis: still loading its AOF after the start timeout");
  }

  // Feeds an XRANGE reply's entries ([id, [field, value]]) to the meter and
  // returns the last id, so the next XRANGE starts after it.
  static result<std::string> observe_entries(const redisReply& r, consume_meter& meter) {
    if (r.type != REDIS_REPLY_ARRAY || r.elements == 0) {
      return make_error(errc::corrupt, fmt::format("redis: XRANGE ended after {} records", meter.seen()));
    }
    std::string last_id;
    for (size_t i = 0; i < r.elements; ++i) {
      const redisReply* entry = r.element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[1]->elements != 2) {
        return make_error(errc::corrupt, "redis: XRANGE entry is not [id, [field, value]]");
      }
      const redisReply* value = entry->element[1]->element[1];
      STRATA_TRY(meter.observe({reinterpret_cast<const uint8_t*>(value->str), value->len}));
      last_id.assign(entry->element[0]->str, entry->element[0]->len);
    }
    return last_id;
  }

  target_env env_;
  uint16_t port_ = 0;
  std::string log_path_;
  std::unique_ptr<child_process> server_;
};

}  // namespace

std::unique_ptr<target> make_redis_target(target_env env) { return std::make_unique<redis_target>(std::move(env)); }

}  // namespace strata::bench
