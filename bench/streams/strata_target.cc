// Strata through librdkafka: acks=all producer with a delivery report per
// record, and a legacy (group-less) consumer reading partition 0 from the
// beginning.
#include <librdkafka/rdkafka.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "net_util.h"
#include "server.h"
#include "target.h"

namespace strata::bench {
namespace {

constexpr int64_t stop_grace_ms = 10'000;
constexpr int32_t partition = 0;
constexpr int poll_interval_ms = 5;
constexpr size_t consume_batch_records = 1024;
constexpr size_t errstr_bytes = 512;

using conf_ptr = std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)>;
using client_ptr = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)>;

result<conf_ptr> make_conf(const std::vector<std::pair<std::string, std::string>>& settings) {
  conf_ptr conf(rd_kafka_conf_new(), &rd_kafka_conf_destroy);
  char err[errstr_bytes];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return make_error(errc::invalid_argument, fmt::format("librdkafka: {}={}: {}", key, value, err));
    }
  }
  return conf;
}

// rd_kafka_new takes the conf on success only.
result<client_ptr> make_client(rd_kafka_type_t type, conf_ptr conf) {
  char err[errstr_bytes];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof(err));
  if (rk == nullptr) {
    return make_error(errc::invalid_argument, fmt::format("librdkafka: {}", err));
  }
  conf.release();
  return client_ptr(rk, &rd_kafka_destroy);
}

// A client of the given type with these settings and no callbacks.
result<client_ptr> make_client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& settings) {
  auto conf = make_conf(settings);
  if (!conf) {
    return conf.err();
  }
  return make_client(type, std::move(*conf));
}

class strata_producer final : public producer {
 public:
  strata_producer(client_ptr rk, topic_ptr topic) : rk_(std::move(rk)), topic_(std::move(topic)) {
    poller_ = std::thread([this] {
      while (!stopping_.load()) {
        rd_kafka_poll(rk_.get(), poll_interval_ms);
      }
    });
  }
  ~strata_producer() override {
    rd_kafka_flush(rk_.get(), 5'000);
    stopping_.store(true);
    poller_.join();
    topic_.reset();
    rk_.reset();
  }

  status send(uint64_t index, std::span<const uint8_t> payload) override {
    // msg_opaque carries the index back to the delivery report.
    const int rc = rd_kafka_produce(topic_.get(), partition, RD_KAFKA_MSG_F_COPY,
                                    const_cast<uint8_t*>(payload.data()), payload.size(), nullptr, 0,
                                    reinterpret_cast<void*>(static_cast<uintptr_t>(index)));
    if (rc != 0) {
      return make_error(errc::io_error, fmt::format("librdkafka produce: {}", rd_kafka_err2str(rd_kafka_last_error())));
    }
    return {};
  }
  status flush() override { return {}; }  // librdkafka's broker thread writes

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto& acks = *static_cast<ack_tracker*>(opaque);
    const auto index = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      acks.on_error(index, fmt::format("strata: {}", rd_kafka_err2str(m->err)));
    } else {
      acks.on_ack(index);
    }
  }

 private:
  client_ptr rk_;
  topic_ptr topic_;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
};

class strata_target final : public target {
 public:
  explicit strata_target(target_env env) : env_(std::move(env)) {}

  const char* name() const override { return "strata"; }
  std::string durability() const override {
    if (env_.replicas > 1) {
      return fmt::format("acks=all, replication factor {}: a produce is acknowledged once every replica in the "
                         "ISR (at least min.insync.replicas, default 2) has its batch; each node keeps Strata's "
                         "default fsync policy (per batch)",
                         env_.replicas);
    }
    return "acks=all, Strata's default fsync policy (per batch): a produce is acknowledged after its batch "
           "is fsynced";
  }

  status start() override {
    if (external()) {
      return {};  // bench/cluster runs the nodes
    }
    STRATA_TRY(keep_loopback_port(kafka_port_));
    STRATA_TRY(keep_loopback_port(http_port_));
    const std::string dir = make_data_dir(env_.work_dir);
    log_path_ = env_.work_dir + "/strata.log";
    auto server = start_server({env_.server_bin, "server", "--data-dir", dir, "--kafka-listen",
                                fmt::format("127.0.0.1:{}", kafka_port_), "--pg-listen", "127.0.0.1:0",
                                "--nbd-listen", "127.0.0.1:0", "--http-listen",
                                fmt::format("127.0.0.1:{}", http_port_)},
                               log_path_, kafka_port_, env_.start_timeout_ms);
    if (!server) {
      return server.err();
    }
    server_ = std::move(*server);
    return {};
  }

  status stop() override { return stop_server(server_, stop_grace_ms, SIGTERM); }
  std::string log_tail() const override { return external() ? std::string() : server_log_tail(log_path_); }

  status create_stream(const std::string& stream) override {
    auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
    if (!rk) {
      return rk.err();
    }
    return create_topic(rk->get(), stream);
  }

  result<std::unique_ptr<producer>> open_producer(const std::string& stream, ack_tracker& acks) override {
    auto conf = make_conf({{"bootstrap.servers", bootstrap()},
                           {"acks", "all"},
                           {"linger.ms", "0"},
                           {"enable.idempotence", "false"},
                           {"compression.type", "none"},
                           {"socket.nagle.disable", "true"},
                           {"queue.buffering.max.messages", "1000000"},
                           {"queue.buffering.max.kbytes", "1048576"},
                           {"message.timeout.ms", std::to_string(env_.stall_timeout_ms)}});
    if (!conf) {
      return conf.err();
    }
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &strata_producer::on_delivery);
    rd_kafka_conf_set_opaque(conf->get(), &acks);
    auto rk = make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!rk) {
      return rk.err();
    }
    topic_ptr topic(rd_kafka_topic_new(rk->get(), stream.c_str(), nullptr), &rd_kafka_topic_destroy);
    if (!topic) {
      return make_error(errc::internal, "librdkafka: cannot create a topic handle");
    }
    return std::unique_ptr<producer>(new strata_producer(std::move(*rk), std::move(topic)));
  }

  status consume(const std::string& stream, consume_meter& meter) override {
    auto rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap()}, {"enable.partition.eof", "false"}});
    if (!rk) {
      return rk.err();
    }
    topic_ptr topic(rd_kafka_topic_new(rk->get(), stream.c_str(), nullptr), &rd_kafka_topic_destroy);
    if (!topic || rd_kafka_consume_start(topic.get(), partition, RD_KAFKA_OFFSET_BEGINNING) != 0) {
      return make_error(errc::internal, fmt::format("librdkafka: cannot start consuming {}: {}", stream,
                                                    rd_kafka_err2str(rd_kafka_last_error())));
    }
    auto consumed = consume_loop(topic.get(), meter);
    rd_kafka_consume_stop(topic.get(), partition);
    return consumed;
  }

  bool has_raw_consumer() const override { return !external(); }
  result<raw_fetch_stats> consume_raw(const std::string& stream, const raw_fetch_plan& plan) override {
    if (external()) {
      return make_error(errc::unsupported, "strata: the raw Fetch client reads only a server this benchmark started");
    }
    raw_fetch_plan p = plan;
    p.topic = stream;
    p.partition = partition;
    return raw_fetch_read(kafka_port_, p);
  }

  result<std::string> stream_leader(const std::string& stream) override {
    auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
    if (!rk) {
      return rk.err();
    }
    topic_ptr topic(rd_kafka_topic_new(rk->get(), stream.c_str(), nullptr), &rd_kafka_topic_destroy);
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_metadata(rk->get(), 0, topic.get(), &md, 5'000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return make_error(errc::io_error, fmt::format("strata: metadata of {}: {}", stream, rd_kafka_err2str(e)));
    }
    int32_t leader = -1;
    for (int t = 0; t < md->topic_cnt; ++t) {
      for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
        if (md->topics[t].partitions[p].id == partition && md->topics[t].partitions[p].err == 0) {
          leader = md->topics[t].partitions[p].leader;
        }
      }
    }
    rd_kafka_metadata_destroy(md);
    if (leader < 0) {
      return make_error(errc::not_found, fmt::format("strata: {}/{} has no leader yet", stream, partition));
    }
    return fmt::format("{}", leader);
  }

 private:
  bool external() const { return !env_.endpoints.empty(); }
  std::string bootstrap() const {
    return external() ? fmt::format("{}", fmt::join(env_.endpoints, ",")) : fmt::format("127.0.0.1:{}", kafka_port_);
  }

  status consume_loop(rd_kafka_topic_t* topic, consume_meter& meter) {
    std::vector<rd_kafka_message_t*> batch(consume_batch_records);
    auto last_progress = std::chrono::steady_clock::now();
    while (!meter.done()) {
      const ssize_t n = rd_kafka_consume_batch(topic, partition, 100, batch.data(), batch.size());
      if (n < 0) {
        return make_error(errc::io_error, fmt::format("librdkafka consume: {}", rd_kafka_err2str(rd_kafka_last_error())));
      }
      status observed;
      for (ssize_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
        if (observed.ok()) {
          observed = m->err != RD_KAFKA_RESP_ERR_NO_ERROR
                         ? make_error(errc::io_error, fmt::format("strata fetch: {}", rd_kafka_message_errstr(m)))
                         : meter.observe({static_cast<const uint8_t*>(m->payload), m->len});
        }
        rd_kafka_message_destroy(m);
      }
      STRATA_TRY(observed);
      const auto now = std::chrono::steady_clock::now();
      if (n > 0) {
        last_progress = now;
      } else if (now - last_progress > std::chrono::milliseconds(env_.stall_timeout_ms)) {
        return make_error(errc::timed_out, fmt::format("strata consumer: no records for {} ms after {}",
                                                       env_.stall_timeout_ms, meter.seen()));
      }
    }
    return {};
  }

  status create_topic(rd_kafka_t* rk, const std::string& stream) {
    char err[errstr_bytes];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(stream.c_str(), 1, env_.replicas, err, sizeof(err));
    if (nt == nullptr) {
      return make_error(errc::invalid_argument, fmt::format("librdkafka NewTopic: {}", err));
    }
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(env_.stall_timeout_ms));
    status created = topic_result(ev, stream);
    if (ev != nullptr) {
      rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_NewTopic_destroy(nt);
    return created;
  }

  static status topic_result(rd_kafka_event_t* ev, const std::string& stream) {
    if (ev == nullptr) {
      return make_error(errc::timed_out, fmt::format("strata: CreateTopics {} got no answer", stream));
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return make_error(errc::io_error, fmt::format("strata: CreateTopics {}: {}", stream, rd_kafka_event_error_string(ev)));
    }
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    if (res == nullptr) {
      return make_error(errc::io_error, fmt::format("strata: CreateTopics {}: unexpected event {}", stream,
                                                    rd_kafka_event_name(ev)));
    }
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &count);
    for (size_t i = 0; i < count; ++i) {
      const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        return make_error(errc::io_error, fmt::format("strata: CreateTopics {}: {}", stream, rd_kafka_err2str(e)));
      }
    }
    return {};
  }

  target_env env_;
  uint16_t kafka_port_ = 0;
  uint16_t http_port_ = 0;
  std::string log_path_;
  std::unique_ptr<child_process> server_;
};

}  // namespace

std::unique_ptr<target> make_strata_target(target_env env) { return std::make_unique<strata_target>(std::move(env)); }

}  // namespace strata::bench
