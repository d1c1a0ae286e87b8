#include "nbd/commands.h"

#include <gtest/gtest.h>

#include "nbd/tests/fake_volumes.h"
#include "nbd/tests/wire.h"

namespace strata::nbd {
namespace {

constexpr uint64_t block = volumes::block_bytes;
constexpr uint64_t disk_bytes = 16 * block;

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest() {
    disk_ = volumes_.add_export("vol", disk_bytes);
    ro_disk_ = volumes_.add_export("vol@snap", disk_bytes, true);
    exp_ = *volumes_.open_export("vol");
    ro_exp_ = *volumes_.open_export("vol@snap");
    simple_ = make_session(false, false);
    structured_ = make_session(true, true);
    read_only_ = make_session(true, true);
    read_only_.read_only = true;
    read_only_.export_name = "vol@snap";
  }

  static session make_session(bool structured, bool allocation) {
    session s;
    s.export_name = "vol";
    s.size_bytes = disk_bytes;
    s.structured_replies = structured;
    s.allocation_context_id = allocation ? base_allocation_id : 0;
    s.block_bytes_max = 32 * MiB;
    s.block_status_extents_max = 8;
    s.transmission_flags = transmission_flags(false, structured);
    return s;
  }

  static request req(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0, uint64_t handle = 0x1122334455667788) {
    return request{flags, type, handle, offset, length};
  }

  std::vector<uint8_t> run(const session& s, const request& r, std::span<const uint8_t> payload = {}) {
    auto v = check_request(s, r);
    EXPECT_EQ(v.error, 0u) << v.message;
    auto& exp = s.read_only ? *ro_exp_ : *exp_;
    return execute(exp, s, r, payload).flatten();
  }

  void write_block(uint64_t index, uint8_t fill) {
    std::vector<uint8_t> data(block, fill);
    ASSERT_TRUE(exp_->write(index * block, data, false).ok());
  }

  // The error in a simple reply.
  static uint32_t simple_error(const std::vector<uint8_t>& bytes, uint64_t handle = 0x1122334455667788) {
    EXPECT_EQ(bytes.size(), 16u);
    EXPECT_EQ(load_u32(bytes.data()), simple_reply_magic);
    EXPECT_EQ(load_u64(bytes.data() + 8), handle);
    return load_u32(bytes.data() + 4);
  }

  // The error in a structured reply, 0 for a lone NONE chunk.
  static uint32_t structured_error(const std::vector<uint8_t>& bytes) {
    std::vector<testing::chunk> chunks;
    EXPECT_TRUE(testing::parse_chunks(bytes, chunks));
    EXPECT_EQ(chunks.size(), 1u);
    if (chunks.empty()) return 0xFFFFFFFF;
    EXPECT_EQ(chunks[0].flags, reply_flag_done);
    if (chunks[0].type == reply_type_none) return 0;
    EXPECT_EQ(chunks[0].type, reply_type_error);
    EXPECT_GE(chunks[0].payload.size(), 6u);
    EXPECT_EQ(load_u16(chunks[0].payload.data() + 4) + 6u, chunks[0].payload.size());
    return load_u32(chunks[0].payload.data());
  }

  testing::fake_volumes volumes_;
  std::shared_ptr<testing::fake_disk> disk_;
  std::shared_ptr<testing::fake_disk> ro_disk_;
  std::shared_ptr<volumes::export_handle> exp_;
  std::shared_ptr<volumes::export_handle> ro_exp_;
  session simple_;
  session structured_;
  session read_only_;
};

TEST(Commands, DecodesRequestHeadersAndRejectsBadMagic) {
  auto bytes = testing::request_bytes(cmd_write, cmd_flag_fua, 0xAABBCCDDEEFF0011, 0x100000000ULL, 4096);
  request r;
  ASSERT_TRUE(decode_request(bytes, r));
  EXPECT_EQ(r.type, cmd_write);
  EXPECT_EQ(r.flags, cmd_flag_fua);
  EXPECT_EQ(r.handle, 0xAABBCCDDEEFF0011u);
  EXPECT_EQ(r.offset, 0x100000000ULL);
  EXPECT_EQ(r.length, 4096u);
  EXPECT_TRUE(has_payload(r));
  bytes[3] ^= 1;
  EXPECT_FALSE(decode_request(bytes, r));
}

TEST_F(CommandsTest, SimpleReplyIsByteExact) {
  auto bytes = make_reply(simple_, req(cmd_flush, 0, 0), err_nospc).flatten();
  const std::vector<uint8_t> expected = {0x67, 0x44, 0x66, 0x98, 0, 0, 0, 28, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  EXPECT_EQ(bytes, expected);
}

TEST_F(CommandsTest, ErrorsAreTheOnesTheSpecNames) {
  auto check = [](const session& s, request r) { return check_request(s, r).error; };
  EXPECT_EQ(check(simple_, req(99, 0, 0)), err_inval);                          // unknown command
  EXPECT_EQ(check(simple_, req(cmd_read, 0, 512, 1 << 7)), err_inval);          // unknown flag
  EXPECT_EQ(check(simple_, req(cmd_read, 0, 512, cmd_flag_df)), err_inval);     // DF needs structured replies
  EXPECT_EQ(check(structured_, req(cmd_read, 0, 512, cmd_flag_df)), 0u);
  EXPECT_EQ(check(simple_, req(cmd_write, 0, 512, cmd_flag_no_hole)), err_inval);  // NO_HOLE is for WRITE_ZEROES
  EXPECT_EQ(check(simple_, req(cmd_read, 0, 512, cmd_flag_fua)), 0u);            // FUA is accepted everywhere
  EXPECT_EQ(check(read_only_, req(cmd_write, 0, 512)), err_perm);
  EXPECT_EQ(check(read_only_, req(cmd_trim, 0, 512)), err_perm);
  EXPECT_EQ(check(read_only_, req(cmd_write_zeroes, 0, 512)), err_perm);
  EXPECT_EQ(check(read_only_, req(cmd_read, 0, 512)), 0u);
  EXPECT_EQ(check(read_only_, req(cmd_flush, 0, 0)), 0u);
  EXPECT_EQ(check(simple_, req(cmd_read, disk_bytes - 512, 1024)), err_inval);  // read past the end
  EXPECT_EQ(check(simple_, req(cmd_read, disk_bytes, 0)), 0u);
  EXPECT_EQ(check(simple_, req(cmd_read, disk_bytes + 1, 0)), err_inval);
  EXPECT_EQ(check(simple_, req(cmd_read, UINT64_MAX, 2)), err_inval);           // offset + length overflows
  EXPECT_EQ(check(simple_, req(cmd_write, disk_bytes - 512, 1024)), err_nospc); // write past the end
  EXPECT_EQ(check(simple_, req(cmd_write_zeroes, disk_bytes, 1)), err_nospc);
  EXPECT_EQ(check(simple_, req(cmd_trim, disk_bytes, 1)), err_inval);
  EXPECT_EQ(check(simple_, req(cmd_cache, disk_bytes, 1)), err_inval);
  EXPECT_EQ(check(structured_, req(cmd_block_status, disk_bytes, 1)), err_inval);
  EXPECT_EQ(check(simple_, req(cmd_read, 0, 32 * MiB + 1)), err_inval);         // over the maximum block size
  EXPECT_EQ(check(simple_, req(cmd_write, 0, 32 * MiB + 1)), err_inval);
  EXPECT_EQ(check(simple_, req(cmd_flush, 5, 5)), 0u);                          // reserved fields are ignored
  EXPECT_EQ(check(simple_, req(cmd_block_status, 0, 512)), err_inval);          // no metadata context selected
  EXPECT_EQ(check(structured_, req(cmd_block_status, 0, 0)), err_inval);
  EXPECT_EQ(check(structured_, req(cmd_block_status, 0, 512, cmd_flag_req_one)), 0u);
}

TEST_F(CommandsTest, BlockSizeLimitAppliesAsTheSpecSays) {
  session big = simple_;
  big.size_bytes = 1ULL << 40;
  auto check = [&](request r) { return check_request(big, r).error; };
  EXPECT_EQ(check(req(cmd_read, 0, 32 * MiB)), 0u);
  EXPECT_EQ(check(req(cmd_cache, 0, 32 * MiB + 1)), err_inval);
  // No payload, no limit but the export (nbdcopy zeroes holes in one request).
  EXPECT_EQ(check(req(cmd_write_zeroes, 0, 64 * MiB)), 0u);
  EXPECT_EQ(check(req(cmd_write_zeroes, 0, 64 * MiB, cmd_flag_fast_zero)), 0u);
  EXPECT_EQ(check(req(cmd_trim, 0, 1u << 31)), 0u);
  EXPECT_EQ(check(req(cmd_block_status, 0, 1u << 31)), err_inval);  // no context selected in this session
}

TEST_F(CommandsTest, SimpleReadReturnsHeaderAndData) {
  write_block(1, 0xAB);
  disk_->garbage_in_holes = true;
  auto bytes = run(simple_, req(cmd_read, block - 2, 4));
  ASSERT_EQ(bytes.size(), 16u + 4u);
  EXPECT_EQ(simple_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 16)), 0u);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 16, bytes.end()), (std::vector<uint8_t>{0, 0, 0xAB, 0xAB}));
}

TEST_F(CommandsTest, StructuredReadSendsHolesAsHoleChunks) {
  write_block(1, 0xCD);
  auto bytes = run(structured_, req(cmd_read, 0, 3 * block, 0, 7));
  std::vector<testing::chunk> chunks;
  ASSERT_TRUE(testing::parse_chunks(bytes, chunks));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].type, reply_type_offset_hole);
  EXPECT_EQ(chunks[0].flags, 0);
  EXPECT_EQ(chunks[0].handle, 7u);
  ASSERT_EQ(chunks[0].payload.size(), 12u);
  EXPECT_EQ(load_u64(chunks[0].payload.data()), 0u);
  EXPECT_EQ(load_u32(chunks[0].payload.data() + 8), block);
  EXPECT_EQ(chunks[1].type, reply_type_offset_data);
  EXPECT_EQ(chunks[1].flags, 0);
  ASSERT_EQ(chunks[1].payload.size(), 8 + block);
  EXPECT_EQ(load_u64(chunks[1].payload.data()), block);
  EXPECT_EQ(chunks[1].payload[8], 0xCD);
  EXPECT_EQ(chunks[1].payload.back(), 0xCD);
  EXPECT_EQ(chunks[2].type, reply_type_offset_hole);
  EXPECT_EQ(chunks[2].flags, reply_flag_done);  // the last chunk ends the reply
  EXPECT_EQ(load_u64(chunks[2].payload.data()), 2 * block);
}

TEST_F(CommandsTest, StructuredReadOfDataOnlyIsOneChunk) {
  write_block(0, 0x11);
  auto bytes = run(structured_, req(cmd_read, 10, 100));
  std::vector<testing::chunk> chunks;
  ASSERT_TRUE(testing::parse_chunks(bytes, chunks));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].type, reply_type_offset_data);
  EXPECT_EQ(chunks[0].flags, reply_flag_done);
  EXPECT_EQ(load_u64(chunks[0].payload.data()), 10u);
  EXPECT_EQ(chunks[0].payload.size(), 108u);
}

TEST_F(CommandsTest, DontFragmentSendsOneDataChunkWithTheZeroes) {
  write_block(1, 0xEE);
  disk_->garbage_in_holes = true;  // whatever the buffer holds under a hole, the client sees zeros
  auto bytes = run(structured_, req(cmd_read, 0, 2 * block, cmd_flag_df));
  std::vector<testing::chunk> chunks;
  ASSERT_TRUE(testing::parse_chunks(bytes, chunks));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].type, reply_type_offset_data);
  EXPECT_EQ(chunks[0].flags, reply_flag_done);
  ASSERT_EQ(chunks[0].payload.size(), 8 + 2 * block);
  EXPECT_EQ(chunks[0].payload[8], 0);
  EXPECT_EQ(chunks[0].payload[8 + block], 0xEE);
}

TEST_F(CommandsTest, ZeroLengthRequestsSucceedWithoutTouchingTheExport) {
  EXPECT_EQ(structured_error(run(structured_, req(cmd_read, 0, 0))), 0u);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_read, 0, 0))), 0u);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_write, 0, 0))), 0u);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_trim, 0, 0))), 0u);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_write_zeroes, 0, 0))), 0u);
  EXPECT_TRUE(disk_->calls.empty());
}

TEST_F(CommandsTest, ReadErrorsAreStructuredWithAMessage) {
  disk_->fail_next = make_error(errc::io_error, "disk on fire");
  auto bytes = run(structured_, req(cmd_read, 0, 512));
  EXPECT_EQ(structured_error(bytes), err_io);
  std::string text(bytes.begin() + 26, bytes.end());
  EXPECT_EQ(text, "disk on fire");
  disk_->fail_next = make_error(errc::io_error, "again");
  EXPECT_EQ(simple_error(run(simple_, req(cmd_read, 0, 512))), err_io);  // no payload follows
}

TEST_F(CommandsTest, WriteWithFuaReachesTheExport) {
  std::vector<uint8_t> data(1000, 0x42);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_write, 100, 1000, cmd_flag_fua), data)), 0u);
  EXPECT_EQ(disk_->fua_writes, 1u);
  EXPECT_EQ(disk_->bytes[100], 0x42);
  EXPECT_EQ(disk_->bytes[1099], 0x42);
  EXPECT_EQ(disk_->bytes[1100], 0);
  EXPECT_EQ(disk_->calls.back(), "write 100+1000 fua");
  EXPECT_EQ(simple_error(run(structured_, req(cmd_write, 0, 10), std::vector<uint8_t>(10))), 0u);  // simple even when structured
}

TEST_F(CommandsTest, DiskFullIsEnospc) {
  disk_->fail_next = make_error(errc::no_space, "the disk is full");
  std::vector<uint8_t> data(10);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_write, 0, 10), data)), err_nospc);
  disk_->fail_next = make_error(errc::no_space, "the disk is full");
  EXPECT_EQ(structured_error(run(structured_, req(cmd_write_zeroes, 0, 10, cmd_flag_no_hole))), err_nospc);
  disk_->fail_next = make_error(errc::corrupt, "bad checksum");
  EXPECT_EQ(simple_error(run(simple_, req(cmd_flush, 0, 0))), err_io);
}

TEST_F(CommandsTest, WriteZeroesHonoursNoHoleAndFastZero) {
  write_block(0, 0x99);
  write_block(1, 0x99);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_write_zeroes, 0, block, cmd_flag_no_hole))), 0u);
  EXPECT_TRUE(disk_->allocated[0]);
  EXPECT_EQ(disk_->bytes[0], 0);
  EXPECT_EQ(disk_->calls.back(), "write_zeroes no_hole 0+4096");
  EXPECT_EQ(simple_error(run(simple_, req(cmd_write_zeroes, block, block, cmd_flag_fast_zero | cmd_flag_fua))), 0u);
  EXPECT_FALSE(disk_->allocated[1]);
  EXPECT_EQ(disk_->calls.back(), "write_zeroes fast 4096+4096 fua");
  // Zeroes that must stay allocated cannot be fast here: ENOTSUP, and nothing changes.
  write_block(2, 0x99);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_write_zeroes, 2 * block, block, cmd_flag_fast_zero | cmd_flag_no_hole))),
            err_notsup);
  EXPECT_EQ(disk_->bytes[2 * block], 0x99);
}

TEST_F(CommandsTest, UnsupportedWithoutFastZeroIsNotEnotsup) {
  EXPECT_EQ(error_for(errc::unsupported, false), err_io);
  EXPECT_EQ(error_for(errc::unsupported, true), err_notsup);
  EXPECT_EQ(error_for(errc::invalid_argument, false), err_inval);
  EXPECT_EQ(error_for(errc::no_space, true), err_nospc);
}

TEST_F(CommandsTest, TrimReleasesWholeBlocks) {
  write_block(3, 0x77);
  write_block(4, 0x77);
  EXPECT_EQ(simple_error(run(simple_, req(cmd_trim, 3 * block, 2 * block - 1))), 0u);
  EXPECT_FALSE(disk_->allocated[3]);
  EXPECT_TRUE(disk_->allocated[4]);  // the partial block stays
}

TEST_F(CommandsTest, FlushFlushesAndReadOnlyFlushIsANoOp) {
  EXPECT_EQ(simple_error(run(simple_, req(cmd_flush, 0, 0))), 0u);
  EXPECT_EQ(disk_->flushes, 1u);
  EXPECT_EQ(simple_error(run(read_only_, req(cmd_flush, 0, 0))), 0u);
  EXPECT_TRUE(ro_disk_->calls.empty());
}

TEST_F(CommandsTest, CacheIsAcceptedAsAHint) {
  EXPECT_EQ(simple_error(run(simple_, req(cmd_cache, 0, 4096))), 0u);
  EXPECT_TRUE(disk_->calls.empty());
}

TEST_F(CommandsTest, BlockStatusDescribesHolesAndData) {
  write_block(1, 1);
  write_block(2, 1);
  auto bytes = run(structured_, req(cmd_block_status, 0, 6 * block, 0, 9));
  std::vector<testing::chunk> chunks;
  ASSERT_TRUE(testing::parse_chunks(bytes, chunks));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].type, reply_type_block_status);
  EXPECT_EQ(chunks[0].flags, reply_flag_done);
  EXPECT_EQ(chunks[0].handle, 9u);
  std::vector<uint8_t> expected;
  testing::put32(expected, base_allocation_id);
  testing::put32(expected, block);
  testing::put32(expected, state_hole | state_zero);
  testing::put32(expected, 2 * block);
  testing::put32(expected, 0);
  testing::put32(expected, 3 * block);
  testing::put32(expected, state_hole | state_zero);
  EXPECT_EQ(chunks[0].payload, expected);
}

TEST_F(CommandsTest, BlockStatusReqOneSendsOneExtentWithinTheRequest) {
  auto bytes = run(structured_, req(cmd_block_status, 100, 1000, cmd_flag_req_one));
  std::vector<testing::chunk> chunks;
  ASSERT_TRUE(testing::parse_chunks(bytes, chunks));
  ASSERT_EQ(chunks.size(), 1u);
  ASSERT_EQ(chunks[0].payload.size(), 12u);
  EXPECT_EQ(load_u32(chunks[0].payload.data() + 4), 1000u);
  EXPECT_EQ(disk_->calls.back(), "block_status 100+1000");
}

TEST_F(CommandsTest, BlockStatusStopsAtTheExtentLimit) {
  for (uint64_t b = 0; b < 16; b += 2) write_block(b, 1);  // 16 alternating extents
  auto bytes = run(structured_, req(cmd_block_status, 0, disk_bytes));
  std::vector<testing::chunk> chunks;
  ASSERT_TRUE(testing::parse_chunks(bytes, chunks));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].payload.size(), 4u + 8u * 8u);  // block_status_extents_max = 8
}

TEST_F(CommandsTest, UnknownCommandRepliesEinvalAsStructuredError) {
  auto v = check_request(structured_, req(42, 0, 0));
  ASSERT_EQ(v.error, err_inval);
  auto bytes = make_reply(structured_, req(42, 0, 0), v.error, v.message).flatten();
  EXPECT_EQ(structured_error(bytes), err_inval);
}

}  // namespace
}  // namespace strata::nbd
