// What AlterConfigs and IncrementalAlterConfigs share: the resources they
// name, the work on topics (through streams::service::alter_topic_configs)
// and on the broker (whose settings are server flags, refused), and the
// response, which both APIs encode alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/protocol/api.h"
#include "kafka/protocol/wire.h"
#include "kafka/server/handler.h"

namespace strata::kafka::handlers {

// IncrementalAlterConfigs' operations; AlterConfigs sets every config it names.
enum class config_op : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct config_change {
  std::string name;
  config_op op = config_op::set;
  int8_t raw_op = 0;  // as sent, for the error of an unknown operation
  std::optional<std::string> value;
};

struct config_resource_change {
  int8_t type = 0;
  std::string name;
  std::vector<config_change> configs;
};

struct alter_result {
  error_code error = error_code::none;
  std::optional<std::string> message;
  int8_t type = 0;
  std::string name;
};

// Applies each resource's changes. `incremental` false (AlterConfigs): the
// configs named replace the topic's whole set. Errors are per resource.
std::vector<alter_result> alter_config_resources(services& s, const request& req,
                                                 const std::vector<config_resource_change>& resources, bool incremental,
                                                 bool validate_only);

// The whole of either API: decodes the request (with an operation per config
// when incremental), applies it, and responds.
status handle_alter_configs(services& s, const request& req, respond_fn respond, bool incremental);

}  // namespace strata::kafka::handlers
