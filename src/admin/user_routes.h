// The /v1/users routes: the users that may log in over SASL (and, later,
// PostgreSQL), through auth::user_store. Answers carry names and each SCRAM
// mechanism's iteration count, never a password or a verifier; passwords in
// requests are never logged. Shapes: docs/formats/admin-api.md.
//
// Changes hash the password (PBKDF2) and wait for a durable write, so they
// run on the server's blocking-call threads (the store is thread-safe).
// Without a store the routes answer 503, so clients learn why.
#pragma once

#include "admin/router.h"

namespace strata::auth {
class user_store;
}

namespace strata::admin {

// `users` may be nullptr; otherwise it must outlive `routes`.
void add_user_routes(router& routes, auth::user_store* users);

}  // namespace strata::admin
