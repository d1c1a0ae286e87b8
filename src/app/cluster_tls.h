// Node-to-node TLS (--cluster-tls-ca/-cert/-key with --replication-listen;
// docs/cluster.md): the checks that the flags fit together, and the two
// contexts made from them. The replication listener's requires a client
// certificate signed by the cluster CA, which is how nodes authenticate to
// each other; the replica fetchers' presents this node's certificate and
// checks the leader's against the cluster CA.
#pragma once

#include <memory>

#include "app/options.h"
#include "base/result.h"

namespace boost::asio::ssl {
class context;
}

namespace strata::app {

struct cluster_tls {
  std::shared_ptr<boost::asio::ssl::context> listener;  // both null: cluster TLS is off
  std::shared_ptr<boost::asio::ssl::context> fetcher;

  bool on() const { return listener != nullptr; }
};

result<cluster_tls> load_cluster_tls(const server_options& o);

}  // namespace strata::app
