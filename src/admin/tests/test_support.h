// Test support shared by the admin and cli tests: an in-memory streams::service
// (and volumes::service, fake_volumes.h) and an admin server running on its own
// network thread on 127.0.0.1:0.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "admin/server.h"
#include "admin/tests/fake_volumes.h"
#include "metrics/registry.h"
#include "streams/service.h"

namespace strata::admin::testing {

// Topics in a map; partition offsets are whatever the test sets. Only the
// administration methods are meaningful.
class fake_service final : public streams::service {
 public:
  void shutdown() override {}
  const streams::service_config& config() const override { return config_; }

  result<streams::topic_info> create_topic(const std::string& name, int32_t partitions,
                                           const std::map<std::string, std::string>& configs,
                                           int32_t /*replication_factor*/ = -1,
                                           const std::vector<std::vector<int32_t>>& /*assignment*/ = {}) override {
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                            std::string::npos) {
      return make_error(errc::invalid_argument, "topic name " + name + " is invalid: use [a-zA-Z0-9._-]");
    }
    if (topics_.contains(name)) return make_error(errc::already_exists, "topic " + name + " already exists");
    if (partitions < 1 || partitions > config_.partitions_max) {
      return make_error(errc::invalid_argument, "partitions must be 1 to " + std::to_string(config_.partitions_max));
    }
    streams::topic_info topic;
    topic.name = name;
    topic.id[0] = 0xab;
    topic.id[15] = static_cast<uint8_t>(++topics_created_);
    for (const auto& [key, value] : configs) STRATA_TRY(streams::apply_topic_config(topic.config, key, value));
    for (int32_t i = 0; i < partitions; ++i) {
      streams::partition_info p;
      p.id = i;
      topic.partitions.push_back(p);
    }
    topics_[name] = topic;
    return topic;
  }

  status delete_topic(const std::string& name) override {
    if (topics_.erase(name) == 0) return make_error(errc::not_found, "unknown topic " + name);
    return {};
  }

  status create_partitions(const std::string&, int32_t) override {
    return make_error(errc::unsupported, "not in the fake");
  }

  std::vector<streams::topic_info> list_topics() const override {
    std::vector<streams::topic_info> out;
    for (const auto& [name, topic] : topics_) out.push_back(topic);
    return out;
  }

  result<streams::topic_info> describe_topic(const std::string& name) const override {
    auto it = topics_.find(name);
    if (it == topics_.end()) return make_error(errc::not_found, "unknown topic " + name);
    return it->second;
  }

  void produce(const std::string&, int32_t, std::span<const uint8_t>, bool,
               std::function<void(streams::produce_result)> done, int32_t /*timeout_ms*/ = 30'000) override {
    streams::produce_result result;
    result.error = streams::stream_error::unknown_topic_or_partition;
    done(result);
  }
  streams::fetch_result fetch(const std::string&, int32_t, int64_t, uint32_t, bool, streams::isolation) override {
    streams::fetch_result result;
    result.error = streams::stream_error::unknown_topic_or_partition;
    return result;
  }
  uint64_t watch(const std::string&, int32_t, std::function<void()>) override { return 0; }
  void unwatch(uint64_t) override {}
  offset_lookup list_offset(const std::string&, int32_t, int64_t, streams::isolation) override { return {}; }
  producer_identity init_producer_id(int64_t, int16_t) override { return {}; }

  // Direct access for tests; call on the network thread once it runs.
  std::map<std::string, streams::topic_info>& topics() { return topics_; }

 private:
  static streams::service_config make_config() {
    streams::service_config config;
    config.default_partitions = 2;
    config.partitions_max = 100;
    return config;
  }

  streams::service_config config_ = make_config();
  std::map<std::string, streams::topic_info> topics_;
  int topics_created_ = 0;
};

// An admin server with fake services, serving on its own thread. Without
// volumes, it runs as a server whose volumes face is off. With a TLS context
// in `security`, url() is https://.
class running_server {
 public:
  enum class volumes_face { on, off };
  explicit running_server(server_limits limits = {}, volumes_face face = volumes_face::on,
                          server_security security = {}, auth::user_store* users = nullptr)
      : tls_(security.tls != nullptr),
        server_(io_, "127.0.0.1:0", fake_, registry_, limits, face == volumes_face::on ? &volumes_ : nullptr, nullptr,
                nullptr, nullptr, users, std::move(security)) {
    status started = server_.start();
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.err().message);
    port_ = server_.port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~running_server() {
    stop();
    guard_.reset();
    thread_.join();
  }

  void stop() {
    on_network_thread([this] { server_.stop(); });
  }

  // Runs fn on the network thread and waits for it.
  template <class F>
  void on_network_thread(F fn) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  uint16_t port() const { return port_; }
  std::string url() const { return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_); }
  fake_service& fake() { return fake_; }
  fake_volumes& volumes() { return volumes_; }
  metrics::registry& registry() { return registry_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ = boost::asio::make_work_guard(io_);
  fake_service fake_;
  fake_volumes volumes_;
  metrics::registry registry_;
  bool tls_ = false;
  server server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace strata::admin::testing
