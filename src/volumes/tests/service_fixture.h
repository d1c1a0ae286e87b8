// A volumes::service on fault_fs and an in-memory kv, with byte helpers.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "io/fault_fs.h"
#include "meta/kv.h"
#include "volumes/service.h"

namespace strata::volumes {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kv_ = meta::make_memory_kv();
    open();
  }
  void open() {
    service_config config;
    config.data_dir = "/d";
    config.pending_map_records_max = pending_max_;
    config.map_checkpoint_bytes_min = checkpoint_bytes_min_;
    auto s = service::open(config, fs_, *kv_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    svc_ = std::move(*s);
  }
  // Power loss: the service dies, fault_fs keeps only what was synced.
  void crash_and_reopen() {
    svc_.reset();
    fs_.crash();
    open();
  }
  std::shared_ptr<export_handle> exp(const std::string& name) {
    auto h = svc_->open_export(name);
    EXPECT_TRUE(h.ok()) << name << ": " << (h.ok() ? "" : h.err().message);
    return h.ok() ? *h : nullptr;
  }
  static std::vector<uint8_t> pattern(size_t bytes, uint8_t seed) {
    std::vector<uint8_t> v(bytes);
    for (size_t i = 0; i < bytes; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
  }
  static std::vector<uint8_t> read(export_handle& h, uint64_t offset, size_t bytes) {
    std::vector<uint8_t> out(bytes, 0xee);
    auto r = h.read(offset, out);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return out;
  }
  static void write(export_handle& h, uint64_t offset, const std::vector<uint8_t>& data, bool fua = false) {
    auto s = h.write(offset, data, fua);
    ASSERT_TRUE(s.ok()) << s.err().message;
  }
  static bool all_zero(const std::vector<uint8_t>& v) {
    for (uint8_t b : v) {
      if (b != 0) return false;
    }
    return true;
  }

  uint32_t pending_max_ = 65536;
  uint64_t checkpoint_bytes_min_ = 16 * 1024 * 1024;
  io::fault_fs fs_;
  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<service> svc_;
};

}  // namespace strata::volumes
