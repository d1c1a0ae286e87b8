#include "net/tls.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/assert.h"

namespace strata::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr size_t pem_bytes_max = 1 << 20;
constexpr const char session_id_context[] = "strata";

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

error file_error(const pem_file& f, const std::string& what) {
  return make_error(errc::invalid_argument, fmt::format("{} {}: {}", f.flag, f.path, what));
}

// The file's text, once it looks like PEM holding a `block` ("CERTIFICATE",
// "PRIVATE KEY"); `what` says what the flag should name, for the message.
result<std::string> read_pem(const pem_file& f, const char* what, const char* block) {
  if (f.path.empty()) return make_error(errc::invalid_argument, fmt::format("{} is empty; pass the PEM file of {}", f.flag, what));
  std::unique_ptr<std::FILE, file_closer> file(std::fopen(f.path.c_str(), "rb"));
  if (!file) {
    const int e = errno;
    if (e == ENOENT) return file_error(f, fmt::format("no such file; pass the PEM file of {}", what));
    return file_error(f, fmt::format("cannot open it: {}; make it readable by the user strata runs as", std::strerror(e)));
  }
  std::string text(pem_bytes_max + 1, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), file.get()));
  if (std::ferror(file.get())) {
    return file_error(f, fmt::format("cannot read it: {}; pass the PEM file of {}", std::strerror(errno), what));
  }
  if (text.size() > pem_bytes_max) return file_error(f, fmt::format("is larger than 1 MiB; pass the PEM file of {}", what));
  if (text.find("-----BEGIN ") == std::string::npos) {
    return file_error(f, fmt::format("is not PEM (no -----BEGIN line); pass {} in PEM form (openssl x509 -inform der "
                                     "converts a DER certificate)", what));
  }
  if (text.find(fmt::format("{}-----", block)) == std::string::npos) {
    return file_error(f, fmt::format("holds no {} block; pass the PEM file of {}", block, what));
  }
  return text;
}

result<std::shared_ptr<tls_context>> new_context(tls_context::method method) {
  std::shared_ptr<tls_context> ctx;
  try {
    ctx = std::make_shared<tls_context>(method);
  } catch (const std::exception& e) {
    return make_error(errc::internal, fmt::format("cannot create a TLS context: {}", e.what()));
  }
  error_code ec;
  ctx->set_options(tls_context::default_workarounds | tls_context::no_compression, ec);
  if (!ec) ctx->set_password_callback([](size_t, tls_context::password_purpose) { return std::string(); }, ec);
  if (ec || SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
    return make_error(errc::internal, fmt::format("cannot set up a TLS context: {}", ec.message()));
  }
  return ctx;
}

status load_key_pair(tls_context& ctx, const pem_file& cert, const pem_file& key) {
  auto chain = read_pem(cert, "a certificate", "CERTIFICATE");
  STRATA_TRY(chain);
  error_code ec;
  ctx.use_certificate_chain(asio::buffer(*chain), ec);
  if (ec) return file_error(cert, fmt::format("cannot load the certificate: {}", ec.message()));
  auto key_text = read_pem(key, "the certificate's private key", "PRIVATE KEY");
  STRATA_TRY(key_text);
  if (key_text->find("ENCRYPTED") != std::string::npos) {
    return file_error(key, fmt::format("the key is encrypted; pass an unencrypted one (openssl pkey -in {} -out NEW_FILE)", key.path));
  }
  ctx.use_private_key(asio::buffer(*key_text), tls_context::pem, ec);
  const bool mismatch = ec ? ERR_GET_LIB(static_cast<unsigned long>(ec.value())) == ERR_LIB_X509
                           : SSL_CTX_check_private_key(ctx.native_handle()) != 1;
  ERR_clear_error();
  if (mismatch) {
    return file_error(key, fmt::format("the key does not match the certificate in {} {}; pass the key that certificate was "
                                       "made for", cert.flag, cert.path));
  }
  if (ec) return file_error(key, fmt::format("cannot load the private key: {}", ec.message()));
  return {};
}

status load_ca(tls_context& ctx, const pem_file& ca) {
  auto text = read_pem(ca, "the CA certificate", "CERTIFICATE");
  STRATA_TRY(text);
  error_code ec;
  ctx.add_certificate_authority(asio::buffer(*text), ec);
  if (ec) return file_error(ca, fmt::format("cannot load the CA certificate: {}", ec.message()));
  return {};
}

}  // namespace

result<std::shared_ptr<tls_context>> make_server_tls(const tls_server_files& files) {
  auto ctx = new_context(tls_context::tls_server);
  STRATA_TRY(ctx);
  STRATA_TRY(load_key_pair(**ctx, files.cert_chain, files.key));
  if (files.client_ca) {
    STRATA_TRY(load_ca(**ctx, *files.client_ca));
    error_code ec;
    (*ctx)->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
    // Verifying clients without a session id context fails every resumed session.
    auto* sid = reinterpret_cast<const unsigned char*>(session_id_context);
    if (ec || SSL_CTX_set_session_id_context((*ctx)->native_handle(), sid, sizeof(session_id_context) - 1) != 1) {
      return make_error(errc::internal, "cannot require client certificates on a TLS context");
    }
  }
  return ctx;
}

result<std::shared_ptr<tls_context>> make_client_tls(const tls_client_files& files) {
  if (files.cert_chain.has_value() != files.key.has_value()) {
    const pem_file& given = files.cert_chain ? *files.cert_chain : *files.key;
    return make_error(errc::invalid_argument,
                      fmt::format("{} needs its pair: a client certificate and its key go together", given.flag));
  }
  auto ctx = new_context(tls_context::tls_client);
  STRATA_TRY(ctx);
  STRATA_TRY(load_ca(**ctx, files.ca));
  if (files.cert_chain) STRATA_TRY(load_key_pair(**ctx, *files.cert_chain, *files.key));
  error_code ec;
  (*ctx)->set_verify_mode(asio::ssl::verify_peer, ec);
  if (ec) return make_error(errc::internal, "cannot require server certificates on a TLS context");
  return ctx;
}

status expect_server_name(stream::tls_stream& s, const std::string& host) {
  SSL* ssl = s.native_handle();
  error_code not_ip;
  (void)asio::ip::make_address(host, not_ip);
  const bool ok = not_ip ? SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1
                         : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  ERR_clear_error();
  if (!ok) return make_error(errc::invalid_argument, fmt::format("cannot check a server certificate against host {}", host));
  return {};
}

bool peer_verified(stream::tls_stream& s) {
  SSL* ssl = s.native_handle();
  return SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
}

std::string peer_subject(stream::tls_stream& s) {
  if (!peer_verified(s)) return "";
  X509_NAME* name = X509_get_subject_name(SSL_get0_peer_certificate(s.native_handle()));
  BIO* bio = BIO_new(BIO_s_mem());
  STRATA_ASSERT(bio != nullptr, "BIO_new failed: out of memory");
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* text = nullptr;
  const long bytes = BIO_get_mem_data(bio, &text);
  std::string out(text, static_cast<size_t>(bytes));
  BIO_free(bio);
  return out;
}

std::string handshake_failure(const error_code& ec, stream::tls_stream& s) {
  const long verify = SSL_get_verify_result(s.native_handle());
  if (verify == X509_V_OK) return ec.message();
  return fmt::format("{} ({})", ec.message(), X509_verify_cert_error_string(verify));
}

}  // namespace strata::net
