// The one place handlers ask whether a request may act on a resource: true
// when authorization is off (no authorizer) or the ACLs allow the request's
// principal from its host.
#pragma once

#include <string_view>

#include "auth/acl.h"
#include "kafka/server/handler.h"

namespace strata::kafka {

bool authorized(const services& svc, const request& req, auth::operation op, auth::resource_type type,
                std::string_view name);

inline bool cluster_authorized(const services& svc, const request& req, auth::operation op) {
  return authorized(svc, req, op, auth::resource_type::cluster, auth::cluster_resource_name);
}

}  // namespace strata::kafka
