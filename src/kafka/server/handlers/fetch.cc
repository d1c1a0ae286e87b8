// Fetch: reads whole batches from each requested partition, up to the high
// watermark (read_uncommitted) or the last stable offset (read_committed),
// within max_bytes and partition_max_bytes. When less than
// min_bytes is available it long-polls: it watches the partitions and answers
// when new data arrives or max_wait_ms passes, whichever is first. With
// cluster TLS, a follower's fetch (replica id >= 0) from a peer that is not
// an authenticated node gets CLUSTER_AUTHORIZATION_FAILED at once.
//
// Each partition answers its last stable offset; read_committed consumers
// also get the aborted transactions within the records returned, and
// read_uncommitted ones a null list, as Kafka sends. Followers always read
// uncommitted.
#include <algorithm>
#include <memory>

#include "base/buffer_pool.h"
#include "kafka/server/authorize.h"
#include "kafka/server/client_quotas.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct fetch_partition {
  int32_t index = 0;
  int32_t current_leader_epoch = -1;
  int64_t fetch_offset = 0;
  int32_t partition_max_bytes = 0;
};

struct fetch_topic {
  std::string name;
  std::vector<fetch_partition> partitions;
  bool denied = false;  // the principal may not read it: TOPIC_AUTHORIZATION_FAILED
};

struct fetch_request {
  int32_t replica_id = -1;  // >= 0: a follower of this node copying the log
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0;
  streams::isolation isolation = streams::isolation::read_uncommitted;
  std::vector<fetch_topic> topics;
};

std::optional<fetch_request> decode(const request& req) {
  const int16_t v = req.header.api_version;
  reader r(req.body);
  fetch_request f;
  f.replica_id = r.i32();
  f.max_wait_ms = r.i32();
  f.min_bytes = r.i32();
  f.max_bytes = r.i32();  // v3+
  // isolation_level (v4+): 0 read_uncommitted, 1 read_committed; any other
  // positive value is taken as read_committed, a negative one as uncommitted.
  if (r.i8() > 0) f.isolation = streams::isolation::read_committed;
  if (v >= 7) {
    (void)r.i32();  // session_id: sessions are not kept; every fetch is full
    (void)r.i32();  // session_epoch
  }
  int32_t topic_count = r.array_length(false);
  for (int32_t i = 0; i < topic_count && r.ok(); ++i) {
    fetch_topic t;
    t.name = r.string(false);
    int32_t partition_count = r.array_length(false);
    for (int32_t j = 0; j < partition_count && r.ok(); ++j) {
      fetch_partition p;
      p.index = r.i32();
      if (v >= 9) p.current_leader_epoch = r.i32();
      p.fetch_offset = r.i64();
      if (v >= 5) (void)r.i64();  // log_start_offset (followers only)
      p.partition_max_bytes = r.i32();
      t.partitions.push_back(p);
    }
    f.topics.push_back(std::move(t));
  }
  if (v >= 7) {
    int32_t forgotten = r.array_length(false);
    for (int32_t i = 0; i < forgotten && r.ok(); ++i) {
      (void)r.string(false);
      int32_t n = r.array_length(false);
      for (int32_t j = 0; j < n && r.ok(); ++j) (void)r.i32();
    }
  }
  if (v >= 11) (void)r.string(false);  // rack_id
  if (!r.ok()) return std::nullopt;
  return f;
}

// Who a consumer's fetch is charged to (consumer_byte_rate); replicas are not.
struct quota_client {
  bool charged = false;
  std::string principal;
  std::string client_id;
  std::shared_ptr<connection_throttle> throttle;
};

class fetch_call : public std::enable_shared_from_this<fetch_call> {
 public:
  fetch_call(services& svc, request_header header, fetch_request req, respond_fn respond, bool refused,
             quota_client client)
      : svc_(svc),
        header_(std::move(header)),
        version_(header_.api_version),
        req_(std::move(req)),
        respond_(std::move(respond)),
        refused_(refused),
        client_(std::move(client)) {}

  void start() {
    const int32_t wait_ms = std::clamp(req_.max_wait_ms, 0, svc_.broker.fetch_wait_ms_max);
    if (attempt(/*final=*/wait_ms == 0 || refused_)) return;
    timer_ = svc_.sched.after(wait_ms, [self = shared_from_this()] {
      self->timer_ = 0;
      self->attempt(/*final=*/true);
    });
    watch();
  }

 private:
  // Reads every partition; sends the response if it is worth sending now.
  bool attempt(bool final) {
    if (done_) return true;
    uint64_t records_bytes = 0;
    std::vector<streams::fetch_result> results = read_partitions(records_bytes);
    // One allocation of the whole response: growing it would move (and, for
    // fresh pages, fault in) every byte again.
    constexpr size_t partition_overhead_bytes_max = 64;
    size_t overhead = 64;
    for (const auto& t : req_.topics) overhead += t.name.size() + 8;
    for (const auto& r : results) overhead += partition_overhead_bytes_max + r.aborted.size() * 16;
    std::vector<uint8_t> out = buffer_pool::take(overhead + records_bytes);
    writer w(out);
    const size_t throttle_at = out.size();
    w.i32(0);  // throttle_time_ms, filled in once the response's size is known
    if (version_ >= 7) {
      w.i16(refused_ ? wire_code(error_code::cluster_authorization_failed) : 0);
      w.i32(0);  // session_id
    }
    std::vector<error_code> errors;
    size_t next = 0;
    w.array_length(static_cast<int32_t>(req_.topics.size()), false);
    for (auto& t : req_.topics) {
      w.string(t.name, false);
      w.array_length(static_cast<int32_t>(t.partitions.size()), false);
      for (auto& p : t.partitions) {
        streams::fetch_result& res = results[next++];
        const error_code code = refused_  ? error_code::cluster_authorization_failed
                                : t.denied ? error_code::topic_authorization_failed
                                           : to_kafka_error(res.error);
        w.i32(p.index);
        w.i16(wire_code(code));
        if (code != error_code::none) errors.push_back(code);
        w.i64(res.high_watermark);
        w.i64(res.last_stable_offset >= 0 ? res.last_stable_offset : res.high_watermark);
        if (version_ >= 5) w.i64(res.log_start_offset);
        write_aborted(w, res);
        if (version_ >= 11) w.i32(-1);  // preferred_read_replica
        w.bytes(res.records, false);
        buffer_pool::give(std::move(res.records));
      }
    }
    if (!final && errors.empty() && records_bytes < static_cast<uint64_t>(std::max(0, req_.min_bytes))) return false;
    for (error_code e : errors) (void)counted_code(svc_, header_, e);
    if (client_.charged) {
      w.patch_i32(throttle_at, charge_quota(svc_, consumer_byte_rate, client_.principal, client_.client_id,
                                            client_.throttle, out.size()));
    }
    finish(std::move(out));
    return true;
  }

  // Every requested partition's records, in request order, within the
  // request's byte budget.
  std::vector<streams::fetch_result> read_partitions(uint64_t& records_bytes) {
    std::vector<streams::fetch_result> results;
    uint64_t budget = static_cast<uint64_t>(std::clamp<int64_t>(req_.max_bytes, 0, svc_.broker.fetch_bytes_max));
    for (auto& t : req_.topics) {
      for (auto& p : t.partitions) {
        uint32_t limit = static_cast<uint32_t>(std::min<uint64_t>(budget, static_cast<uint64_t>(std::max(0, p.partition_max_bytes))));
        streams::fetch_result& res = results.emplace_back();
        if (!refused_ && !t.denied) {
          res = req_.replica_id >= 0
                    ? svc_.streams.fetch_for_replica(t.name, p.index, req_.replica_id, p.current_leader_epoch, p.fetch_offset, limit)
                    : svc_.streams.fetch(t.name, p.index, p.fetch_offset, limit, /*min_one=*/records_bytes == 0,
                                         req_.isolation);
        }
        records_bytes += res.records.size();
        budget -= std::min<uint64_t>(budget, res.records.size());
      }
    }
    return results;
  }

  void write_aborted(writer& w, const streams::fetch_result& res) const {
    if (req_.isolation != streams::isolation::read_committed || req_.replica_id >= 0) {
      w.array_length(-1, false);  // null: read_uncommitted
      return;
    }
    w.array_length(static_cast<int32_t>(res.aborted.size()), false);
    for (const auto& a : res.aborted) {
      w.i64(a.producer_id);
      w.i64(a.first_offset);
    }
  }

  void watch() {
    for (auto& t : req_.topics) {
      for (auto& p : t.partitions) {
        watches_.push_back(svc_.streams.watch(t.name, p.index, [weak = weak_from_this()] {
          if (auto self = weak.lock()) self->on_new_data();
        }));
      }
    }
  }

  void on_new_data() {
    if (done_) return;
    unwatch();
    if (!attempt(/*final=*/false)) watch();
  }

  void unwatch() {
    for (uint64_t id : watches_) svc_.streams.unwatch(id);
    watches_.clear();
  }

  void finish(std::vector<uint8_t> body) {
    done_ = true;
    unwatch();
    if (timer_) svc_.sched.cancel(timer_);
    timer_ = 0;
    respond_(std::move(body));
  }

  services& svc_;
  request_header header_;
  int16_t version_;
  fetch_request req_;
  respond_fn respond_;
  const bool refused_;  // every partition answers CLUSTER_AUTHORIZATION_FAILED
  const quota_client client_;
  std::vector<uint64_t> watches_;
  scheduler::timer_id timer_ = 0;
  bool done_ = false;
};

}  // namespace

status fetch(services& svc, const request& req, respond_fn respond) {
  auto f = decode(req);
  if (!f) return malformed_request(req.header);
  const bool replica = f->replica_id >= 0;
  const bool refused = replica && ((svc.broker.replica_fetch_needs_node && !req.from_cluster_node) ||
                                   !(req.node_listener || cluster_authorized(svc, req, auth::operation::cluster_action)));
  for (auto& t : f->topics) {
    t.denied = !replica && !authorized(svc, req, auth::operation::read, auth::resource_type::topic, t.name);
  }
  quota_client client{!replica, std::string(req.principal), req.header.client_id.value_or(""), req.throttle};
  std::make_shared<fetch_call>(svc, req.header, std::move(*f), std::move(respond), refused, std::move(client))->start();
  return {};
}

}  // namespace strata::kafka::handlers
