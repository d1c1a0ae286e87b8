#include "kafka/groups/messages/common.h"

#include <string>

namespace strata::kafka::groups {

bool is_flexible(api_key key, int16_t version) {
  const api_info* api = find_api(static_cast<int16_t>(key));
  STRATA_ASSERT(api != nullptr, "group codec for an API missing from the API table");
  return version >= api->first_flexible_version;
}

error undecodable(api_key key, int16_t version) {
  return make_error(errc::invalid_argument, std::string("malformed ") + api_name(static_cast<int16_t>(key)) +
                                                " v" + std::to_string(version) + " request body");
}

}  // namespace strata::kafka::groups
