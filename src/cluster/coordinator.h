// The coordinator: the small, strongly consistent key-value store that cluster
// mode keeps its shared state in (membership, the controller, topics and
// partition state). Production uses etcd 3.4 over gRPC (etcd_coordinator);
// unit tests use memory_coordinator, which has the same semantics.
//
// Every call blocks until the store answers or `request_timeout_ms` passes, so
// callers run it off the network thread (cluster::agent owns such a thread).
// Revisions are etcd's: one counter for the whole store, bumped by every
// successful write; an entry's mod_revision is the revision of its last write.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::cluster {

using lease_id = int64_t;  // 0: no lease

struct kv_entry {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  lease_id lease = 0;
};

// A condition of a transaction: the key's mod_revision equals
// `mod_revision`; 0 means the key must be absent.
struct txn_condition {
  std::string key;
  int64_t mod_revision = 0;
};

// One write of a transaction: a put (with an optional lease) or a delete.
struct txn_op {
  enum class kind { put, remove };
  kind op = kind::put;
  std::string key;
  std::string value;
  lease_id lease = 0;

  static txn_op put(std::string key, std::string value, lease_id lease = 0) {
    return txn_op{kind::put, std::move(key), std::move(value), lease};
  }
  static txn_op remove(std::string key) { return txn_op{kind::remove, std::move(key), {}, 0}; }
};

struct txn_outcome {
  bool succeeded = false;  // every condition held and every op was applied
  int64_t revision = 0;    // the store's revision after the transaction
};

struct range_result {
  std::vector<kv_entry> entries;  // in key order
  int64_t revision = 0;           // the store's revision the read saw
};

class coordinator {
 public:
  virtual ~coordinator() = default;

  // Leases. A lease expires `ttl_ms` (rounded up to whole seconds, etcd's
  // granularity) after its grant or last keep_alive; its keys go with it.
  virtual result<lease_id> grant_lease(int64_t ttl_ms) = 0;
  // Refreshes a lease. errc::not_found once it has expired or was revoked.
  virtual status keep_alive(lease_id lease) = 0;
  virtual status revoke_lease(lease_id lease) = 0;

  // Every entry whose key starts with `prefix` (the whole store for "").
  virtual result<range_result> range(const std::string& prefix) = 0;
  virtual result<std::optional<kv_entry>> get(const std::string& key) = 0;
  // Applies every op atomically iff every condition holds.
  virtual result<txn_outcome> commit(const std::vector<txn_condition>& conditions, const std::vector<txn_op>& ops) = 0;
};

// An in-process coordinator with etcd's semantics, for unit tests. Leases
// expire against a clock the test moves with advance_ms (never by wall time).
class memory_coordinator;
std::unique_ptr<memory_coordinator> make_memory_coordinator();

struct etcd_tls {
  std::string ca_file;    // empty: plaintext
  std::string cert_file;  // client certificate, with key_file, when etcd asks for one
  std::string key_file;
};

struct etcd_config {
  std::vector<std::string> endpoints;  // "host:port" or "http(s)://host:port"
  etcd_tls tls;
  int64_t request_timeout_ms = 2000;
};

// Connects to etcd. Fails with a clear message when no endpoint answers.
result<std::unique_ptr<coordinator>> connect_etcd(const etcd_config& config);

}  // namespace strata::cluster
