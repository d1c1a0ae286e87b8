#include "admin/system_routes.h"

#include <nlohmann/json.hpp>

#include "admin/reply.h"
#include "metrics/registry.h"

namespace strata::admin {
namespace {

response health() { return json_response(200, {{"status", "ok"}}); }

response scrape(const metrics::registry& registry) {
  response reply;
  reply.content_type = std::string(metrics::text_content_type);
  reply.body = registry.render();
  return reply;
}

}  // namespace

void add_system_routes(router& routes, const metrics::registry& registry) {
  routes.add("GET", "/health", [](const request&, const path_params&) { return health(); });
  routes.add("GET", "/metrics", [&registry](const request&, const path_params&) { return scrape(registry); });
}

}  // namespace strata::admin
