// Kafka's rule for admin requests that name topics (CreateTopics,
// DeleteTopics, CreatePartitions): a topic named more than once gets one
// INVALID_REQUEST answer and nothing is done for it.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata::kafka::handlers {

inline std::string duplicate_topic_message(const std::string& name) {
  return "topic " + name + " appears more than once in the request: list each topic once";
}

// Calls do_one(item) for each item whose name (name_of(item), which may be
// nullopt for an item named otherwise, e.g. by id) appears once, and
// duplicate(item) once for each name that appears more than once, keeping the
// request's order.
template <class Item, class NameOf, class DoOne, class Duplicate>
auto for_each_unique_topic(const std::vector<Item>& items, NameOf name_of, DoOne do_one, Duplicate duplicate) {
  std::unordered_map<std::string, int> count;
  for (const auto& item : items) {
    if (std::optional<std::string> name = name_of(item)) ++count[*name];
  }
  std::vector<decltype(do_one(items.front()))> out;
  for (const auto& item : items) {
    std::optional<std::string> name = name_of(item);
    int* n = name ? &count[*name] : nullptr;
    if (n && *n == 0) continue;  // a duplicate already answered
    if (n && *n > 1) {
      out.push_back(duplicate(item));
      *n = 0;
      continue;
    }
    out.push_back(do_one(item));
  }
  return out;
}

}  // namespace strata::kafka::handlers
