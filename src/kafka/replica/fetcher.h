// The follower side of replication: one session per leader node, on the
// network thread's io_context. A session first checks each partition's log
// against the leader with OffsetForLeaderEpoch and cuts a divergent tail,
// then fetches every partition it follows from that leader in one Fetch (with
// this node's replica id), appends what arrives, and fetches again only once
// that is durable here — so the offset it fetches from is its durable end,
// which is what the leader's high watermark counts. A leader with a
// replication listener is dialled there; with cluster TLS, over TLS with this
// node's certificate, checking the leader's against its advertised host.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <memory>

namespace boost::asio::ssl {
class context;
}
namespace strata::streams {
class service;
}

namespace strata::kafka::replica {

struct fetcher_config {
  int32_t node_id = 0;
  int32_t max_wait_ms = 500;                // the leader holds a fetch this long when nothing is new
  int32_t fetch_bytes_max = 8 << 20;        // per response
  int32_t partition_bytes_max = 1 << 20;    // per partition in a response
  uint32_t response_bytes_max = 64 << 20;   // a larger frame from the leader closes the session
  int64_t retry_backoff_ms = 100;           // after an error, before trying again
  int64_t request_timeout_ms = 10'000;      // beyond max_wait_ms; also bounds connecting and the TLS handshake
  std::shared_ptr<boost::asio::ssl::context> tls;  // set: cluster TLS (leaders' replication listeners only)
};

struct fetcher_stats {
  uint64_t fetches = 0;
  uint64_t fetched_bytes = 0;
  uint64_t errors = 0;
};

class fetchers {
 public:
  fetchers(boost::asio::io_context& io, streams::service& svc, fetcher_config config);
  ~fetchers();
  fetchers(const fetchers&) = delete;
  fetchers& operator=(const fetchers&) = delete;

  // Starts a session for every leader this node now follows a partition of;
  // sessions end by themselves once they have nothing to follow. Call after
  // each streams::service::apply_cluster, on the network thread.
  void refresh();
  void stop();
  fetcher_stats stats() const;

 private:
  class session;
  boost::asio::io_context& io_;
  streams::service& svc_;
  fetcher_config config_;
  std::map<int32_t, std::shared_ptr<session>> sessions_;
  std::shared_ptr<fetcher_stats> stats_;
  bool stopped_ = false;
};

}  // namespace strata::kafka::replica
