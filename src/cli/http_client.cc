#include "cli/http_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <exception>
#include <optional>

#include "net/stream.h"
#include "net/tls.h"

namespace strata::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

result<base_url> parse_base_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return make_error(errc::invalid_argument,
                      fmt::format("invalid admin URL {}: {}; expected http://HOST:PORT or https://HOST:PORT such as "
                                  "http://127.0.0.1:9644",
                                  url, why));
  };
  std::string_view rest = url;
  const bool tls = rest.starts_with("https://");
  if (tls) rest.remove_prefix(8);
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.find("://") != std::string_view::npos) return bad("only http:// and https:// are supported");
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("it may not have a path");
  base_url out;
  out.tls = tls;
  size_t colon = rest.rfind(':');
  bool bracketed = rest.starts_with('[');
  if (colon == std::string_view::npos || (bracketed && colon < rest.find(']'))) {
    out.host = std::string(rest);
    out.port = tls ? "443" : "80";
  } else {
    out.host = std::string(rest.substr(0, colon));
    out.port = std::string(rest.substr(colon + 1));
  }
  if (bracketed) {
    if (out.host.size() < 3 || out.host.back() != ']') return bad("unbalanced brackets");
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(out.port.data(), out.port.data() + out.port.size(), port);
  if (ec != std::errc() || end != out.port.data() + out.port.size() || port == 0 || port > 65535) {
    return bad("the port must be 1 to 65535");
  }
  if (out.host.empty()) return bad("no host");
  out.text = std::string(url.substr(0, url.find_last_not_of('/') + 1));
  return out;
}

std::string encode_path_segment(std::string_view segment) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : segment) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 0xf];
    }
  }
  return out;
}

namespace {

// Outlives the io_context's run, so the deadline may close the stream
// whatever step the exchange is at.
struct exchange_state {
  explicit exchange_state(asio::io_context& io) : resolver(io), deadline(io) {}

  tcp::resolver resolver;
  std::optional<net::stream> stream;
  asio::steady_timer deadline;
  bool timed_out = false;
  std::optional<http_response> response;
  std::string failure;  // the step that failed, for the error message
  error_code ec;
  std::string handshake_failure;  // OpenSSL's reason, and the verifier's
  std::optional<error> setup_error;
  std::exception_ptr exception;
};

error unreachable(const base_url& url, const error_code& ec) {
  return make_error(errc::unavailable,
                    fmt::format("cannot reach the admin API at {} ({}). Is `strata server` running? Use --admin to "
                                "point elsewhere.",
                                url.text, ec.message()));
}

asio::awaitable<void> exchange(const base_url& url, http::request<http::string_body> req,
                               const http_client_limits& limits, asio::ssl::context* tls, exchange_state& state) {
  auto executor = co_await asio::this_coro::executor;
  auto token = asio::redirect_error(asio::use_awaitable, state.ec);
  auto endpoints = co_await state.resolver.async_resolve(url.host, url.port, token);
  if (state.ec) {
    state.failure = "resolve";
    co_return;
  }
  if (tls) {
    state.stream.emplace(tcp::socket(executor), *tls);
  } else {
    state.stream.emplace(tcp::socket(executor));
  }
  net::stream& stream = *state.stream;
  co_await asio::async_connect(stream.socket(), endpoints, token);
  if (state.ec) {
    state.failure = "connect";
    co_return;
  }
  if (auto* tls_stream = stream.tls()) {
    if (auto named = net::expect_server_name(*tls_stream, url.host); !named) {
      state.setup_error = named.err();
      co_return;
    }
    co_await tls_stream->async_handshake(asio::ssl::stream_base::client, token);
    if (state.ec) {
      state.failure = "handshake";
      state.handshake_failure = net::handshake_failure(state.ec, *tls_stream);
      co_return;
    }
  }
  // A server refusing the request may answer before reading it all; its answer
  // is still worth reading, so a failed write is not final.
  error_code write_ec;
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, write_ec));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(limits.response_header_bytes_max);
  parser.body_limit(limits.response_body_bytes_max);
  // Header first: Beast 1.74 drops a Content-Length body_limit error when the
  // body arrives in the same read as the header.
  co_await http::async_read_header(stream, buffer, parser, token);
  if (!state.ec && parser.content_length().value_or(0) > limits.response_body_bytes_max) {
    state.ec = http::error::body_limit;
  }
  if (!state.ec) co_await http::async_read(stream, buffer, parser, token);
  if (state.ec) {
    state.failure = "read";
    if (write_ec) state.ec = write_ec;
    co_return;
  }
  auto& res = parser.get();
  state.response = http_response{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
                                 std::move(res.body())};
  stream.close();
}

error transport_error(const base_url& url, const exchange_state& state, const http_client_limits& limits) {
  if (state.timed_out) {
    return make_error(errc::timed_out, fmt::format("the admin API at {} did not answer within {} ms", url.text,
                                                   limits.timeout_ms));
  }
  if (state.setup_error) return *state.setup_error;
  if (state.failure == "resolve" || state.failure == "connect") return unreachable(url, state.ec);
  if (state.failure == "handshake") {
    return make_error(errc::unavailable,
                      fmt::format("the TLS handshake with the admin API at {} failed: {}. If the server's certificate "
                                  "is not from a CA the system trusts, set STRATA_CA_FILE to the CA's PEM file; if "
                                  "the server has no --http-tls-cert, use an http:// URL",
                                  url.text, state.handshake_failure));
  }
  if (state.ec == http::error::body_limit || state.ec == http::error::header_limit) {
    return make_error(errc::limit_exceeded,
                      fmt::format("the admin API at {} sent a response larger than {} bytes", url.text,
                                  limits.response_body_bytes_max));
  }
  if (state.ec.category() == http::make_error_code(http::error::bad_version).category() &&
      state.ec != http::error::end_of_stream && state.ec != http::error::partial_message) {
    return make_error(errc::invalid_argument, fmt::format("the admin API at {} sent a malformed response ({}); is "
                                                          "that address really a Strata admin API?",
                                                          url.text, state.ec.message()));
  }
  return make_error(errc::unavailable, fmt::format("the admin API at {} closed the connection before answering ({})",
                                                   url.text, state.ec.message()));
}

}  // namespace

namespace {

// Trusts `ca_file`, else the system's default store; checks the chain always.
result<std::shared_ptr<asio::ssl::context>> client_tls(const std::string& ca_file) {
  if (!ca_file.empty()) {
    return net::make_client_tls(net::tls_client_files{net::pem_file{"STRATA_CA_FILE", ca_file}, std::nullopt, std::nullopt});
  }
  std::shared_ptr<asio::ssl::context> ctx;
  error_code ec;
  try {
    ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const std::exception& e) {  // library boundary: Asio throws when OpenSSL cannot make a context
    return make_error(errc::internal, fmt::format("cannot create a TLS context: {}", e.what()));
  }
  ctx->set_default_verify_paths(ec);
  if (!ec) ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (ec || SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
    return make_error(errc::internal,
                      fmt::format("cannot load the system's CA certificates ({}); set STRATA_CA_FILE to the CA's PEM "
                                  "file",
                                  ec.message()));
  }
  return ctx;
}

}  // namespace

result<http_client> http_client::create(std::string_view url, http_client_limits limits,
                                        http_client_security security) {
  auto parsed = parse_base_url(url);
  STRATA_TRY(parsed);
  if (security.bearer_token.find_first_of(" \t\r\n") != std::string::npos) {
    return make_error(errc::invalid_argument,
                      "STRATA_TOKEN holds a space or a line break; set it to one token of the server's --http-token-file");
  }
  std::shared_ptr<asio::ssl::context> tls;
  if (parsed->tls) {
    auto ctx = client_tls(security.ca_file);
    STRATA_TRY(ctx);
    tls = std::move(*ctx);
  }
  return http_client(std::move(*parsed), limits, std::move(security.bearer_token), std::move(tls));
}

result<http_response> http_client::request(std::string_view method, std::string_view target, std::string_view body,
                                           std::string_view content_type) const {
  STRATA_ASSERT(target.starts_with('/'), "http_client targets start with '/'");
  http::request<http::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  bool ipv6 = url_.host.find(':') != std::string::npos;
  req.set(http::field::host, (ipv6 ? "[" + url_.host + "]" : url_.host) + ":" + url_.port);
  req.set(http::field::user_agent, "strata-cli");
  req.set(http::field::connection, "close");
  if (!bearer_token_.empty()) req.set(http::field::authorization, "Bearer " + bearer_token_);
  if (!body.empty()) req.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  req.body() = std::string(body);
  req.prepare_payload();

  asio::io_context io;
  exchange_state state(io);
  state.deadline.expires_after(std::chrono::milliseconds(limits_.timeout_ms));  // one deadline for the whole exchange
  state.deadline.async_wait([&state](const error_code& ec) {
    if (ec) return;
    state.timed_out = true;
    state.resolver.cancel();
    if (state.stream) state.stream->close();
  });
  asio::co_spawn(io, exchange(url_, std::move(req), limits_, tls_.get(), state), [&state](std::exception_ptr e) {
    state.exception = e;
    state.deadline.cancel();
  });
  io.run();
  if (state.exception) {
    try {  // library boundary: Asio and Beast may throw (allocation, resolver)
      std::rethrow_exception(state.exception);
    } catch (const std::exception& e) {
      return make_error(errc::internal, fmt::format("request to the admin API at {} failed: {}", url_.text, e.what()));
    }
  }
  if (state.response) return std::move(*state.response);
  return transport_error(url_, state, limits_);
}

}  // namespace strata::cli
