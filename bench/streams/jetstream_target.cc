// NATS JetStream through libnats: a file-store stream, async publishes with a
// per-message ack handler, and an ordered push consumer for the cold read.
// bench/cluster also runs it against a three-server cluster (env.endpoints,
// env.replicas) and retries publishes that a leader change lost
// (env.retry_until_acked).
#include <nats/nats.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "net_util.h"
#include "payload.h"
#include "server.h"
#include "target.h"

namespace strata::bench {
namespace {

constexpr int64_t stop_grace_ms = 10'000;
constexpr int64_t publish_complete_wait_ms = 5'000;
// retry_until_acked: a publish without an ack after this long is sent again,
// this long after a failure.
constexpr int64_t retry_ack_wait_ms = 2'000;
constexpr int64_t retry_backoff_ms = 50;

error nats_error(natsStatus s, const std::string& what) {
  const char* detail = nats_GetLastError(nullptr);
  return make_error(errc::io_error, fmt::format("nats: {}: {} ({})", what, natsStatus_GetText(s),
                                                detail != nullptr ? detail : "no detail"));
}

// What the ack handler needs: the tracker, and in retry mode the queue of
// publishes to send again.
struct publish_state {
  ack_tracker* acks = nullptr;
  bool retry = false;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<int64_t, std::vector<uint8_t>>> resend;  // (due ns, payload)
  bool stopping = false;
};

class jetstream_producer final : public producer {
 public:
  jetstream_producer(jsCtx* js, std::string subject, std::unique_ptr<publish_state> state)
      : js_(js), subject_(std::move(subject)), state_(std::move(state)) {
    if (state_->retry) {
      resender_ = std::thread([this] { resend_loop(); });
    }
  }
  ~jetstream_producer() override {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = publish_complete_wait_ms;
    js_PublishAsyncComplete(js_, &po);
    if (resender_.joinable()) {
      {
        std::lock_guard lock(state_->mu);
        state_->stopping = true;
      }
      state_->cv.notify_all();
      resender_.join();
    }
    jsCtx_Destroy(js_);
  }

  status send(uint64_t, std::span<const uint8_t> payload) override {
    if (state_->retry) {
      return publish_with_id(payload);
    }
    natsStatus s = js_PublishAsync(js_, subject_.c_str(), payload.data(), static_cast<int>(payload.size()), nullptr);
    if (s != NATS_OK) {
      return nats_error(s, "publish");
    }
    return {};
  }
  status flush() override { return {}; }  // libnats' flusher thread writes

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto& st = *static_cast<publish_state*>(closure);
    std::span<const uint8_t> data{reinterpret_cast<const uint8_t*>(natsMsg_GetData(msg)),
                                  static_cast<size_t>(natsMsg_GetDataLength(msg))};
    auto index = check_payload(data);
    if (!index) {
      st.acks->on_error(0, "jetstream acked a message the benchmark cannot identify");
    } else if (pa != nullptr) {
      st.acks->on_ack(*index);
    } else if (st.retry) {
      // No leader, a lost ack, a timeout: the same message (same id) again.
      std::lock_guard lock(st.mu);
      st.resend.emplace_back(now_ns() + retry_backoff_ms * 1'000'000, std::vector<uint8_t>(data.begin(), data.end()));
      st.cv.notify_all();
    } else {
      st.acks->on_error(*index, fmt::format("jetstream: {}", pae != nullptr && pae->ErrText ? pae->ErrText : "nack"));
    }
    natsMsg_Destroy(msg);
  }

 private:
  // Publishes with a Nats-Msg-Id (the record index), so the stream drops a
  // copy of a message it already has, and an ack deadline.
  status publish_with_id(std::span<const uint8_t> payload) {
    auto index = check_payload(payload);
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject_.c_str(), nullptr, reinterpret_cast<const char*>(payload.data()),
                                  static_cast<int>(payload.size()));
    const std::string id = fmt::format("{}", index ? *index : 0);
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id.c_str());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = retry_ack_wait_ms;
    if (s == NATS_OK) s = js_PublishMsgAsync(js_, &msg, &po);
    natsMsg_Destroy(msg);  // a no-op once the library took it
    if (s != NATS_OK) {
      return nats_error(s, "publish");
    }
    return {};
  }

  void resend_loop() {
    std::unique_lock lock(state_->mu);
    while (true) {
      state_->cv.wait(lock, [&] { return state_->stopping || !state_->resend.empty(); });
      if (state_->stopping) {
        return;
      }
      auto [due, payload] = std::move(state_->resend.front());
      state_->resend.pop_front();
      lock.unlock();
      const int64_t wait = due - now_ns();
      if (wait > 0) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      }
      auto sent = publish_with_id(payload);  // fails while reconnecting: queue it again
      lock.lock();
      if (!sent) {
        state_->resend.emplace_back(now_ns() + retry_backoff_ms * 1'000'000, std::move(payload));
      }
    }
  }

  jsCtx* js_;
  std::string subject_;
  std::unique_ptr<publish_state> state_;
  std::thread resender_;
};

// State shared with the subscription's delivery thread.
struct consume_state {
  consume_meter* meter;
  std::mutex mu;
  std::optional<error> failure;
  std::atomic<bool> failed{false};
};

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto& st = *static_cast<consume_state*>(closure);
  if (!st.failed.load() && !st.meter->done()) {
    auto seen = st.meter->observe({reinterpret_cast<const uint8_t*>(natsMsg_GetData(msg)),
                                   static_cast<size_t>(natsMsg_GetDataLength(msg))});
    if (!seen) {
      std::lock_guard lock(st.mu);
      st.failure = seen.err();
      st.failed.store(true);
    }
  }
  natsMsg_Destroy(msg);
}

class jetstream_target final : public target {
 public:
  explicit jetstream_target(target_env env) : env_(std::move(env)) {}
  ~jetstream_target() override { disconnect(); }

  const char* name() const override { return "jetstream"; }
  std::string durability() const override {
    return fmt::format("file store, {} replica{}; nats-server 2.9 acks once the message is written to the OS{} "
                       "(no fsync per message; it has no sync_interval option, and fsyncs on its own timer)",
                       env_.replicas, env_.replicas == 1 ? "" : "s",
                       env_.replicas > 1 ? " of a quorum of the replicas" : "");
  }

  status start() override {
    if (external()) {
      return connect();  // bench/cluster runs the servers
    }
    STRATA_TRY(keep_loopback_port(port_));
    const std::string dir = make_data_dir(env_.work_dir);
    log_path_ = env_.work_dir + "/nats-server.log";
    auto server = start_server({env_.server_bin, "-a", "127.0.0.1", "-p", std::to_string(port_), "-js", "-sd", dir},
                               log_path_, port_, env_.start_timeout_ms);
    if (!server) {
      return server.err();
    }
    server_ = std::move(*server);
    return connect();
  }

  status stop() override {
    disconnect();
    return stop_server(server_, stop_grace_ms, SIGINT);
  }
  std::string log_tail() const override { return external() ? std::string() : server_log_tail(log_path_); }

  status create_stream(const std::string& stream) override {
    jsCtx* js = nullptr;
    natsStatus s = natsConnection_JetStream(&js, conn_, nullptr);
    if (s != NATS_OK) {
      return nats_error(s, "JetStream context");
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream.c_str();
    const char* subjects[] = {stream.c_str()};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = env_.replicas;
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&info, js, &cfg, nullptr, &jerr);
    jsStreamInfo_Destroy(info);
    jsCtx_Destroy(js);
    if (s != NATS_OK) {
      return nats_error(s, fmt::format("add stream {} (error code {})", stream, static_cast<int>(jerr)));
    }
    return {};
  }

  result<std::unique_ptr<producer>> open_producer(const std::string& stream, ack_tracker& acks) override {
    auto state = std::make_unique<publish_state>();
    state->acks = &acks;
    state->retry = env_.retry_until_acked;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = &jetstream_producer::on_ack;
    jo.PublishAsync.AckHandlerClosure = state.get();
    // MaxPending stays 0 (no library limit): the driver's window is the limit.
    jsCtx* js = nullptr;
    natsStatus s = natsConnection_JetStream(&js, conn_, &jo);
    if (s != NATS_OK) {
      return nats_error(s, "JetStream context");
    }
    return std::unique_ptr<producer>(new jetstream_producer(js, stream, std::move(state)));
  }

  result<std::string> stream_leader(const std::string& stream) override {
    jsCtx* js = nullptr;
    natsStatus s = natsConnection_JetStream(&js, conn_, nullptr);
    if (s != NATS_OK) {
      return nats_error(s, "JetStream context");
    }
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_GetStreamInfo(&info, js, stream.c_str(), nullptr, &jerr);
    std::string leader;
    if (s == NATS_OK && info != nullptr && info->Cluster != nullptr && info->Cluster->Leader != nullptr) {
      leader = info->Cluster->Leader;
    }
    jsStreamInfo_Destroy(info);
    jsCtx_Destroy(js);
    if (s != NATS_OK) {
      return nats_error(s, fmt::format("stream info {} (error code {})", stream, static_cast<int>(jerr)));
    }
    if (leader.empty()) {
      return make_error(errc::not_found, fmt::format("jetstream: stream {} has no leader yet", stream));
    }
    return leader;
  }

  status consume(const std::string& stream, consume_meter& meter) override {
    natsConnection* nc = nullptr;
    STRATA_TRY(open_connection(&nc));
    jsCtx* js = nullptr;
    natsSubscription* sub = nullptr;
    consume_state st{&meter, {}, {}, {}};
    natsStatus s = natsConnection_JetStream(&js, nc, nullptr);
    if (s == NATS_OK) {
      jsSubOptions so;
      jsSubOptions_Init(&so);
      so.Stream = stream.c_str();
      so.Ordered = true;
      s = js_Subscribe(&sub, js, stream.c_str(), &on_message, &st, nullptr, &so, nullptr);
    }
    status waited = s == NATS_OK ? wait_with_stall_check([&] { return st.failed.load() || meter.done(); },
                                                         [&] { return meter.seen(); }, env_.stall_timeout_ms,
                                                         "jetstream consumer")
                                 : status(nats_error(s, "subscribe"));
    if (sub != nullptr) {
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    STRATA_TRY(waited);
    std::lock_guard lock(st.mu);
    if (st.failure) {
      return *st.failure;
    }
    return {};
  }

 private:
  bool external() const { return !env_.endpoints.empty(); }

  status open_connection(natsConnection** nc) {
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    std::string url = fmt::format("nats://127.0.0.1:{}", port_);
    if (external()) {
      // Every server of the cluster; reconnect to another when one dies.
      std::vector<std::string> urls;
      std::vector<const char*> ptrs;
      for (const auto& e : env_.endpoints) urls.push_back("nats://" + e);
      for (const auto& u : urls) ptrs.push_back(u.c_str());
      url = fmt::format("{}", fmt::join(urls, ","));
      if (s == NATS_OK) s = natsOptions_SetServers(opts, ptrs.data(), static_cast<int>(ptrs.size()));
      if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
      if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 100);
    } else {
      if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
      if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
    }
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
      return nats_error(s, "connect " + url);
    }
    return {};
  }

  status connect() {
    disconnect();
    return open_connection(&conn_);
  }

  void disconnect() {
    if (conn_ != nullptr) {
      natsConnection_Destroy(conn_);
      conn_ = nullptr;
    }
  }

  target_env env_;
  uint16_t port_ = 0;
  std::string log_path_;
  std::unique_ptr<child_process> server_;
  natsConnection* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<target> make_jetstream_target(target_env env) {
  return std::make_unique<jetstream_target>(std::move(env));
}

}  // namespace strata::bench
