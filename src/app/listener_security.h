// Listeners that anyone on the network could use without authenticating are
// refused unless --allow-insecure says so: one on a loopback address is fine,
// one elsewhere needs its face's authentication configured. Also loads what
// secures the admin API (--http-token-file, --http-tls-cert/--http-tls-key).
#pragma once

#include <string_view>

#include "admin/server.h"
#include "app/options.h"
#include "base/result.h"
#include "net/tls.h"

namespace strata::app {

// 127.0.0.0/8, ::1 (also IPv4-mapped), "localhost"; brackets around an IPv6
// address are ignored. An empty host means every interface: not loopback.
bool is_loopback_host(std::string_view host);

// An error naming `flag` when `host` is not loopback, the listener has no
// authentication and allow_insecure is false; `fix` says how to configure
// authentication for this face ("set --http-token-file"). With
// allow_insecure, such a listener is allowed and a warning logged.
status check_listener_security(std::string_view flag, std::string_view host, bool authenticated, bool allow_insecure,
                               std::string_view fix = "configure authentication for it");

// The admin (--http-listen), PostgreSQL (--pg-listen), NBD (--nbd-listen)
// and database-clone (--db-clone-listen) listeners of `o`. Kafka's listeners
// are checked where they are planned.
status check_listener_security(const server_options& o);

// The admin API's tokens and TLS context from `o`; errors name the flag and
// the file.
result<admin::server_security> load_admin_security(const server_options& o);

// A listener's TLS context from its certificate and key flags: none when
// neither is given, an error naming the flags when only one is.
result<std::shared_ptr<net::tls_context>> load_server_tls(const net::pem_file& cert, const net::pem_file& key,
                                                          std::string_view whose);

}  // namespace strata::app
