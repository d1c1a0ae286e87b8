// Topic and broker settings as Kafka config entries, with the source, type,
// synonyms and documentation that DescribeConfigs and CreateTopics (v5+)
// report. A topic setting is either set on the topic (at creation or by
// AlterConfigs) or the broker default; every broker setting is static
// (command line or YAML).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kafka/server/handler.h"
#include "streams/service.h"

namespace strata::kafka {

// DescribeConfigsResponse ConfigSource values.
enum class config_source : int8_t {
  unknown = 0,
  topic = 1,
  static_broker = 4,
  default_config = 5,
};

// DescribeConfigsResponse ConfigType values (v3+).
enum class config_type : int8_t {
  unknown = 0,
  boolean = 1,
  string = 2,
  int32 = 3,
  int64 = 5,
};

struct config_synonym {
  std::string name;
  std::string value;
  config_source source = config_source::default_config;
};

struct config_entry {
  std::string name;
  std::string value;
  bool read_only = false;
  bool is_default = false;  // DescribeConfigs v0: not set on this resource
  bool is_sensitive = false;
  config_source source = config_source::default_config;
  config_type type = config_type::unknown;
  const char* documentation = nullptr;   // nullptr when Strata has none
  std::vector<config_synonym> synonyms;  // the entry's own source first, then its fallbacks
};

// A topic's settings; those named in `set_on_topic` come from the topic,
// the others from the broker defaults.
std::vector<config_entry> topic_config_entries(const streams::topic_config& cfg,
                                               const std::map<std::string, std::string>& set_on_topic);

// A small fixed set of the broker's real settings, all read-only.
std::vector<config_entry> broker_config_entries(const broker_config& broker, const streams::service_config& svc);

}  // namespace strata::kafka
