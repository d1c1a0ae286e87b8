// Helpers shared by the group API codecs in this folder.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "kafka/protocol/api.h"

namespace strata::kafka::groups {

// Whether `version` of `key` uses compact types and tagged fields, per the
// table in kafka/protocol/api.cc.
bool is_flexible(api_key key, int16_t version);

// The error a decoder returns for a body it cannot parse.
error undecodable(api_key key, int16_t version);

inline std::vector<uint8_t> to_vector(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

}  // namespace strata::kafka::groups
