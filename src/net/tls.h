// TLS for listeners and for the clients that dial them: contexts built from
// PEM files named by flags (TLS 1.2 at least), the server-name check a client
// makes, and the one-line reasons logged for failed handshakes. Loading
// errors name the flag and the file and say what to do.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "net/stream.h"

namespace strata::net {

using tls_context = boost::asio::ssl::context;

// A PEM file and the setting that named it, so that errors can say which to fix.
struct pem_file {
  std::string flag;
  std::string path;
};

struct tls_server_files {
  pem_file cert_chain;  // the server's certificate, then any intermediate CAs
  pem_file key;
  std::optional<pem_file> client_ca;  // set: every client must present a certificate that this CA signed
};

struct tls_client_files {
  pem_file ca;  // verifies the server's certificate
  std::optional<pem_file> cert_chain;  // this client's certificate and key, for servers that ask (both or neither)
  std::optional<pem_file> key;
};

result<std::shared_ptr<tls_context>> make_server_tls(const tls_server_files& files);
result<std::shared_ptr<tls_context>> make_client_tls(const tls_client_files& files);

// Before a client handshake: the server's certificate must name `host`, a
// DNS name (also sent as SNI) or an IP address.
status expect_server_name(stream::tls_stream& s, const std::string& host);

// After a handshake: the peer presented a certificate and it verified.
bool peer_verified(stream::tls_stream& s);
// The verified peer certificate's subject as an RFC 2253 name ("CN=alice,O=x"),
// as Kafka names a TLS client's principal; empty when there is none.
std::string peer_subject(stream::tls_stream& s);

// Why a handshake failed: OpenSSL's reason and, when a certificate did not
// verify, the verifier's.
std::string handshake_failure(const boost::system::error_code& ec, stream::tls_stream& s);

}  // namespace strata::net
