// NATS JetStream through libnats: a file-store stream, async publishes with a
// per-message ack handler, and an ordered push consumer for the cold read.
#include <nats/nats.h>

#include <signal.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "net_util.h"
#include "payload.h"
#include "server.h"
#include "target.h"

namespace strata::bench {
namespace {

constexpr int64_t stop_grace_ms = 10'000;
constexpr int64_t publish_complete_wait_ms = 5'000;

error nats_error(natsStatus s, const std::string& what) {
  const char* detail = nats_GetLastError(nullptr);
  return make_error(errc::io_error, fmt::format("nats: {}: {} ({})", what, natsStatus_GetText(s),
                                                detail != nullptr ? detail : "no detail"));
}

class jetstream_producer final : public producer {
 public:
  jetstream_producer(jsCtx* js, std::string subject) : js_(js), subject_(std::move(subject)) {}
  ~jetstream_producer() override {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = publish_complete_wait_ms;
    js_PublishAsyncComplete(js_, &po);
    jsCtx_Destroy(js_);
  }

  status send(uint64_t, std::span<const uint8_t> payload) override {
    natsStatus s = js_PublishAsync(js_, subject_.c_str(), payload.data(), static_cast<int>(payload.size()), nullptr);
    if (s != NATS_OK) {
      return nats_error(s, "publish");
    }
    return {};
  }
  status flush() override { return {}; }  // libnats' flusher thread writes

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto& acks = *static_cast<ack_tracker*>(closure);
    auto index = check_payload({reinterpret_cast<const uint8_t*>(natsMsg_GetData(msg)),
                                static_cast<size_t>(natsMsg_GetDataLength(msg))});
    if (!index) {
      acks.on_error(0, "jetstream acked a message the benchmark cannot identify");
    } else if (pa != nullptr) {
      acks.on_ack(*index);
    } else {
      acks.on_error(*index, fmt::format("jetstream: {}", pae != nullptr && pae->ErrText ? pae->ErrText : "nack"));
    }
    natsMsg_Destroy(msg);
  }

 private:
  jsCtx* js_;
  std::string subject_;
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
    return "file store, 1 replica; nats-server 2.9 acks once the message is written to the OS "
           "(no fsync per message; it has no sync_interval option, and fsyncs on its own timer)";
  }

  status start() override {
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
  std::string log_tail() const override { return server_log_tail(log_path_); }

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
    cfg.Replicas = 1;
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
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = &jetstream_producer::on_ack;
    jo.PublishAsync.AckHandlerClosure = &acks;
    // MaxPending stays 0 (no library limit): the driver's window is the limit.
    jsCtx* js = nullptr;
    natsStatus s = natsConnection_JetStream(&js, conn_, &jo);
    if (s != NATS_OK) {
      return nats_error(s, "JetStream context");
    }
    return std::unique_ptr<producer>(new jetstream_producer(js, stream));
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
  status open_connection(natsConnection** nc) {
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    const std::string url = fmt::format("nats://127.0.0.1:{}", port_);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
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
