// SASL PLAIN (RFC 4616): the client sends authzid NUL authcid NUL password in
// one message. Only parsing lives here; the password is checked against the
// user's SCRAM verifier (auth::password_matches), so no plain password is kept.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace strata::auth {

inline constexpr size_t plain_message_bytes_max = 1024;

struct plain_message {
  std::string authzid;  // empty, or the same as user (acting as another user is refused)
  std::string user;
  std::string password;
};

// errc::invalid_argument, with what is wrong, for a message that is not
// two NULs apart, oversized, has an empty user or password, or an authzid
// that differs from the user.
result<plain_message> parse_plain(std::string_view message);

}  // namespace strata::auth
