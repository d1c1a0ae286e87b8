#include "kafka/server/client_quotas.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "kafka/server/handler.h"
#include "meta/kv.h"

namespace strata::kafka {

namespace {

using json = nlohmann::json;

constexpr std::string_view quota_prefix = "quota/";
constexpr int format_version = 1;

// "-" absent, "~" the default, "=" then the name's length, ':' and the name.
void encode_part(std::string& out, const entity_part& p) {
  switch (p.what) {
    case entity_part::kind::absent: out += '-'; return;
    case entity_part::kind::default_entity: out += '~'; return;
    case entity_part::kind::named: out += fmt::format("={}:{}", p.name.size(), p.name); return;
  }
}

std::optional<entity_part> decode_part(std::string_view& in) {
  if (in.empty()) return std::nullopt;
  const char tag = in.front();
  in.remove_prefix(1);
  if (tag == '-') return entity_part{};
  if (tag == '~') return entity_part{entity_part::kind::default_entity, ""};
  if (tag != '=') return std::nullopt;
  const size_t colon = in.find(':');
  size_t size = 0;
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  for (char c : in.substr(0, colon)) {
    if (c < '0' || c > '9' || size > (1u << 20)) return std::nullopt;
    size = size * 10 + static_cast<size_t>(c - '0');
  }
  in.remove_prefix(colon + 1);
  if (in.size() < size) return std::nullopt;
  entity_part p{entity_part::kind::named, std::string(in.substr(0, size))};
  in.remove_prefix(size);
  return p;
}

std::string entity_key(const quota_entity& e) {
  std::string key(quota_prefix);
  key += 'u';
  encode_part(key, e.user);
  key += "/c";
  encode_part(key, e.client_id);
  return key;
}

result<quota_entity> decode_key(std::string_view key) {
  auto corrupt = [&] { return make_error(errc::corrupt, fmt::format("client quota key \"{}\" is malformed", key)); };
  std::string_view rest = key.substr(quota_prefix.size());
  quota_entity e;
  if (!rest.starts_with('u')) return corrupt();
  rest.remove_prefix(1);
  auto user = decode_part(rest);
  if (!user || !rest.starts_with("/c")) return corrupt();
  rest.remove_prefix(2);
  auto client = decode_part(rest);
  if (!client || !rest.empty()) return corrupt();
  return quota_entity{*user, *client};
}

bool known_key(std::string_view key) { return key == producer_byte_rate || key == consumer_byte_rate; }

entity_part named(std::string_view name) { return {entity_part::kind::named, std::string(name)}; }
entity_part default_part() { return {entity_part::kind::default_entity, ""}; }

}  // namespace

result<std::unique_ptr<quota_store>> quota_store::open(meta::kv& kv) {
  std::unique_ptr<quota_store> store(new quota_store(kv));
  STRATA_TRY(store->reload());
  return store;
}

status quota_store::reload() {
  std::map<quota_entity, quota_values> loaded;
  std::optional<error> failed;
  auto scanned = kv_.scan_prefix(quota_prefix, [&](std::string_view key, std::string_view value) {
    if (failed) return;
    auto entity = decode_key(key);
    if (!entity) {
      failed = entity.err();
      return;
    }
    const json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || j.value("version", 0) != format_version || !j.contains("values") || !j["values"].is_object()) {
      failed = make_error(errc::corrupt, fmt::format("client quota record \"{}\" is not a version {} record", key,
                                                     format_version));
      return;
    }
    quota_values values;
    for (const auto& [k, v] : j["values"].items()) {
      if (!v.is_number()) {
        failed = make_error(errc::corrupt, fmt::format("client quota record \"{}\": {} is not a number", key, k));
        return;
      }
      values[k] = v.get<double>();
    }
    loaded[*entity] = std::move(values);
  });
  STRATA_TRY(scanned);
  if (failed) return *failed;
  std::lock_guard lock(mu_);
  quotas_ = std::move(loaded);
  return {};
}

status quota_store::alter(const quota_entity& entity, const std::vector<quota_op>& ops, bool validate_only) {
  if (entity.user.what == entity_part::kind::absent && entity.client_id.what == entity_part::kind::absent) {
    return make_error(errc::invalid_argument, "a quota entity names a user, a client id, or both");
  }
  for (const auto& op : ops) {
    if (!known_key(op.key)) {
      return make_error(errc::invalid_argument,
                        fmt::format("quota {} is not supported; use producer_byte_rate or consumer_byte_rate", op.key));
    }
    if (!op.remove && !(op.value > 0 && op.value < 1e18)) {
      return make_error(errc::invalid_argument, fmt::format("quota {} = {} must be a positive byte rate", op.key, op.value));
    }
  }
  std::lock_guard lock(mu_);
  quota_values values = quotas_.contains(entity) ? quotas_.at(entity) : quota_values{};
  for (const auto& op : ops) {
    if (op.remove) {
      values.erase(op.key);
    } else {
      values[op.key] = op.value;
    }
  }
  if (!quotas_.contains(entity) && quotas_.size() >= quota_entities_max) {
    return make_error(errc::limit_exceeded, fmt::format("{} quota entities exist, the limit", quota_entities_max));
  }
  if (validate_only) return {};
  const std::string key = entity_key(entity);
  if (values.empty()) {
    STRATA_TRY(kv_.remove(key));
    quotas_.erase(entity);
    return {};
  }
  json record{{"version", format_version}, {"values", values}};
  STRATA_TRY(kv_.put(key, record.dump()));
  quotas_[entity] = std::move(values);
  return {};
}

std::vector<std::pair<quota_entity, quota_values>> quota_store::all() const {
  std::lock_guard lock(mu_);
  return {quotas_.begin(), quotas_.end()};
}

// Kafka's order: user+client, user+default client, user, default user+client,
// default user+default client, default user, client, default client.
std::optional<double> quota_store::resolve(std::string_view key, std::string_view user,
                                           std::string_view client_id) const {
  const entity_part absent{};
  const std::array<quota_entity, 8> order{{
      {named(user), named(client_id)},
      {named(user), default_part()},
      {named(user), absent},
      {default_part(), named(client_id)},
      {default_part(), default_part()},
      {default_part(), absent},
      {absent, named(client_id)},
      {absent, default_part()},
  }};
  std::lock_guard lock(mu_);
  if (quotas_.empty()) return std::nullopt;
  for (const auto& entity : order) {
    auto it = quotas_.find(entity);
    if (it == quotas_.end()) continue;
    if (auto v = it->second.find(std::string(key)); v != it->second.end()) return v->second;
  }
  return std::nullopt;
}

int64_t quota_meter::record(std::string_view direction, std::string_view user, std::string_view client_id,
                            uint64_t bytes, double rate_bytes_per_s, std::chrono::steady_clock::time_point now) {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string id = fmt::format("{}\n{}\n{}", direction, user, client_id);
  auto it = meters_.find(id);
  if (it == meters_.end()) {
    if (meters_.size() >= clients_max) forget_idle(now_ms);
    it = meters_.emplace(std::move(id), meter{}).first;
    it->second.start_ms.fill(-1);
  }
  meter& m = it->second;
  m.last_used_ms = now_ms;
  const int64_t slot_start = now_ms - now_ms % sample_ms;
  const size_t slot = static_cast<size_t>(now_ms / sample_ms) % samples_count;
  if (m.start_ms[slot] != slot_start) {
    m.start_ms[slot] = slot_start;
    m.bytes[slot] = 0;
  }
  m.bytes[slot] += bytes;
  const int64_t window_start = now_ms - static_cast<int64_t>(samples_count) * sample_ms;
  uint64_t total = 0;
  int64_t oldest = slot_start;
  for (size_t i = 0; i < samples_count; ++i) {
    if (m.start_ms[i] < 0 || m.start_ms[i] <= window_start) continue;
    total += m.bytes[i];
    oldest = std::min(oldest, m.start_ms[i]);
  }
  // A young meter counts as (samples - 1) samples long, as Kafka's Rate does,
  // so a first burst is not mistaken for a huge rate.
  const int64_t window_ms = std::max(now_ms - oldest, static_cast<int64_t>(samples_count - 1) * sample_ms);
  const double rate = static_cast<double>(total) * 1000.0 / static_cast<double>(window_ms);
  if (rate <= rate_bytes_per_s) return 0;
  const double throttle_ms = (rate - rate_bytes_per_s) / rate_bytes_per_s * static_cast<double>(window_ms);
  return std::min<int64_t>(static_cast<int64_t>(throttle_ms), throttle_ms_max);
}

int32_t charge_quota(const services& svc, std::string_view key, std::string_view principal, std::string_view client_id,
                     const std::shared_ptr<connection_throttle>& throttle, uint64_t bytes) {
  if (svc.quotas == nullptr || svc.quota_meters == nullptr) return 0;
  const std::string_view user = principal.starts_with("User:") ? principal.substr(5) : principal;
  const auto rate = svc.quotas->resolve(key, user, client_id);
  if (!rate) return 0;
  const auto now = std::chrono::steady_clock::now();
  const int64_t throttle_ms = svc.quota_meters->record(key, user, client_id, bytes, *rate, now);
  if (throttle_ms > 0 && throttle) throttle->until = std::max(throttle->until, now + std::chrono::milliseconds(throttle_ms));
  return static_cast<int32_t>(throttle_ms);
}

void quota_meter::forget_idle(int64_t now_ms) {
  const int64_t idle_ms = static_cast<int64_t>(samples_count) * sample_ms;
  std::erase_if(meters_, [&](const auto& entry) { return now_ms - entry.second.last_used_ms > idle_ms; });
  if (meters_.size() < clients_max) return;
  auto oldest = std::min_element(meters_.begin(), meters_.end(), [](const auto& a, const auto& b) {
    return a.second.last_used_ms < b.second.last_used_ms;
  });
  meters_.erase(oldest);
}

}  // namespace strata::kafka
