// The Asio server over real sockets, with libpq as the client and the fake
// engine behind it; raw sockets for bad input.
#include "pgwire/server.h"

#include <atomic>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "pgwire/tests/fake_engine.h"
#include "pgwire/tests/wire.h"

namespace strata::pgwire {
namespace {

namespace asio = boost::asio;
using namespace testing;

class ServerTest : public ::testing::Test {
 protected:
  ~ServerTest() override { shut_down(); }

  void start(server_config config = {}) {
    config.listen = "127.0.0.1:0";
    server_observer observer;
    observer.on_error = [this](std::string_view code) {
      std::lock_guard lock(mu_);
      ++errors_[std::string(code)];
    };
    observer.on_session = [this] {
      std::lock_guard lock(mu_);
      ++sessions_;
    };
    observer.on_statements = [this](uint64_t count) {
      std::lock_guard lock(mu_);
      statements_ += count;
    };
    observer.on_rejection = [this](std::string_view) {
      std::lock_guard lock(mu_);
      ++rejections_;
    };
    server_ = std::make_unique<server>(io_, engine_, config, observer);
    auto s = server_->start();
    ASSERT_TRUE(s.ok()) << s.err().message;
    port_ = server_->port();
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

  std::string conninfo(const std::string& extra = "") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=alice dbname=db sslmode=disable " + extra;
  }

  PGconn* connect(const std::string& extra = "") {
    PGconn* c = PQconnectdb(conninfo(extra).c_str());
    EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    return c;
  }

  int errors(const std::string& code) {
    std::lock_guard lock(mu_);
    return errors_[code];
  }
  uint64_t statements() {
    std::lock_guard lock(mu_);
    return statements_;
  }

  // A blocking raw client socket.
  int raw_connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  static void raw_send(int fd, const std::string& bytes) {
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
  }
  // Everything the server sends until it closes (or 5 s pass).
  static std::string raw_read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, size_t(n));
    }
    return out;
  }

  fake_engine engine_;
  asio::io_context io_;
  std::unique_ptr<server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::map<std::string, int> errors_;
  int sessions_ = 0;
  int rejections_ = 0;
  uint64_t statements_ = 0;
};

TEST_F(ServerTest, SimpleQueryThroughLibpq) {
  start();
  PGconn* c = connect("application_name=tests");
  EXPECT_STREQ(PQparameterStatus(c, "client_encoding"), "UTF8");
  EXPECT_STREQ(PQparameterStatus(c, "application_name"), "tests");
  EXPECT_STREQ(PQparameterStatus(c, "integer_datetimes"), "on");
  EXPECT_EQ(PQserverVersion(c), 150000);
  PGresult* r = PQexec(c, "select ints 3");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  ASSERT_EQ(PQntuples(r), 3);
  EXPECT_STREQ(PQgetvalue(r, 2, 0), "3");
  EXPECT_EQ(PQftype(r, 0), 23u);
  EXPECT_STREQ(PQfname(r, 0), "n");
  EXPECT_STREQ(PQcmdTuples(r), "3");
  PQclear(r);
  r = PQexec(c, "fail");
  EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42601");
  PQclear(r);
  r = PQexec(c, "begin");
  EXPECT_EQ(PQtransactionStatus(c), PQTRANS_INTRANS);
  PQclear(r);
  PQclear(PQexec(c, "commit"));
  EXPECT_EQ(PQtransactionStatus(c), PQTRANS_IDLE);
  PQfinish(c);
  EXPECT_EQ(errors("42601"), 1);
}

// Queries sent back to back are run by the worker that sent the previous
// reply: every reply arrives, in order, and is counted before it is read.
TEST_F(ServerTest, BackToBackQueriesAreAnsweredInOrderAndCounted) {
  start();
  PGconn* c = connect();
  const uint64_t before = statements();
  for (int i = 1; i <= 300; ++i) {
    PGresult* r = PQexec(c, i % 50 == 0 ? "fail" : ("select ints " + std::to_string(i % 7 + 1)).c_str());
    if (i % 50 == 0) {
      EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
    } else {
      ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
      EXPECT_EQ(PQntuples(r), i % 7 + 1);
    }
    PQclear(r);
    EXPECT_EQ(statements(), before + uint64_t(i - i / 50));  // a syntax error is not a statement run
  }
  EXPECT_EQ(errors("42601"), 6);
  PQfinish(c);
}

// The server stops while a client sends query after query: no reply goes
// to a closed socket, and the client sees the connection end.
TEST_F(ServerTest, StopWhileQueriesArriveBackToBack) {
  start();
  PGconn* c = connect();
  std::atomic<bool> ended{false};
  std::thread client([&] {
    while (true) {
      PGresult* r = PQexec(c, "select ints 1");
      const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
      PQclear(r);
      if (!ok) break;
    }
    ended = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  shut_down();
  client.join();
  EXPECT_TRUE(ended.load());
  PQfinish(c);
}

TEST_F(ServerTest, PreparedStatementsWithBinaryParametersAndResults) {
  start();
  PGconn* c = connect();
  const Oid types[3] = {23, 20, 25};
  PGresult* r = PQprepare(c, "echo3", "echo $1 $2 $3", 3, types);
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  const std::string i4 = be32(uint32_t(-42));
  const std::string i8 = be32(1) + be32(2);
  const char* values[3] = {i4.data(), i8.data(), "text value"};
  const int lengths[3] = {4, 8, 10};
  const int formats[3] = {1, 1, 0};
  r = PQexecPrepared(c, "echo3", 3, values, lengths, formats, 1);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  EXPECT_EQ(PQgetlength(r, 0, 0), 4);
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0), 4), i4);
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 1), 8), i8);
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 2), 10), "text value");
  EXPECT_EQ(PQftype(r, 1), 20u);
  PQclear(r);
  // Describe of the statement.
  r = PQdescribePrepared(c, "echo3");
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
  EXPECT_EQ(PQnparams(r), 3);
  EXPECT_EQ(PQparamtype(r, 1), 20u);
  EXPECT_EQ(PQnfields(r), 3);
  PQclear(r);
  // A bad binary parameter is an error; the connection goes on.
  const int short_len[3] = {3, 8, 1};
  r = PQexecPrepared(c, "echo3", 3, values, short_len, formats, 0);
  EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "22P03");
  PQclear(r);
  r = PQexecParams(c, "select ints 2", 0, nullptr, nullptr, nullptr, nullptr, 1);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_EQ(std::string(PQgetvalue(r, 1, 0), 4), be32(2));
  PQclear(r);
  PQfinish(c);
}

TEST_F(ServerTest, SingleRowModeStreamsALargeResult) {
  server_config config;
  config.limits.output_bytes_soft_max = 16 * KiB;
  config.limits.fetch_rows_max = 500;
  start(config);
  PGconn* c = connect();
  ASSERT_EQ(PQsendQuery(c, "select ints 200000"), 1);
  ASSERT_EQ(PQsetSingleRowMode(c), 1);
  int rows = 0;
  int64_t sum = 0;
  while (PGresult* r = PQgetResult(c)) {
    if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
      ++rows;
      sum += std::stoll(PQgetvalue(r, 0, 0));
    } else {
      EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
    }
    PQclear(r);
  }
  EXPECT_EQ(rows, 200000);
  EXPECT_EQ(sum, int64_t(200000) * 200001 / 2);
  PQfinish(c);
}

TEST_F(ServerTest, CopyInAndOut) {
  start();
  PGconn* c = connect();
  PGresult* r = PQexec(c, "copy in");
  ASSERT_EQ(PQresultStatus(r), PGRES_COPY_IN) << PQresultErrorMessage(r);
  PQclear(r);
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string line = std::to_string(i) + "\tvalue " + std::to_string(i) + "\n";
    expected += line;
    ASSERT_EQ(PQputCopyData(c, line.data(), int(line.size())), 1);
  }
  ASSERT_EQ(PQputCopyEnd(c, nullptr), 1);
  r = PQgetResult(c);
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  EXPECT_STREQ(PQcmdStatus(r), "COPY 1000");
  PQclear(r);
  while ((r = PQgetResult(c)) != nullptr) PQclear(r);
  {
    std::lock_guard lock(engine_.state().mu);
    EXPECT_EQ(engine_.state().copied, expected);
  }

  r = PQexec(c, "copy out 5000");
  ASSERT_EQ(PQresultStatus(r), PGRES_COPY_OUT) << PQresultErrorMessage(r);
  PQclear(r);
  std::string data;
  char* buf = nullptr;
  int n;
  while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
    data.append(buf, size_t(n));
    PQfreemem(buf);
  }
  EXPECT_EQ(n, -1);
  r = PQgetResult(c);
  EXPECT_STREQ(PQcmdStatus(r), "COPY 5000");
  PQclear(r);
  EXPECT_EQ(std::count(data.begin(), data.end(), '\n'), 5000);
  EXPECT_TRUE(data.starts_with("0\trow-0\n"));
  // COPY aborted by the client.
  r = PQexec(c, "copy in");
  PQclear(r);
  PQputCopyData(c, "1\tx\n", 4);
  PQputCopyEnd(c, "changed my mind");
  r = PQgetResult(c);
  EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
  PQclear(r);
  while ((r = PQgetResult(c)) != nullptr) PQclear(r);
  r = PQexec(c, "select ints 1");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  PQfinish(c);
}

TEST_F(ServerTest, CancelRequestCancelsARunningQuery) {
  start();
  PGconn* c = connect();
  PGcancel* cancel = PQgetCancel(c);
  ASSERT_NE(cancel, nullptr);
  auto running = std::async(std::launch::async, [c] {
    PGresult* r = PQexec(c, "sleep");
    std::string state = PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "";
    PQclear(r);
    return state;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (engine_.state().sleeping.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(engine_.state().sleeping.load(), 1);
  const auto started = std::chrono::steady_clock::now();
  char err[256];
  ASSERT_EQ(PQcancel(cancel, err, sizeof(err)), 1) << err;
  EXPECT_EQ(running.get(), "57014");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  PQfreeCancel(cancel);
  PGresult* r = PQexec(c, "select ints 1");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  PQfinish(c);
}

TEST_F(ServerTest, ScramAuthenticationThroughLibpq) {
  server_config config;
  config.auth = auth_method::scram_sha_256;
  config.users.push_back({"alice", "s3cret"});
  start(config);
  PGconn* ok = PQconnectdb(conninfo("password=s3cret").c_str());
  EXPECT_EQ(PQstatus(ok), CONNECTION_OK) << PQerrorMessage(ok);
  PQfinish(ok);
  PGconn* bad = PQconnectdb(conninfo("password=wrong").c_str());
  EXPECT_EQ(PQstatus(bad), CONNECTION_BAD);
  EXPECT_NE(std::string(PQerrorMessage(bad)).find("password authentication failed for user \"alice\""), std::string::npos)
      << PQerrorMessage(bad);
  PQfinish(bad);
  EXPECT_EQ(errors("28P01"), 1);
}

TEST_F(ServerTest, Md5AuthenticationThroughLibpq) {
  server_config config;
  config.auth = auth_method::md5;
  config.users.push_back({"alice", "s3cret"});
  start(config);
  PGconn* ok = PQconnectdb(conninfo("password=s3cret").c_str());
  EXPECT_EQ(PQstatus(ok), CONNECTION_OK) << PQerrorMessage(ok);
  PQfinish(ok);
  PGconn* bad = PQconnectdb(conninfo("password=nope").c_str());
  EXPECT_EQ(PQstatus(bad), CONNECTION_BAD);
  PQfinish(bad);
}

TEST_F(ServerTest, SslIsRefusedAndPlainStartupFollows) {
  start();
  PGconn* c = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(port_) + " user=alice sslmode=prefer").c_str());
  EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  EXPECT_EQ(PQsslInUse(c), 0);
  PQfinish(c);
}

TEST_F(ServerTest, BadInputGetsAnErrorWhileOthersKeepWorking) {
  start();
  PGconn* good = connect();
  // A 1 GB message length after startup.
  int fd = raw_connect();
  raw_send(fd, startup({{"user", "alice"}}));
  raw_send(fd, std::string("Q") + be32(1u << 30));
  auto msgs = split_output(raw_read_all(fd));
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs.back().type, 'E');
  EXPECT_EQ(error_field(msgs.back(), 'C'), "08P01");
  ::close(fd);
  // The wrong protocol version.
  fd = raw_connect();
  raw_send(fd, startup({{"user", "alice"}}, 0x00020000));
  msgs = split_output(raw_read_all(fd));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "0A000");
  ::close(fd);
  // Garbage.
  fd = raw_connect();
  raw_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  msgs = split_output(raw_read_all(fd));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(error_field(msgs[0], 'C'), "08P01");
  ::close(fd);
  // A message out of order, then a good query on the same connection.
  fd = raw_connect();
  raw_send(fd, startup({{"user", "alice"}}) + execute("nope") + sync() + query("select ints 1") + terminate());
  msgs = split_output(raw_read_all(fd));
  std::string types = types_of(msgs);
  ASSERT_GE(types.size(), 6u);
  EXPECT_EQ(types.substr(types.size() - 6), "EZTDCZ");
  ::close(fd);
  // The first connection never noticed.
  PGresult* r = PQexec(good, "select ints 2");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  PQfinish(good);
}

TEST_F(ServerTest, LargeMessagesUpToTheLimitWork) {
  server_config config;
  config.limits.message_bytes_max = 1 * MiB;
  start(config);
  PGconn* c = connect();
  const std::string big(512 * 1024, 'x');
  const char* values[1] = {big.c_str()};
  PGresult* r = PQexecParams(c, "echo $1", 1, nullptr, values, nullptr, nullptr, 0);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  EXPECT_EQ(PQgetlength(r, 0, 0), int(big.size()));
  PQclear(r);
  const std::string too_big(2 * 1024 * 1024, 'y');
  values[0] = too_big.c_str();
  r = PQexecParams(c, "echo $1", 1, nullptr, values, nullptr, nullptr, 0);
  EXPECT_NE(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  EXPECT_NE(PQstatus(c), CONNECTION_OK);
  PQfinish(c);
}

TEST_F(ServerTest, StartupAndIdleInTransactionTimeouts) {
  server_config config;
  config.limits.startup_timeout_ms = 200;
  config.limits.idle_in_transaction_timeout_ms = 300;
  config.limits.message_timeout_ms = 300;
  start(config);
  // A client that never finishes its startup is hung up on.
  int fd = raw_connect();
  raw_send(fd, be32(100));  // a length word, then nothing
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(raw_read_all(fd), "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  ::close(fd);
  // A large message whose bytes stop coming is hung up on too.
  fd = raw_connect();
  raw_send(fd, startup({{"user", "alice"}}) + "Q" + be32(200000) + "select");
  const auto big_started = std::chrono::steady_clock::now();
  auto msgs = split_output(raw_read_all(fd));
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs.back().type, 'Z');  // the startup's ReadyForQuery, then the close
  EXPECT_LT(std::chrono::steady_clock::now() - big_started, std::chrono::seconds(3));
  ::close(fd);
  // Idle outside a transaction is fine; idle inside one is not.
  PGconn* c = connect();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  PGresult* r = PQexec(c, "begin");
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  r = PQexec(c, "select ints 1");
  EXPECT_NE(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_NE(std::string(PQerrorMessage(c)).find("idle-in-transaction timeout"), std::string::npos) << PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
}

TEST_F(ServerTest, ConnectionLimit) {
  server_config config;
  config.limits.connections_max = 2;
  start(config);
  PGconn* a = connect();
  PGconn* b = connect();
  PGconn* c = PQconnectdb(conninfo().c_str());
  EXPECT_EQ(PQstatus(c), CONNECTION_BAD);
  PQfinish(c);
  PQfinish(a);
  // The slot frees once the server sees the close.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  PGconn* d = nullptr;
  while (std::chrono::steady_clock::now() < deadline) {
    d = PQconnectdb(conninfo().c_str());
    if (PQstatus(d) == CONNECTION_OK) break;
    PQfinish(d);
    d = nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(d, nullptr);
  PQfinish(d);
  PQfinish(b);
}

// psycopg 3 (Debian's python3-psycopg, over libpq): server-side prepared
// statements with binary parameters and results, COPY, and cancel.
constexpr const char* psycopg_script = R"PY(
import os, sys, threading, time
import psycopg
conn = psycopg.connect(host="127.0.0.1", port=int(os.environ["PGW_PORT"]), user="alice", dbname="db",
                       autocommit=True, prepare_threshold=0)
assert conn.info.parameter_status("client_encoding") == "UTF8"
cur = conn.cursor(binary=True)
for i in range(3):
    cur.execute("echo %b %b %b", (40 + i, "héllo", 1.5))
    row = cur.fetchone()
    assert row == (40 + i, "héllo", 1.5), row
cur.execute("select ints 4")
assert [r[0] for r in cur.fetchall()] == [1, 2, 3, 4]
tcur = conn.cursor()
tcur.execute("select ints 3")
assert tcur.fetchall() == [(1,), (2,), (3,)]
with tcur.copy("copy in") as copy:
    copy.write_row((1, "a"))
    copy.write_row((2, "b"))
assert tcur.rowcount == 2, tcur.rowcount
try:
    tcur.execute("fail")
    sys.exit("no error")
except psycopg.errors.SyntaxError:
    pass
def cancel_soon():
    time.sleep(0.2)
    conn.cancel()
threading.Thread(target=cancel_soon).start()
try:
    tcur.execute("sleep")
    sys.exit("sleep was not cancelled")
except psycopg.errors.QueryCanceled:
    pass
tcur.execute("select ints 1")
assert tcur.fetchone() == (1,)
print("psycopg ok")
)PY";

TEST_F(ServerTest, Psycopg) {
  if (std::system("/usr/bin/python3 -c 'import psycopg' 2>/dev/null") != 0) GTEST_SKIP() << "python3-psycopg is not installed";
  start();
  const std::string script_path = ::testing::TempDir() + "pgwire_psycopg_test.py";
  {
    FILE* f = std::fopen(script_path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(psycopg_script, f);
    std::fclose(f);
  }
  const std::string cmd = "PGW_PORT=" + std::to_string(port_) + " timeout 60 /usr/bin/python3 " + script_path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) output += buf;
  const int rc = pclose(p);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("psycopg ok"), std::string::npos) << output;
  std::lock_guard lock(engine_.state().mu);
  EXPECT_EQ(engine_.state().copied, "1\ta\n2\tb\n");
}

TEST(ParseFlags, UsersAndAuthMethods) {
  auto u = parse_user("bob:pa:ss");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->name, "bob");
  EXPECT_EQ(u->password, "pa:ss");
  EXPECT_FALSE(parse_user("bob").ok());
  EXPECT_FALSE(parse_user(":x").ok());
  EXPECT_FALSE(parse_user("bob:").ok());
  EXPECT_EQ(parse_auth_method("md5").value(), auth_method::md5);
  EXPECT_EQ(parse_auth_method("scram-sha-256").value(), auth_method::scram_sha_256);
  EXPECT_FALSE(parse_auth_method("password").ok());
}

}  // namespace
}  // namespace strata::pgwire
