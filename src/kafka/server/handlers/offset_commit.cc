// OffsetCommit v0-8 (flexible from v8). The coordinator has synced the
// offsets to the metadata store (and, in cluster mode, to __consumer_offsets
// on the ISR) before this handler responds.
#include <map>
#include <string>

#include "kafka/groups/coordinator.h"
#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

// Partition counts of the topics a request names, looked up once per topic.
class partition_counts {
 public:
  explicit partition_counts(streams::service& svc) : svc_(svc) {}

  bool exists(const std::string& topic, int32_t partition) {
    auto it = counts_.find(topic);
    if (it == counts_.end()) {
      auto info = svc_.describe_topic(topic);
      int32_t count = info.ok() ? static_cast<int32_t>(info->partitions.size()) : 0;
      it = counts_.emplace(topic, count).first;
    }
    return partition >= 0 && partition < it->second;
  }

 private:
  streams::service& svc_;
  std::map<std::string, int32_t> counts_;
};

}  // namespace

status offset_commit(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  auto decoded = groups::decode_offset_commit_request(req.body, version);
  if (!decoded.ok()) return malformed_request(req.header);
  // As in Kafka: without READ on the group nothing is committed; topics the
  // principal may not read are answered TOPIC_AUTHORIZATION_FAILED and the rest committed.
  const bool group_ok = authorized(s, req, auth::operation::read, auth::resource_type::group, decoded->group_id);
  std::vector<groups::offset_commit_topic_result> denied;
  std::erase_if(decoded->topics, [&](const groups::offset_commit_topic& t) {
    if (group_ok && authorized(s, req, auth::operation::read, auth::resource_type::topic, t.name)) return false;
    groups::offset_commit_topic_result result{t.name, {}};
    const auto code = group_ok ? error_code::topic_authorization_failed : error_code::group_authorization_failed;
    for (const auto& p : t.partitions) result.partitions.push_back({p.partition, code});
    denied.push_back(std::move(result));
    return true;
  });
  auto answer = [respond = std::move(respond), version, denied = std::move(denied)](groups::offset_commit_response resp) {
    resp.topics.insert(resp.topics.end(), denied.begin(), denied.end());
    respond(groups::encode_offset_commit_response(resp, version));
  };
  if (!group_ok) {
    answer(groups::offset_commit_response{});
    return {};
  }
  partition_counts topics(s.streams);
  s.groups.commit_offsets_replicated(
      *decoded, [&topics](const std::string& topic, int32_t partition) { return topics.exists(topic, partition); },
      std::move(answer));
  return {};
}

}  // namespace strata::kafka::handlers
