#include "admin/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <set>
#include <vector>

#include "admin/db_metrics.h"
#include "admin/db_routes.h"
#include "admin/reply.h"
#include "admin/router.h"
#include "admin/streams_metrics.h"
#include "admin/system_routes.h"
#include "admin/table_routes.h"
#include "admin/tables_metrics.h"
#include "admin/cluster_routes.h"
#include "admin/topic_routes.h"
#include "admin/user_routes.h"
#include "admin/volume_routes.h"
#include "admin/volumes_metrics.h"
#include "metrics/registry.h"
#include "net/listener.h"
#include "net/stream.h"
#include "net/tls.h"

namespace strata::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct server::impl {
  impl(asio::io_context& io, std::string listen, streams::service& streams, metrics::registry& registry,
       server_limits limits, volumes::service* volumes, tables::service* tables, dbclone::service* db,
       server_security security)
      : io(io),
        listen(std::move(listen)),
        streams(streams),
        volumes(volumes),
        tables(tables),
        db(db),
        registry(registry),
        limits(limits),
        security(std::move(security)),
        blocking_pool(std::max<uint32_t>(1, limits.blocking_threads)) {}

  response handle(const request& plain);
  void count(const std::string& route, std::string_view method, int status);

  asio::io_context& io;
  std::string listen;
  streams::service& streams;
  volumes::service* volumes;  // nullptr: the volumes face is off
  tables::service* tables;    // nullptr: the tables face is off
  dbclone::service* db;       // nullptr: the database-clones face is off
  metrics::registry& registry;
  server_limits limits;
  server_security security;
  asio::thread_pool blocking_pool;
  router routes;
  std::shared_ptr<net::listener> listener;
  std::set<net::stream*> sessions;  // open connections, closed by stop()
  std::vector<metrics::registry::collector_id> collectors;
  bool stopped = false;
};

namespace {

constexpr size_t read_chunk_bytes = 64 * KiB;

// One accepted connection and the deadline that closes it when a handshake,
// a request or a response takes too long. Shared so that a deadline firing
// after the session ended finds nothing to close.
struct connection : std::enable_shared_from_this<connection> {
  explicit connection(tcp::socket socket) : stream(std::move(socket)), deadline(stream.get_executor()) {}
  connection(tcp::socket socket, asio::ssl::context& tls)
      : stream(std::move(socket), tls), deadline(stream.get_executor()) {}

  net::stream stream;
  asio::steady_timer deadline;
  bool timed_out = false;
};

// Closes the connection unless disarm() or another arm() comes first within timeout_ms.
void arm(connection& c, int64_t timeout_ms) {
  c.deadline.expires_after(std::chrono::milliseconds(timeout_ms));
  c.deadline.async_wait([weak = c.weak_from_this()](const error_code& ec) {
    auto self = weak.lock();
    // A wait that completed just before a re-arm still runs: the expiry tells.
    if (ec || !self || self->deadline.expiry() > std::chrono::steady_clock::now()) return;
    self->timed_out = true;
    self->stream.close();
  });
}

void disarm(connection& c) { c.deadline.expires_at(asio::steady_timer::time_point::max()); }

// Methods outside this set are counted as "other", so clients cannot grow
// the label set.
std::string method_label(std::string_view method) {
  for (std::string_view known : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    if (method == known) return std::string(known);
  }
  return "other";
}

// True when the peer went away, timed out or we are stopping: nothing to answer.
bool is_disconnect(const error_code& ec) {
  if (!ec) return false;
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec.category() != http::make_error_code(http::error::bad_method).category();
}

response read_error_response(const error_code& ec, const server_limits& limits) {
  if (ec == http::error::body_limit) {
    return error_response(413, "limit_exceeded",
                          fmt::format("the request body is larger than the limit of {} bytes", limits.request_body_bytes_max));
  }
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return error_response(431, "limit_exceeded",
                          fmt::format("the request headers are larger than the limit of {} bytes",
                                      limits.request_header_bytes_max));
  }
  return error_response(400, "invalid_argument", fmt::format("malformed HTTP request: {}", ec.message()));
}

asio::awaitable<bool> write_response(connection& c, const response& reply, unsigned version, bool keep_alive,
                                     const server_limits& limits) {
  http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
  res.set(http::field::server, "strata");
  if (!reply.content_type.empty()) res.set(http::field::content_type, reply.content_type);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = reply.body;
  res.prepare_payload();
  arm(c, limits.idle_timeout_ms);
  error_code ec;
  co_await http::async_write(c.stream, res, asio::redirect_error(asio::use_awaitable, ec));
  disarm(c);
  co_return !ec;
}

// After refusing a request whose body we did not read, discard what the client
// still sends (bounded), so closing does not reset the connection before the
// client has read our answer.
asio::awaitable<void> drain(connection& c, const server_limits& limits) {
  error_code ec;
  c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::vector<char> sink(read_chunk_bytes);
  uint64_t drained = 0;
  arm(c, limits.idle_timeout_ms);
  while (!ec && drained < limits.drain_bytes_max) {
    drained += co_await c.stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
  }
  disarm(c);
}

// Reads one request. The header is read on its own first: Beast 1.74 drops a
// Content-Length body_limit error when the body arrives in the same read as
// the header, so the declared length is checked here before any body is read.
// The whole request must arrive within the idle timeout.
asio::awaitable<error_code> read_request(connection& c, beast::flat_buffer& buffer,
                                         http::request_parser<http::string_body>& parser,
                                         const server_limits& limits) {
  error_code ec;
  arm(c, limits.idle_timeout_ms);
  co_await http::async_read_header(c.stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  auto length = parser.content_length();
  if (!ec && length && *length > limits.request_body_bytes_max) ec = http::error::body_limit;
  if (!ec) co_await http::async_read(c.stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  disarm(c);
  co_return ec;
}

std::string peer_of(connection& c) {
  error_code ec;
  auto ep = c.stream.socket().remote_endpoint(ec);
  return ec ? std::string("unknown peer") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// True once a TLS connection is established (at once for plain HTTP). The
// handshake holds a connection slot, so stalled handshakes are bounded by
// connections_max and each ends at the timeout.
asio::awaitable<bool> handshake(connection& c, const server_limits& limits, const bool& stopped) {
  auto* tls = c.stream.tls();
  if (!tls) co_return true;
  const std::string peer = peer_of(c);
  error_code ec;
  arm(c, limits.tls_handshake_timeout_ms);
  co_await tls->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  disarm(c);
  if (!ec) co_return true;
  if (c.timed_out) {
    spdlog::warn("admin: TLS handshake with {} did not finish within {} ms; connection closed", peer,
                 limits.tls_handshake_timeout_ms);
  } else if (!stopped) {
    spdlog::warn("admin: TLS handshake with {} failed: {}; connection closed", peer, net::handshake_failure(ec, *tls));
  }
  co_return false;
}

std::string_view view(boost::beast::string_view s) { return {s.data(), s.size()}; }

// Keeps the connection in impl::sessions while the coroutine runs.
class session_entry {
 public:
  session_entry(server::impl& owner, net::stream& stream) : owner_(owner), stream_(stream) {
    owner_.sessions.insert(&stream_);
  }
  ~session_entry() { owner_.sessions.erase(&stream_); }
  session_entry(const session_entry&) = delete;
  session_entry& operator=(const session_entry&) = delete;

 private:
  server::impl& owner_;
  net::stream& stream_;
};

// Holds a plain pointer: ~server joins the pool before the impl can go away,
// and the last owner of the impl must never be a pool thread.
asio::awaitable<response> handle_blocking(server::impl* self, request plain) {
  co_return self->handle(plain);
}

// `slot` holds the listener's connection slot for as long as the session runs.
asio::awaitable<void> serve(std::shared_ptr<server::impl> self, tcp::socket socket,
                            [[maybe_unused]] std::shared_ptr<void> slot) {
  auto conn = self->security.tls ? std::make_shared<connection>(std::move(socket), *self->security.tls)
                                 : std::make_shared<connection>(std::move(socket));
  session_entry entry(*self, conn->stream);
  const server_limits& limits = self->limits;
  beast::flat_buffer buffer(limits.request_header_bytes_max + read_chunk_bytes);
  bool open = co_await handshake(*conn, limits, self->stopped);
  while (open) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.request_header_bytes_max);
    parser.body_limit(limits.request_body_bytes_max);
    error_code ec = co_await read_request(*conn, buffer, parser, limits);
    if (self->stopped || is_disconnect(ec)) break;
    if (ec) {
      if (co_await write_response(*conn, read_error_response(ec, limits), 11, false, limits)) {
        co_await drain(*conn, limits);
      }
      break;
    }
    http::request<http::string_body> req = parser.release();
    bool keep_alive = req.keep_alive();
    request plain{std::string(req.method_string()), std::string(req.target()),
                  std::string(req[http::field::content_type]), std::move(req.body())};
    response reply;
    auto refusal = check_bearer(self->security.tokens, plain.method, plain.target, view(req[http::field::authorization]));
    if (refusal) {
      self->count("unauthorized", plain.method, refusal->status);
      reply = std::move(*refusal);
    } else if (self->routes.blocking(plain)) {
      reply = co_await asio::co_spawn(self->blocking_pool.get_executor(), handle_blocking(self.get(), std::move(plain)),
                                      asio::use_awaitable);
    } else {
      reply = self->handle(plain);
    }
    bool written = co_await write_response(*conn, reply, req.version(), keep_alive, limits);
    if (!written || !keep_alive || self->stopped) break;
  }
  disarm(*conn);
  conn->stream.close();
}

void add_connection_collector(server::impl& self) {
  std::weak_ptr<net::listener> weak = self.listener;
  self.collectors.push_back(self.registry.add_collector([weak](metrics::collector_sink& sink) {
    auto listener = weak.lock();
    if (!listener) return;
    sink.gauge("strata_admin_open_connections", "Open connections to the admin API.", {},
               listener->open_connections());
    sink.counter("strata_admin_refused_connections_total",
                 "Connections to the admin API closed at once because connections_max were open.", {},
                 static_cast<double>(listener->refused_connections()));
  }));
}

status validate(const server_limits& limits) {
  if (limits.connections_max == 0 || limits.request_header_bytes_max == 0 || limits.idle_timeout_ms <= 0 ||
      limits.tls_handshake_timeout_ms <= 0) {
    return make_error(errc::invalid_argument,
                      "admin server limits must be positive: connections_max, request_header_bytes_max, "
                      "idle_timeout_ms, tls_handshake_timeout_ms");
  }
  return {};
}

}  // namespace

response server::impl::handle(const request& plain) {
  routed result;
  try {
    result = routes.dispatch(plain);
  } catch (const std::exception& e) {  // library boundary: a throwing dependency must not end the connection
    result = {error_response(500, "internal", fmt::format("internal error: {}; please report it", e.what())),
              "unmatched"};
  }
  count(result.route, plain.method, result.reply.status);
  return std::move(result.reply);
}

void server::impl::count(const std::string& route, std::string_view method, int status) {
  registry
      .counter("strata_admin_requests_total", "Requests served by the admin API.",
               {{"route", route}, {"method", method_label(method)}, {"code", std::to_string(status)}})
      .inc();
}

server::server(asio::io_context& io, std::string listen, streams::service& streams, metrics::registry& registry,
               server_limits limits, volumes::service* volumes, tables::service* tables, dbclone::service* db,
               cluster_control* cluster, auth::user_store* users, server_security security)
    : impl_(std::make_shared<impl>(io, std::move(listen), streams, registry, limits, volumes, tables, db,
                                   std::move(security))) {
  add_system_routes(impl_->routes, registry);
  add_topic_routes(impl_->routes, streams);
  add_cluster_routes(impl_->routes, streams, cluster);
  add_volume_routes(impl_->routes, volumes);
  add_table_routes(impl_->routes, tables);
  add_db_routes(impl_->routes, db);
  add_user_routes(impl_->routes, users);
}

server::~server() {
  stop();
  impl_->blocking_pool.join();
}

status server::start() {
  STRATA_ASSERT(!impl_->listener, "admin::server::start() called twice");
  STRATA_TRY(validate(impl_->limits));
  std::weak_ptr<impl> weak = impl_;
  auto on_accept = [weak](tcp::socket socket, std::shared_ptr<void> slot) {
    auto self = weak.lock();
    if (!self || self->stopped) return;
    asio::co_spawn(self->io, serve(self, std::move(socket), std::move(slot)), asio::detached);
  };
  impl_->listener = std::make_shared<net::listener>(impl_->io, "the admin API", impl_->limits.connections_max, on_accept);
  STRATA_TRY(impl_->listener->start(impl_->listen, "--http-listen"));
  impl_->collectors.push_back(add_streams_collector(impl_->registry, impl_->streams));
  if (impl_->volumes) impl_->collectors.push_back(add_volumes_collector(impl_->registry, *impl_->volumes));
  if (impl_->tables) impl_->collectors.push_back(add_tables_collector(impl_->registry, *impl_->tables));
  if (impl_->db) impl_->collectors.push_back(add_db_collector(impl_->registry, *impl_->db));
  add_connection_collector(*impl_);
  return {};
}

void server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->listener) impl_->listener->stop();
  for (net::stream* stream : impl_->sessions) stream->close();
  for (auto id : impl_->collectors) impl_->registry.remove_collector(id);
  impl_->collectors.clear();
}

uint16_t server::port() const { return impl_->listener ? impl_->listener->port() : 0; }

}  // namespace strata::admin
