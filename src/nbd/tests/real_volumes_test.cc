// The NBD server over the real volumes service (fault_fs, memory kv): what a
// client writes with FUA or before a FLUSH survives a power loss, snapshots
// are read-only over the wire, and BLOCK_STATUS reports the volume's holes.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "io/fault_fs.h"
#include "meta/kv.h"
#include "nbd/server.h"
#include "nbd/tests/running_server.h"
#include "nbd/tests/test_client.h"
#include "volumes/service.h"

namespace strata::nbd {
namespace {

namespace asio = boost::asio;
using testing::test_client;

constexpr uint64_t volume_bytes = 16 * MiB;

class RealVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kv_ = meta::make_memory_kv();
    open_service();
    ASSERT_TRUE(volumes_->create_volume("vol", volume_bytes).ok());
  }
  void TearDown() override { stop_server(); }

  void open_service() {
    volumes::service_config config;
    config.data_dir = "/d";
    auto s = volumes::service::open(config, fs_, *kv_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    volumes_ = std::move(*s);
  }

  void start_server() { ASSERT_TRUE(server_.start(*volumes_, "127.0.0.1:0", "").ok()); }

  void stop_server() { server_.stop(); }

  // Power loss: only what was synced survives.
  void crash_and_reopen() {
    stop_server();
    volumes_.reset();
    fs_.crash();
    open_service();
  }

  std::vector<uint8_t> read_direct(const std::string& name, uint64_t offset, size_t bytes) {
    auto h = volumes_->open_export(name);
    EXPECT_TRUE(h.ok());
    std::vector<uint8_t> out(bytes);
    EXPECT_TRUE((*h)->read(offset, out).ok());
    return out;
  }

  io::fault_fs fs_;
  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<volumes::service> volumes_;
  testing::running_server server_;
};

TEST_F(RealVolumesTest, FuaAndFlushedWritesSurviveAPowerLoss) {
  std::vector<uint8_t> a(64 * KiB, 0xA1), b(8 * KiB, 0xB2);
  start_server();
  {
    test_client c(server_.port());
    ASSERT_TRUE(c.go("vol"));
    ASSERT_EQ(c.size(), volume_bytes);
    ASSERT_TRUE(c.request(cmd_write, 1, 0, static_cast<uint32_t>(a.size()), cmd_flag_fua, a));
    EXPECT_EQ(c.read_message().error, 0u);
  }
  crash_and_reopen();  // no FLUSH: the FUA write alone must be durable
  EXPECT_EQ(read_direct("vol", 0, a.size()), a);

  start_server();
  {
    test_client c(server_.port());
    ASSERT_TRUE(c.go("vol"));
    ASSERT_TRUE(c.request(cmd_write, 2, 1 * MiB + 100, static_cast<uint32_t>(b.size()), 0, b));
    EXPECT_EQ(c.read_message().error, 0u);
    test_client other(server_.port());  // CAN_MULTI_CONN: a FLUSH on another connection covers it
    ASSERT_TRUE(other.go("vol"));
    ASSERT_TRUE(other.request(cmd_flush, 3, 0, 0));
    EXPECT_EQ(other.read_message().error, 0u);
  }
  crash_and_reopen();
  EXPECT_EQ(read_direct("vol", 1 * MiB + 100, b.size()), b);
  EXPECT_EQ(read_direct("vol", 0, a.size()), a);
}

TEST_F(RealVolumesTest, SnapshotsAreReadOnlyAndHolesShowInReadsAndBlockStatus) {
  std::vector<uint8_t> data(8 * KiB, 0x5C);
  {
    auto h = volumes_->open_export("vol");
    ASSERT_TRUE((*h)->write(4 * KiB, data, false).ok());
  }
  ASSERT_TRUE(volumes_->create_snapshot("vol", "s1").ok());
  start_server();

  test_client snap(server_.port());
  ASSERT_TRUE(snap.go("vol@s1"));
  ASSERT_TRUE(snap.request(cmd_write, 1, 0, 4096, 0, std::vector<uint8_t>(4096, 9)));
  EXPECT_EQ(snap.read_message().error, err_perm);

  ASSERT_TRUE(snap.request(cmd_read, 2, 0, 16 * KiB));
  // Hole, data, hole: three content chunks, the holes as OFFSET_HOLE.
  std::vector<uint16_t> types;
  std::vector<uint8_t> assembled(16 * KiB, 0xFF);
  for (;;) {
    auto m = snap.read_message();
    ASSERT_TRUE(m.ok);
    ASSERT_EQ(m.error, 0u);
    types.push_back(m.type);
    uint64_t at = load_u64(m.payload.data());
    if (m.type == reply_type_offset_data) {
      std::copy(m.payload.begin() + 8, m.payload.end(), assembled.begin() + static_cast<long>(at));
    } else {
      std::fill_n(assembled.begin() + static_cast<long>(at), load_u32(m.payload.data() + 8), 0);
    }
    if (m.flags & reply_flag_done) break;
  }
  EXPECT_EQ(types, (std::vector<uint16_t>{reply_type_offset_hole, reply_type_offset_data, reply_type_offset_hole}));
  EXPECT_TRUE(std::equal(data.begin(), data.end(), assembled.begin() + 4 * KiB));
  EXPECT_EQ(assembled[0], 0);
  EXPECT_EQ(assembled[15 * KiB], 0);

  ASSERT_TRUE(snap.request(cmd_block_status, 3, 0, 64 * KiB));
  auto m = snap.read_message();
  ASSERT_EQ(m.type, reply_type_block_status);
  ASSERT_GE(m.payload.size(), 4u + 3 * 8u);
  EXPECT_EQ(load_u32(m.payload.data() + 4), 4 * KiB);
  EXPECT_EQ(load_u32(m.payload.data() + 8) & state_hole, state_hole);
  EXPECT_EQ(load_u32(m.payload.data() + 12), 8 * KiB);
  EXPECT_EQ(load_u32(m.payload.data() + 16), 0u);

  test_client vol(server_.port());
  ASSERT_TRUE(vol.go("vol"));
  ASSERT_TRUE(vol.request(cmd_write_zeroes, 4, 0, 64 * MiB));
  EXPECT_EQ(vol.read_message().error, err_nospc);  // past the end of a 16 MiB volume
  ASSERT_TRUE(vol.request(cmd_write_zeroes, 5, 4 * KiB, 8 * KiB, cmd_flag_fast_zero));
  EXPECT_EQ(vol.read_message().error, 0u);
  ASSERT_TRUE(vol.request(cmd_read, 6, 4 * KiB, 8 * KiB));
  auto zeros = vol.read_structured(4 * KiB, 8 * KiB);
  ASSERT_TRUE(zeros.has_value());
  EXPECT_TRUE(std::all_of(zeros->begin(), zeros->end(), [](uint8_t x) { return x == 0; }));
  // The snapshot still has its data.
  EXPECT_EQ(read_direct("vol@s1", 4 * KiB, data.size()), data);
}

}  // namespace
}  // namespace strata::nbd
