// Produce: appends each partition's batch through the streams service and
// answers once every partition has (acks=-1 waits for durability; acks=0
// sends no response at all). A request with a transactional_id (v3+) needs
// WRITE on it, else every partition answers
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as in Kafka; whether a transactional
// batch may be appended is the streams service's call.
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

#include "kafka/server/authorize.h"
#include "streams/record_batch.h"
#include "kafka/txn/coordinator.h"
#include "kafka/server/client_quotas.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

struct partition_result {
  int32_t index = 0;
  streams::produce_result result;
  std::optional<error_code> refused;  // an error decided before reaching the service
};

struct topic_results {
  std::string name;
  std::vector<partition_result> partitions;
};

// Collects the per-partition answers and encodes the response after the last.
struct produce_call {
  const services* svc = nullptr;
  request_header header;
  int16_t version = 0;
  bool flexible = false;
  std::vector<topic_results> topics;
  size_t outstanding = 0;
  respond_fn respond;
  int32_t throttle_ms = 0;  // over the producer_byte_rate quota

  void encode_and_send() {
    std::vector<uint8_t> out;
    writer w(out);
    w.array_length(static_cast<int32_t>(topics.size()), flexible);
    for (auto& t : topics) {
      w.string(t.name, flexible);
      w.array_length(static_cast<int32_t>(t.partitions.size()), flexible);
      for (auto& p : t.partitions) {
        error_code ec = p.refused ? *p.refused : to_kafka_error(p.result.error);
        w.i32(p.index);
        w.i16(counted_code(*svc, header, ec));
        w.i64(ec == error_code::none ? p.result.base_offset : -1);
        if (version >= 2) w.i64(ec == error_code::none ? p.result.log_append_time_ms : -1);
        if (version >= 5) w.i64(p.result.log_start_offset);
        if (version >= 8) {
          const auto& record_errors = p.result.record_errors;  // KIP-467
          w.array_length(ec == error_code::none ? 0 : static_cast<int32_t>(record_errors.size()), flexible);
          for (size_t i = 0; ec != error_code::none && i < record_errors.size(); ++i) {
            w.i32(record_errors[i].batch_index);
            w.nullable_string(record_errors[i].message, flexible);
            if (flexible) w.empty_tagged_fields();
          }
          w.nullable_string(ec == error_code::none || p.result.message.empty() ? std::nullopt
                                                                               : std::optional<std::string>(p.result.message),
                            flexible);
        }
        if (flexible) w.empty_tagged_fields();
      }
      if (flexible) w.empty_tagged_fields();
    }
    if (version >= 1) w.i32(throttle_ms);
    if (flexible) w.empty_tagged_fields();
    respond(std::move(out));
  }
};

}  // namespace

// A transactional batch is taken only into a partition its producer's open
// transaction added (AddPartitionsToTxn), as KIP-890 verifies: otherwise no
// marker would ever close it there, and read_committed readers of that
// partition would wait behind it for good.
std::optional<std::pair<error_code, std::string>> refuse_unregistered_txn_write(services& svc, const std::string& topic,
                                                                                int32_t partition,
                                                                                std::span<const uint8_t> records) {
  if (!svc.transactions) return std::nullopt;
  auto h = streams::read_batch_header(records);
  if (!h || !h->transactional() || h->control()) return std::nullopt;
  const error_code e = svc.transactions->check_write(h->producer_id, h->producer_epoch, {topic, partition});
  if (e == error_code::none) return std::nullopt;
  return std::make_pair(e, fmt::format("producer {} epoch {} has no open transaction that added {}-{}; call "
                                       "AddPartitionsToTxn first",
                                       h->producer_id, h->producer_epoch, topic, partition));
}

status produce(services& svc, const request& req, respond_fn respond) {
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::optional<std::string> transactional_id;
  if (req.header.api_version >= 3) transactional_id = r.nullable_string(flex);
  const int16_t acks = r.i16();
  const int32_t timeout_ms = r.i32();  // how long acks=all waits for the ISR in cluster mode

  struct partition_data {
    int32_t index;
    std::optional<std::span<const uint8_t>> records;
  };
  struct topic_data {
    std::string name;
    std::vector<partition_data> partitions;
  };
  std::vector<topic_data> topics;
  int32_t topic_count = r.array_length(flex);
  for (int32_t i = 0; i < topic_count && r.ok(); ++i) {
    topic_data t;
    t.name = r.string(flex);
    int32_t partition_count = r.array_length(flex);
    for (int32_t j = 0; j < partition_count && r.ok(); ++j) {
      partition_data p;
      p.index = r.i32();
      p.records = r.nullable_bytes(flex);
      if (flex) r.skip_tagged_fields();
      t.partitions.push_back(p);
    }
    if (flex) r.skip_tagged_fields();
    topics.push_back(std::move(t));
  }
  if (flex) r.skip_tagged_fields();
  if (!r.ok()) return malformed_request(req.header);

  auto call = std::make_shared<produce_call>();
  call->svc = &svc;
  call->header = req.header;
  call->version = req.header.api_version;
  call->flexible = flex;
  call->respond = acks == 0 ? respond_fn([](auto) {}) : std::move(respond);
  call->throttle_ms = charge_quota(svc, producer_byte_rate, req.principal, req.header.client_id.value_or(""), req.throttle,
                                   req.body.size());
  for (auto& t : topics) {
    topic_results tr{t.name, {}};
    for (auto& p : t.partitions) tr.partitions.push_back(partition_result{p.index, {}, std::nullopt});
    call->topics.push_back(std::move(tr));
    call->outstanding += t.partitions.size();
  }
  if (call->outstanding == 0) {
    call->encode_and_send();
  }
  const bool valid_acks = acks == 0 || acks == 1 || acks == -1;
  const bool may_write_txn =
      !transactional_id ||
      authorized(svc, req, auth::operation::write, auth::resource_type::transactional_id, *transactional_id);
  for (size_t ti = 0; ti < topics.size(); ++ti) {
    const bool may_write = authorized(svc, req, auth::operation::write, auth::resource_type::topic, topics[ti].name);
    for (size_t pi = 0; pi < topics[ti].partitions.size(); ++pi) {
      auto finish = [call, ti, pi](streams::produce_result res) {
        call->topics[ti].partitions[pi].result = std::move(res);
        if (--call->outstanding == 0) call->encode_and_send();
      };
      const partition_data& p = topics[ti].partitions[pi];
      if (!may_write_txn) {
        call->topics[ti].partitions[pi].refused = error_code::transactional_id_authorization_failed;
        finish({streams::stream_error::none,
                fmt::format("{} may not write as transactional id {}", req.principal, *transactional_id), -1, -1});
        continue;
      }
      if (!valid_acks) {
        call->topics[ti].partitions[pi].refused = error_code::invalid_required_acks;
        finish({streams::stream_error::none, "acks must be -1, 0 or 1", -1, -1});
        continue;
      }
      if (!may_write) {
        call->topics[ti].partitions[pi].refused = error_code::topic_authorization_failed;
        finish({streams::stream_error::none, fmt::format("{} may not write to topic {}", req.principal, topics[ti].name),
                -1, -1});
        continue;
      }
      if (!p.records || p.records->empty()) {
        finish({streams::stream_error::corrupt_message, "the partition's records are empty", -1, -1});
        continue;
      }
      if (auto refused = refuse_unregistered_txn_write(svc, topics[ti].name, p.index, *p.records)) {
        call->topics[ti].partitions[pi].refused = refused->first;
        finish({streams::stream_error::none, std::move(refused->second), -1, -1});
        continue;
      }
      svc.streams.produce(topics[ti].name, p.index, *p.records, /*wait_durable=*/acks == -1, finish, timeout_ms);
    }
  }
  if (acks == 0) respond(std::nullopt);
  return {};
}

}  // namespace strata::kafka::handlers
