// The database-clone routes, /v1/db/... (docs/formats/admin-api-db.md).
// Calls that wait on postgres children (creating sources, snapshots, clones,
// resets, commits, deletes) are blocking routes: the server runs them off
// the network thread.
#pragma once

#include "admin/router.h"

namespace strata::dbclone {
class service;
}

namespace strata::admin {

// `db` may be nullptr (the face is off: every route answers 503); otherwise
// it must outlive `routes`.
void add_db_routes(router& routes, dbclone::service* db);

}  // namespace strata::admin
