// Password authentication as PostgreSQL speaks it: SCRAM-SHA-256 through
// auth::scram_server (src/auth, RFC 5802 and 7677), and PostgreSQL's md5
// scheme. Passwords are not kept: each user is stored as its SCRAM verifier
// and its md5 hash. Pure code over OpenSSL's libcrypto; no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "auth/scram.h"

namespace strata::pgwire {

// A configured user, as the server keeps it.
struct credential {
  std::string name;
  auth::scram_secret scram;  // SCRAM-SHA-256
  std::string md5_hex;       // md5(password || name) in lower-case hex, PostgreSQL's stored form
};
credential make_credential(std::string_view name, std::string_view password, const auth::random_source& random);

std::string md5_hex(std::string_view data);

// The md5 method: the client answers "md5" + md5_hex(stored_md5_hex + salt).
bool md5_response_matches(const credential& user, std::span<const uint8_t, 4> salt, std::string_view response);

// One connection's SCRAM-SHA-256 exchange for the user named in the startup
// message (`user` null when there is no such user). The name inside the SCRAM
// message is ignored, as PostgreSQL does; an unknown user's made-up salt is
// derived from the startup name.
std::unique_ptr<auth::scram_server> make_scram_server(const credential* user, std::string_view startup_user,
                                                      const auth::random_source& random);

}  // namespace strata::pgwire
