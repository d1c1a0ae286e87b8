// A streams service over a fault-injecting file system, a memory kv and a
// manual scheduler, for the service tests: open, crash and reopen, and the
// asynchronous calls driven to completion by pumping the scheduler while the
// flusher thread syncs.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/scheduler.h"
#include "io/fault_fs.h"
#include "meta/kv.h"
#include "streams/service.h"

namespace strata::streams::testing {

class service_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    kv_ = meta::make_memory_kv();
    open_service();
  }
  void TearDown() override {
    if (svc_) svc_->shutdown();
  }

  // Settings of the service each open uses, beyond the data dir.
  virtual void configure(service_config&) {}

  void open_service() {
    service_config c;
    c.data_dir = "/data";
    configure(c);
    auto s = service::open(c, fs_, *kv_, sched_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    svc_ = std::move(*s);
  }

  void restart_after_crash() {
    svc_->shutdown();
    svc_.reset();
    sched_.run_pending();
    fs_.crash();
    open_service();
  }

  // Runs the scheduler until done() or about two seconds pass.
  template <class Pred>
  void pump(Pred done) {
    for (int i = 0; i < 2000 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      sched_.run_pending();
    }
  }

  produce_result produce_batch(const std::string& topic, int32_t partition, const std::vector<uint8_t>& batch,
                               bool wait_durable = true) {
    std::optional<produce_result> out;
    svc_->produce(topic, partition, batch, wait_durable, [&](produce_result r) { out = std::move(r); });
    pump([&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value()) << "produce never completed";
    return out.value_or(produce_result{stream_error::storage_error, "timeout"});
  }

  stream_error write_marker(const std::string& topic, int32_t partition, const txn_marker& marker) {
    std::optional<stream_error> out;
    svc_->write_txn_marker(topic, partition, marker, [&](stream_error e) { out = e; });
    pump([&] { return out.has_value(); });
    EXPECT_TRUE(out.has_value()) << "marker never completed";
    return out.value_or(stream_error::request_timed_out);
  }

  io::fault_fs fs_;
  std::unique_ptr<meta::kv> kv_;
  manual_scheduler sched_;
  std::unique_ptr<service> svc_;
};

}  // namespace strata::streams::testing
