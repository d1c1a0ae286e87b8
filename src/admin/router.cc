#include "admin/router.h"

#include <optional>
#include <utility>

#include "admin/reply.h"
#include "base/assert.h"

namespace strata::admin {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}


bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Fills params if `segments` match the route's pattern.
bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments, path_params& params) {
  if (pattern.size() != segments.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (is_placeholder(pattern[i])) {
      params[pattern[i].substr(1, pattern[i].size() - 2)] = segments[i];
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_value(s[i + 1]);
    int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool split_path(std::string_view target, std::vector<std::string>& segments) {
  segments.clear();
  std::string_view path = target.substr(0, target.find('?'));
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return true;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view raw = path.substr(start, end - start);
    auto decoded = percent_decode(raw);
    if (raw.empty() || !decoded) return false;
    segments.push_back(std::move(*decoded));
    start = end + 1;
  }
  return true;
}

void router::add(std::string method, std::string_view pattern, handler fn) {
  std::vector<std::string> segments;
  STRATA_ASSERT(split_path(pattern, segments), "route patterns are absolute paths");
  routes_.push_back(route{std::move(method), std::string(pattern), std::move(segments), std::move(fn)});
}

void router::add_blocking(std::string method, std::string_view pattern, handler fn) {
  add(std::move(method), pattern, std::move(fn));
  routes_.back().blocking = true;
}

bool router::blocking(const request& req) const {
  std::vector<std::string> segments;
  if (!split_path(req.target, segments)) return false;
  for (const route& r : routes_) {
    path_params params;
    if (r.method == req.method && matches(r.segments, segments, params)) return r.blocking;
  }
  return false;
}

result<std::map<std::string, std::string, std::less<>>> query_params(std::string_view target,
                                                                     std::initializer_list<std::string_view> allowed,
                                                                     size_t bytes_max) {
  std::map<std::string, std::string, std::less<>> out;
  size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view query = target.substr(q + 1);
  std::string accepted;
  for (auto key : allowed) accepted += (accepted.empty() ? "?" : ", ?") + std::string(key) + "=";
  if (query.size() > bytes_max) {
    return make_error(errc::invalid_argument, "the query is longer than " + std::to_string(bytes_max) + " bytes");
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    bool known = false;
    for (auto k : allowed) known = known || k == key;
    if (!known) {
      return make_error(errc::invalid_argument, "unknown query parameter " + key.substr(0, 64) + "; accepted: " +
                                                    (accepted.empty() ? "none" : accepted));
    }
    if (eq == std::string_view::npos) return make_error(errc::invalid_argument, "give the " + key + " as ?" + key + "=VALUE");
    if (out.count(key)) return make_error(errc::invalid_argument, "give ?" + key + "= at most once");
    auto value = percent_decode(pair.substr(eq + 1));
    if (!value) return make_error(errc::invalid_argument, "the " + key + " query parameter has a malformed percent escape");
    out[key] = std::move(*value);
  }
  return out;
}

routed router::dispatch(const request& req) const {
  std::vector<std::string> segments;
  if (!split_path(req.target, segments)) {
    return {error_response(400, "invalid_argument", "the request path is malformed: check its percent escapes"),
            "unmatched"};
  }
  std::string allowed;
  std::string allowed_route;
  for (const route& r : routes_) {
    path_params params;
    if (!matches(r.segments, segments, params)) continue;
    if (r.method == req.method) return {r.fn(req, params), r.pattern};
    allowed += allowed.empty() ? r.method : ", " + r.method;
    allowed_route = r.pattern;
  }
  if (allowed.empty()) {
    return {error_response(404, "not_found", "no such API path; see src/admin/README.md for the routes"),
            "unmatched"};
  }
  response reply = error_response(405, "method_not_allowed", req.method + " is not allowed here; use " + allowed);
  reply.headers.emplace_back("Allow", allowed);
  return {std::move(reply), allowed_route};
}

}  // namespace strata::admin
