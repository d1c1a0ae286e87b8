#include "nbd/handshake.h"

#include <gtest/gtest.h>

#include "nbd/tests/fake_volumes.h"
#include "nbd/tests/wire.h"

namespace strata::nbd {
namespace {

using testing::info_data;
using testing::meta_data;
using testing::option_reply_msg;

constexpr uint64_t disk_bytes = 1 * MiB;
// HAS_FLAGS | SEND_FLUSH | SEND_FUA | SEND_TRIM | SEND_WRITE_ZEROES | CAN_MULTI_CONN | SEND_CACHE | SEND_FAST_ZERO
constexpr uint16_t rw_flags = 0x0D6D;
// HAS_FLAGS | READ_ONLY | SEND_FLUSH | SEND_FUA | CAN_MULTI_CONN | SEND_CACHE
constexpr uint16_t ro_flags = 0x050F;
constexpr uint16_t send_df = 0x0080;

class HandshakeTest : public ::testing::Test {
 protected:
  HandshakeTest() {
    volumes_.add_export("vol", disk_bytes, false, "a volume");
    volumes_.add_export("vol@snap", disk_bytes, true, "snapshot snap of vol");
    EXPECT_EQ(hs_.on_client_flags(flags(client_flag_fixed_newstyle | client_flag_no_zeroes)).then, handshake::next::option);
  }

  static std::vector<uint8_t> flags(uint32_t f) {
    std::vector<uint8_t> b;
    testing::put32(b, f);
    return b;
  }

  // Sends one option through the header and payload steps.
  handshake::step send(uint32_t option, const std::vector<uint8_t>& data = {}) {
    auto bytes = testing::option_bytes(option, data);
    handshake::option_header h;
    auto plan = hs_.on_option_header(std::span(bytes).first(option_header_bytes), h);
    EXPECT_EQ(plan, handshake::payload_plan::read);
    EXPECT_EQ(h.option, option);
    EXPECT_EQ(h.length, data.size());
    return hs_.on_option(h, std::span(bytes).subspan(option_header_bytes));
  }

  std::vector<option_reply_msg> replies(const handshake::step& s) {
    std::vector<option_reply_msg> out;
    EXPECT_TRUE(testing::parse_option_replies(s.reply, out));
    return out;
  }

  testing::fake_volumes volumes_;
  handshake hs_{volumes_, handshake_limits{}};
};

TEST(Handshake, GreetingIsByteExact) {
  const std::vector<uint8_t> expected = {'N', 'B', 'D', 'M', 'A', 'G', 'I', 'C', 'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0x00, 0x03};
  EXPECT_EQ(handshake::greeting(), expected);
}

TEST(Handshake, ClientFlagsMustBeFixedNewstyleAndKnown) {
  testing::fake_volumes volumes;
  auto check = [&](uint32_t f) {
    handshake hs(volumes, {});
    std::vector<uint8_t> b;
    testing::put32(b, f);
    auto s = hs.on_client_flags(b);
    return s.then == handshake::next::close ? s.why : rejection::none;
  };
  EXPECT_EQ(check(1), rejection::none);
  EXPECT_EQ(check(3), rejection::none);
  EXPECT_EQ(check(0), rejection::bad_client_flags);  // plain newstyle is refused
  EXPECT_EQ(check(2), rejection::bad_client_flags);
  EXPECT_EQ(check(1 | 4), rejection::bad_client_flags);  // a flag the server never offered
  EXPECT_EQ(check(0x80000001), rejection::bad_client_flags);
}

TEST_F(HandshakeTest, BadOptionMagicCloses) {
  auto bytes = testing::option_bytes(opt_list);
  bytes[0] = 'X';
  handshake::option_header h;
  EXPECT_EQ(hs_.on_option_header(std::span(bytes).first(16), h), handshake::payload_plan::close);
  EXPECT_EQ(hs_.why(), rejection::bad_option_magic);
}

TEST_F(HandshakeTest, TooManyOptionsClose) {
  testing::fake_volumes volumes;
  handshake_limits limits;
  limits.options_max = 3;
  handshake hs(volumes, limits);
  auto bytes = testing::option_bytes(opt_structured_reply);
  handshake::option_header h;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(hs.on_option_header(std::span(bytes).first(16), h), handshake::payload_plan::read);
  EXPECT_EQ(hs.on_option_header(std::span(bytes).first(16), h), handshake::payload_plan::close);
  EXPECT_EQ(hs.why(), rejection::too_many_options);
}

TEST_F(HandshakeTest, OversizedOptionIsDiscardedAndAnsweredTooBig) {
  std::vector<uint8_t> header;
  testing::put_text(header, "IHAVEOPT");
  testing::put32(header, opt_go);
  testing::put32(header, 64 * KiB + 1);
  handshake::option_header h;
  ASSERT_EQ(hs_.on_option_header(header, h), handshake::payload_plan::discard);
  auto s = hs_.on_oversized_option(h);
  EXPECT_EQ(s.then, handshake::next::option);
  auto r = replies(s);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].option, opt_go);
  EXPECT_EQ(r[0].type, rep_err_too_big);

  // An oversized export name cannot be answered: hang up.
  header.clear();
  testing::put_text(header, "IHAVEOPT");
  testing::put32(header, opt_export_name);
  testing::put32(header, 1 << 30);
  EXPECT_EQ(hs_.on_option_header(header, h), handshake::payload_plan::close);
  EXPECT_EQ(hs_.why(), rejection::unknown_export);
}

TEST_F(HandshakeTest, UnknownOptionsAreUnsupported) {
  for (uint32_t option : {4u, opt_extended_headers, 12u, 99u, 0xFFFFFFFFu}) {
    auto s = send(option, {1, 2, 3});
    EXPECT_EQ(s.then, handshake::next::option);
    auto r = replies(s);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].option, option);
    EXPECT_EQ(r[0].type, rep_err_unsup);
  }
}

TEST_F(HandshakeTest, StartTlsIsRefused) {
  auto r = replies(send(opt_starttls));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_unsup);
  r = replies(send(opt_starttls, {0}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_invalid);
}

TEST_F(HandshakeTest, AbortAcksAndCloses) {
  auto s = send(opt_abort);
  EXPECT_EQ(s.then, handshake::next::close);
  EXPECT_EQ(s.why, rejection::none);
  const std::vector<uint8_t> ack = {0x00, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(s.reply, ack);
}

TEST_F(HandshakeTest, ListNamesEveryExportWithItsDescription) {
  auto s = send(opt_list);
  auto r = replies(s);
  ASSERT_EQ(r.size(), 3u);
  std::vector<uint8_t> first;
  testing::put32(first, 3);
  testing::put_text(first, "vol");
  testing::put_text(first, "a volume");
  EXPECT_EQ(r[0].type, rep_server);
  EXPECT_EQ(r[0].data, first);
  EXPECT_EQ(r[1].type, rep_server);
  EXPECT_EQ(load_u32(r[1].data.data()), 8u);
  EXPECT_EQ(std::string(r[1].data.begin() + 4, r[1].data.begin() + 12), "vol@snap");
  EXPECT_EQ(r[2].type, rep_ack);
  EXPECT_TRUE(r[2].data.empty());

  r = replies(send(opt_list, {0}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_invalid);
}

TEST_F(HandshakeTest, ExportNameEntersTransmission) {
  std::vector<uint8_t> name = {'v', 'o', 'l'};
  auto s = send(opt_export_name, name);
  ASSERT_EQ(s.then, handshake::next::transmission);
  std::vector<uint8_t> expected;
  testing::put64(expected, disk_bytes);
  testing::put16(expected, rw_flags);  // NO_ZEROES was negotiated: no 124 zero bytes
  EXPECT_EQ(s.reply, expected);
  EXPECT_EQ(hs_.negotiated().size_bytes, disk_bytes);
  EXPECT_FALSE(hs_.negotiated().structured_replies);
  EXPECT_NE(hs_.take_export(), nullptr);
}

TEST(Handshake, ExportNameSendsZeroesUnlessNoZeroes) {
  testing::fake_volumes volumes;
  volumes.add_export("vol", 4096);
  handshake hs(volumes, {});
  std::vector<uint8_t> f;
  testing::put32(f, client_flag_fixed_newstyle);
  ASSERT_EQ(hs.on_client_flags(f).then, handshake::next::option);
  auto s = hs.on_option({opt_export_name, 3}, std::vector<uint8_t>{'v', 'o', 'l'});
  ASSERT_EQ(s.then, handshake::next::transmission);
  ASSERT_EQ(s.reply.size(), 8u + 2u + 124u);
  EXPECT_EQ(load_u64(s.reply.data()), 4096u);
  for (size_t i = 10; i < s.reply.size(); ++i) ASSERT_EQ(s.reply[i], 0) << i;
}

TEST_F(HandshakeTest, ExportNameOfAMissingExportCloses) {
  auto s = send(opt_export_name, {'n', 'o'});
  EXPECT_EQ(s.then, handshake::next::close);
  EXPECT_EQ(s.why, rejection::unknown_export);
  EXPECT_TRUE(s.reply.empty());
  s = send(opt_export_name);  // no default export
  EXPECT_EQ(s.then, handshake::next::close);
}

TEST_F(HandshakeTest, InfoIsByteExactAndStaysInNegotiation) {
  auto s = send(opt_info, info_data("vol"));
  EXPECT_EQ(s.then, handshake::next::option);
  std::vector<uint8_t> expected;
  auto reply_header = [&](uint32_t type, uint32_t length) {
    testing::put64(expected, 0x3e889045565a9ULL);
    testing::put32(expected, opt_info);
    testing::put32(expected, type);
    testing::put32(expected, length);
  };
  reply_header(rep_info, 12);
  testing::put16(expected, info_export);
  testing::put64(expected, disk_bytes);
  testing::put16(expected, rw_flags);
  reply_header(rep_info, 14);
  testing::put16(expected, info_block_size);
  testing::put32(expected, 1);
  testing::put32(expected, 4096);
  testing::put32(expected, 32 * MiB);
  reply_header(rep_ack, 0);
  EXPECT_EQ(s.reply, expected);
}

TEST_F(HandshakeTest, InfoAnswersNameAndDescriptionRequests) {
  auto r = replies(send(opt_info, info_data("vol@snap", {info_name, info_description, 77})));
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(load_u16(r[0].data.data()), info_export);
  EXPECT_EQ(load_u16(r[0].data.data() + 10), ro_flags);
  EXPECT_EQ(load_u16(r[1].data.data()), info_block_size);
  EXPECT_EQ(load_u16(r[2].data.data()), info_name);
  EXPECT_EQ(std::string(r[2].data.begin() + 2, r[2].data.end()), "vol@snap");
  EXPECT_EQ(load_u16(r[3].data.data()), info_description);
  EXPECT_EQ(std::string(r[3].data.begin() + 2, r[3].data.end()), "snapshot snap of vol");
  EXPECT_EQ(r[4].type, rep_ack);
}

TEST_F(HandshakeTest, InfoAndGoRefuseUnknownExportsAndMalformedData) {
  for (uint32_t option : {opt_info, opt_go}) {
    auto s = send(option, info_data("missing"));
    EXPECT_EQ(s.then, handshake::next::option);
    auto r = replies(s);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].type, rep_err_unknown);
    EXPECT_FALSE(r[0].data.empty());  // a message for the user

    r = replies(send(option, info_data("")));  // no default export
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].type, rep_err_unknown);

    auto trailing = info_data("vol");
    trailing.push_back(0);
    auto short_name = info_data("vol");
    short_name[3] = 200;  // name length past the data
    auto odd_list = info_data("vol", {info_name});
    odd_list[odd_list.size() - 3] = 2;  // claims two requests, carries one
    for (const auto& bad : {trailing, short_name, odd_list, std::vector<uint8_t>{0, 0}}) {
      r = replies(send(option, bad));
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].type, rep_err_invalid);
    }
  }
}

TEST_F(HandshakeTest, GoAfterStructuredRepliesAdvertisesDf) {
  auto r = replies(send(opt_structured_reply));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_ack);
  auto s = send(opt_go, info_data("vol"));
  ASSERT_EQ(s.then, handshake::next::transmission);
  r = replies(s);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(load_u16(r[0].data.data() + 10), rw_flags | send_df);
  EXPECT_EQ(r[2].type, rep_ack);
  const session& sess = hs_.negotiated();
  EXPECT_TRUE(sess.structured_replies);
  EXPECT_EQ(sess.transmission_flags, rw_flags | send_df);
  EXPECT_EQ(sess.allocation_context_id, 0u);  // never selected
  EXPECT_EQ(sess.export_name, "vol");
  EXPECT_EQ(sess.block_bytes_max, 32 * MiB);
}

TEST_F(HandshakeTest, StructuredReplyTakesNoData) {
  auto r = replies(send(opt_structured_reply, {1}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_invalid);
}

TEST_F(HandshakeTest, ListMetaContextListsBaseAllocation) {
  for (const auto& queries : {std::vector<std::string>{}, std::vector<std::string>{"base:"},
                              std::vector<std::string>{"base:allocation"}}) {
    auto r = replies(send(opt_list_meta_context, meta_data("vol", queries)));
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].type, rep_meta_context);
    std::vector<uint8_t> expected;
    testing::put32(expected, 0);  // ids are reserved in LIST
    testing::put_text(expected, "base:allocation");
    EXPECT_EQ(r[0].data, expected);
    EXPECT_EQ(r[1].type, rep_ack);
  }
  auto r = replies(send(opt_list_meta_context, meta_data("vol", {"qemu:dirty-bitmap:x", "base:nothing"})));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_ack);
  r = replies(send(opt_list_meta_context, meta_data("vol", {"nocolon"})));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_invalid);
  r = replies(send(opt_list_meta_context, meta_data("missing", {"base:"})));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_unknown);
  auto truncated = meta_data("vol", {"base:allocation"});
  truncated.pop_back();
  r = replies(send(opt_list_meta_context, truncated));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_invalid);
  std::vector<uint8_t> huge_count;
  testing::put32(huge_count, 3);
  testing::put_text(huge_count, "vol");
  testing::put32(huge_count, 0xFFFFFFFF);  // claims 4 billion queries in 0 bytes
  r = replies(send(opt_list_meta_context, huge_count));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_invalid);
}

TEST_F(HandshakeTest, SetMetaContextNeedsStructuredReplies) {
  auto r = replies(send(opt_set_meta_context, meta_data("vol", {"base:allocation"})));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_err_invalid);
}

TEST_F(HandshakeTest, SetMetaContextSelectsBaseAllocationForThatExport) {
  send(opt_structured_reply);
  auto r = replies(send(opt_set_meta_context, meta_data("vol", {"base:allocation", "x-other:thing"})));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].type, rep_meta_context);
  EXPECT_EQ(load_u32(r[0].data.data()), base_allocation_id);
  EXPECT_EQ(std::string(r[0].data.begin() + 4, r[0].data.end()), "base:allocation");
  EXPECT_EQ(r[1].type, rep_ack);
  ASSERT_EQ(send(opt_go, info_data("vol")).then, handshake::next::transmission);
  EXPECT_EQ(hs_.negotiated().allocation_context_id, base_allocation_id);
}

TEST_F(HandshakeTest, MetaContextForAnotherExportIsNotSelected) {
  send(opt_structured_reply);
  send(opt_set_meta_context, meta_data("vol@snap", {"base:allocation"}));
  ASSERT_EQ(send(opt_go, info_data("vol")).then, handshake::next::transmission);
  EXPECT_EQ(hs_.negotiated().allocation_context_id, 0u);
}

TEST_F(HandshakeTest, SetMetaContextWithTheWildcardSelectsNothing) {
  send(opt_structured_reply);
  send(opt_set_meta_context, meta_data("vol", {"base:allocation"}));
  auto r = replies(send(opt_set_meta_context, meta_data("vol", {"base:"})));  // replaces the first
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, rep_ack);
  ASSERT_EQ(send(opt_go, info_data("vol")).then, handshake::next::transmission);
  EXPECT_EQ(hs_.negotiated().allocation_context_id, 0u);
}

TEST_F(HandshakeTest, ReadOnlyExportsAdvertiseNoWrites) {
  auto s = send(opt_go, info_data("vol@snap"));
  ASSERT_EQ(s.then, handshake::next::transmission);
  EXPECT_TRUE(hs_.negotiated().read_only);
  EXPECT_EQ(hs_.negotiated().transmission_flags, ro_flags);
  EXPECT_EQ(transmission_flags(true, true), ro_flags | send_df);
}

}  // namespace
}  // namespace strata::nbd
