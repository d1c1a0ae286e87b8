#include "app/listener_security.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <string>

#include "net/endpoint.h"
#include "net/tls.h"

namespace strata::app {

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string lower;
  for (char c : host) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "localhost") return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(lower, ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return address.is_loopback();
}

status check_listener_security(std::string_view flag, std::string_view host, bool authenticated, bool allow_insecure,
                               std::string_view fix) {
  if (authenticated || is_loopback_host(host)) return {};
  const std::string where = host.empty() ? std::string("every interface") : std::string(host);
  if (allow_insecure) {
    spdlog::warn("{} serves {} without authentication (--allow-insecure): anyone who can reach it may use it", flag,
                 where);
    return {};
  }
  return make_error(errc::invalid_argument,
                    fmt::format("{} listens on {}, which is not a loopback address, without authentication, so anyone "
                                "who can reach it could use it; {}, or pass --allow-insecure to serve it anyway",
                                flag, where, fix));
}

namespace {

result<std::string> listen_host(const std::string& listen, const std::string& flag) {
  auto endpoint = net::parse_host_port(listen, flag);
  STRATA_TRY(endpoint);
  return endpoint->host;
}

}  // namespace

status check_listener_security(const server_options& o) {
  const bool insecure_ok = o.allow_insecure;
  auto http_host = listen_host(o.http_listen, "--http-listen");
  STRATA_TRY(http_host);
  STRATA_TRY(check_listener_security("--http-listen", *http_host, !o.http_token_file.empty(), insecure_ok,
                                     "set --http-token-file (and --http-tls-cert/--http-tls-key)"));
  auto pg_host = listen_host(o.pg_listen, "--pg-listen");
  STRATA_TRY(pg_host);
  STRATA_TRY(check_listener_security("--pg-listen", *pg_host, o.pg_auth != "trust", insecure_ok,
                                     "set --pg-auth scram-sha-256 with --pg-user NAME:PASSWORD"));
  if (!o.nbd_listen.empty()) {
    auto nbd_host = listen_host(o.nbd_listen, "--nbd-listen");
    STRATA_TRY(nbd_host);
    STRATA_TRY(check_listener_security("--nbd-listen", *nbd_host, /*authenticated=*/false, insecure_ok,
                                       "NBD has no authentication: listen on 127.0.0.1 or use --nbd-unix-socket"));
  }
  // Clones' postgres asks every TCP client for a SCRAM password (pg_hba.conf,
  // written by dbclone); only its unix socket trusts, and that is root's.
  STRATA_TRY(check_listener_security("--db-clone-listen", o.db_clone_listen, /*authenticated=*/true, insecure_ok));
  return {};
}

result<std::shared_ptr<net::tls_context>> load_server_tls(const net::pem_file& cert, const net::pem_file& key,
                                                          std::string_view whose) {
  if (cert.path.empty() != key.path.empty()) {
    const net::pem_file& given = cert.path.empty() ? key : cert;
    const net::pem_file& missing = cert.path.empty() ? cert : key;
    return make_error(errc::invalid_argument,
                      fmt::format("{} needs {}: {} certificate and its key go together", given.flag, missing.flag, whose));
  }
  if (cert.path.empty()) return std::shared_ptr<net::tls_context>();
  net::tls_server_files files;
  files.cert_chain = cert;
  files.key = key;
  return net::make_server_tls(files);
}

result<admin::server_security> load_admin_security(const server_options& o) {
  admin::server_security out;
  if (!o.http_token_file.empty()) {
    auto tokens = admin::token_set::load(o.http_token_file, "--http-token-file");
    STRATA_TRY(tokens);
    out.tokens = std::move(*tokens);
  }
  auto tls = load_server_tls({"--http-tls-cert", o.http_tls_cert}, {"--http-tls-key", o.http_tls_key}, "the admin API's");
  STRATA_TRY(tls);
  out.tls = std::move(*tls);
  return out;
}

}  // namespace strata::app
