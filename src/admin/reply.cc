#include "admin/reply.h"

#include <nlohmann/json.hpp>

namespace strata::admin {

response json_response(int status, const nlohmann::json& body) {
  response reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  reply.body += '\n';
  return reply;
}

response error_response(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return json_response(status, body);
}

int http_status_for(errc code) {
  switch (code) {
    case errc::ok: return 200;
    case errc::invalid_argument: return 400;
    case errc::not_found: return 404;
    case errc::already_exists: return 409;
    case errc::limit_exceeded: return 400;   // a request past a configured limit, e.g. partitions_max
    case errc::unsupported: return 501;
    case errc::unavailable: return 503;
    case errc::timed_out: return 504;
    case errc::no_space: return 507;
    case errc::corrupt:
    case errc::io_error:
    case errc::internal: return 500;
  }
  return 500;
}

response error_response(const error& err) {
  return error_response(http_status_for(err.code), errc_name(err.code), err.message);
}

}  // namespace strata::admin
