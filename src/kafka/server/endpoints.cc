#include "kafka/server/endpoints.h"

#include "streams/service.h"

namespace strata::kafka {

broker_endpoint advertised_endpoint(const services& svc, const request& req) {
  return {req.advertised_host.empty() ? svc.broker.advertised_host : std::string(req.advertised_host),
          req.advertised_port != 0 ? req.advertised_port : svc.broker.advertised_port};
}

int32_t listener_port(const streams::broker& b, const request& req) {
  auto it = b.listener_ports.find(std::string(req.listener_name));
  return it != b.listener_ports.end() ? it->second : b.port;
}

}  // namespace strata::kafka
