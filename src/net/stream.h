// A TCP connection, plain or inside TLS: one type for the code that serves or
// dials both (the Kafka connection, the replica fetcher), so that code is
// written once. It is an Asio AsyncReadStream and AsyncWriteStream, so
// async_read and async_write work on it; a TLS stream must be handshaken
// (through tls()) before either.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <variant>

namespace strata::net {

class stream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using tls_stream = boost::asio::ssl::stream<socket_type>;
  using executor_type = socket_type::executor_type;

  explicit stream(socket_type socket) : s_(std::in_place_index<0>, std::move(socket)) {}
  stream(socket_type socket, boost::asio::ssl::context& tls) : s_(std::in_place_index<1>, std::move(socket), tls) {}

  // A plain stream becomes a TLS one over the same connection (PostgreSQL's
  // SSLRequest upgrades a connection that started in the clear); handshake
  // through tls() before reading or writing again.
  void start_tls(boost::asio::ssl::context& tls) {
    socket_type plain = std::move(std::get<0>(s_));
    s_.emplace<1>(std::move(plain), tls);
  }

  executor_type get_executor() { return socket().get_executor(); }
  socket_type& socket() { return s_.index() == 0 ? std::get<0>(s_) : std::get<1>(s_).next_layer(); }
  tls_stream* tls() { return std::get_if<1>(&s_); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return start<Token>([](auto& s, const auto& b, auto handler) { s.async_read_some(b, std::move(handler)); }, buffers,
                        token);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return start<Token>([](auto& s, const auto& b, auto handler) { s.async_write_some(b, std::move(handler)); }, buffers,
                        token);
  }

  // Ends the TCP connection at once (no TLS close_notify); errors are ignored.
  void close() {
    boost::system::error_code ignored;
    socket().shutdown(socket_type::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  // Starts `op` on whichever of the two streams this is.
  template <class Token, class Op, class Buffers>
  auto start(Op op, const Buffers& buffers, Token& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this, op](auto handler, const Buffers& b) { std::visit([&](auto& s) { op(s, b, std::move(handler)); }, s_); },
        token, buffers);
  }

  std::variant<socket_type, tls_stream> s_;
};

}  // namespace strata::net
