#include "kafka/server/authorize.h"

namespace strata::kafka {

bool authorized(const services& svc, const request& req, auth::operation op, auth::resource_type type,
                std::string_view name) {
  if (svc.authorizer == nullptr) return true;
  return svc.authorizer->allowed(req.principal, req.client_ip, op, type, name);
}

}  // namespace strata::kafka
