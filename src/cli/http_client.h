// A small synchronous HTTP/1.1 client for the admin API: one request per
// connection, one deadline per request, bounded response size. Each request
// runs its own private io_context, so it may be called from any thread that is
// not running an io_context of its own.
//
// https:// URLs go over TLS (1.2 at least): the server's certificate must
// verify against the CA file given, else the system's default store, and
// must name the URL's host.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/units.h"

namespace boost::asio::ssl {
class context;
}

namespace strata::cli {

struct http_response {
  int status = 0;
  std::string content_type;
  std::string body;
};

struct http_client_limits {
  int64_t timeout_ms = 10'000;                    // connect, send and receive together
  uint64_t response_body_bytes_max = 64 * MiB;
  uint32_t response_header_bytes_max = 64 * KiB;
};

// "http://HOST:PORT", "https://HOST:PORT" or "HOST:PORT" (plain HTTP); the
// port defaults to 80 or 443, and a trailing slash is ignored. HOST may be a
// name, an IPv4 address or "[IPv6]".
struct base_url {
  std::string text;  // as the user wrote it, without a trailing slash
  std::string host;
  std::string port;
  bool tls = false;
};
result<base_url> parse_base_url(std::string_view url);

// Percent-encodes everything but unreserved characters, for one path segment.
std::string encode_path_segment(std::string_view segment);

// What the client presents and trusts (the CLI fills it from STRATA_TOKEN
// and STRATA_CA_FILE).
struct http_client_security {
  std::string bearer_token;  // non-empty: sent as `Authorization: Bearer TOKEN`
  std::string ca_file;       // https: the CA (PEM) that signed the server's certificate; empty: the system's store
};

class http_client {
 public:
  // Errors: a malformed URL, a token with spaces or line breaks, a CA file
  // that cannot be loaded (named STRATA_CA_FILE in the message).
  static result<http_client> create(std::string_view url, http_client_limits limits = {},
                                    http_client_security security = {});

  // Sends one request; target starts with '/'. An HTTP error status is a
  // response, not an error; errors are transport failures: errc::unavailable
  // (cannot connect, connection lost, TLS handshake failed), errc::timed_out,
  // errc::limit_exceeded (response too large), errc::invalid_argument
  // (malformed response).
  result<http_response> request(std::string_view method, std::string_view target, std::string_view body = {},
                                std::string_view content_type = "application/json") const;

  const std::string& url() const { return url_.text; }

 private:
  http_client(base_url url, http_client_limits limits, std::string bearer_token,
              std::shared_ptr<boost::asio::ssl::context> tls)
      : url_(std::move(url)), limits_(limits), bearer_token_(std::move(bearer_token)), tls_(std::move(tls)) {}

  base_url url_;
  http_client_limits limits_;
  std::string bearer_token_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // set for https URLs
};

}  // namespace strata::cli
