// Cluster mode of `strata server`: connects to etcd, runs the node's
// cluster::agent, feeds its view to the streams service and the replica
// fetchers on the network thread, and implements streams::cluster_link (topic
// writes and ISR proposals) over the agent. See docs/cluster.md.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "admin/cluster_routes.h"
#include "app/cluster_tls.h"
#include "app/options.h"
#include "base/result.h"
#include "base/scheduler.h"

namespace strata::streams {
class service;
}
namespace strata::metrics {
class registry;
}

namespace strata::cluster {
struct etcd_config;
}

namespace strata::app {

// How this node reaches etcd (--cluster-etcd, --etcd-tls-*).
cluster::etcd_config etcd_settings(const server_options& o);

class cluster_node : public admin::cluster_control {
 public:
  // Joins the cluster: the node registers, the first view is applied, and
  // the replica fetchers start. `kafka_port` is the first Kafka listener's
  // bound port, `listener_ports` every Kafka listener's by protocol name,
  // `replication_port` the bound --replication-listen port (0: none), and
  // `fetcher_tls` what the fetchers dial leaders with (null: plain TCP).
  // `on_applied` runs on the network thread after each new cluster state is
  // applied to the streams service.
  static result<std::unique_ptr<cluster_node>> start(const server_options& o, const std::string& advertised_host,
                                                     int32_t kafka_port, int32_t replication_port,
                                                     std::map<std::string, int32_t> listener_ports,
                                                     std::shared_ptr<boost::asio::ssl::context> fetcher_tls,
                                                     boost::asio::io_context& io, scheduler& sched,
                                                     streams::service& streams, metrics::registry& registry,
                                                     std::function<void()> on_applied);
  virtual ~cluster_node() = default;

  // Controlled shutdown, off the network thread: leadership moves to other
  // ISR members before this node stops serving.
  virtual void hand_off_leadership() = 0;
  // On the network thread: stops the replica fetchers.
  virtual void stop_fetchers() = 0;
  // After the network thread stopped: leaves the cluster (the lease is revoked).
  virtual void leave() = 0;
};

}  // namespace strata::app
