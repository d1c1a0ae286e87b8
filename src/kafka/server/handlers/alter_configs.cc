// AlterConfigs v0-2 (flexible from v2): replaces the whole set of configs of
// each topic named (configs left out return to their defaults). The broker's
// settings are server flags and are refused. See config_alter.h.
#include "kafka/server/handlers/config_alter.h"
#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

status alter_configs(services& s, const request& req, respond_fn respond) {
  return handle_alter_configs(s, req, std::move(respond), /*incremental=*/false);
}

}  // namespace strata::kafka::handlers
