// Reads typed fields of a JSON object request body, refusing unknown fields.
// A field that is absent or null leaves its output as it was (the default).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::admin {

class body_reader {
 public:
  // An empty body reads as {}.
  static result<body_reader> parse(const std::string& body, std::initializer_list<const char*> known);

  status str(const char* key, std::string& out) const;
  status strings(const char* key, std::vector<std::string>& out) const;
  status u32(const char* key, uint32_t& out) const;
  status i64(const char* key, int64_t min, int64_t max, int64_t& out) const;
  status boolean(const char* key, bool& out) const;
  // Numbers and booleans are taken as their JSON text.
  status string_map(const char* key, std::map<std::string, std::string>& out) const;

 private:
  explicit body_reader(nlohmann::json doc) : doc_(std::move(doc)) {}
  bool present(const char* key) const { return doc_.contains(key) && !doc_[key].is_null(); }
  nlohmann::json doc_;
};

}  // namespace strata::admin
