#include "kafka/replica/messages.h"

#include <fmt/format.h>

#include <map>

#include "kafka/protocol/api.h"
#include "kafka/protocol/wire.h"

namespace strata::kafka::replica {

namespace {

constexpr const char* client_id = "strata-replica";

void write_header(writer& w, api_key key, int16_t version, int32_t correlation_id) {
  w.i16(static_cast<int16_t>(key));
  w.i16(version);
  w.i32(correlation_id);
  w.nullable_string(std::string(client_id), false);
}

// Groups partitions by topic, keeping the first-seen topic order stable.
template <class T>
std::vector<std::pair<std::string, std::vector<const T*>>> by_topic(const std::vector<T>& parts) {
  std::vector<std::pair<std::string, std::vector<const T*>>> out;
  std::map<std::string, size_t> index;
  for (auto& p : parts) {
    auto [it, inserted] = index.emplace(p.topic, out.size());
    if (inserted) out.push_back({p.topic, {}});
    out[it->second].second.push_back(&p);
  }
  return out;
}

std::vector<uint8_t> finish_frame(writer& w, size_t size_at) {
  w.patch_i32(size_at, static_cast<int32_t>(w.size() - size_at - 4));
  return std::move(w.buffer());
}

status check_correlation(reader& r, int32_t expected) {
  int32_t got = r.i32();
  if (!r.ok() || got != expected) {
    return make_error(errc::corrupt, fmt::format("leader answered correlation id {} to request {}", got, expected));
  }
  return {};
}

}  // namespace

std::vector<uint8_t> encode_fetch(const fetch_request& req, int32_t correlation_id) {
  writer w;
  size_t size_at = w.reserve_i32();
  write_header(w, api_key::fetch, fetch_version, correlation_id);
  w.i32(req.replica_id);
  w.i32(req.max_wait_ms);
  w.i32(1);  // min_bytes
  w.i32(req.bytes_max);
  w.i8(0);   // isolation_level
  w.i32(0);  // session_id: full fetches
  w.i32(-1); // session_epoch
  auto topics = by_topic(req.partitions);
  w.array_length(static_cast<int32_t>(topics.size()), false);
  for (auto& [topic, parts] : topics) {
    w.string(topic, false);
    w.array_length(static_cast<int32_t>(parts.size()), false);
    for (auto* p : parts) {
      w.i32(p->partition);
      w.i32(p->current_leader_epoch);
      w.i64(p->fetch_offset);
      w.i64(-1);  // log_start_offset
      w.i32(p->partition_bytes_max);
    }
  }
  w.array_length(0, false);  // forgotten topics
  w.string("", false);       // rack_id
  return finish_frame(w, size_at);
}

std::vector<uint8_t> encode_offset_for_leader_epoch(int32_t replica_id, const std::vector<epoch_request_partition>& parts,
                                                    int32_t correlation_id) {
  writer w;
  size_t size_at = w.reserve_i32();
  write_header(w, api_key::offset_for_leader_epoch, epoch_version, correlation_id);
  w.i32(replica_id);
  auto topics = by_topic(parts);
  w.array_length(static_cast<int32_t>(topics.size()), false);
  for (auto& [topic, list] : topics) {
    w.string(topic, false);
    w.array_length(static_cast<int32_t>(list.size()), false);
    for (auto* p : list) {
      w.i32(p->partition);
      w.i32(p->current_leader_epoch);
      w.i32(p->leader_epoch);
    }
  }
  return finish_frame(w, size_at);
}

result<std::vector<fetch_partition_response>> decode_fetch(std::span<const uint8_t> frame, int32_t correlation_id) {
  reader r(frame);
  STRATA_TRY(check_correlation(r, correlation_id));
  (void)r.i32();  // throttle_time_ms
  int16_t top_error = r.i16();
  (void)r.i32();  // session_id
  std::vector<fetch_partition_response> out;
  int32_t topics = r.array_length(false);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string topic = r.string(false);
    int32_t parts = r.array_length(false);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      fetch_partition_response p;
      p.topic = topic;
      p.partition = r.i32();
      p.error = r.i16();
      p.high_watermark = r.i64();
      (void)r.i64();  // last_stable_offset
      p.log_start_offset = r.i64();
      int32_t aborted = r.array_length(false);
      for (int32_t k = 0; k < aborted && r.ok(); ++k) (void)r.raw(16);
      (void)r.i32();  // preferred_read_replica
      auto records = r.nullable_bytes(false);
      if (records) p.records = *records;
      out.push_back(std::move(p));
    }
  }
  if (!r.ok()) return make_error(errc::corrupt, "the leader's Fetch response is malformed");
  if (top_error == static_cast<int16_t>(error_code::cluster_authorization_failed)) {
    return make_error(errc::unavailable,
                      "the leader refused the fetch with CLUSTER_AUTHORIZATION_FAILED: it takes replica fetches only from "
                      "nodes that connect to its --replication-listen with a certificate of the cluster CA; give every "
                      "node the same --cluster-tls-* settings");
  }
  if (top_error != 0) return make_error(errc::unavailable, fmt::format("the leader refused the fetch with error {}", top_error));
  return out;
}

result<std::vector<epoch_response_partition>> decode_offset_for_leader_epoch(std::span<const uint8_t> frame,
                                                                             int32_t correlation_id) {
  reader r(frame);
  STRATA_TRY(check_correlation(r, correlation_id));
  (void)r.i32();  // throttle_time_ms
  std::vector<epoch_response_partition> out;
  int32_t topics = r.array_length(false);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string topic = r.string(false);
    int32_t parts = r.array_length(false);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      epoch_response_partition p;
      p.topic = topic;
      p.error = r.i16();
      p.partition = r.i32();
      p.leader_epoch = r.i32();
      p.end_offset = r.i64();
      out.push_back(std::move(p));
    }
  }
  if (!r.ok()) return make_error(errc::corrupt, "the leader's OffsetForLeaderEpoch response is malformed");
  return out;
}

}  // namespace strata::kafka::replica
