// DescribeLogDirs v0-4 (flexible from v2): one log directory, the data
// directory, with the size of every partition this node keeps (offset lag 0:
// there are no future logs to catch up), and from v4 its file system's total
// and usable bytes. Needs DESCRIBE on the cluster; without it the answer is
// empty (and CLUSTER_AUTHORIZATION_FAILED from v3).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kafka/server/authorize.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "streams/service.h"

namespace strata::kafka::handlers {

namespace {

constexpr size_t partitions_per_request_max = 100'000;

using wanted_partitions = std::map<std::string, std::set<int32_t>>;

// nullopt: every partition.
bool decode(reader& r, bool flex, std::optional<wanted_partitions>& wanted) {
  size_t total = 0;
  int32_t n = r.array_length(flex);
  if (n >= 0) wanted.emplace();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::set<int32_t>& parts = (*wanted)[r.string(flex)];
    int32_t m = r.array_length(flex);
    for (int32_t j = 0; j < m && r.ok(); ++j) parts.insert(r.i32());
    total += static_cast<size_t>(std::max(m, 0));
    if (total > partitions_per_request_max) r.fail();
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  return r.ok();
}

struct topic_sizes {
  std::string name;
  std::vector<std::pair<int32_t, uint64_t>> partitions;  // id, bytes
};

std::vector<topic_sizes> sizes(const streams::service& svc, const std::optional<wanted_partitions>& wanted) {
  std::vector<topic_sizes> out;
  for (const auto& t : svc.list_topics()) {
    const std::set<int32_t>* only = nullptr;
    if (wanted) {
      auto it = wanted->find(t.name);
      if (it == wanted->end()) continue;
      only = &it->second;
    }
    topic_sizes ts{t.name, {}};
    for (const auto& p : t.partitions) {
      if (p.hosted && (!only || only->contains(p.id))) ts.partitions.emplace_back(p.id, p.size_bytes);
    }
    if (!ts.partitions.empty()) out.push_back(std::move(ts));
  }
  return out;
}

}  // namespace

status describe_log_dirs(services& s, const request& req, respond_fn respond) {
  const int16_t version = req.header.api_version;
  const bool flex = req.header.flexible;
  reader r(req.body);
  std::optional<wanted_partitions> wanted;
  if (!decode(r, flex, wanted)) return malformed_request(req.header);
  const bool allowed = cluster_authorized(s, req, auth::operation::describe);
  writer w;
  w.i32(0);  // throttle_time_ms
  if (version >= 3) {
    w.i16(counted_code(s, req.header, allowed ? error_code::none : error_code::cluster_authorization_failed));
  }
  w.array_length(allowed ? 1 : 0, flex);
  if (allowed) {
    w.i16(0);
    w.string(s.streams.config().data_dir, flex);
    auto topics = sizes(s.streams, wanted);
    w.array_length(static_cast<int32_t>(topics.size()), flex);
    for (const auto& t : topics) {
      w.string(t.name, flex);
      w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
      for (const auto& [id, bytes] : t.partitions) {
        w.i32(id);
        w.i64(static_cast<int64_t>(bytes));
        w.i64(0);  // offset_lag
        w.boolean(false);  // is_future_key
        if (flex) w.empty_tagged_fields();
      }
      if (flex) w.empty_tagged_fields();
    }
    if (version >= 4) {
      const auto usage = s.streams.data_dir_usage();
      w.i64(usage.total_bytes);
      w.i64(usage.usable_bytes);
    }
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  respond(std::move(w.buffer()));
  return {};
}

}  // namespace strata::kafka::handlers
