// TLS contexts and handshakes over loopback, with the CAs and certificates
// of test_certs.h, made at test time.
#include <utility>  // before Boost 1.74's awaitable.hpp

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "net/tests/test_certs.h"
#include "net/tls.h"

namespace strata::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::make_test_certs();
    const std::string command = "cd " + dir_.string() +
                                " && openssl pkey -in cluster/node1.key -aes256 -passout pass:secret -out encrypted.key 2>/dev/null" +
                                " && echo 'not a certificate' > garbage.pem && mkdir a-directory";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static pem_file file(const std::string& flag, const std::string& name) { return {flag, (dir_ / name).string()}; }

  static std::shared_ptr<tls_context> server_context(const std::string& node, bool require_client_cert = true) {
    tls_server_files files{file("--cert", "cluster/" + node + ".crt"), file("--key", "cluster/" + node + ".key"), std::nullopt};
    if (require_client_cert) files.client_ca = file("--ca", "cluster/ca.crt");
    auto ctx = make_server_tls(files);
    EXPECT_TRUE(ctx.ok()) << ctx.err().message;
    return ctx.ok() ? *ctx : nullptr;
  }

  // `node` is "cluster/node2" or "rogue/rogue"; `ca` the directory of the CA it trusts.
  static std::shared_ptr<tls_context> client_context(const std::optional<std::string>& node,
                                                     const std::string& ca = "cluster") {
    tls_client_files files{file("--ca", ca + "/ca.crt"), std::nullopt, std::nullopt};
    if (node) {
      files.cert_chain = file("--cert", *node + ".crt");
      files.key = file("--key", *node + ".key");
    }
    auto ctx = make_client_tls(files);
    EXPECT_TRUE(ctx.ok()) << ctx.err().message;
    return ctx.ok() ? *ctx : nullptr;
  }

  static inline std::filesystem::path dir_;
};

// The message of a server context made from these files, which must fail.
std::string server_error(const tls_server_files& files) {
  auto ctx = make_server_tls(files);
  EXPECT_FALSE(ctx.ok());
  return ctx.ok() ? "" : ctx.err().message;
}

::testing::AssertionResult mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << message << "\" does not mention \"" << part << "\"";
}

TEST_F(Tls, LoadingErrorsNameTheFlagAndTheFileAndSayWhatIsWrong) {
  const auto cert = file("--cluster-tls-cert", "cluster/node1.crt");
  const auto key = file("--cluster-tls-key", "cluster/node1.key");

  auto missing = server_error({file("--cluster-tls-cert", "nope.crt"), key, std::nullopt});
  EXPECT_TRUE(mentions(missing, "--cluster-tls-cert " + (dir_ / "nope.crt").string()));
  EXPECT_TRUE(mentions(missing, "no such file"));

  EXPECT_TRUE(mentions(server_error({file("--cluster-tls-cert", "a-directory"), key, std::nullopt}), "cannot read it"));
  EXPECT_TRUE(mentions(server_error({file("--cluster-tls-cert", "garbage.pem"), key, std::nullopt}), "is not PEM"));
  EXPECT_TRUE(mentions(server_error({file("--cluster-tls-cert", "cluster/node1.key"), key, std::nullopt}), "holds no CERTIFICATE"));
  EXPECT_TRUE(mentions(server_error({cert, file("--cluster-tls-key", "cluster/node1.crt"), std::nullopt}), "holds no PRIVATE KEY"));
  EXPECT_TRUE(mentions(server_error({cert, file("--cluster-tls-key", "encrypted.key"), std::nullopt}), "encrypted"));
  EXPECT_TRUE(mentions(server_error({cert, pem_file{"--cluster-tls-key", ""}, std::nullopt}), "--cluster-tls-key is empty"));

  auto mismatch = server_error({cert, file("--cluster-tls-key", "cluster/node2.key"), std::nullopt});
  EXPECT_TRUE(mentions(mismatch, "--cluster-tls-key " + (dir_ / "cluster/node2.key").string()));
  EXPECT_TRUE(mentions(mismatch, "does not match the certificate in --cluster-tls-cert"));

  auto bad_ca = server_error({cert, key, file("--cluster-tls-ca", "garbage.pem")});
  EXPECT_TRUE(mentions(bad_ca, "--cluster-tls-ca"));

  auto half_pair = make_client_tls({file("--ca", "cluster/ca.crt"), file("--client-cert", "cluster/node1.crt"), std::nullopt});
  ASSERT_FALSE(half_pair.ok());
  EXPECT_TRUE(mentions(half_pair.err().message, "--client-cert"));

  EXPECT_TRUE(make_server_tls({cert, key, file("--cluster-tls-ca", "cluster/ca.crt")}).ok());
}

struct handshake_outcome {
  error_code server_ec;
  error_code client_ec;  // the handshake's, or the first read's (TLS 1.3 reports a refused client certificate then)
  std::string server_reason;
  std::string client_reason;
  bool server_saw_verified_peer = false;
  std::string echoed;
};

asio::awaitable<void> serve_once(tcp::acceptor& acceptor, tls_context& ctx, handshake_outcome& out) {
  auto socket = co_await acceptor.async_accept(asio::use_awaitable);
  stream s(std::move(socket), ctx);
  co_await s.tls()->async_handshake(stream::tls_stream::server, asio::redirect_error(asio::use_awaitable, out.server_ec));
  if (out.server_ec) {
    out.server_reason = handshake_failure(out.server_ec, *s.tls());
    s.close();
    co_return;
  }
  out.server_saw_verified_peer = peer_verified(*s.tls());
  char buffer[5];
  error_code ec;
  co_await asio::async_read(s, asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_await asio::async_write(s, asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> dial_once(tcp::endpoint server, tls_context& ctx, std::string host, handshake_outcome& out) {
  auto executor = co_await asio::this_coro::executor;
  stream s(tcp::socket(executor), ctx);
  EXPECT_TRUE(expect_server_name(*s.tls(), host).ok());
  error_code& ec = out.client_ec;
  co_await s.socket().async_connect(server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  co_await s.tls()->async_handshake(stream::tls_stream::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.client_reason = handshake_failure(ec, *s.tls());
    co_return;
  }
  char buffer[5] = {'h', 'e', 'l', 'l', 'o'};
  co_await asio::async_write(s, asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_await asio::async_read(s, asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) out.echoed.assign(buffer, sizeof(buffer));
}

handshake_outcome handshake(tls_context& server_ctx, tls_context& client_ctx, const std::string& host = "127.0.0.1") {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  handshake_outcome out;
  asio::co_spawn(io, serve_once(acceptor, server_ctx, out), asio::detached);
  asio::co_spawn(io, dial_once(acceptor.local_endpoint(), client_ctx, host, out), asio::detached);
  io.run_for(std::chrono::seconds(10));
  return out;
}

TEST_F(Tls, NodesWithCertificatesOfTheClusterCaTalk) {
  auto server = server_context("node1");
  auto client = client_context("cluster/node2");
  EXPECT_EQ(SSL_CTX_get_min_proto_version(server->native_handle()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(client->native_handle()), TLS1_2_VERSION);
  auto out = handshake(*server, *client);
  EXPECT_FALSE(out.server_ec) << out.server_reason;
  EXPECT_FALSE(out.client_ec) << out.client_reason << out.client_ec.message();
  EXPECT_TRUE(out.server_saw_verified_peer);
  EXPECT_EQ(out.echoed, "hello");

  auto by_name = handshake(*server, *client, "localhost");
  EXPECT_EQ(by_name.echoed, "hello") << by_name.client_reason;
}

TEST_F(Tls, AClientCertificateFromAnotherCaIsRefused) {
  auto server = server_context("node1");
  auto rogue = client_context("rogue/rogue");
  auto out = handshake(*server, *rogue);
  EXPECT_TRUE(out.server_ec);
  EXPECT_TRUE(mentions(out.server_reason, "certificate verify failed")) << out.server_reason;
  EXPECT_TRUE(out.client_ec) << "the client must not get through";
  EXPECT_FALSE(out.server_saw_verified_peer);
  EXPECT_EQ(out.echoed, "");
}

TEST_F(Tls, AClientWithoutACertificateIsRefusedWhenTheServerRequiresOne) {
  auto server = server_context("node1");
  auto anonymous = client_context(std::nullopt);
  auto out = handshake(*server, *anonymous);
  EXPECT_TRUE(out.server_ec);
  EXPECT_TRUE(out.client_ec);
  EXPECT_EQ(out.echoed, "");

  auto open_server = server_context("node1", /*require_client_cert=*/false);
  auto plain = handshake(*open_server, *anonymous);
  EXPECT_EQ(plain.echoed, "hello") << plain.client_reason;
  EXPECT_FALSE(plain.server_saw_verified_peer);
}

TEST_F(Tls, AServerNotNamingTheDialledHostIsRefused) {
  auto server = server_context("node1");
  auto client = client_context("cluster/node2");
  auto wrong_ip = handshake(*server, *client, "127.0.0.2");
  EXPECT_TRUE(wrong_ip.client_ec);
  EXPECT_TRUE(mentions(wrong_ip.client_reason, "IP address mismatch")) << wrong_ip.client_reason;
  auto wrong_name = handshake(*server, *client, "node9.example");
  EXPECT_TRUE(wrong_name.client_ec);
  EXPECT_TRUE(mentions(wrong_name.client_reason, "hostname mismatch")) << wrong_name.client_reason;
}

TEST_F(Tls, AServerCertificateFromAnotherCaIsRefused) {
  auto server = server_context("node1");
  auto trusts_rogue_only = client_context("cluster/node2", "rogue");
  auto out = handshake(*server, *trusts_rogue_only);
  EXPECT_TRUE(out.client_ec);
  EXPECT_TRUE(mentions(out.client_reason, "certificate verify failed")) << out.client_reason;
}

}  // namespace
}  // namespace strata::net
