// Building JSON responses and the one error shape every route uses:
//   {"error": {"code": "not_found", "message": "..."}}
#pragma once

#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "admin/http_types.h"
#include "base/result.h"

namespace strata::admin {

// Serialises without throwing: invalid UTF-8 is replaced, not an exception.
response json_response(int status, const nlohmann::json& body);
response error_response(int status, std::string_view code, std::string_view message);
// The HTTP status for an errc, and the error response for a service error.
int http_status_for(errc code);
response error_response(const error& err);

}  // namespace strata::admin
