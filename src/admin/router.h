// Maps a method and a path pattern such as "/v1/topics/{name}" to a handler.
// A path that matches no pattern is 404; one that matches a pattern under
// another method is 405 with an Allow header.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/http_types.h"
#include "base/result.h"

namespace strata::admin {

// Values of the {placeholders} of the matched pattern, percent-decoded.
using path_params = std::map<std::string, std::string, std::less<>>;
using handler = std::function<response(const request&, const path_params&)>;

struct routed {
  response reply;
  std::string route;  // the matched pattern, or "unmatched"; bounded, so usable as a metric label
};

class router {
 public:
  // pattern: "/" separated literal segments and whole-segment {placeholders}.
  void add(std::string method, std::string_view pattern, handler fn);
  // A route whose handler may block for seconds (it waits on child
  // processes): the server runs it on its blocking-call threads.
  void add_blocking(std::string method, std::string_view pattern, handler fn);
  // Whether req goes to a route added with add_blocking.
  bool blocking(const request& req) const;

  routed dispatch(const request& req) const;

 private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    handler fn;
    bool blocking = false;
  };
  std::vector<route> routes_;
};

// The ?key=value parameters of a target, percent-decoded. Keys outside
// `allowed`, repeated keys, a key without '=' and queries over bytes_max are
// errors that name the accepted keys.
result<std::map<std::string, std::string, std::less<>>> query_params(std::string_view target,
                                                                     std::initializer_list<std::string_view> allowed,
                                                                     size_t bytes_max = 1024);

// Decodes %XX escapes; nullopt on a malformed one.
std::optional<std::string> percent_decode(std::string_view text);

// Splits "/a/b%2Fc?x=1" into decoded segments {"a", "b/c"}; a trailing slash
// is ignored. False on a malformed percent escape or an empty inner segment.
bool split_path(std::string_view target, std::vector<std::string>& segments);

}  // namespace strata::admin
