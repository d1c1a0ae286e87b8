// Client quotas (KIP-13, KIP-55, KIP-219): byte rates per user and client id
// for produce (producer_byte_rate) and fetch (consumer_byte_rate).
//
// quota_store keeps the configured quotas in a meta::kv under "quota/"
// (docs/formats/client-quotas.md) and picks the one that applies to a
// client with Kafka's precedence, from user+client-id down to the default
// client id. quota_meter measures each (user, client id)'s bytes over a
// sliding window and answers how long a client that went over must wait:
// the broker answers at once with that throttle_time_ms, then reads nothing
// more from the connection until the time has passed.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace strata::meta {
class kv;
}

namespace strata::kafka {

inline constexpr std::string_view producer_byte_rate = "producer_byte_rate";
inline constexpr std::string_view consumer_byte_rate = "consumer_byte_rate";
inline constexpr size_t quota_entities_max = 100'000;

// One part of an entity: absent, the default (a null name on the wire), or named.
struct entity_part {
  enum class kind { absent, default_entity, named };
  kind what = kind::absent;
  std::string name;
  bool operator==(const entity_part&) const = default;
  auto operator<=>(const entity_part&) const = default;
};

// A user, a client id, or both.
struct quota_entity {
  entity_part user;
  entity_part client_id;
  bool operator==(const quota_entity&) const = default;
  auto operator<=>(const quota_entity&) const = default;
};

using quota_values = std::map<std::string, double>;  // producer_byte_rate, consumer_byte_rate

struct quota_op {
  std::string key;
  double value = 0;
  bool remove = false;
};

class quota_store {
 public:
  static result<std::unique_ptr<quota_store>> open(meta::kv& kv);
  status reload();  // reads every quota again (cluster mode: other nodes' changes)

  // invalid_argument, saying what, for an entity without parts, an unknown
  // key, or a rate that is not positive; nothing is written when validate_only.
  status alter(const quota_entity& entity, const std::vector<quota_op>& ops, bool validate_only);
  std::vector<std::pair<quota_entity, quota_values>> all() const;
  // The quota of `key` for this client, by Kafka's precedence; nullopt: unlimited.
  std::optional<double> resolve(std::string_view key, std::string_view user, std::string_view client_id) const;

 private:
  explicit quota_store(meta::kv& kv) : kv_(kv) {}
  meta::kv& kv_;
  mutable std::mutex mu_;
  std::map<quota_entity, quota_values> quotas_;
};

// Measures bytes per (direction, user, client id) over a window of
// samples_count samples of sample_ms each, as Kafka's quota sensors do.
class quota_meter {
 public:
  static constexpr int64_t sample_ms = 1000;
  static constexpr size_t samples_count = 11;
  static constexpr int64_t throttle_ms_max = 30'000;
  static constexpr size_t clients_max = 100'000;  // meters idle longest go first past this

  // Adds `bytes` and returns how long to throttle (0 when under the rate).
  int64_t record(std::string_view direction, std::string_view user, std::string_view client_id, uint64_t bytes,
                 double rate_bytes_per_s, std::chrono::steady_clock::time_point now);

 private:
  struct meter {
    std::array<uint64_t, samples_count> bytes{};
    std::array<int64_t, samples_count> start_ms{};  // when each sample's interval starts; -1: never used
    int64_t last_used_ms = 0;
  };
  void forget_idle(int64_t now_ms);
  std::map<std::string, meter> meters_;
};

struct services;
struct connection_throttle;

// Charges `bytes` of `key` (producer_byte_rate or consumer_byte_rate) to the
// client (principal "User:NAME" and client id). Returns the throttle time to
// put in the response, and mutes `throttle`'s connection for it.
int32_t charge_quota(const services& svc, std::string_view key, std::string_view principal, std::string_view client_id,
                     const std::shared_ptr<connection_throttle>& throttle, uint64_t bytes);

}  // namespace strata::kafka
