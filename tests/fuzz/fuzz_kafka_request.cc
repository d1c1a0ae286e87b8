// libFuzzer target: arbitrary bytes as a stream of Kafka request frames
// (4-byte size prefix, request header, body), as a connection reads them.
//
// Each frame goes through decode_request_header and then the real handler of
// its API, against real services on in-memory state: streams::service over a
// fault_fs, a memory kv, the group coordinator, the transaction coordinator,
// and the ACL and SCRAM user stores (authorization off, so the admin APIs
// act), all driven by a scheduler whose clock the target moves. Every input
// starts from the same fresh state (topic "t" with 2 partitions, no producer
// ids handed out yet: the first InitProducerId gets producer id 0), so a
// crash reproduces from its input alone.
//
// Besides the sanitizers, the target checks the handler contract: a handler
// that accepts a request responds exactly once (a missing response would
// stall its connection forever, since responses go out in request order).
//
// STRATA_FUZZ_TRACE=1 prints each frame's API and its response in hex, to
// check what a seed reaches: fuzz_kafka_request SEED_FILE.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "auth/acl.h"
#include "auth/user_store.h"
#include "base/scheduler.h"
#include "io/fault_fs.h"
#include "kafka/groups/coordinator.h"
#include "kafka/protocol/api.h"
#include "kafka/protocol/wire.h"
#include "kafka/server/handler.h"
#include "kafka/txn/coordinator.h"
#include "meta/kv.h"
#include "streams/service.h"

namespace {

using namespace strata;

constexpr size_t frames_per_input_max = 8;
constexpr uint32_t frame_bytes_max = 1 << 20;
constexpr int64_t long_wait_ms = int64_t{1} << 32;  // past any timeout a request can ask for
constexpr auto flush_wait_max = std::chrono::seconds(2);

bool trace = false;  // STRATA_FUZZ_TRACE

[[noreturn]] void contract_violation(const kafka::request_header& h, int responses) {
  std::fprintf(stderr, "handler contract violated: %s v%d (api key %d) responded %d times, expected once\n",
               kafka::api_name(h.api_key), h.api_version, h.api_key, responses);
  std::abort();
}

// Fresh in-memory state for one input.
struct environment {
  io::fault_fs fs;
  std::unique_ptr<meta::kv> kv = meta::make_memory_kv();
  manual_scheduler sched;  // post() is safe from the flusher thread
  std::unique_ptr<streams::service> streams;
  std::unique_ptr<kafka::groups::coordinator> groups;
  std::unique_ptr<kafka::txn::coordinator> transactions;  // declared after streams and groups: destroyed before them
  std::unique_ptr<auth::acl_store> acls;
  std::unique_ptr<auth::user_store> users;
  kafka::broker_config broker;
  std::optional<kafka::services> services;

  bool open() {
    streams::service_config cfg;
    cfg.data_dir = "/fuzz";
    cfg.fsync_interval_ms = 1;
    cfg.partitions_max = 64;  // keeps CreateTopics/CreatePartitions inputs cheap
    cfg.retention_check_interval_ms = long_wait_ms * 4;
    // Periodic timers fire once per interval of the moved clock: at the 5 s
    // default, compaction checks alone ran 2^32 / 5000 times per frame.
    cfg.compaction_check_interval_ms = long_wait_ms * 4;
    cfg.log_defaults.segment_bytes_max = 1 << 20;
    auto svc = streams::service::open(cfg, fs, *kv, sched);
    if (!svc.ok()) return false;
    streams = std::move(*svc);
    if (!streams->create_topic("t", 2, {}).ok()) return false;
    kafka::groups::coordinator_config group_cfg;
    group_cfg.initial_rebalance_delay_ms = 0;
    groups = std::make_unique<kafka::groups::coordinator>(sched, *kv, group_cfg);
    if (!groups->load().ok()) return false;
    kafka::txn::txn_config txn_cfg;
    // Every frame moves the clock past any transaction timeout, so the
    // periodic timeout check would abort whatever a frame opened after a
    // number of clock moves that depends on how long flushes take. It never
    // runs within an input; that abort is the one a new session of an Ongoing
    // transactional id triggers (InitProducerId), which inputs do reach.
    txn_cfg.timeout_check_interval_ms = long_wait_ms * 4096;
    // A marker that failed is retried a few times per clock move, not 2^32 / 1000.
    txn_cfg.marker_retry_interval_ms = long_wait_ms / 4;
    transactions = std::make_unique<kafka::txn::coordinator>(sched, *kv, *streams, *groups, txn_cfg);
    if (!transactions->load().ok()) return false;
    auto acl_store = auth::acl_store::open(*kv);
    auto user_store = auth::user_store::open(*kv);
    if (!acl_store.ok() || !user_store.ok()) return false;
    acls = std::move(*acl_store);
    users = std::move(*user_store);
    services.emplace(kafka::services{*streams, *groups, sched, broker});
    services->acls = acls.get();
    services->users = users.get();
    services->transactions = transactions.get();
    return true;
  }

  ~environment() {
    if (streams) streams->shutdown();  // final flush; its completions are posted
    sched.run_pending();
    transactions.reset();
    groups.reset();
    streams.reset();
  }
};

void print_response(const kafka::request_header& h, const std::optional<std::vector<uint8_t>>& body) {
  if (!body) {
    std::fprintf(stderr, "%s v%d: no response body (acks=0)\n", kafka::api_name(h.api_key), h.api_version);
    return;
  }
  std::fprintf(stderr, "%s v%d: %zu bytes:", kafka::api_name(h.api_key), h.api_version, body->size());
  constexpr size_t shown_max = 128;
  for (size_t i = 0; i < body->size() && i < shown_max; ++i) std::fprintf(stderr, " %02x", (*body)[i]);
  std::fprintf(stderr, "%s\n", body->size() > shown_max ? " ..." : "");
}

// Runs one request frame through its handler. Returns false if the frame
// would close the connection (so later frames are not read).
bool run_frame(environment& env, std::span<const uint8_t> frame) {
  kafka::reader r(frame);
  auto header = kafka::decode_request_header(r);
  if (!header) return false;
  const kafka::api_info* api = kafka::find_api(header->api_key);
  if (!api || header->api_version < api->min_version || header->api_version > api->max_version) return false;
  kafka::handler_fn handler = kafka::find_handler(header->api_key);
  if (!handler) {
    std::fprintf(stderr, "API key %d is in the API table but has no handler\n", header->api_key);
    std::abort();
  }

  auto responses = std::make_shared<int>(0);
  kafka::request req{*header, frame.subspan(r.position())};
  status s = handler(*env.services, req, [responses, h = *header](std::optional<std::vector<uint8_t>> body) {
    ++*responses;
    if (trace) print_response(h, body);
  });
  if (trace && !s.ok()) {
    std::fprintf(stderr, "%s v%d: refused (closes the connection): %s\n", kafka::api_name(header->api_key),
                 header->api_version, s.err().message.c_str());
  }

  // Let waiting requests finish: flushes on the flusher thread, timers by the clock.
  const auto give_up = std::chrono::steady_clock::now() + flush_wait_max;
  while (s.ok() && *responses == 0 && std::chrono::steady_clock::now() < give_up) {
    env.sched.advance(long_wait_ms);
    if (*responses == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  env.sched.advance(long_wait_ms);
  if (s.ok() && *responses != 1) contract_violation(*header, *responses);
  if (!s.ok() && *responses > 1) contract_violation(*header, *responses);
  return s.ok();
}

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  trace = std::getenv("STRATA_FUZZ_TRACE") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  environment env;
  if (!env.open()) {
    std::fprintf(stderr, "cannot open the in-memory services\n");
    std::abort();
  }
  std::span<const uint8_t> in(data, size);
  for (size_t n = 0; n < frames_per_input_max && in.size() >= 4; ++n) {
    uint32_t frame_bytes = load_be32(in.data());
    if (frame_bytes > frame_bytes_max || frame_bytes > in.size() - 4) break;
    // A copy, so that ASan sees reads past the frame even inside the input buffer.
    std::vector<uint8_t> frame(in.begin() + 4, in.begin() + 4 + frame_bytes);
    in = in.subspan(4 + frame_bytes);
    if (!run_frame(env, frame)) break;
  }
  return 0;
}
