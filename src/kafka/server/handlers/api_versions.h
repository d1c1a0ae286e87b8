#pragma once

#include <cstdint>
#include <vector>

#include "kafka/protocol/api.h"

namespace strata::kafka::handlers {

// The ApiVersions response body at `version`, listing supported_apis(). The
// connection also uses it to answer an unsupported ApiVersions version (KIP-511).
std::vector<uint8_t> encode_api_versions(int16_t version, error_code error);

}  // namespace strata::kafka::handlers
