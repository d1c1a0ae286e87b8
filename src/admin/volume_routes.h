// The /v1/volumes, /v1/snapshots and /v1/clones routes: block volume
// administration through volumes::service. JSON shapes are documented in
// docs/formats/admin-api.md.
//
// The service may be absent (the server runs without the volumes face): the
// routes still exist and answer 503, so clients learn why rather than 404.
#pragma once

#include <cstddef>

#include "admin/router.h"

namespace strata::volumes {
class service;
}

namespace strata::admin {

// Longest volume or snapshot name a request may carry (the service's own
// limit); longer ones are refused before the service sees them.
inline constexpr size_t volume_name_bytes_max = 128;

// `volumes` may be nullptr; otherwise it must outlive `routes`.
void add_volume_routes(router& routes, volumes::service* volumes);

}  // namespace strata::admin
