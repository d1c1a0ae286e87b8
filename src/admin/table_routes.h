// The /v1/tables routes: read-only views of the tables catalog (tables are
// created and dropped through SQL). JSON shapes: docs/formats/admin-api.md.
// Without the tables face the routes answer 503, so clients learn why.
#pragma once

#include "admin/router.h"

namespace strata::tables {
class service;
}

namespace strata::admin {

// `tables` may be nullptr; otherwise it must outlive `routes`.
void add_table_routes(router& routes, tables::service* tables);

}  // namespace strata::admin
