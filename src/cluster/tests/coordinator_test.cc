// The coordinator's contract, checked against memory_coordinator and against a
// real etcd that this test starts itself (/usr/bin/etcd, from etcd-server, or
// the binary STRATA_TEST_ETCD names).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/coordinator.h"
#include "cluster/memory_coordinator.h"

namespace strata::cluster {
namespace {

using clock_type = std::chrono::steady_clock;

// /usr/bin/etcd, or the binary STRATA_TEST_ETCD names.
std::string etcd_binary() {
  const char* chosen = std::getenv("STRATA_TEST_ETCD");
  return chosen != nullptr && *chosen != '\0' ? chosen : "/usr/bin/etcd";
}

constexpr int64_t k_etcd_start_timeout_ms = 20'000;
constexpr int64_t k_etcd_stop_timeout_ms = 5'000;
constexpr int64_t k_poll_interval_ms = 50;

int64_t elapsed_ms_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
}

void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Loopback ports nobody listens on: each bound to port 0, read back, released.
// The sockets stay open until all are chosen so the ports differ.
std::vector<int> free_loopback_ports(int count) {
  std::vector<int> sockets;
  std::vector<int> ports;
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    STRATA_ASSERT(fd >= 0, "socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    STRATA_ASSERT(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0, "bind failed");
    socklen_t length = sizeof(address);
    STRATA_ASSERT(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0, "getsockname failed");
    sockets.push_back(fd);
    ports.push_back(ntohs(address.sin_port));
  }
  for (int fd : sockets) close(fd);
  return ports;
}

// A loopback port that takes connections (the kernel's backlog completes the
// handshake) and never says a word: a hung or blackholed server.
class silent_listener {
 public:
  silent_listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    STRATA_ASSERT(fd_ >= 0, "socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    STRATA_ASSERT(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0, "bind failed");
    STRATA_ASSERT(listen(fd_, 16) == 0, "listen failed");
    socklen_t length = sizeof(address);
    STRATA_ASSERT(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0, "getsockname failed");
    port_ = ntohs(address.sin_port);
  }
  ~silent_listener() { close(fd_); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;

  std::string endpoint() const { return fmt::format("127.0.0.1:{}", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string file_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() <= max_bytes ? all : all.substr(all.size() - max_bytes);
}

// One etcd member on loopback ports, in a temporary directory; stopped and
// removed on destruction. Short heartbeats so that 1-second leases are allowed.
class etcd_process {
 public:
  static result<std::unique_ptr<etcd_process>> start() {
    if (access(etcd_binary().c_str(), X_OK) != 0) {
      return make_error(errc::not_found, fmt::format("{} is missing: the etcd contract tests need it; install "
                                                     "etcd-server (scripts/install-deps.sh)",
                                                     etcd_binary()));
    }
    auto process = std::unique_ptr<etcd_process>(new etcd_process());
    STRATA_TRY(process->spawn());
    STRATA_TRY(process->wait_until_answering());
    return process;
  }

  ~etcd_process() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::string& client_url() const { return client_url_; }
  int client_port() const { return client_port_; }

 private:
  etcd_process() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strata-etcd-XXXXXX").string();
    STRATA_ASSERT(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
    dir_ = pattern;
    std::vector<int> ports = free_loopback_ports(2);
    client_port_ = ports[0];
    client_url_ = fmt::format("http://127.0.0.1:{}", ports[0]);
    peer_url_ = fmt::format("http://127.0.0.1:{}", ports[1]);
  }

  std::string log_path() const { return dir_ + "/etcd.log"; }

  std::vector<std::string> arguments() const {
    return {etcd_binary(),
            "--name=strata-test",
            "--data-dir=" + dir_ + "/data",
            "--listen-client-urls=" + client_url_,
            "--advertise-client-urls=" + client_url_,
            "--listen-peer-urls=" + peer_url_,
            "--initial-advertise-peer-urls=" + peer_url_,
            "--initial-cluster=strata-test=" + peer_url_,
            "--heartbeat-interval=25",
            "--election-timeout=250"};
  }

  // fork and exec rather than posix_spawn so that etcd gets SIGKILL should
  // this test binary die without running its destructors.
  status spawn() {
    std::vector<std::string> args = arguments();
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::string log = log_path();
    int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) return make_error(errc::io_error, fmt::format("cannot create {}: {}", log, strerror(errno)));
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) exec_etcd(argv.data(), log_fd, parent);  // only async-signal-safe calls from here
    int fork_errno = errno;
    close(log_fd);
    if (pid_ < 0) return make_error(errc::internal, fmt::format("cannot fork for etcd: {}", strerror(fork_errno)));
    return {};
  }

  [[noreturn]] static void exec_etcd(char** argv, int log_fd, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv);
    _exit(127);
  }

  status wait_until_answering() {
    auto start = clock_type::now();
    while (elapsed_ms_since(start) < k_etcd_start_timeout_ms) {
      int wait_status = 0;
      if (waitpid(pid_, &wait_status, WNOHANG) == pid_) {
        pid_ = -1;
        return make_error(errc::internal,
                          fmt::format("etcd exited at start; its log ends:\n{}", file_tail(log_path(), 3000)));
      }
      if (connect_etcd(etcd_config{{client_url_}, {}, 500}).ok()) return {};
      sleep_ms(k_poll_interval_ms);
    }
    return make_error(errc::timed_out, fmt::format("etcd did not answer within {} ms; its log ends:\n{}",
                                                   k_etcd_start_timeout_ms, file_tail(log_path(), 3000)));
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    auto start = clock_type::now();
    while (elapsed_ms_since(start) < k_etcd_stop_timeout_ms) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      sleep_ms(k_poll_interval_ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  std::string dir_;
  std::string client_url_;
  std::string peer_url_;
  int client_port_ = 0;
  pid_t pid_ = -1;
};

// One etcd for the whole test binary, started on first use; a start that
// failed is not retried, each etcd test fails with its message instead.
struct shared_etcd {
  std::unique_ptr<etcd_process> process;
  std::optional<error> start_error;
};

shared_etcd& the_shared_etcd() {
  static shared_etcd instance;
  return instance;
}

result<const etcd_process*> shared_etcd_process() {
  shared_etcd& shared = the_shared_etcd();
  if (!shared.process && !shared.start_error) {
    auto started = etcd_process::start();
    if (started.ok()) {
      shared.process = std::move(started).value();
    } else {
      shared.start_error = started.err();
    }
  }
  if (shared.start_error) return *shared.start_error;
  return static_cast<const etcd_process*>(shared.process.get());
}

class stop_shared_etcd : public ::testing::Environment {
 public:
  void TearDown() override { the_shared_etcd().process.reset(); }
};

[[maybe_unused]] ::testing::Environment* const stop_shared_etcd_env =
    ::testing::AddGlobalTestEnvironment(new stop_shared_etcd);

// ---- the contract, against both implementations ----

enum class backend { memory, etcd };

const char* backend_name(backend b) { return b == backend::memory ? "memory" : "etcd"; }
std::string test_name_suffix(const ::testing::TestParamInfo<backend>& info) { return backend_name(info.param); }
void PrintTo(backend b, std::ostream* out) { *out << backend_name(b); }

class CoordinatorContract : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override {
    if (GetParam() == backend::memory) {
      auto store = make_memory_coordinator();
      memory_ = store.get();
      store_ = std::move(store);
      return;
    }
    auto etcd = shared_etcd_process();
    ASSERT_TRUE(etcd.ok()) << etcd.err().message;
    auto connected = connect_etcd(etcd_config{{(*etcd)->client_url()}, {}, 2000});
    ASSERT_TRUE(connected.ok()) << connected.err().message;
    store_ = std::move(connected).value();
  }

  bool on_etcd() const { return GetParam() == backend::etcd; }

  // Keys of this test alone: tests share one etcd.
  std::string key(const std::string& name) const {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("test/") + test->name() + "/" + name;
  }

  std::optional<kv_entry> get_ok(const std::string& k) {
    auto got = store_->get(k);
    EXPECT_TRUE(got.ok()) << got.err().message;
    return got.ok() ? *got : std::nullopt;
  }

  int64_t revision_now() {
    auto read = store_->range(key(""));
    EXPECT_TRUE(read.ok()) << read.err().message;
    return read.ok() ? read->revision : 0;
  }

  txn_outcome commit_ok(const std::vector<txn_condition>& conditions, const std::vector<txn_op>& ops) {
    auto outcome = store_->commit(conditions, ops);
    EXPECT_TRUE(outcome.ok()) << outcome.err().message;
    return outcome.ok() ? *outcome : txn_outcome{};
  }

  txn_outcome put_ok(const std::string& k, const std::string& value, lease_id lease = 0) {
    return commit_ok({}, {txn_op::put(k, value, lease)});
  }

  lease_id grant_ok(int64_t ttl_ms) {
    auto lease = store_->grant_lease(ttl_ms);
    EXPECT_TRUE(lease.ok()) << lease.err().message;
    return lease.ok() ? *lease : 0;
  }

  // Lets time pass: the memory clock moves, etcd's wall clock is waited for.
  void pass_time_ms(int64_t ms) {
    if (memory_ != nullptr) {
      memory_->advance_ms(ms);
    } else {
      sleep_ms(ms);
    }
  }

  // How long until `k` disappeared, or -1 if it is still there after timeout_ms.
  int64_t ms_until_gone(const std::string& k, int64_t timeout_ms) {
    auto start = clock_type::now();
    if (memory_ != nullptr) {
      memory_->advance_ms(timeout_ms);
      return get_ok(k).has_value() ? -1 : timeout_ms;
    }
    while (elapsed_ms_since(start) <= timeout_ms) {
      if (!get_ok(k).has_value()) return elapsed_ms_since(start);
      sleep_ms(k_poll_interval_ms);
    }
    return -1;
  }

  std::unique_ptr<coordinator> store_;
  memory_coordinator* memory_ = nullptr;  // set for the memory backend only
};

INSTANTIATE_TEST_SUITE_P(Backends, CoordinatorContract, ::testing::Values(backend::memory, backend::etcd),
                         test_name_suffix);

TEST_P(CoordinatorContract, CreateIfAbsentSucceedsOnceOnly) {
  std::string k = key("k");
  txn_outcome first = commit_ok({{k, 0}}, {txn_op::put(k, "v1")});
  EXPECT_TRUE(first.succeeded);
  txn_outcome second = commit_ok({{k, 0}}, {txn_op::put(k, "v2")});
  EXPECT_FALSE(second.succeeded);
  EXPECT_EQ(second.revision, first.revision);  // a failed transaction writes nothing
  auto entry = get_ok(k);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "v1");
}

TEST_P(CoordinatorContract, CompareOnModRevisionAcceptsCurrentRejectsStale) {
  std::string k = key("k");
  int64_t written = put_ok(k, "v1").revision;
  EXPECT_TRUE(commit_ok({{k, written}}, {txn_op::put(k, "v2")}).succeeded);
  EXPECT_FALSE(commit_ok({{k, written}}, {txn_op::put(k, "v3")}).succeeded);
  EXPECT_FALSE(commit_ok({{key("absent"), written}}, {txn_op::put(k, "v4")}).succeeded);
  EXPECT_FALSE(commit_ok({{k, 0}}, {txn_op::put(k, "v5")}).succeeded);  // present, so not absent
  auto entry = get_ok(k);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, "v2");
}

TEST_P(CoordinatorContract, RevisionsAreEtcds) {
  std::string a = key("a");
  std::string b = key("b");
  int64_t before = revision_now();
  EXPECT_EQ(put_ok(a, "1").revision, before + 1);
  txn_outcome both = commit_ok({}, {txn_op::put(a, "2"), txn_op::put(b, "1")});
  EXPECT_EQ(both.revision, before + 2);  // one revision per transaction
  auto entry_a = get_ok(a);
  auto entry_b = get_ok(b);
  ASSERT_TRUE(entry_a.has_value() && entry_b.has_value());
  EXPECT_EQ(entry_a->create_revision, before + 1);
  EXPECT_EQ(entry_a->mod_revision, before + 2);
  EXPECT_EQ(entry_b->create_revision, before + 2);
  EXPECT_EQ(entry_b->mod_revision, before + 2);
  EXPECT_EQ(entry_a->lease, 0);
  txn_outcome nothing_deleted = commit_ok({}, {txn_op::remove(key("never-there"))});
  EXPECT_TRUE(nothing_deleted.succeeded);
  EXPECT_EQ(nothing_deleted.revision, before + 2);  // no change, no revision
  EXPECT_EQ(revision_now(), before + 2);
}

TEST_P(CoordinatorContract, DeleteOpRemovesTheKey) {
  std::string k = key("k");
  int64_t written = put_ok(k, "v").revision;
  txn_outcome removed = commit_ok({{k, written}}, {txn_op::remove(k)});
  EXPECT_TRUE(removed.succeeded);
  EXPECT_EQ(removed.revision, written + 1);
  EXPECT_FALSE(get_ok(k).has_value());
  EXPECT_TRUE(commit_ok({{k, 0}}, {txn_op::put(k, "again")}).succeeded);  // absent once more
  EXPECT_EQ(get_ok(k)->create_revision, written + 2);
}

TEST_P(CoordinatorContract, RangeByPrefixReturnsOnlyThePrefixInKeyOrder) {
  std::vector<std::string> names{"b", "a/2", "a0", "a/1", "a", "a/10"};
  std::map<std::string, int64_t> revision_of;
  for (const std::string& name : names) revision_of[key(name)] = put_ok(key(name), "v" + name).revision;
  auto read = store_->range(key("a/"));
  ASSERT_TRUE(read.ok()) << read.err().message;
  std::vector<std::string> got;
  for (const kv_entry& entry : read->entries) {
    got.push_back(entry.key);
    EXPECT_EQ(entry.mod_revision, revision_of[entry.key]) << entry.key;
    EXPECT_EQ(entry.create_revision, revision_of[entry.key]) << entry.key;
  }
  EXPECT_EQ(got, (std::vector<std::string>{key("a/1"), key("a/10"), key("a/2")}));
  EXPECT_EQ(read->entries[0].value, "va/1");
  EXPECT_EQ(read->revision, revision_of[key("a/10")]);  // the last write
  auto everything = store_->range(key(""));
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->entries.size(), names.size());
  auto whole_store = store_->range("");
  ASSERT_TRUE(whole_store.ok()) << whole_store.err().message;
  size_t ours = 0;
  for (const kv_entry& entry : whole_store->entries) ours += entry.key.starts_with(key("")) ? 1 : 0;
  EXPECT_EQ(ours, names.size());
}

TEST_P(CoordinatorContract, RangeEndsCorrectlyAfterHighBytes) {
  std::string high = key("\xff");
  std::string just_past = key("");
  just_past.back() = '0';  // '/' + 1: where the range of key("") ends
  for (const std::string& k : {key("\xfe"), high, high + "\x01", high + "\xff", high + "\xff\xff", just_past}) {
    put_ok(k, "v");
  }
  auto read = store_->range(high);
  ASSERT_TRUE(read.ok()) << read.err().message;
  std::vector<std::string> got;
  for (const kv_entry& entry : read->entries) got.push_back(entry.key);
  EXPECT_EQ(got, (std::vector<std::string>{high, high + "\x01", high + "\xff", high + "\xff\xff"}));
  auto all = store_->range(key(""));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->entries.size(), 5u);
}

TEST_P(CoordinatorContract, GetOfAMissingKeyIsEmpty) {
  auto got = store_->get(key("missing"));
  ASSERT_TRUE(got.ok()) << got.err().message;
  EXPECT_FALSE(got->has_value());
  auto read = store_->range(key("missing/"));
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->entries.empty());
}

TEST_P(CoordinatorContract, LeasedKeyGoesWhenTheLeaseExpires) {
  std::string k = key("k");
  lease_id lease = grant_ok(1000);
  ASSERT_NE(lease, 0);
  int64_t written = put_ok(k, "v", lease).revision;
  auto entry = get_ok(k);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->lease, lease);
  int64_t gone_after_ms = ms_until_gone(k, on_etcd() ? 4000 : 1000);
  EXPECT_GE(gone_after_ms, 0) << "the leased key outlived its lease";
  if (on_etcd()) std::cout << "[ etcd     ] a 1 s lease's key was gone after " << gone_after_ms << " ms\n";
  EXPECT_EQ(revision_now(), written + 1);  // the expiry deleted the key in one revision
  EXPECT_EQ(store_->keep_alive(lease).code(), errc::not_found);
}

TEST_P(CoordinatorContract, KeepAliveExtendsTheLease) {
  std::string k = key("k");
  lease_id lease = grant_ok(2000);
  put_ok(k, "v", lease);
  for (int i = 0; i < 7; ++i) {  // 3.5 s in all, far past the 2 s TTL
    pass_time_ms(500);
    auto kept = store_->keep_alive(lease);
    ASSERT_TRUE(kept.ok()) << kept.err().message;
  }
  EXPECT_TRUE(get_ok(k).has_value());
  EXPECT_GE(ms_until_gone(k, on_etcd() ? 5000 : 2000), 0);
}

TEST_P(CoordinatorContract, RevokeDeletesKeysAndEndsTheLease) {
  std::string k = key("k");
  lease_id lease = grant_ok(60'000);
  put_ok(k, "v", lease);
  ASSERT_TRUE(store_->revoke_lease(lease).ok());
  EXPECT_FALSE(get_ok(k).has_value());
  EXPECT_EQ(store_->keep_alive(lease).code(), errc::not_found);
  EXPECT_EQ(store_->revoke_lease(lease).code(), errc::not_found);
  auto put = store_->commit({}, {txn_op::put(k, "v", lease)});
  EXPECT_EQ(put.code(), errc::not_found);
}

TEST_P(CoordinatorContract, WritingAKeyTwiceInOneTransactionIsInvalid) {
  std::string k = key("k");
  EXPECT_EQ(store_->commit({}, {txn_op::put(k, "1"), txn_op::put(k, "2")}).code(), errc::invalid_argument);
  EXPECT_EQ(store_->commit({}, {txn_op::put(k, "1"), txn_op::remove(k)}).code(), errc::invalid_argument);
  EXPECT_EQ(store_->commit({}, {txn_op::put("", "1")}).code(), errc::invalid_argument);
  EXPECT_FALSE(get_ok(k).has_value());
}

TEST_P(CoordinatorContract, TooManyOpsInOneTransactionIsALimit) {
  std::vector<txn_op> ops;
  for (size_t i = 0; i <= k_max_txn_ops; ++i) ops.push_back(txn_op::put(key(std::to_string(i)), "v"));
  auto outcome = store_->commit({}, ops);
  EXPECT_EQ(outcome.code(), errc::limit_exceeded);
  ops.pop_back();
  EXPECT_TRUE(commit_ok({}, ops).succeeded);
}

// ---- the memory coordinator alone ----

TEST(MemoryCoordinator, StoreStartsAtRevisionOne) {
  auto store = make_memory_coordinator();
  auto read = store->range("");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->revision, 1);
  auto outcome = store->commit({}, {txn_op::put("k", "v")});
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->revision, 2);
}

TEST(MemoryCoordinator, LeaseExpiresAtItsDeadlineRoundedUpToSeconds) {
  auto store = make_memory_coordinator();
  auto lease = store->grant_lease(1500);  // kept as 2 s
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(store->commit({}, {txn_op::put("a", "v", *lease), txn_op::put("b", "v", *lease)}).ok());
  store->advance_ms(1999);
  EXPECT_EQ(store->range("")->entries.size(), 2u);
  EXPECT_EQ(store->range("")->revision, 2);
  store->advance_ms(1);
  EXPECT_TRUE(store->range("")->entries.empty());
  EXPECT_EQ(store->range("")->revision, 3);  // both keys in one revision
  EXPECT_EQ(store->keep_alive(*lease).code(), errc::not_found);
}

TEST(MemoryCoordinator, RejectsNegativeTtlAndEmptyKeys) {
  auto store = make_memory_coordinator();
  EXPECT_EQ(store->grant_lease(-1).code(), errc::invalid_argument);
  EXPECT_EQ(store->get("").code(), errc::invalid_argument);
  EXPECT_EQ(store->commit({}, {txn_op::remove("")}).code(), errc::invalid_argument);
}

// ---- connecting to etcd ----

TEST(EtcdCoordinator, ClosedPortFailsFastAsUnavailable) {
  std::string endpoint = fmt::format("127.0.0.1:{}", free_loopback_ports(1)[0]);
  auto start = clock_type::now();
  auto connected = connect_etcd(etcd_config{{endpoint}, {}, 1000});
  int64_t took_ms = elapsed_ms_since(start);
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.code(), errc::unavailable) << connected.err().message;
  EXPECT_NE(connected.err().message.find(endpoint), std::string::npos) << connected.err().message;
  EXPECT_NE(connected.err().message.find("--cluster-etcd"), std::string::npos) << connected.err().message;
  EXPECT_LT(took_ms, 1000);
}

TEST(EtcdCoordinator, FailsOverPastADeadEndpoint) {
  auto etcd = shared_etcd_process();
  ASSERT_TRUE(etcd.ok()) << etcd.err().message;
  std::string dead = fmt::format("http://127.0.0.1:{}", free_loopback_ports(1)[0]);
  std::string live = fmt::format("127.0.0.1:{}", (*etcd)->client_port());
  auto connected = connect_etcd(etcd_config{{dead, live}, {}, 2000});
  ASSERT_TRUE(connected.ok()) << connected.err().message;
  coordinator& store = *connected.value();
  auto outcome = store.commit({}, {txn_op::put("test/failover/k", "v")});
  ASSERT_TRUE(outcome.ok()) << outcome.err().message;
  auto got = store.get("test/failover/k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "v");
}

TEST(EtcdCoordinator, SilentEndpointTimesOutAndIsPassedOver) {
  silent_listener silent;
  auto start = clock_type::now();
  auto alone = connect_etcd(etcd_config{{silent.endpoint()}, {}, 500});
  int64_t took_ms = elapsed_ms_since(start);
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.code(), errc::timed_out) << alone.err().message;
  EXPECT_NE(alone.err().message.find("within 500 ms"), std::string::npos) << alone.err().message;
  EXPECT_LT(took_ms, 1500);

  auto etcd = shared_etcd_process();
  ASSERT_TRUE(etcd.ok()) << etcd.err().message;
  auto connected = connect_etcd(etcd_config{{silent.endpoint(), (*etcd)->client_url()}, {}, 500});
  ASSERT_TRUE(connected.ok()) << connected.err().message;
  start = clock_type::now();  // etcd answered last, so it is asked first now
  auto got = connected.value()->get("test/silent/k");
  ASSERT_TRUE(got.ok()) << got.err().message;
  EXPECT_LT(elapsed_ms_since(start), 400);
}

TEST(EtcdCoordinator, RejectsMalformedConfig) {
  EXPECT_EQ(connect_etcd(etcd_config{{}, {}, 1000}).code(), errc::invalid_argument);
  EXPECT_EQ(connect_etcd(etcd_config{{"http://127.0.0.1"}, {}, 1000}).code(), errc::invalid_argument);
  EXPECT_EQ(connect_etcd(etcd_config{{"127.0.0.1:2379"}, {}, 0}).code(), errc::invalid_argument);
  etcd_config missing_ca{{"127.0.0.1:2379"}, {"/nonexistent/ca.pem", "", ""}, 1000};
  EXPECT_EQ(connect_etcd(missing_ca).code(), errc::invalid_argument);
}

}  // namespace
}  // namespace strata::cluster
