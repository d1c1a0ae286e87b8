// IncrementalAlterConfigs v0-1 (flexible from v1): SET, DELETE, APPEND and
// SUBTRACT (the last two on list configs only) on each topic's configs. The
// broker's settings are server flags and are refused. See config_alter.h.
#include "kafka/server/handlers/config_alter.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status incremental_alter_configs(services& s, const request& req, respond_fn respond) {
  return handle_alter_configs(s, req, std::move(respond), /*incremental=*/true);
}

}  // namespace strata::kafka::handlers
