// The request and response the admin routes see: plain values with no Beast
// types, so handlers are testable without sockets and the transport can change.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace strata::admin {

struct request {
  std::string method;        // "GET", "POST", ...
  std::string target;        // as sent: path and optional ?query, still percent-encoded
  std::string content_type;
  std::string body;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers: Allow, Location
};

}  // namespace strata::admin
