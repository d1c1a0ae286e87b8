// Test support for Kafka handlers: an in-memory streams::service that records
// its calls, and a harness that runs one handler and returns its response.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/acl.h"
#include "base/scheduler.h"
#include "kafka/protocol/api.h"
#include "kafka/protocol/wire.h"
#include "kafka/server/handler.h"
#include "meta/kv.h"
#include "streams/service.h"

namespace strata::kafka::testing {

// One partition's records as (offset, timestamp) pairs, dense from start.
struct fake_partition {
  int64_t log_start_offset = 0;
  std::vector<int64_t> timestamps;  // timestamps[i] belongs to offset log_start_offset + i
  int64_t end() const { return log_start_offset + static_cast<int64_t>(timestamps.size()); }
};

class fake_streams final : public streams::service {
 public:
  fake_streams() {
    config_.default_partitions = 4;
    config_.partitions_max = 100;
    config_.auto_create_topics = false;
  }

  // Test setup: a topic with `partitions` empty partitions and these configs.
  streams::topic_info& add_topic(const std::string& name, int32_t partitions,
                                 const std::map<std::string, std::string>& configs = {}) {
    auto created = create_topic(name, partitions, configs);
    EXPECT_TRUE(created.ok());
    return topics_.at(name);
  }
  fake_partition& partition(const std::string& topic, int32_t id) { return data_[{topic, id}]; }
  bool has_topic(const std::string& name) const { return topics_.contains(name); }
  const streams::topic_info& topic(const std::string& name) const { return topics_.at(name); }
  streams::service_config& mutable_config() { return config_; }

  int create_topic_calls = 0;
  int create_partitions_calls = 0;
  std::vector<std::pair<int64_t, int16_t>> init_producer_calls;
  streams::stream_error init_producer_error = streams::stream_error::none;

  void shutdown() override {}
  const streams::service_config& config() const override { return config_; }

  result<streams::topic_info> create_topic(const std::string& name, int32_t partitions,
                                           const std::map<std::string, std::string>& configs,
                                           int32_t /*replication_factor*/ = -1,
                                           const std::vector<std::vector<int32_t>>& /*assignment*/ = {}) override {
    ++create_topic_calls;
    if (topics_.contains(name)) return make_error(errc::already_exists, "topic " + name + " already exists");
    streams::topic_info t;
    t.name = name;
    t.id[0] = static_cast<uint8_t>(++next_id_);
    t.id[15] = 0xAB;
    for (auto& [k, v] : configs) STRATA_TRY(streams::apply_topic_config(t.config, k, v));
    t.explicit_configs = configs;
    for (int32_t i = 0; i < partitions; ++i) add_partition(t, i);
    topics_[name] = t;
    return t;
  }

  status delete_topic(const std::string& name) override {
    if (topics_.erase(name) == 0) return make_error(errc::not_found, "no topic " + name);
    return {};
  }

  status create_partitions(const std::string& name, int32_t total) override {
    ++create_partitions_calls;
    auto it = topics_.find(name);
    if (it == topics_.end()) return make_error(errc::not_found, "no topic " + name);
    for (auto i = static_cast<int32_t>(it->second.partitions.size()); i < total; ++i) add_partition(it->second, i);
    return {};
  }

  int alter_configs_calls = 0;
  result<streams::topic_info> alter_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                                                  bool validate_only) override {
    ++alter_configs_calls;
    auto it = topics_.find(name);
    if (it == topics_.end()) return make_error(errc::not_found, "no topic " + name);
    streams::topic_info next = it->second;
    next.config = {};
    for (auto& [k, v] : configs) STRATA_TRY(streams::apply_topic_config(next.config, k, v));
    next.explicit_configs = configs;
    if (!validate_only) it->second = next;
    return next;
  }

  std::vector<streams::topic_info> list_topics() const override {
    std::vector<streams::topic_info> out;
    for (auto& [name, t] : topics_) out.push_back(t);
    return out;
  }

  result<streams::topic_info> describe_topic(const std::string& name) const override {
    auto it = topics_.find(name);
    if (it == topics_.end()) return make_error(errc::not_found, "no topic " + name);
    return it->second;
  }

  // Produce counts its calls and fails each with storage_error. Fetch answers
  // `fetch_answer` (records, last stable offset, aborted transactions) and
  // records each call's isolation, as list_offset does.
  int produce_calls = 0;
  streams::fetch_result fetch_answer{};
  std::vector<streams::isolation> fetch_isolations;
  std::vector<streams::isolation> list_offset_isolations;

  void produce(const std::string&, int32_t, std::span<const uint8_t>, bool,
               std::function<void(streams::produce_result)> done, int32_t /*timeout_ms*/ = 30'000) override {
    ++produce_calls;
    streams::produce_result r;
    r.error = streams::stream_error::storage_error;
    done(r);
  }
  streams::fetch_result fetch(const std::string&, int32_t, int64_t, uint32_t, bool,
                              streams::isolation level) override {
    fetch_isolations.push_back(level);
    return fetch_answer;
  }
  uint64_t watch(const std::string&, int32_t, std::function<void()>) override { return 0; }
  void unwatch(uint64_t) override {}

  offset_lookup list_offset(const std::string& topic, int32_t id, int64_t timestamp_ms,
                            streams::isolation level) override {
    list_offset_isolations.push_back(level);
    offset_lookup out;
    auto t = topics_.find(topic);
    if (t == topics_.end() || id < 0 || id >= static_cast<int32_t>(t->second.partitions.size())) {
      out.error = streams::stream_error::unknown_topic_or_partition;
      return out;
    }
    const fake_partition& p = data_[{topic, id}];
    if (timestamp_ms == -1) {
      out.offset = p.end();
    } else if (timestamp_ms == -2) {
      out.offset = p.log_start_offset;
    } else {
      for (size_t i = 0; i < p.timestamps.size(); ++i) {
        if (p.timestamps[i] >= timestamp_ms) {
          out.offset = p.log_start_offset + static_cast<int64_t>(i);
          out.timestamp_ms = p.timestamps[i];
          break;
        }
      }
    }
    return out;
  }

  producer_identity init_producer_id(int64_t producer_id, int16_t producer_epoch) override {
    init_producer_calls.emplace_back(producer_id, producer_epoch);
    producer_identity out;
    out.error = init_producer_error;
    if (out.error != streams::stream_error::none) return out;
    if (producer_id >= 0) {
      out.producer_id = producer_id;
      out.producer_epoch = static_cast<int16_t>(producer_epoch + 1);
    } else {
      out.producer_id = 7000 + static_cast<int64_t>(init_producer_calls.size());
      out.producer_epoch = 0;
    }
    return out;
  }

  // DeleteRecords and DescribeProducers answer this for every partition when set.
  streams::stream_error partition_error = streams::stream_error::none;
  std::map<std::pair<std::string, int32_t>, std::vector<streams::active_producer>> producers;
  disk_usage usage{1'000'000, 400'000};

  void set_partition_info(const std::string& topic, int32_t id, const streams::partition_info& p) {
    topics_.at(topic).partitions.at(static_cast<size_t>(id)) = p;
  }

  delete_records_result delete_records(const std::string& topic, int32_t id, int64_t offset) override {
    delete_records_result out;
    if (!known(topic, id)) {
      out.error = streams::stream_error::unknown_topic_or_partition;
      return out;
    }
    out.error = partition_error;
    if (out.error != streams::stream_error::none) return out;
    fake_partition& p = data_[{topic, id}];
    const int64_t target = offset == -1 ? p.end() : offset;
    out.low_watermark = p.log_start_offset;
    if (target < 0 || target > p.end()) {
      out.error = streams::stream_error::offset_out_of_range;
      return out;
    }
    while (p.log_start_offset < target) {
      p.timestamps.erase(p.timestamps.begin());
      ++p.log_start_offset;
    }
    out.low_watermark = p.log_start_offset;
    return out;
  }

  producers_result describe_producers(const std::string& topic, int32_t id) const override {
    producers_result out;
    if (!known(topic, id)) {
      out.error = streams::stream_error::unknown_topic_or_partition;
      return out;
    }
    out.error = partition_error;
    if (auto it = producers.find({topic, id}); it != producers.end() && out.error == streams::stream_error::none) {
      out.producers = it->second;
    }
    return out;
  }

  disk_usage data_dir_usage() const override { return usage; }

 private:
  bool known(const std::string& topic, int32_t id) const {
    auto t = topics_.find(topic);
    return t != topics_.end() && id >= 0 && id < static_cast<int32_t>(t->second.partitions.size());
  }

  static void add_partition(streams::topic_info& t, int32_t id) {
    streams::partition_info p;
    p.id = id;
    t.partitions.push_back(p);
  }

  streams::service_config config_;
  std::map<std::string, streams::topic_info> topics_;
  std::map<std::pair<std::string, int32_t>, fake_partition> data_;
  int next_id_ = 0;
};

class handler_harness {
 public:
  handler_harness() : svc_{streams, unused_groups(), sched, broker} {}
  // For handlers that use the group coordinator (OffsetFetch, TxnOffsetCommit
  // through the transaction coordinator): the test's own.
  explicit handler_harness(groups::coordinator& groups) : svc_{streams, groups, sched, broker} {}

  // Runs the handler on `body` as API `key` at `version`; expects it to
  // succeed and respond exactly once, and returns the response body.
  std::vector<uint8_t> call(handler_fn fn, api_key key, int16_t version, const std::vector<uint8_t>& body) {
    int calls = 0;
    std::optional<std::vector<uint8_t>> out;
    status st = run(fn, key, version, body, calls, out);
    EXPECT_TRUE(st.ok());
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(out.has_value());
    return out.value_or(std::vector<uint8_t>{});
  }

  // Runs the handler and returns its status; `responded` counts respond calls.
  status call_raw(handler_fn fn, api_key key, int16_t version, const std::vector<uint8_t>& body, int& responded) {
    std::optional<std::vector<uint8_t>> out;
    return run(fn, key, version, body, responded, out);
  }

  static bool is_flexible(api_key key, int16_t version) {
    return version >= find_api(static_cast<int16_t>(key))->first_flexible_version;
  }

  fake_streams streams;
  manual_scheduler sched;
  broker_config broker;
  std::string principal = "User:ANONYMOUS";  // who the requests come from
  std::string client_ip = "127.0.0.1";
  services& svc() { return svc_; }

  // Turns authorization on (User:admin the only super user); requests then
  // come from `who`, who may do only what allow() grants.
  void authorize_as(std::string who) {
    auto store = auth::acl_store::open(*acl_kv_);
    ASSERT_TRUE(store.ok());
    acls_ = std::move(*store);
    authorizer_ = std::make_unique<auth::authorizer>(*acls_, std::vector<std::string>{"User:admin"});
    svc_.acls = acls_.get();
    svc_.authorizer = authorizer_.get();
    principal = std::move(who);
  }
  void allow(auth::resource_type type, const std::string& name, auth::operation op,
             auth::pattern_type pattern = auth::pattern_type::literal) {
    ASSERT_TRUE(acls_->add({type, name, pattern, principal, "*", op, auth::permission::allow}).ok());
  }
  auth::acl_store& acls() { return *acls_; }

 private:
  // Without a coordinator of the test's, the handlers under test never touch one.
  groups::coordinator& unused_groups() { return *reinterpret_cast<groups::coordinator*>(groups_placeholder_); }

  status run(handler_fn fn, api_key key, int16_t version, const std::vector<uint8_t>& body, int& calls,
             std::optional<std::vector<uint8_t>>& out) {
    request req;
    req.header.api_key = static_cast<int16_t>(key);
    req.header.api_version = version;
    req.header.correlation_id = 42;
    req.header.flexible = is_flexible(key, version);
    req.body = body;
    req.principal = principal;
    req.client_ip = client_ip;
    return fn(svc_, req, [&](std::optional<std::vector<uint8_t>> r) {
      ++calls;
      out = std::move(r);
    });
  }

  alignas(std::max_align_t) std::byte groups_placeholder_[sizeof(std::max_align_t)]{};
  services svc_;
  std::unique_ptr<meta::kv> acl_kv_ = meta::make_memory_kv();
  std::unique_ptr<auth::acl_store> acls_;
  std::unique_ptr<auth::authorizer> authorizer_;
};

}  // namespace strata::kafka::testing
