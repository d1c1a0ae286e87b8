// The protocol state machine, byte for byte, against the fake engine.
#include "pgwire/backend.h"

#include <gtest/gtest.h>

#include "pgwire/tests/fake_engine.h"
#include "pgwire/tests/wire.h"
#include "sql/binary_value.h"

namespace strata::pgwire {
namespace {

using namespace testing;
using sql::append_binary_numeric;
using sql::pg_epoch_days;
using sql::pg_epoch_micros;

auth::random_source counting_random() {
  auto counter = std::make_shared<uint8_t>(0);
  return [counter](std::span<uint8_t> out) {
    for (auto& b : out) b = ++*counter;
  };
}

class BackendTest : public ::testing::Test {
 protected:
  BackendTest() {
    env_.engine = &engine_;
    env_.auth = &auth_;
    env_.random = counting_random();
  }

  std::unique_ptr<backend> make(bool loopback = true) {
    return std::make_unique<backend>(env_, loopback, backend_key{42, 4242});
  }

  // Feeds bytes and returns the messages written since the last call.
  std::vector<message> send(backend& b, std::string_view bytes) {
    b.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    std::string out;
    out.swap(b.output());
    return split_output(out);
  }

  // A backend past startup (trust, loopback).
  std::unique_ptr<backend> ready() {
    auto b = make();
    auto msgs = send(*b, startup({{"user", "alice"}, {"database", "db"}, {"application_name", "tests"}}));
    EXPECT_EQ(b->current_phase(), backend::phase::serving);
    EXPECT_FALSE(msgs.empty());
    if (!msgs.empty()) {
      EXPECT_EQ(msgs.back().type, 'Z');
    }
    return b;
  }

  fake_engine engine_;
  auth_settings auth_;
  backend_env env_;
};

TEST_F(BackendTest, TrustStartupSendsParametersKeyAndReady) {
  auto b = make();
  auto msgs = send(*b, startup({{"user", "alice"}, {"application_name", "psql"}}));
  ASSERT_GE(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].type, 'R');
  EXPECT_EQ(msgs[0].body, be32(0));
  std::map<std::string, std::string> params;
  for (const auto& m : msgs) {
    if (m.type != 'S') continue;
    const size_t nul = m.body.find('\0');
    params[m.body.substr(0, nul)] = m.body.substr(nul + 1, m.body.size() - nul - 2);
  }
  EXPECT_EQ(params["server_version"], "15.0 (Strata fake)");  // the session's value wins
  EXPECT_EQ(params["client_encoding"], "UTF8");
  EXPECT_EQ(params["DateStyle"], "ISO, MDY");
  EXPECT_EQ(params["integer_datetimes"], "on");
  EXPECT_EQ(params["standard_conforming_strings"], "on");
  EXPECT_EQ(params["TimeZone"], "UTC");
  EXPECT_EQ(params["application_name"], "psql");
  const auto& key = msgs[msgs.size() - 2];
  EXPECT_EQ(key.type, 'K');
  EXPECT_EQ(key.body, be32(42) + be32(4242));
  EXPECT_EQ(msgs.back().type, 'Z');
  EXPECT_EQ(msgs.back().body, "I");
  EXPECT_NE(b->session(), nullptr);
}

TEST_F(BackendTest, SslAndGssRequestsAreRefusedThenStartupProceeds) {
  auto b = make();
  b->feed({reinterpret_cast<const uint8_t*>(ssl_request().data()), 8});
  EXPECT_EQ(b->output(), "N");
  b->output().clear();
  std::string gss = be32(8) + be32(gssenc_request_code);
  send(*b, gss);
  auto msgs = send(*b, startup({{"user", "alice"}}));
  EXPECT_EQ(b->current_phase(), backend::phase::serving);
  // A third negotiation request on a fresh connection is refused as a loop.
  auto c = make();
  c->feed({reinterpret_cast<const uint8_t*>(ssl_request().data()), 8});
  c->feed({reinterpret_cast<const uint8_t*>(gss.data()), 8});
  c->output().clear();
  auto third = send(*c, ssl_request());
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(error_field(third[0], 'C'), "08P01");
  EXPECT_TRUE(c->closing());
}

TEST_F(BackendTest, SslRequestIsAcceptedWhenTheServerHasACertificate) {
  env_.tls_available = true;
  auto b = make();
  // Bytes after the SSLRequest wait: they must come through TLS, not in the clear.
  b->feed({reinterpret_cast<const uint8_t*>((ssl_request() + startup({{"user", "alice"}})).data()), 8});
  EXPECT_EQ(b->output(), "S");
  EXPECT_TRUE(b->tls_requested());
  b->output().clear();
  b->on_tls_started();
  EXPECT_FALSE(b->tls_requested());
  // Inside TLS a second SSLRequest is declined, and startup goes on.
  b->feed({reinterpret_cast<const uint8_t*>(ssl_request().data()), 8});
  EXPECT_EQ(b->output(), "N");
  b->output().clear();
  auto msgs = send(*b, startup({{"user", "alice"}}));
  EXPECT_EQ(b->current_phase(), backend::phase::serving);
}

TEST_F(BackendTest, CancelRequestIsRecognisedAndCloses) {
  auto b = make();
  auto msgs = send(*b, cancel_request(7, 99));
  EXPECT_TRUE(msgs.empty());
  ASSERT_TRUE(b->cancel_request().has_value());
  EXPECT_EQ(*b->cancel_request(), (backend_key{7, 99}));
  EXPECT_TRUE(b->closing());
}

TEST_F(BackendTest, WrongProtocolVersionGetsFatal0A000) {
  auto b = make();
  auto msgs = send(*b, startup({{"user", "alice"}}, 0x00020000));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 'E');
  EXPECT_EQ(error_field(msgs[0], 'S'), "FATAL");
  EXPECT_EQ(error_field(msgs[0], 'C'), "0A000");
  EXPECT_EQ(error_field(msgs[0], 'M'), "unsupported frontend protocol 2.0: server supports 3.0");
  EXPECT_TRUE(b->closing());
}

TEST_F(BackendTest, NewerMinorVersionIsNegotiatedDown) {
  auto b = make();
  auto msgs = send(*b, startup({{"user", "alice"}, {"_pq_.fancy", "1"}}, protocol_version_3 + 2));
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs[0].type, 'v');
  EXPECT_EQ(msgs[0].body, be32(0) + be32(1) + cstr("_pq_.fancy"));
  EXPECT_EQ(b->current_phase(), backend::phase::serving);
}

TEST_F(BackendTest, MissingUserGets28000) {
  auto b = make();
  auto msgs = send(*b, startup({{"database", "db"}}));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "28000");
  EXPECT_TRUE(b->closing());
}

TEST_F(BackendTest, GarbageStartupPacketsAreFatal) {
  for (std::string bad : {be32(3), be32(0xffffffff), be32(20000)}) {
    auto b = make();
    auto msgs = send(*b, bad);
    ASSERT_EQ(msgs.size(), 1u) << "length word " << bad.size();
    EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
    EXPECT_TRUE(b->closing());
  }
  // Unterminated parameters.
  auto b = make();
  std::string body = be32(protocol_version_3) + "user";
  auto msgs = send(*b, be32(uint32_t(body.size() + 4)) + body);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
}

TEST_F(BackendTest, SessionErrorAtStartupIsFatal) {
  auto b = make();
  auto msgs = send(*b, startup({{"user", "alice"}, {"database", "missing"}}));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'S'), "FATAL");
  EXPECT_EQ(error_field(msgs[0], 'C'), "3D000");
}

TEST_F(BackendTest, RemoteClientWithoutUsersIsRefused) {
  auto b = make(false);
  auto msgs = send(*b, startup({{"user", "alice"}}));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "28000");
  EXPECT_EQ(error_field(msgs[0], 'M'), "no users are configured; start strata with --pg-user NAME:PASSWORD");
  auth_.trust_remote = true;
  auto c = make(false);
  send(*c, startup({{"user", "alice"}}));
  EXPECT_EQ(c->current_phase(), backend::phase::serving);
}

TEST_F(BackendTest, Md5Authentication) {
  auth_.method = auth_method::md5;
  auth_.users.push_back(make_credential("alice", "secret", counting_random()));
  auto attempt = [&](std::string_view pw) {
    auto b = make();
    auto msgs = send(*b, startup({{"user", "alice"}}));
    EXPECT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].type, 'R');
    EXPECT_EQ(msgs[0].body.substr(0, 4), be32(5));
    const std::string salt = msgs[0].body.substr(4);
    EXPECT_EQ(salt.size(), 4u);
    const std::string inner = md5_hex(std::string(pw) + "alice");
    auto reply = send(*b, password("md5" + md5_hex(inner + salt)));
    return std::make_pair(std::move(b), reply);
  };
  auto [good, ok_msgs] = attempt("secret");
  EXPECT_EQ(good->current_phase(), backend::phase::serving);
  EXPECT_EQ(ok_msgs.front().body, be32(0));
  auto [bad, bad_msgs] = attempt("wrong");
  ASSERT_EQ(bad_msgs.size(), 1u);
  EXPECT_EQ(error_field(bad_msgs[0], 'C'), "28P01");
  EXPECT_EQ(error_field(bad_msgs[0], 'M'), "password authentication failed for user \"alice\"");
  EXPECT_TRUE(bad->closing());
}

TEST_F(BackendTest, AuthenticationExpectsAPasswordMessage) {
  auth_.method = auth_method::md5;
  auth_.users.push_back(make_credential("alice", "secret", counting_random()));
  auto b = make();
  send(*b, startup({{"user", "alice"}}));
  auto msgs = send(*b, query("select ints 1"));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
  EXPECT_TRUE(b->closing());
}

TEST_F(BackendTest, SimpleQueryRowsAndCommandComplete) {
  auto b = ready();
  auto msgs = send(*b, query("select ints 3"));
  ASSERT_EQ(types_of(msgs), "TDDDCZ");
  EXPECT_EQ(data_row(msgs[1]), std::vector<std::string>{"1"});
  EXPECT_EQ(data_row(msgs[3]), std::vector<std::string>{"3"});
  EXPECT_EQ(msgs[4].body, cstr("SELECT 3"));
  // RowDescription: one field "n", int4, typlen 4, text format.
  EXPECT_EQ(msgs[0].body, be16(1) + cstr("n") + be32(0) + be16(0) + be32(23) + be16(4) + be32(0xffffffff) + be16(0));
}

TEST_F(BackendTest, SeveralStatementsAndAnErrorStopsTheRest) {
  auto b = ready();
  auto msgs = send(*b, query("select ints 1; insert into t; select ints 2"));
  EXPECT_EQ(types_of(msgs), "TDCCTDDCZ");
  msgs = send(*b, query("select ints 1; fail; select ints 2"));
  ASSERT_EQ(types_of(msgs), "TDCEZ");
  EXPECT_EQ(error_field(msgs[3], 'C'), "42601");
  EXPECT_EQ(error_field(msgs[3], 'S'), "ERROR");
  EXPECT_EQ(error_field(msgs[3], 'V'), "ERROR");
}

TEST_F(BackendTest, EmptyQuery) {
  auto b = ready();
  EXPECT_EQ(types_of(send(*b, query(""))), "IZ");
  EXPECT_EQ(types_of(send(*b, query("  ;  ; "))), "IZ");
}

TEST_F(BackendTest, ErrorMidResultAfterRows) {
  auto b = ready();
  env_.limits.fetch_rows_max = 2;
  auto c = make();
  send(*c, startup({{"user", "alice"}}));
  auto msgs = send(*c, query("fail after 3"));
  // Rows come in fetches of two; the third fetch fails.
  EXPECT_EQ(types_of(msgs), "TDDDEZ");
  EXPECT_EQ(error_field(msgs[4], 'C'), "22012");
}

TEST_F(BackendTest, TransactionStatusInReadyForQuery) {
  auto b = ready();
  auto msgs = send(*b, query("begin"));
  EXPECT_EQ(msgs.back().body, "T");
  msgs = send(*b, query("fail"));
  EXPECT_EQ(msgs.back().body, "E");
  msgs = send(*b, query("select ints 1"));
  EXPECT_EQ(error_field(msgs[0], 'C'), "25P02");
  msgs = send(*b, query("rollback"));
  EXPECT_EQ(msgs[0].body, cstr("ROLLBACK"));
  EXPECT_EQ(msgs.back().body, "I");
}

TEST_F(BackendTest, SetReportsParameterStatus) {
  auto b = ready();
  auto msgs = send(*b, query("set application_name = 'x'"));
  ASSERT_EQ(types_of(msgs), "CSZ");
  EXPECT_EQ(msgs[1].body, cstr("application_name") + cstr("'x'"));
}

TEST_F(BackendTest, LargeResultPausesAtTheOutputLimit) {
  env_.limits.output_bytes_soft_max = 4096;
  env_.limits.fetch_rows_max = 100;
  auto b = make();
  send(*b, startup({{"user", "alice"}}));
  b->output().clear();
  const std::string q = query("select ints 10000");
  b->on_message('Q', {reinterpret_cast<const uint8_t*>(q.data()) + 5, q.size() - 5});
  EXPECT_TRUE(b->has_pending());
  EXPECT_LT(b->output().size(), 8192u);
  uint64_t rows = 0;
  int rounds = 0;
  std::string last;
  while (true) {
    auto msgs = split_output(b->output());
    b->output().clear();
    for (const auto& m : msgs) {
      if (m.type == 'D') ++rows;
      last.push_back(m.type);
    }
    if (!b->has_pending()) break;
    ++rounds;
    b->resume();
    EXPECT_LT(b->output().size(), 8192u);
  }
  EXPECT_EQ(rows, 10000u);
  EXPECT_GT(rounds, 10);
  EXPECT_EQ(last.substr(last.size() - 2), "CZ");
}

TEST_F(BackendTest, ExtendedExecuteAndCopyOutPauseAndResume) {
  env_.limits.output_bytes_soft_max = 2048;
  env_.limits.fetch_rows_max = 50;
  env_.limits.copy_out_chunk_bytes = 256;
  auto b = make();
  send(*b, startup({{"user", "alice"}}));
  b->output().clear();
  auto handle = [&](const std::string& m) {
    b->on_message(m[0], {reinterpret_cast<const uint8_t*>(m.data()) + 5, m.size() - 5});
  };
  auto drain = [&] {
    std::string all = b->output();
    b->output().clear();
    int pauses = 0;
    while (b->has_pending()) {
      ++pauses;
      b->resume();
      EXPECT_LT(b->output().size(), 4096u);
      all += b->output();
      b->output().clear();
    }
    return std::make_pair(split_output(all), pauses);
  };
  handle(parse("", "select ints 3000"));
  handle(bind("", "", {}, {}, {}));
  handle(execute("", 2500));
  EXPECT_TRUE(b->has_pending());
  auto [msgs, pauses] = drain();
  EXPECT_GT(pauses, 5);
  EXPECT_EQ(std::count_if(msgs.begin(), msgs.end(), [](const message& m) { return m.type == 'D'; }), 2500);
  EXPECT_EQ(msgs.back().type, 's');
  handle(execute("", 0));
  std::tie(msgs, pauses) = drain();
  EXPECT_EQ(std::count_if(msgs.begin(), msgs.end(), [](const message& m) { return m.type == 'D'; }), 500);
  EXPECT_EQ(data_row(msgs.front())[0], "2501");
  EXPECT_EQ(msgs.back().body, cstr("SELECT 3000"));
  handle(query("copy out 2000"));
  std::tie(msgs, pauses) = drain();
  EXPECT_GT(pauses, 5);
  EXPECT_EQ(types_of(msgs).substr(msgs.size() - 3), "cCZ");
  EXPECT_EQ(msgs[msgs.size() - 2].body, cstr("COPY 2000"));
}

TEST_F(BackendTest, ExtendedParseBindDescribeExecuteSync) {
  auto b = ready();
  auto msgs = send(*b, parse("s1", "select ints 5") + describe('S', "s1") + bind("", "s1", {}, {}, {}) +
                           describe('P', "") + execute("", 0) + sync());
  ASSERT_EQ(types_of(msgs), "1tT2TDDDDDCZ");
  EXPECT_EQ(msgs[1].body, be16(0));  // no parameters
  EXPECT_EQ(msgs[10].body, cstr("SELECT 5"));
}

TEST_F(BackendTest, ExecuteWithRowLimitSuspendsAndResumes) {
  auto b = ready();
  auto msgs = send(*b, parse("", "select ints 5") + bind("p", "", {}, {}, {}) + execute("p", 2) + execute("p", 2) +
                           execute("p", 2) + sync());
  EXPECT_EQ(types_of(msgs), "12DDsDDsDCZ");
  EXPECT_EQ(data_row(msgs[5]), std::vector<std::string>{"3"});
}

TEST_F(BackendTest, CommandsAndEmptyStatementsInExtendedMode) {
  auto b = ready();
  auto msgs = send(*b, parse("", "insert into t") + bind("", "", {}, {}, {}) + describe('P', "") + execute("") +
                           parse("", "") + bind("", "", {}, {}, {}) + execute("") + sync());
  EXPECT_EQ(types_of(msgs), "12nC12IZ");
}

TEST_F(BackendTest, ErrorDiscardsUntilSync) {
  auto b = ready();
  auto msgs = send(*b, parse("", "fail") + bind("", "", {}, {}, {}) + execute("") + sync() + parse("", "select ints 1") +
                           bind("", "", {}, {}, {}) + execute("") + sync());
  EXPECT_EQ(types_of(msgs), "EZ12DCZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "42601");
}

TEST_F(BackendTest, OutOfOrderMessagesGetErrorsAndServingContinues) {
  auto b = ready();
  auto msgs = send(*b, bind("", "nope", {}, {}, {}) + sync());
  ASSERT_EQ(types_of(msgs), "EZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "26000");
  msgs = send(*b, execute("nope") + sync());
  ASSERT_EQ(types_of(msgs), "EZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "34000");
  msgs = send(*b, describe('S', "nope") + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "26000");
  // CopyData, CopyDone and CopyFail outside COPY are ignored, as in PostgreSQL.
  EXPECT_TRUE(send(*b, copy_data("1\t2\n") + copy_done() + copy_fail("x")).empty());
  EXPECT_EQ(types_of(send(*b, query("select ints 1"))), "TDCZ");
}

TEST_F(BackendTest, UnknownMessageTypeIsFatal) {
  auto b = ready();
  auto msgs = send(*b, msg('~', "x"));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'S'), "FATAL");
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
  EXPECT_TRUE(b->closing());
}

TEST_F(BackendTest, OversizedMessageIsRefusedBeforeItsBody) {
  env_.limits.message_bytes_max = 1024;
  auto b = make();
  send(*b, startup({{"user", "alice"}}));
  // Only the header of a 1 GB message: refused at once.
  auto msgs = send(*b, std::string("Q") + be32(1u << 30));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
  EXPECT_EQ(error_field(msgs[0], 'M'), "message length 1073741824 exceeds the limit of 1024 bytes");
  EXPECT_TRUE(b->closing());
  auto c = ready();
  msgs = send(*c, std::string("Q") + be32(2));
  EXPECT_EQ(error_field(msgs[0], 'M'), "invalid message length 2");
}

TEST_F(BackendTest, TruncatedFramesWaitForTheirBytes) {
  auto b = ready();
  const std::string q = query("select ints 2");
  for (size_t i = 0; i + 1 < q.size(); ++i) EXPECT_TRUE(send(*b, q.substr(i, 1)).empty());
  EXPECT_EQ(types_of(send(*b, q.substr(q.size() - 1))), "TDDCZ");
}

TEST_F(BackendTest, MalformedMessageBodiesGet08P01) {
  auto b = ready();
  // Parse without its parameter count.
  auto msgs = send(*b, msg('P', cstr("") + cstr("select ints 1")) + sync());
  ASSERT_EQ(types_of(msgs), "EZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
  // Bind whose parameter length overruns the message.
  msgs = send(*b, parse("", "echo $1") + msg('B', cstr("") + cstr("") + be16(0) + be16(1) + be32(100) + "ab") + sync());
  ASSERT_EQ(types_of(msgs), "1EZ");
  EXPECT_EQ(error_field(msgs[1], 'C'), "08P01");
  // Describe of an unknown kind.
  msgs = send(*b, msg('D', "X" + cstr("")) + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
}

TEST_F(BackendTest, BindChecksParameterCountsAndFormats) {
  auto b = ready();
  auto msgs = send(*b, parse("e", "echo $1 $2", {23, 25}) + bind("", "e", {}, {{false, "1"}}, {}) + sync());
  ASSERT_EQ(types_of(msgs), "1EZ");
  EXPECT_EQ(error_field(msgs[1], 'C'), "08P01");
  msgs = send(*b, bind("", "e", {0, 2}, {{false, "1"}, {false, "x"}}, {}) + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
  msgs = send(*b, bind("", "e", {0, 1, 0}, {{false, "1"}, {false, "x"}}, {}) + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
  // Binary int4 with 3 bytes.
  msgs = send(*b, bind("", "e", {1}, {{false, "abc"}, {false, "x"}}, {}) + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "22P03");
}

TEST_F(BackendTest, ParseDescribesParametersWithHintsAndInferredTypes) {
  auto b = ready();
  auto msgs = send(*b, parse("e", "echo $1 $2", {20}) + describe('S', "e") + sync());
  ASSERT_EQ(types_of(msgs), "1tTZ");
  EXPECT_EQ(msgs[1].body, be16(2) + be32(20) + be32(25));
  ASSERT_FALSE(engine_.state().prepare_hints.empty());
  EXPECT_EQ(engine_.state().prepare_hints.back(), std::vector<uint32_t>{20});
}

TEST_F(BackendTest, BinaryParametersAreDecoded) {
  auto b = ready();
  std::string numeric;
  append_binary_numeric(__int128(-12345), 2, numeric);  // -123.45
  auto msgs = send(*b, parse("e", "echo $1 $2 $3 $4 $5", {23, 20, 1700, 1082, 25}) +
                           bind("", "e", {1, 1, 1, 1, 0},
                                {{false, be32(uint32_t(-7))}, {false, be32(0) + be32(5)}, {false, numeric},
                                 {false, be32(uint32_t(-1))}, {true, ""}},
                                {1, 1, 1, 1, 0}) +
                           execute("") + sync());
  ASSERT_EQ(types_of(msgs), "12DCZ");
  const auto& params = engine_.state().executions.back();
  ASSERT_EQ(params.size(), 5u);
  EXPECT_FALSE(params[0].is_text);
  EXPECT_EQ(std::get<int64_t>(params[0].value), -7);
  EXPECT_EQ(params[0].type.id, tables::type_id::int32);
  EXPECT_EQ(std::get<int64_t>(params[1].value), 5);
  EXPECT_EQ(std::get<__int128>(params[2].value), __int128(-12345));
  EXPECT_EQ(params[2].type.scale, 2);
  EXPECT_EQ(std::get<int64_t>(params[3].value), pg_epoch_days - 1);  // 1999-12-31
  EXPECT_TRUE(params[4].is_null);
  // The echo comes back in binary, byte for byte.
  auto row = data_row(msgs[2]);
  EXPECT_EQ(row[0], be32(uint32_t(-7)));
  EXPECT_EQ(row[1], be32(0) + be32(5));
  EXPECT_EQ(row[2], numeric);
  EXPECT_EQ(row[3], be32(uint32_t(-1)));
  EXPECT_EQ(row[4], "<NULL>");
}

TEST_F(BackendTest, TextParametersPassThrough) {
  auto b = ready();
  auto msgs = send(*b, parse("", "echo $1") + bind("", "", {}, {{false, "hello"}}, {}) + execute("") + sync());
  ASSERT_EQ(types_of(msgs), "12DCZ");
  EXPECT_TRUE(engine_.state().executions.back()[0].is_text);
  EXPECT_EQ(engine_.state().executions.back()[0].text, "hello");
  EXPECT_EQ(data_row(msgs[2])[0], "hello");
}

TEST_F(BackendTest, BinaryResultsOfEveryType) {
  auto b = ready();
  auto msgs = send(*b, parse("", "select types") + bind("", "", {}, {},
                                                        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}) +
                           execute("") + sync());
  ASSERT_EQ(types_of(msgs), "12DDCZ");
  auto row = data_row(msgs[2]);
  ASSERT_EQ(row.size(), 15u);
  EXPECT_EQ(row[0], std::string(1, '\1'));
  EXPECT_EQ(row[1], be16(uint16_t(-12)));
  EXPECT_EQ(row[2], be32(123456));
  EXPECT_EQ(row[3], be32(uint32_t(uint64_t(-9000000000LL) >> 32)) + be32(uint32_t(uint64_t(-9000000000LL))));
  EXPECT_EQ(row[4], be32(0x3fc00000));  // 1.5f
  EXPECT_EQ(row[5], be32(0xc0020000) + be32(0));  // -2.25
  std::string num;
  append_binary_numeric(__int128(-123456), 2, num);
  EXPECT_EQ(row[6], num);
  EXPECT_EQ(row[7], "héllo");
  EXPECT_EQ(row[8], "vc");
  EXPECT_EQ(row[9], std::string("\x01\xff", 2));
  EXPECT_EQ(row[10], "{\"a\":1}");
  EXPECT_EQ(row[11], be32(uint32_t(int32_t(-1 - pg_epoch_days))));
  const int64_t ts = 1000000 - pg_epoch_micros;
  EXPECT_EQ(row[12], be32(uint32_t(uint64_t(ts) >> 32)) + be32(uint32_t(uint64_t(ts))));
  EXPECT_EQ(row[13], be32(0) + be32(1));
  EXPECT_EQ(row[14], "1 day");
  for (const auto& v : data_row(msgs[3])) EXPECT_EQ(v, "<NULL>");
}

TEST_F(BackendTest, BinaryFormatForTextOnlyFieldIs0A000) {
  auto b = ready();
  auto msgs = send(*b, parse("", "select types") + bind("", "", {}, {}, {1}) + execute("") + sync());
  ASSERT_EQ(types_of(msgs), "1EZ");
  EXPECT_EQ(error_field(msgs[1], 'C'), "0A000");
}

TEST_F(BackendTest, NamedStatementsAndPortalsAreLimitedAndUnique) {
  env_.limits.statements_max = 2;
  env_.limits.portals_max = 1;
  auto b = make();
  send(*b, startup({{"user", "alice"}}));
  auto msgs = send(*b, parse("a", "select ints 1") + parse("b", "select ints 1") + parse("", "select ints 1") + sync());
  EXPECT_EQ(types_of(msgs), "111Z");
  msgs = send(*b, parse("c", "select ints 1") + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "54000");
  msgs = send(*b, parse("a", "select ints 1") + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "42P05");
  msgs = send(*b, close('S', "a") + parse("c", "select ints 1") + sync());
  EXPECT_EQ(types_of(msgs), "31Z");
  msgs = send(*b, query("begin"));
  msgs = send(*b, bind("p1", "b", {}, {}, {}) + bind("p2", "b", {}, {}, {}) + sync());
  ASSERT_EQ(types_of(msgs), "2EZ");
  EXPECT_EQ(error_field(msgs[1], 'C'), "54000");
  msgs = send(*b, bind("p1", "b", {}, {}, {}) + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "42P03");
  // Portals live until the transaction ends.
  msgs = send(*b, execute("p1") + sync());
  EXPECT_EQ(types_of(msgs), "DCZ");
  send(*b, query("commit"));
  msgs = send(*b, execute("p1") + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "34000");
}

TEST_F(BackendTest, MultipleCommandsCannotBePrepared) {
  auto b = ready();
  auto msgs = send(*b, parse("", "select ints 1; select ints 2") + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "42601");
}

TEST_F(BackendTest, CopyInSimple) {
  auto b = ready();
  auto msgs = send(*b, query("copy in; select ints 1"));
  ASSERT_EQ(types_of(msgs), "G");
  EXPECT_EQ(msgs[0].body, std::string(1, '\0') + be16(2) + be16(0) + be16(0));
  EXPECT_TRUE(send(*b, copy_data("1\ta\n2\t") + copy_data("b\n")).empty());
  msgs = send(*b, copy_done());
  ASSERT_EQ(types_of(msgs), "CTDCZ");
  EXPECT_EQ(msgs[0].body, cstr("COPY 2"));
  EXPECT_EQ(engine_.state().copied, "1\ta\n2\tb\n");
}

TEST_F(BackendTest, CopyFailAndBadDataAbort) {
  auto b = ready();
  send(*b, query("copy in"));
  auto msgs = send(*b, copy_data("1\tx\n") + copy_fail("client gave up"));
  ASSERT_EQ(types_of(msgs), "EZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "57014");
  EXPECT_EQ(engine_.state().aborted.back(), "client gave up");
  EXPECT_TRUE(engine_.state().copied.empty());
  // A chunk the sink refuses: error and ReadyForQuery at once, the rest of the COPY is dropped.
  send(*b, query("copy in"));
  msgs = send(*b, copy_data("bad\n"));
  ASSERT_EQ(types_of(msgs), "EZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "22P02");
  EXPECT_TRUE(send(*b, copy_data("more\n") + copy_done()).empty());
  EXPECT_EQ(types_of(send(*b, query("select ints 1"))), "TDCZ");
}

TEST_F(BackendTest, CopyInInterruptedByAnotherMessage) {
  auto b = ready();
  send(*b, query("copy in"));
  auto msgs = send(*b, flush() + sync() + query("select ints 1"));
  ASSERT_EQ(types_of(msgs), "EZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
}

TEST_F(BackendTest, CopyInExtended) {
  auto b = ready();
  auto msgs = send(*b, parse("", "copy in csv") + bind("", "", {}, {}, {}) + execute("") + sync());
  ASSERT_EQ(types_of(msgs), "12G");
  msgs = send(*b, copy_data("1,2\n") + copy_done() + sync());
  ASSERT_EQ(types_of(msgs), "CZ");
  EXPECT_EQ(msgs[0].body, cstr("COPY 1"));
}

TEST_F(BackendTest, CopyOut) {
  env_.limits.copy_out_chunk_bytes = 32;
  auto b = ready();
  auto msgs = send(*b, query("copy out 10"));
  ASSERT_GE(msgs.size(), 4u);
  EXPECT_EQ(msgs[0].type, 'H');
  std::string data;
  size_t i = 1;
  for (; i < msgs.size() && msgs[i].type == 'd'; ++i) data += msgs[i].body;
  EXPECT_GT(i, 3u);  // several CopyData messages
  EXPECT_EQ(types_of(msgs).substr(i), "cCZ");
  EXPECT_EQ(msgs[i + 1].body, cstr("COPY 10"));
  EXPECT_EQ(data.substr(0, 16), "0\trow-0\n1\trow-1\n");
  EXPECT_EQ(std::count(data.begin(), data.end(), '\n'), 10);
}

TEST_F(BackendTest, TerminateCloses) {
  auto b = ready();
  EXPECT_TRUE(send(*b, terminate()).empty());
  EXPECT_TRUE(b->closing());
}

TEST_F(BackendTest, StatsCountStatementsAndErrors) {
  auto b = ready();
  b->take_stats();
  send(*b, query("select ints 1; insert x; fail"));
  auto s = b->take_stats();
  EXPECT_EQ(s.statements, 2u);
  EXPECT_EQ(s.error_codes, std::vector<std::string>{"42601"});
}

TEST_F(BackendTest, ExecuteLimitEndingAtTheLastRowSuspendsThenCompletes) {
  auto b = ready();
  auto msgs = send(*b, parse("", "select ints 3") + bind("", "", {}, {}, {}) + execute("", 3));
  EXPECT_EQ(types_of(msgs), "12DDDs");
  msgs = send(*b, execute("", 3) + sync());
  ASSERT_EQ(types_of(msgs), "CZ");
  EXPECT_EQ(msgs[0].body, cstr("SELECT 0"));
  // A limit past the end still completes at once.
  msgs = send(*b, parse("", "select ints 3") + bind("", "", {}, {}, {}) + execute("", 4) + sync());
  EXPECT_EQ(types_of(msgs), "12DDDCZ");
}

TEST_F(BackendTest, MultiStatementQueryIsOneImplicitTransaction) {
  auto b = ready();
  auto& executed = engine_.state().executed;
  executed.clear();
  auto msgs = send(*b, query("insert a; insert b"));
  EXPECT_EQ(types_of(msgs), "CCZ");
  EXPECT_EQ(msgs.back().body, "I");
  EXPECT_EQ(executed, (std::vector<std::string>{"begin", "insert a", "insert b", "commit"}));

  executed.clear();
  msgs = send(*b, query("insert a; fail; insert c"));
  EXPECT_EQ(types_of(msgs), "CEZ");
  EXPECT_EQ(msgs.back().body, "I");
  EXPECT_EQ(executed, (std::vector<std::string>{"begin", "insert a", "rollback"}));

  executed.clear();
  msgs = send(*b, query("insert a; fail at execute"));
  EXPECT_EQ(types_of(msgs), "CEZ");
  EXPECT_EQ(executed, (std::vector<std::string>{"begin", "insert a", "fail at execute", "rollback"}));

  // One statement, or a Query that manages its own block: no implicit block.
  // (The fake engine cannot parse the comment: that statement fails at prepare.)
  executed.clear();
  send(*b, query("insert a"));
  send(*b, query("/* c */ BEGIN; insert a"));
  msgs = send(*b, query("insert b; commit"));
  EXPECT_EQ(msgs.back().body, "I");
  EXPECT_EQ(executed, (std::vector<std::string>{"insert a", "insert b", "commit"}));
}

TEST_F(BackendTest, CursorsInTheSimpleProtocol) {
  auto b = ready();
  auto msgs = send(*b, query("begin; declare c for select ints 5; fetch 2 c; move 1 c; fetch all c; fetch 1 c"));
  ASSERT_EQ(types_of(msgs), "CCTDDCCTDDCTCZ");
  EXPECT_EQ(msgs[1].body, cstr("DECLARE CURSOR"));
  EXPECT_EQ(data_row(msgs[3]), std::vector<std::string>{"1"});
  EXPECT_EQ(msgs[5].body, cstr("FETCH 2"));
  EXPECT_EQ(msgs[6].body, cstr("MOVE 1"));
  EXPECT_EQ(data_row(msgs[8]), std::vector<std::string>{"4"});
  EXPECT_EQ(msgs[10].body, cstr("FETCH 2"));
  EXPECT_EQ(msgs[12].body, cstr("FETCH 0"));
  // Cursors end with the block; one declared WITH HOLD stays.
  msgs = send(*b, query("commit"));
  msgs = send(*b, query("fetch 1 c"));
  ASSERT_EQ(types_of(msgs), "EZ");
  EXPECT_EQ(error_field(msgs[0], 'C'), "34000");
  msgs = send(*b, query("declare c for select ints 1"));
  EXPECT_EQ(error_field(msgs[0], 'C'), "25P01");
  msgs = send(*b, query("declare h hold for select ints 3"));
  msgs = send(*b, query("fetch abs 2 h"));
  ASSERT_EQ(types_of(msgs), "TDCZ");
  EXPECT_EQ(data_row(msgs[1]), std::vector<std::string>{"2"});
  msgs = send(*b, query("fetch abs 1 h"));
  EXPECT_EQ(error_field(msgs[0], 'C'), "55000");
  msgs = send(*b, query("declare h hold for select ints 3"));
  EXPECT_EQ(error_field(msgs[0], 'C'), "42P03");
  msgs = send(*b, query("close h"));
  EXPECT_EQ(msgs[0].body, cstr("CLOSE CURSOR"));
  msgs = send(*b, query("close h"));
  EXPECT_EQ(error_field(msgs[0], 'C'), "34000");
}

TEST_F(BackendTest, BinaryCursorSendsBinaryRowsToSimpleFetch) {
  auto b = ready();
  auto msgs = send(*b, query("begin; declare c binary for select ints 2; fetch 1 c"));
  ASSERT_EQ(types_of(msgs), "CCTDCZ");
  EXPECT_EQ(msgs[2].body.substr(msgs[2].body.size() - 2), be16(1));  // binary format in RowDescription
  EXPECT_EQ(msgs[3].body, be16(1) + be32(4) + be32(1));
}

TEST_F(BackendTest, FetchInTheExtendedProtocolTakesItsCursorsShape) {
  auto b = ready();
  send(*b, query("begin; declare c for select ints 4"));
  // Describe of the statement and of the portal give the cursor's columns; Bind may ask for binary.
  auto msgs = send(*b, parse("f", "fetch 2 c") + describe('S', "f") + bind("", "f", {}, {}, {1}) + describe('P', "") +
                           execute("", 0) + sync());
  ASSERT_EQ(types_of(msgs), "1tT2TDDCZ");
  EXPECT_EQ(msgs[4].body.substr(msgs[4].body.size() - 2), be16(1));
  EXPECT_EQ(msgs[5].body, be16(1) + be32(4) + be32(1));
  EXPECT_EQ(msgs[7].body, cstr("FETCH 2"));
  // A protocol portal is a cursor too: MOVE and FETCH read it, and Execute goes on where they left it.
  msgs = send(*b, parse("", "select ints 6") + bind("p", "", {}, {}, {}) + execute("p", 1) + sync());
  ASSERT_EQ(types_of(msgs), "12DsZ");
  msgs = send(*b, query("move 2 p"));
  EXPECT_EQ(msgs[0].body, cstr("MOVE 2"));
  msgs = send(*b, execute("p", 1) + sync());
  ASSERT_EQ(types_of(msgs), "DsZ");
  EXPECT_EQ(data_row(msgs[0]), std::vector<std::string>{"4"});
  // CLOSE ALL leaves the portal that runs it.
  msgs = send(*b, parse("", "close all") + bind("", "", {}, {}, {}) + execute("", 0) + sync());
  ASSERT_EQ(types_of(msgs), "12CZ");
  EXPECT_EQ(msgs[2].body, cstr("CLOSE CURSOR ALL"));
  msgs = send(*b, execute("p", 1) + sync());
  EXPECT_EQ(error_field(msgs[0], 'C'), "34000");
}

}  // namespace
}  // namespace strata::pgwire
