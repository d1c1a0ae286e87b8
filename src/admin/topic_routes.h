// The /v1/topics routes: list, create, describe and delete Kafka topics
// through streams::service. JSON shapes are documented in README.md.
#pragma once

#include "admin/router.h"

namespace strata::streams {
class service;
}

namespace strata::admin {

// Limits on what a create request may carry, beyond the service's own checks.
inline constexpr size_t topic_configs_max = 64;

void add_topic_routes(router& routes, streams::service& streams);

}  // namespace strata::admin
