// Where clients are told to connect: each answer names the listener the
// request came in on (Metadata, FindCoordinator, DescribeCluster), so a
// SASL_SSL client is never sent to a PLAINTEXT port.
#pragma once

#include <string>

#include "kafka/server/handler.h"

namespace strata::streams {
struct broker;
}

namespace strata::kafka {

struct broker_endpoint {
  std::string host;
  int32_t port = 0;
};

// This broker, through the request's listener.
broker_endpoint advertised_endpoint(const services& svc, const request& req);
// Another node's port for the request's listener; its first listener's when
// it has none by that name (records of nodes older than per-listener ports).
int32_t listener_port(const streams::broker& b, const request& req);

}  // namespace strata::kafka
