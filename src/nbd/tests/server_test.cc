// The Asio server over real sockets: a blocking test client talks to a server
// whose io_context runs on its own thread, with the in-memory fake volumes.
#include "nbd/server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "nbd/tests/fake_volumes.h"
#include "nbd/tests/test_client.h"

namespace strata::nbd {
namespace {

namespace asio = boost::asio;
using testing::test_client;

constexpr uint64_t block = volumes::block_bytes;
constexpr uint64_t disk_bytes = 64 * block;

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    disk_ = volumes_.add_export("vol", disk_bytes, false, "a volume");
    snap_ = volumes_.add_export("vol@snap", disk_bytes, true);
  }
  ~ServerTest() override { shut_down(); }

  void start(server_limits limits = {}, const std::string& unix_path = "") {
    server_observer observer;
    observer.on_request = [this](const request_stats& s) {
      std::lock_guard lock(mu_);
      ++requests_[command_name(s.command)];
      ++errors_[error_name(s.error)];
      read_bytes_ += s.read_bytes;
      write_bytes_ += s.write_bytes;
    };
    observer.on_rejection = [this](rejection r) {
      std::lock_guard lock(mu_);
      ++rejections_[rejection_name(r)];
    };
    server_ = std::make_unique<server>(io_, volumes_, limits, observer);
    auto s = server_->start("127.0.0.1:0", unix_path);
    ASSERT_TRUE(s.ok()) << s.err().message;
    thread_ = std::thread([this] { io_.run(); });
  }

  void shut_down() {
    if (!thread_.joinable()) return;
    std::promise<void> stopped;
    asio::post(io_, [&] {
      server_->stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    io_.stop();
    thread_.join();
    server_.reset();
  }

  int rejections(const std::string& name) {
    std::lock_guard lock(mu_);
    return rejections_[name];
  }
  int errors(const std::string& name) {
    std::lock_guard lock(mu_);
    return errors_[name];
  }

  // True when a fresh request on `c` (a structured session on "vol") works.
  static bool still_serves(test_client& c, uint64_t handle = 77) {
    if (!c.request(cmd_read, handle, 0, 512)) return false;
    auto data = c.read_structured(0, 512);
    return data.has_value();
  }

  asio::io_context io_;
  testing::fake_volumes volumes_;
  std::shared_ptr<testing::fake_disk> disk_;
  std::shared_ptr<testing::fake_disk> snap_;
  std::unique_ptr<server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, int> requests_;
  std::map<std::string, int> errors_;
  std::map<std::string, int> rejections_;
  uint64_t read_bytes_ = 0;
  uint64_t write_bytes_ = 0;
};

TEST_F(ServerTest, ServesAWholeSessionOverTcp) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  EXPECT_EQ(c.size(), disk_bytes);

  std::vector<uint8_t> data(2 * block);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(c.request(cmd_write, 1, block, static_cast<uint32_t>(data.size()), cmd_flag_fua, data));
  auto m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.handle, 1u);
  EXPECT_EQ(m.error, 0u);

  ASSERT_TRUE(c.request(cmd_read, 2, 0, 4 * block));
  uint64_t handle = 0;
  auto got = c.read_structured(0, 4 * block, &handle);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(handle, 2u);
  EXPECT_TRUE(std::all_of(got->begin(), got->begin() + block, [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::equal(data.begin(), data.end(), got->begin() + block));

  ASSERT_TRUE(c.request(cmd_flush, 3, 0, 0));
  m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.error, 0u);
  EXPECT_EQ(disk_->flushes, 1u);

  ASSERT_TRUE(c.request(cmd_block_status, 4, 0, 4 * block));
  m = c.read_message();
  ASSERT_TRUE(m.ok);
  ASSERT_EQ(m.type, reply_type_block_status);
  ASSERT_EQ(m.payload.size(), 4u + 3 * 8u);
  EXPECT_EQ(load_u32(m.payload.data() + 4), block);
  EXPECT_EQ(load_u32(m.payload.data() + 8), state_hole | state_zero);
  EXPECT_EQ(load_u32(m.payload.data() + 12), 2 * block);
  EXPECT_EQ(load_u32(m.payload.data() + 16), 0u);

  ASSERT_TRUE(c.request(cmd_disc, 5, 0, 0));
  EXPECT_TRUE(c.closed_by_server());
  shut_down();
  EXPECT_EQ(requests_["write"], 1);
  EXPECT_EQ(requests_["read"], 1);
  EXPECT_EQ(write_bytes_, 2 * block);
  EXPECT_EQ(read_bytes_, 4 * block);
}

TEST_F(ServerTest, ServesOverAUnixSocket) {
  std::string path = ::testing::TempDir() + "strata-nbd-test-" + std::to_string(::getpid()) + ".sock";
  start({}, path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  test_client c(path);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.go("vol", false, false));
  ASSERT_TRUE(c.request(cmd_read, 9, 0, 100));
  auto m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_FALSE(m.structured);
  EXPECT_EQ(m.error, 0u);
  auto body = c.recv(100);
  ASSERT_TRUE(body.has_value());
  shut_down();
  EXPECT_NE(::stat(path.c_str(), &st), 0);  // the socket file is gone
}

TEST_F(ServerTest, GarbageHandshakeIsClosedWhileOthersKeepWorking) {
  start();
  test_client good(server_->port());
  ASSERT_TRUE(good.go("vol"));

  test_client http(server_->port());
  ASSERT_TRUE(http.recv(greeting_bytes).has_value());
  std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  http.send(std::vector<uint8_t>(garbage.begin(), garbage.end()));
  EXPECT_TRUE(http.closed_by_server());

  test_client bad_magic(server_->port());
  ASSERT_TRUE(bad_magic.greet());
  bad_magic.send(std::vector<uint8_t>(16, 'x'));
  EXPECT_TRUE(bad_magic.closed_by_server());

  EXPECT_TRUE(still_serves(good));
  EXPECT_EQ(rejections("bad_client_flags"), 1);
  EXPECT_EQ(rejections("bad_option_magic"), 1);
}

// The bad-input list, each on its own connection, each answered as
// the spec says, while one well-behaved connection keeps being served.
TEST_F(ServerTest, BadInputOnOneConnectionLeavesAnotherServing) {
  start();
  test_client good(server_->port());
  ASSERT_TRUE(good.go("vol"));
  uint64_t handle = 100;

  {  // a garbage handshake: hung up on
    test_client c(server_->port());
    ASSERT_TRUE(c.recv(greeting_bytes).has_value());
    c.send(std::vector<uint8_t>(64, 0xFF));
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_TRUE(still_serves(good, ++handle));
  {  // an unknown option: NBD_REP_ERR_UNSUP
    test_client c(server_->port());
    ASSERT_TRUE(c.greet());
    auto r = c.option(0x1234);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].type, rep_err_unsup);
  }
  EXPECT_TRUE(still_serves(good, ++handle));
  {  // a read past the end: EINVAL
    test_client c(server_->port());
    ASSERT_TRUE(c.go("vol"));
    ASSERT_TRUE(c.request(cmd_read, 1, disk_bytes, 4096));
    EXPECT_EQ(c.read_message().error, err_inval);
  }
  EXPECT_TRUE(still_serves(good, ++handle));
  {  // an oversized request: EINVAL, payload skipped
    test_client c(server_->port());
    ASSERT_TRUE(c.go("vol", false, false));
    ASSERT_TRUE(c.request(cmd_write, 1, 0, 33 * MiB, 0, std::vector<uint8_t>(33 * MiB, 1)));
    auto m = c.read_message();
    EXPECT_FALSE(m.structured);
    EXPECT_EQ(m.error, err_inval);
  }
  EXPECT_TRUE(still_serves(good, ++handle));
  {  // a write to a snapshot: EPERM
    test_client c(server_->port());
    ASSERT_TRUE(c.go("vol@snap"));
    ASSERT_TRUE(c.request(cmd_write, 1, 0, 512, 0, std::vector<uint8_t>(512, 1)));
    EXPECT_EQ(c.read_message().error, err_perm);
  }
  EXPECT_TRUE(still_serves(good, ++handle));
  EXPECT_EQ(disk_->writes, 0u);
}

TEST_F(ServerTest, UnknownOptionIsUnsupportedAndNegotiationGoesOn) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.greet());
  auto r = c.option(200, {1, 2, 3, 4});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_unsup);
  r = c.option(opt_list);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.back().type, rep_ack);
  r = c.option(opt_go, testing::info_data("nope"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_unknown);
  r = c.option(opt_go, testing::info_data("vol"));
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.back().type, rep_ack);
}

TEST_F(ServerTest, ReadPastTheEndIsEinvalAndTheSessionGoesOn) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  ASSERT_TRUE(c.request(cmd_read, 1, disk_bytes - 512, 1024));
  auto m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.type, reply_type_error);
  EXPECT_EQ(m.error, err_inval);
  EXPECT_TRUE(still_serves(c));
}

TEST_F(ServerTest, OversizedWriteIsSkippedWithoutBufferingAndRefused) {
  server_limits limits;
  limits.inflight_bytes_max = 4 * MiB;  // far below the payload: it must not be held in memory
  start(limits);
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  const uint32_t length = 40 * MiB;
  ASSERT_TRUE(c.request(cmd_write, 1, 0, length));
  std::vector<uint8_t> piece(MiB, 0xAA);
  for (uint32_t sent = 0; sent < length; sent += MiB) ASSERT_TRUE(c.send(piece));
  auto m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.handle, 1u);
  EXPECT_EQ(m.error, err_inval);
  EXPECT_TRUE(still_serves(c));
  EXPECT_EQ(disk_->writes, 0u);
}

TEST_F(ServerTest, OversizedReadIsRefusedWithoutClosing) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol", false, false));
  ASSERT_TRUE(c.request(cmd_read, 1, 0, 64 * MiB));
  auto m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.error, err_inval);  // simple reply, no data follows
  ASSERT_TRUE(c.request(cmd_flush, 2, 0, 0));
  m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.handle, 2u);
  EXPECT_EQ(m.error, 0u);
}

TEST_F(ServerTest, WriteToASnapshotIsEperm) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol@snap"));
  std::vector<uint8_t> data(block, 1);
  ASSERT_TRUE(c.request(cmd_write, 1, 0, block, 0, data));
  auto m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.error, err_perm);
  ASSERT_TRUE(c.request(cmd_trim, 2, 0, block));
  m = c.read_message();
  EXPECT_EQ(m.error, err_perm);
  EXPECT_TRUE(snap_->calls.empty());
  EXPECT_TRUE(still_serves(c));
  EXPECT_EQ(errors("EPERM"), 2);
}

TEST_F(ServerTest, BadRequestMagicClosesOnlyThatConnection) {
  start();
  test_client good(server_->port());
  ASSERT_TRUE(good.go("vol"));
  test_client bad(server_->port());
  ASSERT_TRUE(bad.go("vol"));
  bad.send(std::vector<uint8_t>(28, 0x11));
  EXPECT_TRUE(bad.closed_by_server());
  EXPECT_TRUE(still_serves(good));
  EXPECT_EQ(rejections("bad_request_magic"), 1);
}

TEST_F(ServerTest, StalledHandshakeIsClosed) {
  server_limits limits;
  limits.handshake_timeout_ms = 200;
  start(limits);
  test_client c(server_->port());
  ASSERT_TRUE(c.greet());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(rejections("handshake_timeout"), 1);
  // A finished handshake is not timed out.
  test_client d(server_->port());
  ASSERT_TRUE(d.go("vol"));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(still_serves(d));
}

TEST_F(ServerTest, StalledWritePayloadIsClosed) {
  server_limits limits;
  limits.payload_timeout_ms = 200;
  start(limits);
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  ASSERT_TRUE(c.request(cmd_write, 1, 0, 4096, 0, std::vector<uint8_t>(100)));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(rejections("payload_timeout"), 1);
}

TEST_F(ServerTest, RepliesGoOutAsRequestsComplete) {
  start();
  disk_->read_delay_ms = 500;
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  ASSERT_TRUE(c.request(cmd_read, 1, 0, 512));
  ASSERT_TRUE(c.request(cmd_flush, 2, 0, 0));
  auto first = c.read_message();
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(first.handle, 2u);  // the flush overtook the slow read
  auto second = c.read_message();
  ASSERT_TRUE(second.ok);
  EXPECT_EQ(second.handle, 1u);
}

TEST_F(ServerTest, PipelinedRequestsPastTheInFlightLimitAllComplete) {
  server_limits limits;
  limits.requests_in_flight_max = 4;
  limits.worker_threads = 2;
  start(limits);
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  constexpr int count = 64;
  std::vector<uint8_t> all;
  for (int i = 0; i < count; ++i) {
    auto req = testing::request_bytes(cmd_write, 0, 1000 + i, i * block, block);
    all.insert(all.end(), req.begin(), req.end());
    all.insert(all.end(), block, static_cast<uint8_t>(i + 1));
  }
  ASSERT_TRUE(c.send(all));
  std::vector<bool> seen(count, false);
  for (int i = 0; i < count; ++i) {
    auto m = c.read_message();
    ASSERT_TRUE(m.ok) << i;
    ASSERT_EQ(m.error, 0u);
    ASSERT_GE(m.handle, 1000u);
    ASSERT_LT(m.handle, 1000u + count);
    seen[m.handle - 1000] = true;
  }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
  for (int i = 0; i < count; ++i) ASSERT_EQ(disk_->bytes[i * block + 17], i + 1);
}

class ReadBatchTest : public ServerTest {
 protected:
  // Sends `count` pipelined one-block READs and checks that each reply
  // carries its own block; returns the export's read_batch sizes.
  std::vector<size_t> pipeline_reads(bool export_batches) {
    for (uint64_t b = 0; b < disk_bytes / block; ++b) {
      std::fill_n(disk_->bytes.begin() + static_cast<long>(b * block), block, static_cast<uint8_t>(b + 1));
      disk_->allocated[b] = true;
    }
    disk_->batches_reads = export_batches;
    disk_->read_delay_ms = 3;  // lets requests queue up behind a running read
    server_limits limits;
    limits.worker_threads = 2;
    start(limits);
    test_client c(server_->port());
    EXPECT_TRUE(c.go("vol"));
    constexpr int count = 96;
    std::vector<uint8_t> all;
    for (int i = 0; i < count; ++i) {
      auto req = testing::request_bytes(cmd_read, 0, 2000 + i, (i % 64) * block, block);
      all.insert(all.end(), req.begin(), req.end());
    }
    EXPECT_TRUE(c.send(all));
    for (int i = 0; i < count; ++i) {
      auto m = c.read_message();
      EXPECT_TRUE(m.ok && m.error == 0 && m.type == reply_type_offset_data) << i;
      EXPECT_EQ(m.payload.size(), 8 + block);
      if (m.payload.size() != 8 + block) break;
      EXPECT_EQ(m.payload[8 + 17], static_cast<uint8_t>((m.handle - 2000) % 64 + 1)) << m.handle;
    }
    std::lock_guard lock(disk_->mu);
    return disk_->read_batches;
  }
};

TEST_F(ReadBatchTest, QueuedReadsGoToAnExportThatBatchesAsBoundedBatches) {
  auto sizes = pipeline_reads(true);
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), size_t{0}), 96u);
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()), 1u);
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), 32u);
}

TEST_F(ReadBatchTest, ReadsGoOneAtATimeToAnExportThatDoesNotBatch) {
  auto sizes = pipeline_reads(false);
  EXPECT_EQ(sizes.size(), 96u);
  EXPECT_EQ(*std::max_element(sizes.begin(), sizes.end()), 1u);
}

TEST_F(ServerTest, TheByteBudgetHoldsBackWritesWithoutLosingAny) {
  server_limits limits;
  limits.inflight_bytes_max = 1 * MiB;  // four of the writes below at a time
  start(limits);
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  constexpr int count = 16;
  constexpr uint32_t length = 256 * KiB;
  std::thread writer([&] {
    for (int i = 0; i < count; ++i) {
      c.request(cmd_write, 500 + i, 0, length, 0,
                std::vector<uint8_t>(length, static_cast<uint8_t>(0x10 + i)));
    }
  });
  int answered = 0;
  for (int i = 0; i < count; ++i) {
    auto m = c.read_message();
    if (!m.ok) break;
    EXPECT_EQ(m.error, 0u);
    ++answered;
  }
  writer.join();
  EXPECT_EQ(answered, count);
  EXPECT_EQ(disk_->writes, static_cast<uint64_t>(count));
}

TEST_F(ServerTest, IdleConnectionsAreClosedWhenConfigured) {
  server_limits limits;
  limits.idle_timeout_ms = 200;
  start(limits);
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  EXPECT_TRUE(still_serves(c));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(rejections("idle_timeout"), 1);
}

TEST_F(ServerTest, ConnectionsPastTheLimitAreRefused) {
  server_limits limits;
  limits.connections_max = 1;
  start(limits);
  test_client first(server_->port());
  ASSERT_TRUE(first.go("vol"));
  test_client second(server_->port());
  EXPECT_TRUE(second.closed_by_server());
  EXPECT_TRUE(still_serves(first));
}

TEST_F(ServerTest, ExportNameOfAMissingExportCloses) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.greet());
  c.send(testing::option_bytes(opt_export_name, {'n', 'o', 'p', 'e'}));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(rejections("unknown_export"), 1);
}

TEST_F(ServerTest, ExportNameEntersTransmission) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.greet());
  c.send(testing::option_bytes(opt_export_name, {'v', 'o', 'l'}));
  auto reply = c.recv(10);  // NO_ZEROES was negotiated
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(load_u64(reply->data()), disk_bytes);
  ASSERT_TRUE(c.request(cmd_flush, 1, 0, 0));
  auto m = c.read_message();
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.error, 0u);
}

TEST_F(ServerTest, AbortIsAcknowledgedThenClosed) {
  start();
  test_client c(server_->port());
  ASSERT_TRUE(c.greet());
  auto r = c.option(opt_abort);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_ack);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, DisconnectFinishesRequestsInFlightFirst) {
  start();
  disk_->read_delay_ms = 300;
  test_client c(server_->port());
  ASSERT_TRUE(c.go("vol"));
  ASSERT_TRUE(c.request(cmd_read, 1, 0, 512));
  ASSERT_TRUE(c.request(cmd_disc, 2, 0, 0));
  uint64_t handle = 0;
  ASSERT_TRUE(c.read_structured(0, 512, &handle).has_value());
  EXPECT_EQ(handle, 1u);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, DestroyingTheServerReleasesEveryExport) {
  start();
  test_client a(server_->port());
  ASSERT_TRUE(a.go("vol"));
  test_client b(server_->port());
  ASSERT_TRUE(b.go("vol@snap"));
  EXPECT_EQ(volumes_.open_handles(), 2u);
  shut_down();
  EXPECT_EQ(volumes_.open_handles(), 0u);
  EXPECT_TRUE(a.closed_by_server());
}

}  // namespace
}  // namespace strata::nbd
